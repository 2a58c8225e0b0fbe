"""The GAN tab's 2-D mode: a GAN on toy data (or points drawn with the mouse) trained live, drawn as GAN Lab's
picture (real and fake points, D's heatmap, G's gradient arrows, the manifold: arrays the browser draws, see
view2d.js) and curves (losses, D's outputs, KL and JS). What it shares with the image mode is in live_mode.py; here
are its settings, its pictures and its own controls: the picture's layers, the data (new data starts a new run at
once), the drawing pad, save and load, and the warm start."""
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import numpy as np

from core import live, render, toy2d, workers
from core.gan import figures, toy
from explorers.common import Box, saved_download, sketchpad, user_errors
from explorers.gan import live_mode
from explorers.gan.live_mode import LOSS_CHOICES, LiveControls, LiveMode, VisitorRun
from explorers.inputs import PRIVATE
from explorers.path import Step, path
from explorers.streaming import Tokens, visitor_state
from explorers.widgets import packed, widget

HEAT_RESOLUTION = 40         # D's heatmap: 40 x 40 cells over the box
# A run plays in a worker process (core.workers), which sends the view's arrays (toy.frame: about half a millisecond
# of torch) 16 times a second; the view reads them itself from one stream (gan_2d_frames, with the run's token from
# the play event), with no gradio event on the page. The curves, the counter and the status line beside the buttons
# follow when the run stops. 16 a second: just above the 15 at which a picture reads as moving, since each frame
# costs the page's drawing, which shares a 2-core machine with the trainer.
FRAME_SECONDS = 1 / 16
TOKENS = Tokens()            # the runs' tokens: a token reads that one run's frames, nothing else of its visitor's
EXPIRED = ("Unknown or expired token: the run it named has stopped or been replaced, or its page was closed. Press "
           "play in the GAN tab's 2-D mode to watch a run.")
VIEW = Path(__file__).with_name("view2d")   # view2d.html / .js / .css: the 2-D view's widget
PAD = 280                    # the drawing pad's side in pixels; it maps onto the box [-BOX, BOX]^2
DATASET_CHOICES = [("ring of 8", "ring"), ("grid of 25", "grid"), ("two moons", "moons"), ("line", "line"),
                   ("3 blobs", "blobs"), ("my drawing", toy2d.DRAWN)]
LAYER_CHOICES = [("D's heatmap (green: D says real, purple: fake)", "heatmap"), ("real points (green)", "real"),
                 ("fake points (purple)", "fake"), ("G's gradient (arrows)", "arrows"),
                 ("manifold (G's image of a noise grid)", "manifold")]
# The number boxes, in the order of the handlers' arguments; each maps to the toy.Settings field of its key.
BOXES = {
    "k": Box("k (D steps per G step)", 1, toy.MAX_K, 1),
    "lr_d": Box("D's learning rate", 1e-6, 10.0, 0.003, whole=False),
    "lr_g": Box("G's learning rate", 1e-6, 10.0, 0.003, whole=False),
    "batch": Box("Batch size", 1, toy.MAX_BATCH, 150),
    "smoothing": Box("Label smoothing", 0.0, 0.5, 0.0, whole=False),
    "gp_lambda": Box("WGAN-GP λ", 0.0, 1000.0, 10.0, whole=False),
    "g_layers": Box("G's hidden layers", 0, toy.MAX_LAYERS, 2),
    "g_neurons": Box("G's neurons per layer", 1, toy.MAX_NEURONS, 32),
    "d_layers": Box("D's hidden layers", 0, toy.MAX_LAYERS, 2),
    "d_neurons": Box("D's neurons per layer", 1, toy.MAX_NEURONS, 32),
    "seed": Box("Seed", 0, 2**31 - 1, 0),
}


class PointsVisitorRun(VisitorRun):
    """One visitor's 2-D run, the points they drew, the layers they show, the last view whose numbers were
    finite (a diverged run's weights are NaN: its picture stays the last good one), and the token through which the
    view streams the run's frames while it plays."""

    picture = functools.partial(toy.frame, resolution=HEAT_RESOLUTION)
    every = FRAME_SECONDS

    def __init__(self):
        super().__init__()
        self.points: tuple | None = None
        self.layers = figures.LAYERS
        self.last_view: toy.View | None = None
        self.token: tuple[live.Runner, str] | None = None   # the runner a token names, and the token
        self.reader: object | None = None   # the newest stream of the run's frames (frames())

    def starting(self, run: toy.Run) -> None:
        self.last_view = None
        self.token = None
        TOKENS.forget(self)   # the old run's token expires with it

    def close(self) -> None:
        TOKENS.forget(self)
        super().close()

    def run_token(self) -> str:
        """The current run's token, made at its first play."""
        if self.token is None or self.token[0] is not self.runner:
            self.token = (self.runner, TOKENS.issue(self, self.runner))
        return self.token[1]


class PointsMode(LiveMode):
    visitor_run = PointsVisitorRun
    boxes = BOXES
    looks = 1   # the layers shown
    streamed = 0   # the view streams its own frames; the curves, counter and status follow at play and at the stop
    changed = "The data, a network, the optimiser or the seed"
    running_text = "Training… the picture redraws up to 16 times a second; the curves when you pause."
    diverged_text = "The run is paused; press reset to start again."

    def read_settings(self, visit: PointsVisitorRun, dataset, loss, optimizer, *numbers) -> tuple:
        values, shown = live_mode.read_boxes(BOXES, numbers)
        if dataset == toy2d.DRAWN and visit.points is None:
            raise ValueError("Draw some data first: draw on the pad below the plot, then press “Use the drawing”.")
        points = visit.points if dataset == toy2d.DRAWN else None
        settings = toy.Settings(dataset=dataset, loss=loss, optimizer=optimizer, points=points, **values)
        return settings.checked(), shown

    def new_run(self, settings: toy.Settings) -> toy.Run:
        return toy.Run(settings)

    def look(self, visit: PointsVisitorRun, shown_layers) -> None:
        visit.layers = frozenset(shown_layers or ())

    def captured(self, visit: PointsVisitorRun, run: toy.Run, running: bool) -> dict:
        # the whole history only for the curves, which are drawn when the run stops
        h = run.history
        kept = [] if running else live_mode.evenly(len(h["iteration"]))
        return {**framed(visit, toy.frame(run, HEAT_RESOLUTION), run),
                "history": {k: [v[i] for i in kept] for k, v in h.items()}}

    def capture(self, visit: PointsVisitorRun) -> dict:
        """While the run plays in its worker, the newest frame the worker sent; else the run itself."""
        runner = visit.runner
        if (frame := runner.frame) is None:
            return super().capture(visit)
        return {"rate": runner.rate(), "running": True, "reason": None, "place": None,
                **framed(visit, frame[1], runner.run),
                "history": {k: [] for k in toy.Run.FIELDS}}

    def drawer(self, visit: PointsVisitorRun, note: str = ""):
        """The view, playing or paused, is what the browser draws (view2d.js): the arrays, the count, the status
        line and the latest losses, and while the run plays (or waits in line for a slot) its token, with which the
        view streams the next frames (see frames()): the curves are then left as they were and the counter says the
        count at play."""
        def draw(c: dict) -> tuple:
            curves = gr.skip() if c["running"] else figures.metrics_figure(c["history"], c["loss"])
            return self.view(visit, c, note), curves, counter_text(c), self.status_text(c, note)
        return draw

    def view(self, visit: PointsVisitorRun, c: dict, note: str = "") -> dict:
        """The view's value for a captured run; the layers are read at every picture, so a switch flipped during
        a play applies at once."""
        status, alarm = self.status_words(c, note)
        return {**view_value(c["view"], c["loss"], visit.layers), "step": c["step"], "counter": counter_words(c),
                "status": status, "alarm": alarm, "latest": c["latest"],
                "token": visit.run_token() if c["running"] or c["place"] is not None else None}


MODE = PointsMode()


def frames(token, wait: float = 0.25) -> Iterator[dict]:
    """The frames of the run `token` names while it plays (the view's value, and whether the run still plays): while
    it waits in line for a training slot, a frame each time its place changes; then each new frame its worker sends
    (FRAME_SECONDS apart), then its last frame (whose `playing` is false). Being
    iterated is what keeps the run watched, as explorers.streaming.stream's pictures do: each wait of at most
    `wait` seconds for a frame touches the run, and when the page is closed, gradio stops iterating and the run
    stops for want of a watcher. A newer stream of the same run ends this one (a page reads one at a time), so a
    run has one stream at most."""
    found = TOKENS.get(token)
    if found is None:
        raise ValueError(EXPIRED)
    visit, runner = found
    reader = visit.reader = object()
    shown = place = None   # the step and the place in line last sent
    while visit.reader is reader:
        runner.touch()   # a step can outlast many waits, and a wait that finds no new frame still watches
        if place is not None:
            if runner.slots.moved(runner, place, wait) == place:
                continue
        elif runner.fresh_frame(shown, wait) is None and runner.running:
            continue
        with runner.reading():
            if visit.runner is not runner:
                raise ValueError(EXPIRED)
            captured = MODE.capture(visit)
        shown, place = captured["step"], captured["place"]
        playing = captured["running"] or place is not None
        yield {**MODE.view(visit, captured, visit.note), "playing": playing}
        if not playing:
            return


def framed(visit: PointsVisitorRun, frame: dict, run: toy.Run) -> dict:
    """What the pictures need of a toy.frame of `run`; after a divergence its view is the last view with finite
    numbers (or, when there is none, the real points alone)."""
    if frame["view"] is not None:
        visit.last_view = frame["view"]
    elif visit.last_view is None:
        visit.last_view = toy.real_view(run)
    return {**frame, "view": visit.last_view}


def view_value(v: toy.View, loss: str, layers: frozenset[str]) -> dict:
    """The widget's value: figures.toy_arrays with its arrays packed as float32 for the browser."""
    arrays = figures.toy_arrays(v, loss, layers)
    return {k: packed(a) if isinstance(a, np.ndarray) else a for k, a in arrays.items()}


def counter_words(c: dict) -> str:
    """The count as plain text, which the view shows over the picture."""
    rate = f" · {c['rate']:.0f} iterations/s" if c["rate"] else ""
    since = f" since iteration {c['counted_from']:,}" if c["counted_from"] else ""   # a file that did not save them
    return f"Iteration {c['step']:,} · D updates {c['d_updates']:,} · G updates {c['g_updates']:,}{since}{rate}"


def counter_text(c: dict) -> str:
    """The counter beside the buttons: written at play (it then says so) and when the run stops or steps."""
    if c["running"]:
        head, rest = counter_words({**c, "rate": 0}).split(" · ", 1)
        return f"**{head}** · {rest} when play was pressed: the count over the picture goes on"
    head, rest = counter_words(c).split(" · ", 1)
    return f"**{head}** · {rest}"


def saved_file(runner: live.Runner) -> str:
    data, name = runner.call(toy.saved)   # from the worker between two steps while the run plays
    return saved_download("glassbox-gan", name, data)


def control_values(settings: toy.Settings) -> list:
    """A run's settings as the controls' values, in the controls' order (after a load or a warm start)."""
    return [settings.dataset, settings.loss, settings.optimizer, *(getattr(settings, name) for name in BOXES)]


class Extras(NamedTuple):
    """The 2-D mode's own components, beside the shared ones."""
    dataset: gr.Radio
    view: gr.HTML
    layers: gr.CheckboxGroup
    warm: gr.Button
    sketch: gr.Sketchpad
    use_drawing: gr.Button
    save: gr.Button
    saved: gr.File
    load: gr.File


def run_column() -> tuple[gr.Radio, live_mode.Buttons, gr.Button]:
    dataset = gr.Radio(DATASET_CHOICES, value="ring", label="Data", elem_id="gan-dataset")
    buttons = live_mode.buttons("gan", "Slow motion (4 iterations a second)", "**Iteration 0**")
    return dataset, buttons, gr.Button("Start from a pretrained run", elem_id="gan-warm")


def picture_column() -> tuple[gr.HTML, gr.CheckboxGroup]:
    # the colours are sent once: HEAT_SCALE sampled as plotly would, and the points' and lines' colours
    view = widget(VIEW, "gan-2d-view", lut=packed(render.colormap(figures.HEAT_SCALE), "uint8"),
                  colours={"real": figures.REAL, "fake": figures.FAKE, "lines": figures.LINES,
                           "d_loss": figures.D_LOSS, "g_loss": figures.G_LOSS})
    return view, gr.CheckboxGroup(LAYER_CHOICES, value=[v for _, v in LAYER_CHOICES], show_label=False,
                                  elem_id="gan-layers")


def curves_column() -> gr.Plot:
    curves = gr.Plot(show_label=False, elem_id="gan-curves")
    gr.Markdown("How the game goes, drawn when the run stops. Near the game's balance D says about ½ to real and fake "
                "alike and JS (between the data and G's points) falls toward 0; JS near log 2 means the two hardly "
                "overlap.", elem_id="gan-curves-caption")
    return curves


def layout() -> tuple[LiveControls, Extras]:
    path("gan-toy-path", "Two small networks play a game on points in the plane: G turns noise into points "
         "(purple), D scores how real a point looks (the background: green says real, purple fake). Press Play and "
         "watch G's points chase the data (green), each pushed along its arrow.",
         [Step("Press Play", "gan-play"), Step("Watch D's heatmap", "gan-2d-view"),
          Step("Follow G's arrows", "gan-layers"), Step("Step D, then Step G", "gan-step-d"),
          Step("Read the curves", "gan-curves"), Step("Change the game", "gan-settings")],
         picture="gan-2d-view", control="gan-play")
    (dataset, buttons, warm), (view, layers), curves = live_mode.page(run_column, picture_column, curves_column)
    with gr.Accordion("Settings: loss, learning rates, networks, seed", open=True, elem_id="gan-settings"):
        with gr.Row():
            loss = gr.Radio(LOSS_CHOICES, value="nonsaturating", label="Loss", elem_id="gan-loss")
            optimizer = gr.Radio(list(toy.OPTIMIZERS), value="adam", label="Optimiser", elem_id="gan-optimizer")
        boxes = []
        for row in (list(BOXES)[:6], list(BOXES)[6:]):
            with gr.Row():
                boxes += [live_mode.number_box(MODE, "gan", name) for name in row]
        gr.Markdown("Changing the loss, k, a learning rate, the batch, the smoothing or λ applies to the run as it "
                    "goes; new data, a new network, optimiser or seed starts a new run: at once while paused, at the "
                    "next play, step or reset while playing.")
    with gr.Accordion("Draw your own data", open=False, elem_id="gan-draw"):
        sketch = sketchpad(type="numpy", canvas_size=(PAD, PAD), height=PAD + 40, label="The data's square",
                           brush=gr.Brush(colors=["#15803d"], default_size=10, color_mode="fixed"),
                           elem_id="gan-sketch")
        use_drawing = gr.Button("Use the drawing", elem_id="gan-use-drawing")
    with gr.Accordion("Save or load a run", open=False, elem_id="gan-files"), gr.Row():
        with gr.Column(min_width=260):
            # a button that makes the file, then a link to it: a DownloadButton downloads the value it held
            # before its click, so the first click would save nothing and later ones the run as it was
            save = gr.Button("Save this run (.safetensors)", elem_id="gan-save")
            saved = gr.File(label="Saved run", interactive=False, elem_id="gan-saved")
        load = gr.File(file_types=[".safetensors"], type="binary", label="Load a saved run", elem_id="gan-load")
    shared = LiveControls(visitor_state(), buttons, [dataset, loss, optimizer], boxes,
                          [view, curves, buttons.counter, buttons.status], [layers], own=[dataset])
    return shared, Extras(dataset, view, layers, warm, sketch, use_drawing, save, saved, load)


def adopt(visit, run: toy.Run, shown_layers, note: str) -> tuple:
    """A warm-started or loaded run becomes the visitor's: its picture, and its settings in the controls."""
    visit = MODE.visitor(visit, shown_layers)
    if run.settings.dataset == toy2d.DRAWN:
        visit.points = run.settings.points
    visit.new_run(run).reason = note
    return visit, *MODE.picture(visit), *control_values(run.settings)


@user_errors
def warm_ui(visit, shown_layers, chosen):
    run = toy.warm_start(chosen)
    return adopt(visit, run, shown_layers, f"Loaded the pretrained run for “{chosen}” at iteration "
                                           f"{run.step_count:,}: press play to go on from there.")


@user_errors
def load_ui(visit, shown_layers, data):
    run = toy.load(data)
    return adopt(visit, run, shown_layers, f"Loaded a saved run at iteration {run.step_count:,}.")


def new_data(visit: PointsVisitorRun, controls, note: str) -> tuple:
    """New data: while the run is paused, a new run on it starts at once and its picture shows the data; while it
    plays, the next play, step or reset starts it."""
    settings, shown = MODE.read_settings(visit, *controls)
    return MODE.restart(visit, settings, shown, note)


@user_errors
def data_ui(visit, shown_layers, *controls):
    return new_data(MODE.visitor(visit, shown_layers), controls, "The data changed, so a new run started. ")


@user_errors
def drawing_ui(visit, shown_layers, sketch_value, *controls):
    visit = MODE.visitor(visit, shown_layers)
    visit.points = toy2d.points_from_sketch(sketch_value, hint="press “Use the drawing”")
    note = f"Your drawing: {len(visit.points):,} points, so a new run started on them. "
    return *new_data(visit, (toy2d.DRAWN, *controls[1:]), note), toy2d.DRAWN


@user_errors
def save_ui(visit):
    if visit is None or visit.runner is None:
        raise ValueError("There is no run to save yet: press play or step first.")
    return saved_file(visit.runner)


@user_errors
def layers_ui(visit, shown_layers):
    visit = MODE.visitor(visit, shown_layers)
    runner = visit.runner
    if runner is None or runner.running:
        return visit, gr.skip()   # a playing view draws the new layers in its next frame
    with runner.lock:
        return visit, MODE.view(visit, MODE.capture(visit))


def wire(c: LiveControls, x: Extras) -> None:
    """The 2-D mode's own events."""
    loaded = [c.state, *c.views, *c.controls]
    x.warm.click(warm_ui, [c.state, x.layers, x.dataset], loaded, **PRIVATE)
    x.load.upload(load_ui, [c.state, x.layers, x.load], loaded, **PRIVATE)
    data_inputs, data_outputs = [c.state, *c.looks, *c.controls], c.everything
    x.dataset.input(data_ui, data_inputs, data_outputs, **PRIVATE)
    x.use_drawing.click(drawing_ui, [c.state, *c.looks, x.sketch, *c.controls], [*data_outputs, x.dataset],
                        **PRIVATE)
    x.save.click(save_ui, [c.state], x.saved, **PRIVATE)
    x.layers.input(layers_ui, [c.state, x.layers], [c.state, x.view], **PRIVATE)


def build() -> tuple:
    """The 2-D mode's components and events; returns its first-opening event (fn, inputs, outputs), which also
    starts a worker process for the first play (importing torch in it takes ~2 s) unless one is waiting."""
    shared, extras = layout()
    first_open, inputs, outputs = live_mode.wire(MODE, shared)
    wire(shared, extras)

    def opening(*args):
        workers.POOL.warm()
        return first_open(*args)
    return opening, inputs, outputs
