"""Diffusion tab: the forward process on any image with the noise schedules, the reverse process live with
diffusers' schedulers (x_t, ε̂ and x̂₀ at every step, a scrubber, a filmstrip, a GIF and trajectories), two
configurations side by side from the same seed, the 2-D toy (explorers/diffusion_toy.py, handed in by app.py), and
the Explain panel. The maths is in core/diffusion."""
from __future__ import annotations

import hashlib
import tempfile
import threading
from pathlib import Path
from typing import Callable, NamedTuple

import gradio as gr
import numpy as np
from gradio.data_classes import FileData
from PIL import Image

from core.data import CLASSES
from core.images import open_image, to_data_url
from explorers.common import LATEX, Box, api, explain, outputs, skipped, uploaded_path, user_errors
from explorers.inputs import gallery_indices, input_column, sample_image
from explorers.streaming import REFRESH, visitor_state

PRIVATE = dict(api_visibility="private")
KINDS = [("linear (1e-4 to 0.02, the bundled model's)", "linear"),
         ("scaled linear (√β linear, Stable Diffusion's)", "scaled_linear"), ("cosine (Nichol & Dhariwal)", "cosine")]
SCALED_LINEAR = (0.00085, 0.012)   # Stable Diffusion's range for the scaled-linear schedule
MISMATCH_T = 100
MAX_FORWARD_SIDE = 256             # the forward view shows an upload at most this large
T_BOX = Box("t", 0, 1000, 250)
FORWARD_SEED = Box("Noise seed", 0, 2**31 - 1, 0, label="Seed of ε")
STEPS = Box("Steps", 1, 1000, 50)
ETA = Box("DDIM η", 0, 1, 0.0, whole=False)
SEED = Box("Seed", 0, 2**31 - 1, 0)
GUIDANCE = Box("Guidance w", 0, 10, 3.0, whole=False)
RESCALE = Box("Guidance rescale φ", 0, 1, 0.0, whole=False)
SCRUB = Box("Step", 0, None, 0, label="Scrub the recorded steps")
A_STEPS, B_STEPS = Box("A: steps", 1, 1000, 1000), Box("B: steps", 1, 1000, 50)
A_W, B_W = Box("A: guidance w", 0, 10, 3.0, whole=False), Box("B: guidance w", 0, 10, 3.0, whole=False)
UNCONDITIONAL = "unconditional"
DOWNLOADS = Path(tempfile.gettempdir()) / "glassbox-diffusion"
FILM = 10                          # frames in a filmstrip


def core():
    """The diffusion core, imported on first use, so the UNet and diffusers (4 s) stay out of the cold start."""
    from core.diffusion import figures, record, sampling, schedule
    return schedule, sampling, record, figures


# ---------------------------------------------------------------- computing: the API and the UI share these


def shown_schedules(kind: str, mismatch: bool) -> dict:
    schedule = core()[0]
    shown = {"linear": schedule.make("linear"), "scaled_linear": schedule.make("scaled_linear", 1000, *SCALED_LINEAR),
             "cosine": schedule.make("cosine")}
    if mismatch:
        shown[f"{kind} T = {MISMATCH_T}"] = schedule.make(kind, MISMATCH_T, *((SCALED_LINEAR if kind ==
                                                                                "scaled_linear" else (1e-4, 0.02))))
    return shown


def forward_image(img: Image.Image):
    """An image as x_0 in [-1, 1], [C, H, W] float64, at most MAX_FORWARD_SIDE a side (grey stays one channel)."""
    import torch
    img = img.copy()
    img.thumbnail((MAX_FORWARD_SIDE, MAX_FORWARD_SIDE))
    a = np.asarray(img.convert("RGB"), dtype=np.float64)
    if np.allclose(a[..., 0], a[..., 1]) and np.allclose(a[..., 1], a[..., 2]):
        a = a[..., :1]
    return torch.from_numpy(a.transpose(2, 0, 1) / 127.5 - 1)


def noised(img: Image.Image, t: int, seed: int, kind: str, T: int = 1000):
    schedule = core()[0]
    s = schedule.make(kind, T, *(SCALED_LINEAR if kind == "scaled_linear" else (1e-4, 0.02)))
    x0 = forward_image(img)
    t = schedule.check_t(t, s)
    x_t = schedule.forward(x0, t, s, schedule.noise_like(x0, seed))
    return x_t.numpy(), s.coefficients(t), t


@user_errors
def diffusion_schedule(kind: str = "linear", T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> dict:
    """A noise schedule: β_t, ᾱ_t = Π(1 − β_s) and SNR(t) = ᾱ_t / (1 − ᾱ_t) for t = 1 … T.

    Parameters:
        kind: linear, scaled_linear (√β linear) or cosine (Nichol & Dhariwal; set by T alone, the betas are ignored)
        T: the number of diffusion steps, 2 to 10000
        beta_start: β_1, with 0 < beta_start < beta_end < 1
        beta_end: β_T

    Returns:
        betas, alpha_bar and snr (T values each, for t = 1 … T), and snr_cross_t, the first t with SNR < 1 (null
        if SNR never falls below 1).
    """
    s = core()[0].make(kind, T, beta_start, beta_end)
    return {"kind": s.kind, "T": s.T, "betas": s.betas.tolist(), "alpha_bar": s.alpha_bar.tolist(),
            "snr": s.snr.tolist(), "snr_cross_t": s.snr_cross_t}


@user_errors
def diffusion_forward(image: FileData, t: int, seed: int = 0, kind: str = "linear") -> dict:
    """The forward process in closed form: x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, for one fixed ε drawn from the seed.

    Parameters:
        image: the image x_0 (any format; shown at most 256 pixels a side, pixels mapped to [-1, 1])
        t: the step, 0 (the image itself) to 1000
        seed: the seed of ε (the same seed gives the same noise at every t)
        kind: the schedule with T = 1000: linear (1e-4 to 0.02, the bundled model's), scaled_linear or cosine

    Returns:
        image (x_t as a PNG data URL, clipped to [-1, 1]), t, signal_coef (√ᾱ_t) and noise_coef (√(1 − ᾱ_t)).
    """
    x_t, (signal, noise), t = noised(open_image(uploaded_path(image)), t, seed, kind)
    figures = core()[3]
    return {"t": t, "image": to_data_url(figures.picture(x_t, cell=x_t.shape[2])), "signal_coef": signal,
            "noise_coef": noise}


def strip_url(frames: list, labels: list[str]) -> str:
    return to_data_url(core()[3].filmstrip(frames, labels, columns=min(10, len(frames))))


@user_errors
def diffusion_sample(label: int | None = None, guidance: float = 3.0, scheduler: str = "ddim", steps: int = 50,
                     seed: int = 0, record_every: int = 1, eta: float = 0.0, thresholding: bool = False,
                     rescale: float = 0.0, model: str = "default") -> dict:
    """Sample one image with a diffusers scheduler: by default from the bundled class-conditional Fashion-MNIST UNet.

    Parameters:
        label: the class 0-9 (0 T-shirt/top … 9 Ankle boot), or null for the unconditional model
        guidance: classifier-free guidance w, 0 to 10 (0 unconditional, 1 plain conditional; 3 is the measured best)
        scheduler: ddpm, ddim, dpm++ (DPM-Solver++ 2M), euler, euler-a (Euler ancestral), heun or unipc
        steps: reverse steps, 1 to 1000
        seed: the seed of x_T (and of the scheduler's own noise); the same seed gives the same image
        record_every: put every n-th step in the frame strips (1 to 1000; the last step is always in)
        eta: DDIM's η, 0 (deterministic) to 1 (as stochastic as DDPM); other schedulers ignore it
        thresholding: dynamic thresholding of x̂₀ (Imagen; ddpm, ddim, dpm++ and unipc only)
        rescale: guidance rescale φ, 0 (off) to 1 (Lin et al. 2023)
        model: "default" (the bundled UNet) or the Hugging Face id of a diffusers UNet2DModel pipeline

    Returns:
        timesteps (the diffusers timestep of every recorded step), x_t_strip and x0_strip (PNG data URLs of the
        recorded steps' x_t and predicted x̂₀), x0_from_scheduler (false where x̂₀ is computed from ε̂), image (the
        final image, PNG data URL), class_probabilities (the bundled CNN's, of the final image; null for a model
        whose images are not 28x28 grey), seconds (sampling), and note (null, or a line on the model).
    """
    from core.validate import as_int
    _, sampling, record, figures = core()
    from core.diffusion.hub_unets import open_denoiser
    denoiser, note = open_denoiser(model)
    settings = sampling.check(denoiser, label, guidance, scheduler, steps, seed, eta, thresholding, rescale)
    every = as_int(record_every, "record_every", 1, 1000)
    rec = None
    for rec in record.run(denoiser, settings):
        pass
    keep = [i for i in range(len(rec)) if i % every == 0 or i == len(rec) - 1]
    labels = [str(rec.timesteps[i]) for i in keep]
    probabilities = record.classify(denoiser, rec.final[None])
    return {"timesteps": [rec.timesteps[i] for i in keep],
            "x_t_strip": strip_url([rec.x_t[i] for i in keep], labels),
            "x0_strip": strip_url([rec.x0[i] for i in keep], labels), "x0_from_scheduler": rec.x0_from_scheduler,
            "image": to_data_url(figures.picture(rec.final)),
            "class_probabilities": None if probabilities is None else np.round(probabilities[0], 6).tolist(),
            "seconds": round(rec.seconds, 4), "note": note}


# ---------------------------------------------------------------- the page's views


class Visitor:
    """What one visitor's page keeps between events: their last recorded run."""

    def __init__(self):
        self.recording = None

    def close(self):
        self.recording = None


class Sampler:
    """One run's sampling loop on a thread of its own, filling the recording, so that it never waits for the
    pictures the page is sent (in the event's own loop, each one held the sampling up while gradio sent it). It
    runs torch on one thread (core.threads): the other core is busy drawing the page, and two torch threads
    sharing it made DDIM-50 take 1.47 s in the app against 1.19 s on one (0.71 s bare, measured in Chromium)."""

    def __init__(self, record, denoiser, settings, rec, visitor):
        self.finished = threading.Event()
        self.error: BaseException | None = None
        threading.Thread(target=self._run, args=(record, denoiser, settings, rec, visitor), daemon=True,
                         name="diffusion-sampler").start()

    def _run(self, record, denoiser, settings, rec, visitor):
        from core.threads import one_thread
        try:
            with one_thread():
                for rec in record.run(denoiser, settings, rec):
                    if visitor.stopping:
                        break
        except BaseException as e:  # handed to the event, which shows it as any handler's error
            self.error = e
        finally:
            self.finished.set()


def frames_html(rec, i: int) -> str:
    """x_t, ε̂ and x̂₀ of recorded step i side by side, as one HTML block of data-URL images (gr.Image would
    write a cache file per streamed update)."""
    figures = core()[3]
    t = rec.timesteps[i]
    cells = [("x_t", "the sample at this step", figures.picture(rec.x_t[i])),
             ("ε̂", "the predicted noise (±3 as black and white)", figures.noise_picture(rec.epsilon[i])),
             ("x̂₀", "the predicted clean image" + ("" if rec.x0_from_scheduler else
                                                   ", computed from ε̂" + (" (before thresholding)"
                                                                           if rec.settings.thresholding else "")),
              figures.picture(rec.x0[i]))]
    imgs = "".join(f"<figure style='margin:0;text-align:center;width:{p.width + 24}px'>"
                   f"<img src='{to_data_url(p, compress_level=1)}' "
                   f"alt='{name}' style='width:{p.width}px;image-rendering:pixelated'/><figcaption><b>{name}</b>"
                   f"<br><small>{text}</small></figcaption></figure>" for name, text, p in cells)
    return (f"<div id='diff-live-frames' data-step='{i}' data-t='{t}' style='display:flex;gap:18px;"
            f"flex-wrap:wrap'>{imgs}</div>")


def status_text(rec, i: int, stopped: bool = False) -> str:
    s = rec.settings
    what = (f"{rec.denoiser.classes[s.label]}" if s.label is not None else "unconditional")
    if rec.denoiser.name != "default":
        what += f", model {rec.denoiser.name}"
    state = "done" if rec.done else ("stopped" if stopped else "running")
    calls = f" of {rec.total} network calls" if rec.total != s.steps else f" of {s.steps}"
    return (f"**Step {i * rec.every + 1}{calls}** (diffusers timestep t = {rec.timesteps[i]}), {state}: {s.scheduler}, "
            f"{what}, w = {s.guidance:g}, seed {s.seed}; {rec.seconds:.2f} s of sampling so far.")


class After(NamedTuple):
    scrub: object
    film: object
    gif: object
    trajectory: object
    verdict: object


def after_views(rec, chosen: int | None = None) -> After:
    figures = core()[3]
    n = len(rec)
    picks = sorted({round(k * (n - 1) / (FILM - 1)) for k in range(FILM)}) if n > 1 else [0]
    film = figures.filmstrip([rec.x0[i] for i in picks], [f"t={rec.timesteps[i]}" for i in picks], columns=FILM)
    every = max(1, n // 100)   # a GIF of at most about 100 frames
    path = saved(figures.gif([rec.x_t[i] for i in range(0, n, every)] + [rec.final if rec.done else rec.x_t[-1]]))
    probabilities = rec.probabilities()
    chosen = n - 1 if chosen is None else chosen
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
                   + (f". x̂₀ has been read as {CLASSES[top]} since step {decided + 1} of {n} recorded"
                      f" (t = {rec.timesteps[decided]})." if decided is not None else "."))
    return After(gr.update(maximum=max(n - 1, 1), value=chosen, interactive=n > 1), film, gr.update(value=str(path),
                 visible=True), figures.trajectory(rec.timesteps, rec.rms(), probabilities, CLASSES, asked, chosen),
                 verdict)


def saved(data: bytes) -> str:
    """A download file named by its content, so the same run sampled again does not pile up copies."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    path = DOWNLOADS / f"glassbox-diffusion-{hashlib.sha1(data).hexdigest()[:16]}.gif"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _decided(probabilities: np.ndarray, top: int) -> int | None:
    """The first recorded step from which the CNN's top class of x̂₀ never changes again."""
    tops = probabilities.argmax(1)
    if tops[-1] != top:
        return None
    changed = np.flatnonzero(tops != top)
    return int(changed[-1]) + 1 if len(changed) else 0


def build(tab: gr.Tab, toy: Callable[[], None] | None = None) -> None:
    """The Diffusion tab and its diffusion_* endpoints; `toy` builds the 2-D toy's inner tab (app.py hands in
    explorers.diffusion_toy.build)."""
    gr.Markdown("## Diffusion: noise, then denoising\nA real class-conditional UNet (trained on Fashion-MNIST, "
                "`assets/ddpm`) runs live with diffusers' schedulers: watch the sample x_t, the noise the network "
                "predicts and the clean image it predicts at every step.")
    with gr.Tabs():
        with gr.Tab("Forward process", id="diff-forward"):
            column, controls, views = forward_tab()
        with gr.Tab("Reverse process", id="diff-reverse"):
            reverse_tab()
        with gr.Tab("Compare", id="diff-compare"):
            compare_tab()
        if toy is not None:
            with gr.Tab("2-D toy", id="diff-toy"):
                toy()
    with gr.Accordion("Explain: what the code computes", open=False):
        gr.Markdown(explain("diffusion"), latex_delimiters=LATEX)
    filled = gr.State(False)

    @user_errors
    def first_open(done, image, *values):
        """The forward views are drawn when the tab is first opened: diffusers stays out of the app's start."""
        if done:
            return True, *skipped(Forward)
        from core.diffusion.denoisers import bundled
        # The UNet loads while a person looks at the forward process, so their first Sample does not wait for it.
        threading.Thread(target=bundled, name="glassbox-ddpm-load", daemon=True).start()
        return True, *forward_views(read_image(image), *values)

    tab.select(first_open, [filled, column.image, *controls], [filled, *views], **PRIVATE)
    api(diffusion_schedule, "diffusion_schedule", nullable=("snr_cross_t",))
    api(diffusion_forward, "diffusion_forward")
    api(diffusion_sample, "diffusion_sample", nullable=("class_probabilities", "note"))

def read_image(image) -> Image.Image:
    return image if isinstance(image, Image.Image) else open_image(uploaded_path(image))


class Forward(NamedTuple):
    x_t: object
    coefs: object
    strip: object
    plot: object
    t_box: object
    seed_box: object


def forward_views(img: Image.Image, t_box, seed_box, kind: str, mismatch: bool) -> Forward:
    """x_t at t, a strip over t, and the schedules; with the T mismatch, x_t and the strip use T = 100."""
    schedule, _, _, figures = core()
    T = MISMATCH_T if mismatch else 1000
    t, seed = T_BOX.read(t_box), FORWARD_SEED.read(seed_box)
    if t.value > T:   # the T mismatch was switched on with t beyond 100: the same fraction of T = 100
        t = t._replace(value=round(t.value * T / T_BOX.hi), changed=True)
    x_t, (signal, noise), t_used = noised(img, t.value, seed.value, kind, T)
    side = max(CELL_MIN, x_t.shape[2])
    strip_ts = [round(T * k / 5) for k in range(6)]
    frames = [noised(img, s, seed.value, kind, T)[0] for s in strip_ts]
    shown = shown_schedules(kind, mismatch)
    current = f"{kind} T = {MISMATCH_T}" if mismatch else kind
    s = shown[current]
    snr = "∞ (the image itself)" if t_used == 0 else f"{s.snr[t_used - 1]:.4g}"
    coefs = (f"**t = {t_used} of T = {T}** ({kind}): x_t = **{signal:.4f}**·x₀ + **{noise:.4f}**·ε, SNR = {snr}. "
             f"SNR falls below 1 at t = {s.snr_cross_t}." if s.snr_cross_t else
             f"**t = {t_used} of T = {T}** ({kind}): x_t = **{signal:.4f}**·x₀ + **{noise:.4f}**·ε, SNR = {snr}; "
             "SNR never falls below 1 in this schedule.")
    if mismatch:
        coefs += (f" With T = {MISMATCH_T} and the same β range, x_T still keeps √ᾱ_T = "
                  f"{s.coefficients(T)[0]:.3f} of the image: sampling from pure noise would start somewhere the "
                  "model never saw in training.")
    strip = figures.filmstrip(frames, [f"t={v}" for v in strip_ts], cell=96, columns=6)
    return Forward(figures.picture(x_t, cell=side), coefs, strip, figures.schedules(shown, t_used, current),
                   t.update(maximum=T), seed.shown)


CELL_MIN = 224   # the forward view enlarges a 28x28 image to at least this, with square pixels


def forward_tab():
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            column = input_column(sample_image(gallery_indices()[0]), "diff")
        with gr.Column(scale=2):
            kind = gr.Radio(KINDS, value="linear", label="Schedule", elem_id="diff-kind")
            mismatch = gr.Checkbox(False, label=f"T mismatch: the same β range with T = {MISMATCH_T}",
                                   elem_id="diff-mismatch")
            t_box = T_BOX.slider(elem_id="diff-t")
            seed_box = FORWARD_SEED.number(elem_id="diff-forward-seed")
            with gr.Row():
                x_t = gr.Image(label="x_t", type="pil", format="png", height=260, elem_id="diff-xt",
                               show_label=True)
                strip = gr.Image(label="x_t at six values of t (the same ε)", type="pil", format="png",
                                 elem_id="diff-strip")
            coefs = gr.Markdown(elem_id="diff-coefs")
    plot = gr.Plot(label="Noise schedules", elem_id="diff-schedules")
    ui = dict(x_t=x_t, coefs=coefs, strip=strip, plot=plot, t_box=t_box, seed_box=seed_box)
    views = outputs(Forward, ui)
    controls = [t_box, seed_box, kind, mismatch]

    @user_errors
    def update(image, *values):
        return forward_views(read_image(image), *values)

    column.on_new_image(lambda img, *values: forward_views(img, *values), controls, views)
    gr.on([t_box.release, seed_box.submit, kind.change, mismatch.change], update, [column.image, *controls], views,
          **PRIVATE)
    return column, controls, views


def class_choices() -> list:
    return [("unconditional (the ∅ token)", UNCONDITIONAL)] + [(f"{c}: {name}", str(c))
                                                              for c, name in enumerate(CLASSES)]


def scheduler_choices() -> list:
    return [(text, name) for name, (_, _, text) in core()[1].SCHEDULERS.items()]


def read_settings(cls, w_box, scheduler, steps_box, seed_box, eta_box=0.0, thresholding=False, rescale_box=0.0,
                  model="default", w=GUIDANCE, steps=STEPS):
    """The denoiser and settings of a run from the page's boxes (each clamped and named by Box.read), the readings
    to echo, and a note on the model (a fallback, or that an unconditional model ignores the class)."""
    from core.diffusion.hub_unets import open_denoiser
    sampling = core()[1]
    denoiser, note = open_denoiser(model)
    readings = [w.read(w_box), steps.read(steps_box), SEED.read(seed_box), ETA.read(eta_box),
                RESCALE.read(rescale_box)]
    w_used, steps_used, seed, eta, rescale = (r.value for r in readings)
    label = None if cls in (None, UNCONDITIONAL) else int(cls)
    if label is not None and not denoiser.conditional:
        label, note = None, (note or "") + f" {denoiser.name} is unconditional, so the class is not used."
    settings = sampling.check(denoiser, label, w_used, scheduler, steps_used, seed, eta, bool(thresholding),
                              rescale)
    return denoiser, settings, readings, (note or "").strip()


def echo_on_commit(sliders: list, numbers: list) -> None:
    """A value typed into a box is checked when it is committed (a slider's release, a number box's Enter), with
    Box.read's warning and the value used echoed, not only when the run starts."""
    for component, box in sliders + numbers:
        event = component.release if (component, box) in sliders else component.submit
        event(lambda value, box=box: box.read(value).shown, component, component, **PRIVATE)


def reverse_tab():
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            cls = gr.Dropdown(class_choices(), value="7", label="Class", elem_id="diff-class")
            scheduler = gr.Dropdown(scheduler_choices(), value="ddim", label="Scheduler (diffusers)",
                                    elem_id="diff-scheduler")
            steps = STEPS.slider(elem_id="diff-steps")
            w = GUIDANCE.slider(elem_id="diff-w")
            seed = SEED.number(elem_id="diff-seed")
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
            with gr.Row():
                run = gr.Button("Sample", variant="primary", elem_id="diff-run")
                stop = gr.Button("Stop", elem_id="diff-stop")
        with gr.Column(scale=2):
            live = gr.HTML("<p>Press <b>Sample</b>: x_t, the predicted noise ε̂ and the predicted clean image x̂₀ "
                           "appear here while the reverse process runs.</p>", elem_id="diff-live")
            status = gr.Markdown(elem_id="diff-status")
            scrub = SCRUB.slider(hi=1, value=0, interactive=False, elem_id="diff-scrub")
            verdict = gr.Markdown(elem_id="diff-verdict")
    film = gr.Image(label="Filmstrip: x̂₀ at ten steps", type="pil", format="png", height=150, elem_id="diff-film")
    gif = gr.DownloadButton("Download the run as a GIF (x_t)", visible=False, elem_id="diff-gif")
    trajectory = gr.Plot(label="Trajectories", elem_id="diff-trajectory")
    state = visitor_state()
    after = outputs(After, dict(scrub=scrub, film=film, gif=gif, trajectory=trajectory, verdict=verdict))
    echoes = [w, steps, seed, eta, rescale]

    @user_errors
    def sample_ui(visitor, *values):
        denoiser, settings, readings, note = read_settings(*values)
        visitor = visitor or Visitor()
        visitor.stopping = False
        record = core()[2]
        rec = record.Recording(denoiser, settings)
        visitor.recording = rec
        shown = [r.shown for r in readings]
        tail = f" {note}" if note else ""
        # The visitor goes to the page before the first step, so a Stop pressed during the first run reaches it.
        yield (gr.skip(), f"Sampling {settings.steps} steps with {settings.scheduler} …" + tail, *(gr.skip(),) * 5,
               visitor, *shown)
        sampler = Sampler(record, denoiser, settings, rec, visitor)
        try:
            while not sampler.finished.wait(REFRESH):   # a picture every REFRESH s while the sampler runs on
                i = len(rec.x0) - 1   # x̂₀ is recorded last of a step, so step i is whole
                if i >= 0:
                    yield (frames_html(rec, i), status_text(rec, i) + tail, *(gr.skip(),) * 5, visitor, *shown)
        finally:   # also when the page is closed mid-run: gradio then closes this generator
            visitor.stopping = True
            sampler.finished.wait()
        if sampler.error is not None:
            raise sampler.error
        i = len(rec) - 1
        yield (frames_html(rec, i), status_text(rec, i, stopped=not rec.done) + tail,
               *after_views(rec), visitor, *shown)

    def stop_ui(visitor):
        if visitor is not None:
            visitor.stopping = True

    @user_errors
    def scrub_ui(visitor, box):
        rec = visitor.recording if visitor else None
        if rec is None or not len(rec):
            return gr.skip(), gr.skip(), gr.skip()
        i = SCRUB.read(box, hi=len(rec) - 1, default=len(rec) - 1)
        return frames_html(rec, i.value), status_text(rec, i.value), i.shown

    controls = [cls, w, scheduler, steps, seed, eta, thresholding, rescale, model]
    echo_on_commit([(steps, STEPS), (w, GUIDANCE), (eta, ETA), (rescale, RESCALE)], [(seed, SEED)])
    run.click(sample_ui, [state, *controls], [live, status, *after, state, *echoes], concurrency_id="diff-sample",
              **PRIVATE)
    stop.click(stop_ui, [state], None, queue=False, **PRIVATE)
    scrub.release(scrub_ui, [state, scrub], [live, status, scrub], **PRIVATE)


class Compared(NamedTuple):
    a_image: object
    a_note: object
    b_image: object
    b_note: object
    a_steps: object
    a_w: object
    b_steps: object
    b_w: object
    seed: object


def one_side(cls, scheduler, steps_box, w_box, seed_box, steps: Box, w: Box):
    record, figures = core()[2], core()[3]
    denoiser, settings, readings, _ = read_settings(cls, w_box, scheduler, steps_box, seed_box, w=w, steps=steps)
    rec = None
    for rec in record.run(denoiser, settings):
        pass
    probabilities = record.classify(denoiser, rec.final[None])[0]
    n = len(rec)
    picks = sorted({round(k * (n - 1) / 5) for k in range(6)})
    strip = figures.filmstrip([rec.x0[i] for i in picks] + [rec.final], [f"t={rec.timesteps[i]}" for i in picks]
                              + ["final"], cell=84, columns=7)
    top = int(np.argmax(probabilities))
    asked = settings.label
    conf = (f"p({CLASSES[asked]}) = **{probabilities[asked]:.3f}**" if asked is not None else
            f"top class {CLASSES[top]} (p = {probabilities[top]:.3f})")
    note = (f"**{settings.scheduler}, {settings.steps} steps, w = {settings.guidance:g}**: {rec.seconds:.2f} s of "
            f"sampling; the CNN reads the image as {CLASSES[top]}, {conf}.")
    return strip, note, readings


def compare_tab():
    gr.Markdown("Two configurations from the same seed, so the same x_T: each row shows x̂₀ along its run and the "
                "final image, its wall time and the CNN's confidence in the asked class.")
    with gr.Row():
        cls = gr.Dropdown(class_choices(), value="0", label="Class", elem_id="diff-cmp-class")
        seed = SEED.number(elem_id="diff-cmp-seed")
    with gr.Row():
        with gr.Column():
            a_scheduler = gr.Dropdown(scheduler_choices(), value="ddpm", label="A: scheduler", elem_id="diff-a-sched")
            a_steps = A_STEPS.number(elem_id="diff-a-steps")
            a_w = A_W.number(elem_id="diff-a-w")
        with gr.Column():
            b_scheduler = gr.Dropdown(scheduler_choices(), value="ddim", label="B: scheduler", elem_id="diff-b-sched")
            b_steps = B_STEPS.number(elem_id="diff-b-steps")
            b_w = B_W.number(elem_id="diff-b-w")
    go_button = gr.Button("Compare", variant="primary", elem_id="diff-compare")
    a_image = gr.Image(label="A", type="pil", format="png", height=130, elem_id="diff-a-image")
    a_note = gr.Markdown(elem_id="diff-a-note")
    b_image = gr.Image(label="B", type="pil", format="png", height=130, elem_id="diff-b-image")
    b_note = gr.Markdown(elem_id="diff-b-note")
    views = outputs(Compared, dict(a_image=a_image, a_note=a_note, b_image=b_image, b_note=b_note, a_steps=a_steps,
                                   a_w=a_w, b_steps=b_steps, b_w=b_w, seed=seed))

    @user_errors
    def compare_ui(cls, seed_box, a_sched, a_steps_box, a_w_box, b_sched, b_steps_box, b_w_box):
        a_strip, a_text, a_read = one_side(cls, a_sched, a_steps_box, a_w_box, seed_box, A_STEPS, A_W)
        yield Compared(a_strip, a_text, gr.skip(), "B is sampling …", a_read[1].shown, a_read[0].shown, gr.skip(),
                       gr.skip(), a_read[2].shown)
        b_strip, b_text, b_read = one_side(cls, b_sched, b_steps_box, b_w_box, seed_box, B_STEPS, B_W)
        yield Compared(gr.skip(), gr.skip(), b_strip, b_text, gr.skip(), gr.skip(), b_read[1].shown,
                       b_read[0].shown, gr.skip())

    echo_on_commit([], [(seed, SEED), (a_steps, A_STEPS), (a_w, A_W), (b_steps, B_STEPS), (b_w, B_W)])
    go_button.click(compare_ui, [cls, seed, a_scheduler, a_steps, a_w, b_scheduler, b_steps, b_w], views,
                    concurrency_id="diff-sample", **PRIVATE)
