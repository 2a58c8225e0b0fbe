"""The GAN tab's image mode: a Fashion-MNIST DCGAN trained live, from scratch or from the bundled dcgan. It streams
the fixed-z sample grid and the curves; a history scrubber shows the snapshots kept so far; the collapse meter
(the bundled CNN's class histogram of 256 samples and its entropy) and fid_cnn are measured every 50 steps; a latent
walk interpolates between two z with the current G. What it shares with the 2-D mode is in live_mode.py; here are
its settings, its pictures, the scrubber, the walk and the cap on the image runs a process keeps."""
import collections
import threading
import weakref
from typing import NamedTuple

import gradio as gr
import numpy as np
from PIL import Image

from core import settings
from core.gan import dcgan, figures
from core.render import to_data_url
from core.validate import as_bool
from explorers.common import Box, user_errors
from explorers.gan import live_mode
from explorers.gan.live_mode import CURVES_EVERY, LOSS_CHOICES, LiveControls, LiveMode, VisitorRun
from explorers.inputs import PRIVATE
from explorers.path import Step, path
from explorers.streaming import visitor_state

START_CHOICES = [("from scratch", False), ("from the bundled dcgan", True)]
BOXES = {
    "k": Box("k (D steps per G step)", 1, dcgan.MAX_K, 1),
    "lr_d": Box("D's learning rate", 1e-6, 1.0, 2e-4, whole=False),
    "lr_g": Box("G's learning rate", 1e-6, 1.0, 2e-4, whole=False),
    "batch": Box("Batch size", 2, dcgan.MAX_BATCH, 64),
    "smoothing": Box("Label smoothing", 0.0, 0.5, 0.1, whole=False),
    "gp_lambda": Box("WGAN-GP λ", 0.0, 100.0, 10.0, whole=False),
    "seed": Box("Seed", 0, 2**31 - 1, 0),
}
FREED = ("Your earlier run was freed to make room for other visitors' runs (this server keeps the latest "
         "GLASSBOX_MAX_IMAGE_RUNS); a new one starts. ")
SNAPSHOT = Box("History: snapshot", 0, None, None)   # up to the run's latest snapshot, its default
WALK_SEED = Box("Walk seed", 0, 2**31 - 1, 1)
WALK_STEPS = Box("Walk steps", 2, dcgan.MAX_WALK, 10)


class ImagesVisitorRun(VisitorRun):
    """One visitor's image run and the collapse meter of its first step."""

    single = False   # a DCGAN's convolutions gain from every core

    def __init__(self):
        super().__init__()
        self.first_meter: tuple | None = None
        self.freed = False   # the run was dropped to keep the process's image runs within MAX_RUNS

    def starting(self, run: dcgan.ImageRun) -> None:
        self.first_meter = dcgan.collapse(run)
        self.freed = False

    def new_run(self, run: dcgan.ImageRun):
        runner = super().new_run(run)
        keep(self)
        return runner


# An image run holds 10-20 MB (G, D, Adam's moments, snapshots) for as long as its visitor's gr.State lives (an
# hour after the page is closed), so the process keeps at most MAX_RUNS of them: a new run frees the least recently
# started one that is not training, and its visitor is told so at their next action.
MAX_RUNS = settings.MAX_IMAGE_RUNS.get()
_runs: collections.OrderedDict[int, weakref.ref] = collections.OrderedDict()
_runs_lock = threading.Lock()


def keep(visit: ImagesVisitorRun) -> None:
    with _runs_lock:
        _runs.pop(id(visit), None)
        _runs[id(visit)] = weakref.ref(visit)
        for key, ref in list(_runs.items()):
            if len(_runs) <= MAX_RUNS:
                break
            other = ref()
            if other is None or other.runner is None:
                del _runs[key]
            elif other is not visit and not (other.runner.running or other.runner.waiting):
                other.runner, other.freed = None, True
                del _runs[key]


class ImagesMode(LiveMode):
    visitor_run = ImagesVisitorRun
    boxes = BOXES
    changed = "The start or the seed"
    running_text = "Training… the grid shows the same 64 noise vectors through the current G."
    diverged_text = "Press reset to start again."

    def read_settings(self, visit: ImagesVisitorRun, start, loss, *numbers) -> tuple:
        values, shown = live_mode.read_boxes(BOXES, numbers)
        return dcgan.Settings(loss=loss, warm_start=as_bool(start, "start"), **values).checked(), shown

    def new_run(self, settings: dcgan.Settings) -> dcgan.ImageRun:
        return dcgan.ImageRun(settings)

    def opening_note(self, visit: ImagesVisitorRun) -> str:
        return FREED if visit.freed else ""

    def captured(self, visit: ImagesVisitorRun, run: dcgan.ImageRun, running: bool) -> dict:
        meter = next((row for row in reversed(run.history) if "histogram" in row), None)
        counts, entropy = (np.array(meter["histogram"]), meter["entropy"]) if meter else visit.first_meter
        kept = set(live_mode.evenly(len(run.history)))
        return {"grid": dcgan.samples(run), "counts": counts, "entropy": entropy,
                # every row that holds a meter reading is kept, however the rest are thinned
                "history": [row for i, row in enumerate(run.history) if i in kept or "fid" in row],
                "meter_step": meter["step"] if meter else 0, "fid": meter["fid"] if meter else None,
                "snapshots": len(run.snapshots),
                # a stopped run's picture also shows its latest snapshot, where the scrubber is put
                **({} if running else dict(zip(("snapshot", "snapshot_note"), snapshot_at(run, run.snapshots, -1),
                                               strict=True)))}

    def drawer(self, visit: ImagesVisitorRun, note: str = ""):
        """While the run plays, the curves are redrawn with every CURVES_EVERY-th picture and the meter only when it
        has a new reading: a plotly redraw costs Chromium about 250 ms in this page, and the grid is what moves. The
        scrubber is left alone (a visitor may be dragging it); a stopped run's picture has everything, and the
        scrubber's new range."""
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
            return (grid_html(c["grid"]), curves, meter, f"**Step {c['step']:,}**{rate}{fid}",
                    self.status_text(c, note), scrub, *shot)
        return draw


MODE = ImagesMode()


def grid_html(grid: Image.Image) -> str:
    # An <img> with a data URL, not a gr.Image: five pictures a second would each become a file in gradio's cache.
    return (f"<img src='{to_data_url(grid)}' alt='8 x 8 samples of the same 64 noise vectors' "
            "style='width:100%;max-width:460px;image-rendering:pixelated'>")


@user_errors
def snapshot_views(visit, index):
    """The scrubber's snapshot, its note, and what the scrubber must show."""
    if visit is None or visit.runner is None:
        return None, "Train first: snapshots are kept as the run goes.", gr.skip()
    snapshots = visit.runner.run.snapshots   # one list: a thinning replaces run.snapshots, never this list
    reading = SNAPSHOT.read(index, hi=len(snapshots) - 1)
    return (*snapshot_at(visit.runner.run, snapshots, reading.value), reading.shown)


def snapshot_at(run: dcgan.ImageRun, snapshots: list, i: int) -> tuple:
    step, images_at = snapshots[i]
    return (dcgan.grid_image(images_at),
            f"Snapshot at step {step:,} of {run.step_count:,} ({len(snapshots)} kept, evenly spaced).")


@user_errors
def walk_views(visit, seed_box, steps_box):
    seed, steps = WALK_SEED.read(seed_box), WALK_STEPS.read(steps_box)
    if visit is None or visit.runner is None:
        raise ValueError("There is no generator yet: press play or step first.")
    run = visit.runner.run
    if run.diverged:
        raise ValueError(f"This run diverged, so G's weights are NaN: {run.diverged} Reset to start again.")
    note = (f"G at step {run.step_count:,} along the straight line from z_a to z_b (both drawn from seed "
            f"{seed.value}), {steps.value} frames.")
    return dcgan.walk_strip(run, seed.value, steps.value), note, seed.shown, steps.shown


class Scrubber(NamedTuple):
    """The history scrubber and the snapshot it shows."""
    slider: gr.Slider
    snapshot: gr.Image
    note: gr.Markdown


def run_column() -> tuple[gr.Radio, live_mode.Buttons]:
    start = gr.Radio(START_CHOICES, value=False, label="Start", elem_id="gan-img-start")
    return start, live_mode.buttons("gan-img", "Slow motion (a quarter-second pause after each step)", "**Step 0**")


def picture_column() -> tuple[gr.HTML, Scrubber]:
    gr.Markdown("**The same 64 noise vectors through the current G**: noise at step 0; a good run shows garments of "
                "every class, a collapsing one the same few.", elem_id="gan-img-grid-caption")
    return gr.HTML(elem_id="gan-img-grid"), Scrubber(
        SNAPSHOT.slider(0, hi=1, interactive=False, elem_id="gan-img-scrubber"),
        gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[], height=300,
                 elem_id="gan-img-snapshot"),
        gr.Markdown(elem_id="gan-img-snapshot-note"))


def layout() -> tuple[LiveControls, Scrubber]:
    path("gan-img-path", "A DCGAN (G: 0.77 M weights, D: 0.14 M) learns Fashion-MNIST here, live: the grid shows what "
         "G makes of the same 64 noise vectors as it learns. From scratch its first shapes appear within a minute.",
         [Step("Press Play", "gan-img-play"), Step("Watch the grid", "gan-img-grid"),
          Step("Read the losses", "gan-img-curves"), Step("Watch for collapse", "gan-img-meter"),
          Step("Scrub the history", "gan-img-scrubber"), Step("Walk from z_a to z_b", "gan-img-walk")],
         picture="gan-img-grid", control="gan-img-play")
    (start, buttons), (grid, scrubber), (curves, meter) = live_mode.page(
        run_column, picture_column, lambda: (gr.Plot(show_label=False, elem_id="gan-img-curves"),
                                             gr.Plot(show_label=False, elem_id="gan-img-meter")))
    # The settings under the first row: at 800 px the columns stack, and Play then stays next to the grid.
    with gr.Accordion("Settings: loss, learning rates, batch, seed", open=True, elem_id="gan-img-settings"):
        loss = gr.Radio(LOSS_CHOICES, value="nonsaturating", label="Loss", elem_id="gan-img-loss")
        with gr.Row():
            boxes = [live_mode.number_box(MODE, "gan-img", name) for name in BOXES]
    views = [grid, curves, meter, buttons.counter, buttons.status, *scrubber]
    return LiveControls(visitor_state(), buttons, [start, loss], boxes, views, []), scrubber


def latent_walk(state: gr.State) -> None:
    """The latent walk's row and its event."""
    gr.Markdown("### Latent walk with the current G")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            seed = WALK_SEED.number(elem_id="gan-img-walk-seed")
            steps = WALK_STEPS.slider(elem_id="gan-img-walk-steps")
            walk = gr.Button("Walk from z_a to z_b", elem_id="gan-img-walk")
        with gr.Column(scale=4, min_width=520):
            strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                             elem_id="gan-img-walk-strip")
            note = gr.Markdown(elem_id="gan-img-walk-note")
    gr.on([walk.click, seed.submit, steps.release], walk_views, [state, seed, steps], [strip, note, seed, steps],
          trigger_mode="always_last", **PRIVATE)


def build() -> tuple:
    """The image mode's components and events; returns its first-opening event (fn, inputs, outputs), which draws a
    new run at step 0 (G's samples before any training), so the mode never opens empty."""
    shared, scrubber = layout()
    latent_walk(shared.state)
    first_open = live_mode.wire(MODE, shared)
    scrubber.slider.release(snapshot_views, [shared.state, scrubber.slider], [scrubber.snapshot, scrubber.note,
                            scrubber.slider], trigger_mode="always_last", **PRIVATE)
    return first_open
