"""The reverse process live: diffusers' schedulers driving the denoiser, x_t, ε̂ and x̂₀ at every step streamed while
the run goes, then a player of the recorded steps drawn in the browser (player.js: Play, loop and a step range, no
server request), a filmstrip, a GIF and trajectories. The sampling loop is core.diffusion.record.SamplingRun,
stepped by core.live.Runner and streamed by explorers.streaming."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import numpy as np

from core.data import CLASSES
from core.diffusion import figures, record
from core.live import Runner
from core.render import to_data_url
from explorers.common import outputs, saved_download, user_errors
from explorers.diffusion.controls import (
    ETA,
    GUIDANCE,
    RESCALE,
    SEED,
    STEPS,
    class_choices,
    echo_on_commit,
    read_settings,
    scheduler_choices,
)
from explorers.inputs import PRIVATE
from explorers.path import Step, path
from explorers.streaming import stream, visitor_state
from explorers.widgets import packed, widget

FILM = 10                          # frames in a filmstrip
LIMIT_SECONDS = 3600.0             # a run ends at its last step; this only bounds a large hub model on a slow CPU
PLAYER = Path(__file__).with_name("player")   # player.html / .js / .css


class LastSample:
    """One visitor's sampling run, kept between events so that Stop reaches it: its Runner, and the Recording it
    fills.

    The run steps on a thread of its own, so that it never waits for the pictures the page is sent (in the event's
    own loop, each one held the sampling up while gradio sent it). It runs on one intra-op thread (`single`): the
    other core is busy drawing the page, and two intra-op threads sharing it made DDIM-50 take 1.47 s in the app
    against 1.19 s on one (0.71 s bare, measured in Chromium)."""

    def __init__(self):
        self.runner: Runner | None = None

    def new_run(self, run: record.SamplingRun) -> Runner:
        self.close()
        self.runner = Runner(run, single=True, limit=LIMIT_SECONDS, name="diffusion-sampler")
        return self.runner

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop(wait=False)


def x0_caption(rec) -> str:
    return "the predicted clean image" + ("" if rec.x0_from_scheduler else ", computed from ε̂" + (
        " (before thresholding)" if rec.settings.thresholding else ""))


def player_value(rec) -> dict:
    """The player's data, sent once when a run ends: every recorded step's x_t, ε̂ and x̂₀ as the pictures' levels
    (figures.run_levels, uint8), the steps' numbers (1 … total, see status_text), the run's thinning (`every`) and
    the diffusers timesteps."""
    return {"frames": packed(figures.run_levels(rec.x_t, rec.epsilon, rec.x0), "uint8"),
            "steps": packed(rec.steps, "int32"), "timesteps": packed(rec.timesteps, "int32"), "total": rec.total,
            "every": rec.every, "calls": rec.total != rec.settings.steps, "done": rec.done, "cell": figures.CELL,
            "x0_note": x0_caption(rec)}


def frames_html(rec, i: int) -> str:
    """x_t, ε̂ and x̂₀ of recorded step i side by side, as one HTML block of data-URL images (gr.Image would
    write a cache file per streamed update)."""
    t = rec.timesteps[i]
    cells = [("x_t", "the sample at this step", figures.picture(rec.x_t[i])),
             ("ε̂", "the predicted noise (±3 as black and white)", figures.noise_picture(rec.epsilon[i])),
             ("x̂₀", x0_caption(rec), figures.picture(rec.x0[i]))]
    imgs = "".join(f"<figure style='margin:0;text-align:center;width:{p.width + 24}px'>"
                   f"<img src='{to_data_url(p, compress_level=1)}' "
                   f"alt='{name}' style='width:{p.width}px;image-rendering:pixelated'/><figcaption><b>{name}</b>"
                   f"<br><small>{text}</small></figcaption></figure>" for name, text, p in cells)
    return (f"<div id='diff-live-frames' data-step='{rec.steps[i]}' data-t='{t}' style='display:flex;gap:18px;"
            f"flex-wrap:wrap'>{imgs}</div>")


def step_of(rec, i: int) -> str:
    """"k of N" for recorded step i (see status_text); N is named network calls where it is not the steps asked."""
    return f"{rec.steps[i]} of {rec.total}" + (" network calls" if rec.total != rec.settings.steps else "")


def status_text(rec, i: int, stopped: bool = False) -> str:
    """The run's line at recorded step i. Every view counts steps one way: step k of N is the run's k-th denoising
    step (1 … N, N its network calls: Heun's are two a step but the last), whose pictures are the x_t it starts from
    and the ε̂ and x̂₀ it predicts; the player's range, the verdict and the trajectories use the same k."""
    s = rec.settings
    what = (f"{rec.denoiser.classes[s.label]}" if s.label is not None else "unconditional")
    if rec.denoiser.name != "default":
        what += f", model {rec.denoiser.name}"
    state = "done" if rec.done else ("stopped" if stopped else "running")
    return (f"**Step {step_of(rec, i)}** (diffusers timestep t = {rec.timesteps[i]}), {state}: {s.scheduler}, "
            f"{what}, w = {s.guidance:g}, seed {s.seed}; {rec.seconds:.2f} s of sampling so far.")


class After(NamedTuple):
    live: object
    player: object
    film: object
    gif: object
    trajectory: object
    verdict: object


def after_views(rec) -> After:
    """The views of a run that has ended: the player takes the live view's place."""
    n = len(rec)
    picks = sorted({round(k * (n - 1) / (FILM - 1)) for k in range(FILM)}) if n > 1 else [0]
    film = figures.filmstrip([rec.x0[i] for i in picks], [f"t={rec.timesteps[i]}" for i in picks], columns=FILM)
    every = max(1, n // 100)   # a GIF of at most about 100 frames
    path = saved(figures.gif([rec.x_t[i] for i in range(0, n, every)] + [rec.final if rec.done else rec.x_t[-1]]))
    probabilities = rec.probabilities()
    asked = rec.settings.label
    if probabilities is None:
        verdict = "The CNN reads only 28×28 Fashion-MNIST images, so this model's samples are not classified."
    else:
        last = probabilities[-1]
        top = int(np.argmax(last))
        decided = _decided(probabilities, top)
        verdict = (f"The CNN reads the {'final image' if rec.done else 'last x̂₀ (the run was stopped)'} as "
                   f"**{CLASSES[top]}** (p = {last[top]:.3f})"
                   + (f"; p({CLASSES[asked]}) = {last[asked]:.3f}" if asked is not None and asked != top else "")
                   + (f". x̂₀ has been read as {CLASSES[top]} since step {step_of(rec, decided)}"
                      f" (t = {rec.timesteps[decided]})." if decided is not None else "."))
    return After(gr.update(visible=False), player_value(rec), film, gr.update(value=str(path), visible=True),
                 figures.trajectory(rec.steps, rec.timesteps, rec.rms(), probabilities, CLASSES, asked), verdict)


def saved(data: bytes) -> str:
    """A download file named by its content, so the same run sampled again does not pile up copies."""
    return saved_download("glassbox-diffusion", f"glassbox-diffusion-{hashlib.sha1(data).hexdigest()[:16]}.gif", data)


def _decided(probabilities: np.ndarray, top: int) -> int | None:
    """The first recorded step from which the CNN's top class of x̂₀ never changes again."""
    tops = probabilities.argmax(1)
    if tops[-1] != top:
        return None
    changed = np.flatnonzero(tops != top)
    return int(changed[-1]) + 1 if len(changed) else 0


class ReverseUI(NamedTuple):
    controls: list       # class, w, scheduler, steps, seed, η, thresholding, φ, model: read_settings' order
    echoes: list         # the boxes whose used values are sent back: w, steps, seed, η, φ
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown
    after: list          # After's components: the live view, the player ...
    state: gr.State


def layout() -> ReverseUI:
    path("diff-reverse-path", "The reverse process: a real class-conditional UNet (trained on Fashion-MNIST) turns "
         "pure noise into a garment. At every step it predicts the noise ε̂ and the clean image x̂₀, and diffusers' "
         "scheduler takes x_t one step closer.",
         [Step("Pick a class", "diff-class"), Step("Press Sample", "diff-run"),
          Step("Play and scrub the run", "diff-reverse-view"), Step("Read the filmstrip", "diff-film"),
          Step("Follow the trajectories", "diff-trajectory")],
         picture="diff-reverse-view", control="diff-run", action="diff-run")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            cls = gr.Dropdown(class_choices(), value="7", label="Class", elem_id="diff-class")
            scheduler = gr.Dropdown(scheduler_choices(), value="ddim", label="Scheduler (diffusers)",
                                    elem_id="diff-scheduler")
            steps = STEPS.slider(elem_id="diff-steps")
            w = GUIDANCE.slider(elem_id="diff-w")
            seed = SEED.number(elem_id="diff-seed")
            # The button before the optional settings: at 800 px the views come right after this column.
            with gr.Row():
                run = gr.Button("Sample", variant="primary", elem_id="diff-run")
                stop = gr.Button("Stop", elem_id="diff-stop")
            with gr.Accordion("More: η, remedies for large w", open=False):
                eta = ETA.slider(elem_id="diff-eta")
                thresholding = gr.Checkbox(False, label="Dynamic thresholding of x̂₀ (Imagen)",
                                           elem_id="diff-thresholding")
                rescale = RESCALE.slider(elem_id="diff-rescale")
            with gr.Accordion("Any model (Hugging Face Hub)", open=False):
                model = gr.Textbox("default", label="Model", max_lines=1, elem_id="diff-model",
                                   info="\"default\" is the bundled UNet; or a hub id such as "
                                        "google/ddpm-cifar10-32, where this server may download (safetensors only, "
                                        "no remote code, a size cap).")
        with gr.Column(scale=2, elem_id="diff-reverse-view"):
            live = gr.HTML("<p>Press <b>Sample</b>: x_t, the predicted noise ε̂ and the predicted clean image x̂₀ "
                           "appear here while the reverse process runs.</p>", elem_id="diff-live")
            # Drawn in the browser once the run has ended: playing and scrubbing ask the server nothing (player.js).
            player = widget(PLAYER, "diff-reverse-player")
            status = gr.Markdown(elem_id="diff-status", elem_classes="gb-status")
            verdict = gr.Markdown(elem_id="diff-verdict")
    # The caption above the filmstrip: a floating label covered its first frame (the GIF button downloads the run).
    gr.Markdown("**Filmstrip**: x̂₀ at ten of the run's steps, each under its diffusers timestep t",
                elem_id="diff-film-caption")
    film = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[], height=150,
                    elem_id="diff-film")
    gif = gr.DownloadButton("Download the run as a GIF (x_t)", visible=False, elem_id="diff-gif")
    trajectory = gr.Plot(label="Trajectories", elem_id="diff-trajectory")
    gr.Markdown("Under the run, step by step: the root mean square of x_t (1 for pure noise) and the CNN's "
                "probability of each class for x̂₀ (the asked class bold); the step from which one class stays on "
                "top is when the sample decided what it is.", elem_id="diff-trajectory-caption")
    after = outputs(After, {"live": live, "player": player, "film": film, "gif": gif, "trajectory": trajectory,
                            "verdict": verdict})
    echo_on_commit([(steps, STEPS), (w, GUIDANCE), (eta, ETA), (rescale, RESCALE)], [(seed, SEED)])
    return ReverseUI([cls, w, scheduler, steps, seed, eta, thresholding, rescale, model],
                     [w, steps, seed, eta, rescale], run, stop, status, after, visitor_state())


def sampled(holder: LastSample | None, values: tuple):
    """sample_ui's updates: the run's first line (the live view back in the player's place), a picture of it every
    REFRESH while it runs, then the whole run's views (a Stop, or the page closed, ends it after its current step)."""
    denoiser, settings, readings, note = read_settings(*values)
    holder = holder or LastSample()
    runner = holder.new_run(record.SamplingRun(denoiser, settings))
    rec = runner.run.recording
    shown = [r.shown for r in readings]
    tail = f" {note}" if note else ""
    skips = (gr.skip(),) * (len(After._fields) - 1)   # all but the live view

    def live(html=None) -> tuple:
        return (gr.skip() if html is None else html, *skips)

    # The holder goes to the page before the first step, so a Stop pressed during the first run reaches it.
    first = After(gr.update(visible=True), None, *skips[1:])
    yield (f"Sampling {settings.steps} steps with {settings.scheduler} …" + tail, *first, holder, *shown)
    runner.start()

    def capture():   # under the runner's lock, so the picture is of whole steps
        i = len(rec) - 1
        return i, status_text(rec, i) if i >= 0 else None

    try:
        for i, text in stream(runner, capture, lambda captured: captured):
            if i >= 0 and runner.running:
                yield (text + tail, *live(frames_html(rec, i)), holder, *shown)
    finally:   # also when the page is closed mid-run: gradio then closes this generator
        runner.stop()
    if runner.error is not None:
        raise runner.error
    if not len(rec):
        yield ("Stopped before the first step." + tail, *live(), holder, *shown)
        return
    yield (status_text(rec, len(rec) - 1, stopped=not rec.done) + tail, *after_views(rec), holder, *shown)


def stop_ui(holder: LastSample | None) -> None:
    """Stop: the visitor's run ends after its current step (the reverse view's, or the comparison's)."""
    if holder is not None and holder.runner is not None:
        holder.runner.stop("Stopped.", wait=False)


def wire(ui: ReverseUI) -> None:
    @user_errors
    def sample_ui(holder, *values):
        yield from sampled(holder, values)

    ui.run.click(sample_ui, [ui.state, *ui.controls], [ui.status, *ui.after, ui.state, *ui.echoes],
                 concurrency_id="diff-sample", **PRIVATE)
    # Through the queue like every event (gradio's route for unqueued events is closed), with no limit, so a
    # press of Stop never waits for another visitor's.
    ui.stop.click(stop_ui, [ui.state], None, concurrency_limit=None, **PRIVATE)


def build() -> None:
    """The reverse process's controls and views, wired."""
    wire(layout())
