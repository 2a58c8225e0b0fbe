"""The GAN tab's image mode: a Fashion-MNIST DCGAN trained live, one run per visitor in a thread of its own, from
scratch or from the bundled dcgan. It streams the fixed-z sample grid and the curves; a history scrubber shows the
snapshots kept so far; the collapse meter (the bundled CNN's class histogram of 256 samples and its entropy) and
fid_cnn are measured every 50 steps; a latent walk interpolates between two z with the current G. The gr.api
endpoint gan_train_images trains headless; core.gan.images does the work.

No `from __future__ import annotations` here, for the reason given in explorers/convolution.py.
"""
import collections
import threading
import weakref

import gradio as gr
import numpy as np
import torch
from PIL import Image

from core import live, render, settings
from core.gan import figures, images, runs
from core.gan.losses import LABELS, LOSSES
from core.images import to_data_url
from core.models.gan import Z_DIM
from core.validate import as_bool, as_int
from explorers.common import Box, api, user_errors
from explorers.inputs import PRIVATE
from explorers.streaming import stream, visitor_state

LIMIT_SECONDS = 300          # one press of play trains for at most 5 minutes
API_SECONDS = 120            # one headless API call trains for at most 2 minutes
CURVES_EVERY = 5             # while playing, the curves are redrawn with every fifth picture
CURVE_ROWS = 400             # the curves draw at most this many steps (evenly thinned; every meter row is kept)
LOSS_CHOICES = [(LABELS[k], k) for k in LOSSES]
START_CHOICES = [("from scratch", False), ("from the bundled dcgan", True)]
BOXES = {
    "k": Box("k (D steps per G step)", 1, images.MAX_K, 1),
    "lr_d": Box("D's learning rate", 1e-6, 1.0, 2e-4, whole=False),
    "lr_g": Box("G's learning rate", 1e-6, 1.0, 2e-4, whole=False),
    "batch": Box("Batch size", 2, images.MAX_BATCH, 64),
    "smoothing": Box("Label smoothing", 0.0, 0.5, 0.1, whole=False),
    "gp_lambda": Box("WGAN-GP λ", 0.0, 100.0, 10.0, whole=False),
    "seed": Box("Seed", 0, 2**31 - 1, 0),
}
FREED = ("Your earlier run was freed to make room for other visitors' runs (this server keeps the latest "
         "GLASSBOX_MAX_IMAGE_RUNS); a new one starts. ")
SNAPSHOT = Box("History: snapshot", 0, None, None)   # up to the run's latest snapshot, its default
WALK_SEED = Box("Walk seed", 0, 2**31 - 1, 1)
WALK_STEPS = Box("Walk steps", 2, images.MAX_WALK, 10)


class Visitor:
    """One visitor's image run (a Trainer, made on first use) and the collapse meter of its first step."""

    def __init__(self):
        self.trainer: live.Runner | None = None
        self.first_meter: tuple | None = None
        self.freed = False   # the run was dropped to keep the process's image runs within MAX_RUNS

    def new_run(self, run: images.ImageRun) -> live.Runner:
        if self.trainer is not None:
            self.trainer.stop()   # waits: the old run's stream then ends before the new run's picture is sent
        self.first_meter = images.collapse(run)   # before the trainer: a picture never pairs a run with another's
        self.trainer = live.Runner(run, live.SLOTS, single=False, limit=LIMIT_SECONDS)
        self.freed = False
        keep(self)
        return self.trainer

    def close(self) -> None:
        if self.trainer is not None:
            self.trainer.stop(wait=False)


# An image run holds 10-20 MB (G, D, Adam's moments, snapshots) for as long as its visitor's gr.State lives (an
# hour after the page is closed), so the process keeps at most MAX_RUNS of them: a new run frees the least recently
# started one that is not training, and its visitor is told so at their next action.
MAX_RUNS = settings.MAX_IMAGE_RUNS.get()
_runs: collections.OrderedDict[int, weakref.ref] = collections.OrderedDict()
_runs_lock = threading.Lock()


def keep(visitor: Visitor) -> None:
    with _runs_lock:
        _runs.pop(id(visitor), None)
        _runs[id(visitor)] = weakref.ref(visitor)
        for key, ref in list(_runs.items()):
            if len(_runs) <= MAX_RUNS:
                break
            other = ref()
            if other is None or other.trainer is None:
                del _runs[key]
            elif other is not visitor and not other.trainer.running:
                other.trainer, other.freed = None, True
                del _runs[key]


@user_errors
def gan_train_images(steps: int = 50, warm_start: bool = False, seed: int = 0, loss: str = "nonsaturating",
                     k: int = 1, lr_d: float = 2e-4, lr_g: float = 2e-4, batch: int = 64, smoothing: float = 0.1,
                     gp_lambda: float = 10.0) -> dict:
    """Train the Fashion-MNIST DCGAN headless, as the tab's image mode does, and read the result.

    Parameters:
        steps: iterations, 1 to 500; the same settings and seed give the same result
        warm_start: start from the bundled dcgan and dcgan_d instead of DCGAN's random initialisation
        seed: the seed of the initialisation, the data order and the noise
        loss: nonsaturating, saturating, wgan-gp, lsgan or hinge
        k: D steps per G step, 1 to 10
        lr_d: D's learning rate (Adam, betas 0.5, 0.999), above 0 and at most 1
        lr_g: G's learning rate, above 0 and at most 1
        batch: images per step, 2 to 256
        smoothing: one-sided label smoothing, 0 to 0.5 (the real target is 1 - smoothing)
        gp_lambda: WGAN-GP's penalty weight, 0 to 100 (used by wgan-gp only)

    Returns:
        steps (done), and per step losses_d, losses_g, d_real and d_fake; diverged: null or why the run stopped;
        unless it diverged, class_histogram (how the bundled CNN classifies 256 samples, 10 counts), entropy
        (nats; log 10 = 2.303 when every class is equally made), fid_cnn (256 samples against 2,000 test images,
        in the CNN's feature space) and grid (the 8 x 8 fixed-z samples as a PNG data URL); cut_short: null, or
        the note that the call reached its 120 s limit before `steps`.
    """
    settings = images.Settings(loss=loss, k=k, lr_d=lr_d, lr_g=lr_g, batch=batch, smoothing=smoothing,
                               gp_lambda=gp_lambda, warm_start=as_bool(warm_start, "warm_start"), seed=seed)
    steps = as_int(steps, "steps", 1, images.MAX_STEPS)
    result = live.headless(live.SLOTS, False, images.train, settings.checked(), steps, API_SECONDS)
    cut = result["steps"] < steps and not result["diverged"]
    result["cut_short"] = f"Stopped at the API's limit of {API_SECONDS} s of training." if cut else None
    if "grid" in result:
        result["grid"] = to_data_url(result["grid"])
    return result


# ---------------------------------------------------------------- the live run's pictures


def read_settings(start, loss, *numbers) -> tuple[images.Settings, list]:
    readings = [box.read(value) for box, value in zip(BOXES.values(), numbers)]
    values = dict(zip(BOXES, (r.value for r in readings)))
    settings = images.Settings(loss=loss, warm_start=as_bool(start, "start"), **values)
    return settings.checked(), [r.shown for r in readings]


def prepared(visitor, controls) -> tuple[Visitor, live.Runner, str, list]:
    """The visitor's trainer for these controls: retuned where only live settings changed, else a new run."""
    visitor = visitor or Visitor()
    settings, shown = read_settings(*controls)
    trainer, note = visitor.trainer, FREED if visitor.freed else ""
    if trainer is not None and trainer.running and not runs.retune(trainer.run, settings):
        trainer.stop()
    if trainer is None or not runs.retune(trainer.run, settings):
        if trainer is not None:
            note = "The start or the seed changed, so a new run started. "
        trainer = visitor.new_run(images.ImageRun(settings))
    return visitor, trainer, note, shown


def thinned(history: list[dict]) -> list[dict]:
    """At most CURVE_ROWS rows evenly spaced, plus every row that holds a meter reading."""
    if len(history) <= CURVE_ROWS:
        return list(history)
    keep = set(np.linspace(0, len(history) - 1, CURVE_ROWS).round().astype(int).tolist())
    return [row for i, row in enumerate(history) if i in keep or "fid" in row]


def capture(visitor: Visitor) -> dict:
    trainer = visitor.trainer
    run, running = trainer.run, trainer.running
    meter = next((row for row in reversed(run.history) if "histogram" in row), None)
    counts, entropy = (np.array(meter["histogram"]), meter["entropy"]) if meter else visitor.first_meter
    return {"grid": images.samples(run), "history": thinned(run.history), "counts": counts, "entropy": entropy,
            "meter_step": meter["step"] if meter else 0, "fid": meter["fid"] if meter else None,
            "step": run.step_count, "rate": trainer.rate(), "running": running, "reason": trainer.reason,
            "diverged": run.diverged, "snapshots": len(run.snapshots),
            # a stopped run's picture also shows its latest snapshot, where the scrubber is put
            **({} if running else dict(zip(("snapshot", "snapshot_note"), snapshot_at(run, run.snapshots, -1))))}


def grid_html(grid: Image.Image) -> str:
    # An <img> with a data URL, not a gr.Image: five pictures a second would each become a file in gradio's cache.
    return (f"<img src='{to_data_url(grid)}' alt='8 x 8 samples of the same 64 noise vectors' "
            "style='width:100%;max-width:460px;image-rendering:pixelated'>")


def status_text(c: dict, note: str = "") -> str:
    if c["diverged"]:
        return f"<span class='gb-alarm'>⚠ {c['diverged']} Press reset to start again.</span>"
    if c["running"]:
        return note + "Training… the grid shows the same 64 noise vectors through the current G."
    return note + (c["reason"] or "Press play to train, or step through it one iteration at a time.")


def drawer(note: str = ""):
    """The function that draws a captured run. While it plays, the curves are redrawn with every CURVES_EVERY-th
    picture and the meter only when it has a new reading: a plotly redraw costs Chromium about 250 ms in this
    page, and the grid is what moves. A stopped run's picture has everything, and the scrubber's new range."""
    pictures, meter_step = 0, None

    def draw(c: dict) -> tuple:
        nonlocal pictures, meter_step
        pictures += 1
        stopped = not c["running"]
        curves = figures.image_curves(c["history"]) if stopped or pictures % CURVES_EVERY == 1 else gr.skip()
        meter = gr.skip()
        if stopped or c["meter_step"] != meter_step:
            meter, meter_step = figures.collapse_figure(c["counts"], c["entropy"]), c["meter_step"]
        rate = f" · {c['rate']:.1f} steps/s" if c["rate"] else ""
        fid = f" · fid_cnn {c['fid']:.1f} at step {c['meter_step']:,}" if c["fid"] is not None else ""
        last = c["snapshots"] - 1
        scrub = gr.update(maximum=max(last, 1), value=last, interactive=last > 0) if stopped else gr.skip()
        shot = (c["snapshot"], c["snapshot_note"]) if stopped else (gr.skip(), gr.skip())
        return (grid_html(c["grid"]), curves, meter, f"**Step {c['step']:,}**{rate}{fid}", status_text(c, note),
                scrub, *shot)
    return draw


def snapshot_views(visitor, index):
    """The scrubber's snapshot, its note, and what the scrubber must show."""
    if visitor is None or visitor.trainer is None:
        return None, "Train first: snapshots are kept as the run goes.", gr.skip()
    snapshots = visitor.trainer.run.snapshots   # one list: a thinning replaces run.snapshots, never this list
    reading = SNAPSHOT.read(index, hi=len(snapshots) - 1)
    return (*snapshot_at(visitor.trainer.run, snapshots, reading.value), reading.shown)


def snapshot_at(run: images.ImageRun, snapshots: list, i: int) -> tuple:
    step, images_at = snapshots[i]
    return (images.grid_image(images_at),
            f"Snapshot at step {step:,} of {run.step_count:,} ({len(snapshots)} kept, evenly spaced).")


def walk_views(visitor, seed_box, steps_box):
    seed, steps = WALK_SEED.read(seed_box), WALK_STEPS.read(steps_box)
    if visitor is None or visitor.trainer is None:
        raise ValueError("There is no generator yet: press play or step first.")
    if visitor.trainer.run.diverged:
        raise ValueError(f"This run diverged, so G's weights are NaN: {visitor.trainer.run.diverged} Reset to start "
                         "again.")
    gen = torch.Generator().manual_seed(seed.value)
    z = torch.randn(2, Z_DIM, generator=gen, dtype=torch.float64).numpy()
    frames = images.latent_walk(visitor.trainer.run, z[0], z[1], steps.value)
    tiles = [Image.fromarray((f * 255).round().astype(np.uint8)) for f in frames]
    strip = render.grid(tiles, columns=len(tiles), cell=56)
    note = (f"G at step {visitor.trainer.run.step_count:,} along the straight line from z_a to z_b (both drawn "
            f"from seed {seed.value}), {steps.value} frames.")
    return strip, note, seed.shown, steps.shown


def build() -> None:
    """The image mode's tab (inside the GAN tab's tabs) and the gan_train_images endpoint."""
    with gr.Tab("Images (Fashion-MNIST)", id="gan-images"):
        build_tab()


def build_tab() -> None:
    gr.Markdown("A DCGAN (G: 0.77 M weights, D: 0.14 M) learns Fashion-MNIST here, live. From scratch its first "
                "shapes appear within a minute; watch for collapse: many samples of one class, a falling "
                "entropy in the meter.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=330):
            start = gr.Radio(START_CHOICES, value=False, label="Start", elem_id="gan-img-start")
            with gr.Row():
                play = gr.Button("Play", variant="primary", elem_id="gan-img-play", min_width=60)
                pause = gr.Button("Pause", elem_id="gan-img-pause", min_width=60)
                reset = gr.Button("Reset", elem_id="gan-img-reset", min_width=60)
            with gr.Row():
                step = gr.Button("Step", elem_id="gan-img-step", min_width=60)
                step_d = gr.Button("Step D", elem_id="gan-img-step-d", min_width=60)
                step_g = gr.Button("Step G", elem_id="gan-img-step-g", min_width=60)
            slow = gr.Checkbox(False, label="Slow motion (a quarter-second pause after each step)",
                   elem_id="gan-img-slow")
            counter = gr.Markdown("**Step 0**", elem_id="gan-img-counter")
            status = gr.Markdown("Press play to train, or step through it one iteration at a time.",
                                 elem_id="gan-img-status")
            loss = gr.Radio(LOSS_CHOICES, value="nonsaturating", label="Loss", elem_id="gan-img-loss")
            boxes = {name: box.number(elem_id=f"gan-img-{name.replace('_', '-')}", min_width=120)
                     for name, box in BOXES.items()}
        with gr.Column(scale=2, min_width=420):
            gr.Markdown("**The same 64 noise vectors through the current G**")
            grid = gr.HTML(elem_id="gan-img-grid")
            scrubber = SNAPSHOT.slider(0, hi=1, interactive=False, elem_id="gan-img-scrubber")
            snapshot = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                height=300, elem_id="gan-img-snapshot")
            snapshot_note = gr.Markdown(elem_id="gan-img-snapshot-note")
        with gr.Column(scale=2, min_width=380):
            curves = gr.Plot(show_label=False, elem_id="gan-img-curves")
            meter = gr.Plot(show_label=False, elem_id="gan-img-meter")
    gr.Markdown("### Latent walk with the current G")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            walk_seed = WALK_SEED.number(elem_id="gan-img-walk-seed")
            walk_steps = WALK_STEPS.slider(elem_id="gan-img-walk-steps")
            walk = gr.Button("Walk from z_a to z_b", elem_id="gan-img-walk")
        with gr.Column(scale=4, min_width=520):
            walk_strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                  elem_id="gan-img-walk-strip")
            walk_note = gr.Markdown(elem_id="gan-img-walk-note")

    state = visitor_state()
    controls = [start, loss, *boxes.values()]
    views = [grid, curves, meter, counter, status, scrubber, snapshot, snapshot_note]
    everything = [state, *views, *boxes.values()]

    @user_errors
    def play_ui(visitor, slow_motion, *values):
        visitor, trainer, note, shown = prepared(visitor, values)
        trainer.slow = bool(slow_motion)
        refused = trainer.start()
        if refused:
            trainer.reason = refused
            yield visitor, *drawer()(capture(visitor)), *shown
            return
        # The scrubber is left alone while the run plays (a visitor may be dragging it) and updated at the end.
        for i, pictured in enumerate(stream(trainer, lambda: capture(visitor), drawer(note))):
            if visitor.trainer is not trainer:   # reset replaced the run (or it was freed): that event draws
                return
            yield visitor, *pictured, *(shown if i == 0 else [gr.skip()] * len(shown))

    def step_ui(which):
        @user_errors
        def handler(visitor, *values):
            visitor, trainer, note, shown = prepared(visitor, values)
            trainer.step(which)
            trainer.reason = {"both": "One iteration: k D steps, then one G step.", "d": "One D step: G stays put.",
                              "g": "One G step: D stays put."}[which]
            with trainer.lock:
                return visitor, *drawer(note)(capture(visitor)), *shown
        return handler

    @user_errors
    def reset_ui(visitor, *values):
        visitor = visitor or Visitor()
        settings, shown = read_settings(*values)
        visitor.new_run(images.ImageRun(settings))
        return visitor, *drawer()(capture(visitor)), *shown

    @user_errors
    def apply_ui(visitor, *values):
        """Enter in a number box, or a new choice: the settings are read (a bad box says so and shows the value
        used) and, where they can be, applied to the run as it goes."""
        visitor = visitor or Visitor()
        settings, shown = read_settings(*values)
        trainer = visitor.trainer
        if trainer is None:
            note = "Press play or step to start a run with these settings."
        elif runs.retune(trainer.run, settings):
            note = "Applied to the run as it goes."
        else:
            note = "This change needs a new run: it starts at the next play, step or reset."
        if trainer is not None and trainer.running:
            gr.Info(note)   # the stream rewrites the status line five times a second
            return visitor, gr.skip(), *shown
        return visitor, note, *shown

    @user_errors
    def pause_ui(visitor):
        if visitor is not None and visitor.trainer is not None:
            visitor.trainer.stop("Paused.")

    def slow_ui(visitor, on):
        if visitor is not None and visitor.trainer is not None:
            visitor.trainer.slow = bool(on)

    gr.on([*(box.submit for box in boxes.values()), start.input, loss.input], apply_ui, [state, *controls],
          [state, status, *boxes.values()], **PRIVATE)
    play.click(play_ui, [state, slow, *controls], everything, trigger_mode="once", concurrency_limit=None, **PRIVATE)
    pause.click(pause_ui, [state], None, concurrency_limit=None, **PRIVATE)
    for button, which in ((step, "both"), (step_d, "d"), (step_g, "g")):
        button.click(step_ui(which), [state, *controls], everything, **PRIVATE)
    reset.click(reset_ui, [state, *controls], everything, **PRIVATE)
    slow.input(slow_ui, [state, slow], None, **PRIVATE)
    scrubber.release(user_errors(snapshot_views), [state, scrubber], [snapshot, snapshot_note, scrubber],
                     trigger_mode="always_last", **PRIVATE)
    gr.on([walk.click, walk_seed.submit, walk_steps.release], user_errors(walk_views), [state, walk_seed, walk_steps],
          [walk_strip, walk_note, walk_seed, walk_steps], trigger_mode="always_last", **PRIVATE)
    api(gan_train_images, "gan_train_images")
