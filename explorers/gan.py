"""The GAN tab's 2-D mode, its D* playground and its Explain panel: a GAN on toy data (or points drawn with the
mouse) trained live in a thread of its own per visitor, streamed as GAN Lab's picture (real and fake points, D's
heatmap, G's gradient arrows, the manifold) and curves (losses, D's outputs, KL and JS). The gr.api endpoints
gan_train_2d and gan_d_star return what the UI draws; core.gan does the work. Image mode is explorers/gan_images.py.

No `from __future__ import annotations` here, for the reason given in explorers/convolution.py.
"""
import hashlib
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from core import live, toy2d
from core.gan import figures, picture, runs, toy
from core.gan.losses import LABELS, LOSSES
from core.images import to_data_url
from core.validate import as_int
from explorers.common import LATEX, Box, api, explain, sketchpad, user_errors
from explorers.inputs import PRIVATE
from explorers.streaming import stream, visitor_state

LIMIT_SECONDS = 300          # one press of play trains for at most 5 minutes
API_SECONDS = 120            # one headless API call trains for at most 2 minutes
HEAT_RESOLUTION = 40         # D's heatmap: 40 x 40 cells over the box
CURVES_EVERY = 5             # while playing, the curves are redrawn with every fifth picture
CURVE_POINTS = 400           # the curves draw at most this many logged iterations (evenly thinned)
PAD = 280                    # the drawing pad's side in pixels; it maps onto the box [-BOX, BOX]^2
DOWNLOADS = Path(tempfile.gettempdir()) / "glassbox-gan"
DATASET_CHOICES = [("ring of 8", "ring"), ("grid of 25", "grid"), ("two moons", "moons"), ("line", "line"),
                   ("3 blobs", "blobs"), ("my drawing", toy2d.DRAWN)]
LOSS_CHOICES = [(LABELS[k], k) for k in LOSSES]
# The picture has no legend (it would cost each redraw); these switches name its colours instead.
LAYER_CHOICES = [("D's heatmap (green: D says real, purple: fake)", "heatmap"), ("real points (green)", "real"),
                 ("fake points (purple)", "fake"), ("G's gradient (arrows)", "arrows"),
                 ("manifold (G's image of a noise grid)", "manifold")]
# The number boxes, in the order of the handlers' arguments; each maps to the toy.Settings field of its key.
BOXES = {
    "k": Box("k (D steps per G step)", 1, toy.MAX_K, 1),
    "lr_d": Box("D's learning rate", 1e-6, 10.0, 0.01, whole=False),
    "lr_g": Box("G's learning rate", 1e-6, 10.0, 0.01, whole=False),
    "batch": Box("Batch size", 1, toy.MAX_BATCH, 150),
    "smoothing": Box("Label smoothing", 0.0, 0.5, 0.0, whole=False),
    "gp_lambda": Box("WGAN-GP λ", 0.0, 1000.0, 10.0, whole=False),
    "g_layers": Box("G's hidden layers", 0, toy.MAX_LAYERS, 1),
    "g_neurons": Box("G's neurons per layer", 1, toy.MAX_NEURONS, 8),
    "d_layers": Box("D's hidden layers", 0, toy.MAX_LAYERS, 1),
    "d_neurons": Box("D's neurons per layer", 1, toy.MAX_NEURONS, 8),
    "seed": Box("Seed", 0, 2**31 - 1, 0),
}
# The D* playground's two Gaussians.
GAUSSIANS = (Box("p_data's mean", -5.0, 5.0, 0.0, whole=False), Box("p_data's sd", 0.05, 5.0, 1.0, whole=False),
             Box("p_g's mean", -5.0, 5.0, 1.5, whole=False), Box("p_g's sd", 0.05, 5.0, 0.6, whole=False))


class Visitor:
    """One visitor's 2-D run (a Trainer, made on first use), the points they drew, the layers they show, and the
    last view whose numbers were finite (a diverged run's weights are NaN: its picture stays the last good one)."""

    def __init__(self):
        self.trainer: live.Runner | None = None
        self.points: tuple | None = None
        self.layers = figures.LAYERS
        self.last_view: toy.View | None = None

    def new_run(self, run: toy.Run) -> live.Runner:
        if self.trainer is not None:
            self.trainer.stop()   # waits: the old run's stream then ends before the new run's picture is sent
        self.trainer = live.Runner(run, live.SLOTS, single=True, limit=LIMIT_SECONDS)
        self.last_view = None
        return self.trainer

    def close(self) -> None:
        if self.trainer is not None:
            self.trainer.stop(wait=False)


# ---------------------------------------------------------------- computing: the API and the UI share these


@user_errors
def gan_train_2d(dataset: str = "ring", loss: str = "nonsaturating", steps: int = 500, seed: int = 0, k: int = 1,
                 lr_d: float = 0.01, lr_g: float = 0.01, optimizer: str = "adam", batch: int = 150,
                 smoothing: float = 0.0, gp_lambda: float = 10.0, g_layers: int = 1, g_neurons: int = 8,
                 d_layers: int = 1, d_neurons: int = 8, points: list[list[float]] | None = None,
                 log_every: int = 10) -> dict:
    """Train a 2-D GAN headless (k D steps per G step, as the tab's play) and return its curves and final fakes.

    Parameters:
        dataset: ring (8 Gaussians), grid (25), moons, line, blobs, or drawn (then give points)
        loss: nonsaturating, saturating, wgan-gp, lsgan or hinge
        steps: iterations, 1 to 20,000; the same seed gives the same result
        seed: the seed of the weights, the data and the noise
        k: D steps per G step, 1 to 20
        lr_d: D's learning rate, above 0 and at most 10
        lr_g: G's learning rate, above 0 and at most 10
        optimizer: adam (betas 0.5, 0.999), sgd or rmsprop
        batch: samples per step, 1 to 2,000
        smoothing: one-sided label smoothing, 0 to 0.5 (the real target is 1 - smoothing)
        gp_lambda: WGAN-GP's penalty weight, 0 to 1,000 (used by wgan-gp only)
        g_layers: G's hidden layers, 0 to 6
        g_neurons: G's neurons per hidden layer, 1 to 256
        d_layers: D's hidden layers, 0 to 6
        d_neurons: D's neurons per hidden layer, 1 to 256
        points: for dataset drawn, the data: 2 to 10,000 [x, y] points inside [-1.5, 1.5]^2
        log_every: iterations between logged points of the curves, 1 to 20,000 (the first is always logged)

    Returns:
        iterations (done), logged_iterations, and per logged iteration losses_d, losses_g, d_real and d_fake (mean
        D outputs: probabilities for the BCE losses, raw scores otherwise), kl and js (nats, on 20 x 20
        histograms); fake: the final fake points of 300 fixed noise vectors ([] when the run diverged); diverged:
        null, or why the run stopped; cut_short: null, or the note that the call reached its 120 s limit before
        `steps`.
    """
    settings = toy.Settings(dataset=dataset, loss=loss, k=k, lr_d=lr_d, lr_g=lr_g, optimizer=optimizer, batch=batch,
                            smoothing=smoothing, gp_lambda=gp_lambda, g_layers=g_layers, g_neurons=g_neurons,
                            d_layers=d_layers, d_neurons=d_neurons, seed=seed,
                            points=None if points is None else tuple(map(tuple, toy2d.check_points(points).tolist())))
    steps = as_int(steps, "steps", 1, toy.MAX_STEPS)
    log_every = as_int(log_every, "log_every", 1, toy.MAX_STEPS)
    run = live.headless(live.SLOTS, True, toy.train, settings.checked(), steps, log_every, API_SECONDS)
    h = run.history
    fake = [] if run.diverged else np.round(toy.view(run, 2).fake, 6).tolist()
    cut = run.step_count < steps and not run.diverged
    return {"iterations": run.step_count, "logged_iterations": h["iteration"], "losses_d": h["d_loss"],
            "losses_g": h["g_loss"], "d_real": h["d_real"], "d_fake": h["d_fake"], "kl": h["kl"], "js": h["js"],
            "fake": fake, "diverged": run.diverged,
            "cut_short": f"Stopped at the API's limit of {API_SECONDS} s of training." if cut else None}


@user_errors
def gan_d_star(mu_data: float = 0.0, sd_data: float = 1.0, mu_g: float = 1.0, sd_g: float = 1.0,
               x: list[float] | None = None) -> dict:
    """The optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) for two 1-D Gaussians, and the game's value.

    Parameters:
        mu_data: the data's mean
        sd_data: the data's standard deviation, above 0
        mu_g: the generator's mean
        sd_g: the generator's standard deviation, above 0
        x: where to evaluate D* (at most 10,000 finite numbers; default: 201 points over both densities)

    Returns:
        x, d_star at each x, and value: E_data[log D*] + E_g[log(1 - D*)] = 2 JSD - 2 log 2 in nats, integrated
        numerically (-2 log 2 = -1.3863 when p_g = p_data).
    """
    if x is None:
        x = toy.d_star_curves(mu_data, sd_data, mu_g, sd_g)[0]
    d = toy.d_star(x, mu_data, sd_data, mu_g, sd_g)
    return {"x": np.asarray(x, dtype=np.float64).tolist(), "d_star": d.tolist(),
            "value": toy.game_value(mu_data, sd_data, mu_g, sd_g)}


def d_star_views(mu_data, sd_data, mu_g, sd_g):
    readings = [box.read(v) for box, v in zip(GAUSSIANS, (mu_data, sd_data, mu_g, sd_g))]
    values = [r.value for r in readings]
    fig = figures.d_star_figure(*toy.d_star_curves(*values), toy.game_value(*values))
    return fig, *(r.shown for r in readings)


# ---------------------------------------------------------------- the live run's pictures


def read_settings(visitor: Visitor, dataset, loss, optimizer, *numbers) -> tuple[toy.Settings, list]:
    """The controls as checked toy.Settings, and what each number box must be sent back (Reading.shown)."""
    readings = [box.read(value) for box, value in zip(BOXES.values(), numbers)]
    values = dict(zip(BOXES, (r.value for r in readings)))
    if dataset == toy2d.DRAWN and visitor.points is None:
        raise ValueError("Draw some data first: draw on the pad below the plot, then press “Use the drawing”.")
    points = visitor.points if dataset == toy2d.DRAWN else None
    settings = toy.Settings(dataset=dataset, loss=loss, optimizer=optimizer, points=points, **values)
    return settings.checked(), [r.shown for r in readings]


def prepared(visitor, controls) -> tuple[Visitor, live.Runner, str, list]:
    """The visitor's trainer for these controls: the current run, retuned where only live settings changed, or a
    new one (a note says so) when the data, a network, the optimiser or the seed changed."""
    visitor = visitor or Visitor()
    settings, shown = read_settings(visitor, *controls)
    trainer, note = visitor.trainer, ""
    if trainer is not None and trainer.running and not runs.retune(trainer.run, settings):
        trainer.stop()
    if trainer is None or not runs.retune(trainer.run, settings):
        if trainer is not None:
            note = "The data, a network, the optimiser or the seed changed, so a new run started. "
        trainer = visitor.new_run(toy.Run(settings))
    return visitor, trainer, note, shown


def thinned(history: dict) -> dict:
    """At most CURVE_POINTS logged iterations, evenly spaced, the last one kept: a long run's curves stay cheap to
    send five times a second."""
    n = len(history["iteration"])
    if n <= CURVE_POINTS:
        return {k: list(v) for k, v in history.items()}
    idx = np.unique(np.linspace(0, n - 1, CURVE_POINTS).round().astype(int))
    return {k: [v[i] for i in idx] for k, v in history.items()}


def finite_view(visitor: Visitor, run: toy.Run) -> toy.View:
    """The run's view, or after a divergence the last view with finite numbers (or, when there is none, the real
    points alone)."""
    if not run.diverged:
        visitor.last_view = toy.view(run, HEAT_RESOLUTION)
    elif visitor.last_view is None:
        empty = np.zeros((0, 2))
        corners = np.linspace(-toy2d.BOX, toy2d.BOX, 2)
        visitor.last_view = toy.View(run.view_real.numpy().astype(np.float64), empty, corners,
                                     np.full((2, 2), 0.5), empty, np.zeros((0, 2, 2)))
    return visitor.last_view


def capture(visitor: Visitor) -> dict:
    trainer = visitor.trainer
    run = trainer.run
    return {"view": finite_view(visitor, run), "history": thinned(run.history), "loss": run.settings.loss,
            "iteration": run.step_count, "d_updates": run.d_updates, "g_updates": run.g_updates,
            "rate": trainer.rate(), "running": trainer.running, "reason": trainer.reason,
            "diverged": run.diverged}


def counter_text(c: dict) -> str:
    rate = f" · {c['rate']:.0f} iterations/s" if c["rate"] else ""
    return (f"**Iteration {c['iteration']:,}** · D updates {c['d_updates']:,} · G updates {c['g_updates']:,}"
            f"{rate}")


def status_text(c: dict, note: str = "") -> str:
    if c["diverged"]:
        return f"<span class='gb-alarm'>⚠ {c['diverged']} The run is paused; press reset to start again.</span>"
    if c["running"]:
        return note + "Training… the picture refreshes 5 times a second while the model trains between pictures."
    return note + (c["reason"] or "Press play to train, or step through it one iteration at a time.")


def drawer(visitor: Visitor, note: str = ""):
    """The function that draws a captured run. While it plays, the view is a picture drawn on the server (see
    core/gan/picture.py: a plotly redraw costs Chromium about 250 ms in this page) and the curves are redrawn with
    every CURVES_EVERY-th picture only; when it stops, the view is the interactive plotly figure again."""
    pictures = 0

    def draw(c: dict) -> tuple:
        nonlocal pictures
        pictures += 1
        layers = visitor.layers   # read at every picture: a switch flipped during a play applies at once
        fresh = not c["running"] or pictures % CURVES_EVERY == 1
        curves = figures.metrics_figure(c["history"], c["loss"]) if fresh else gr.skip()
        if c["running"]:   # a picture drawn here; the interactive figure comes back when the run stops
            html = (f"<img src='{to_data_url(picture.toy_image(c['view'], c['loss'], layers), 1)}' "
                    "alt='The 2-D view as it trains' style='width:100%;max-width:520px'>")
            plot, live = gr.update(visible=False), gr.update(value=html, visible=True)
        else:
            plot = gr.update(value=figures.toy_figure(c["view"], c["loss"], layers), visible=True)
            live = gr.update(visible=False)
        return plot, live, curves, counter_text(c), status_text(c, note)
    return draw


def saved_file(trainer: live.Runner) -> str:
    if trainer.run.diverged:
        raise ValueError(f"This run diverged, so its weights are NaN: {trainer.run.diverged} Reset to start again.")
    with trainer.lock:
        data, run = toy.save(trainer.run), trainer.run
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    name = f"gan-{run.settings.dataset}-{run.step_count}-{hashlib.sha1(data).hexdigest()[:8]}.safetensors"
    path = DOWNLOADS / name
    path.write_bytes(data)
    return str(path)


def control_values(settings: toy.Settings) -> list:
    """A run's settings as the controls' values, in the controls' order (after a load or a warm start)."""
    return [settings.dataset, settings.loss, settings.optimizer, *(getattr(settings, name) for name in BOXES)]


EXPLAIN = explain("gan")


def build(tab: gr.Tab, image_mode) -> None:
    """The GAN tab: the 2-D mode, `image_mode()` (explorers.gan_images.build, handed over by app.py: explorers never
    import each other) and the D* playground as tabs of their own, the Explain panel under them, and the
    gan_train_2d and gan_d_star endpoints. The 2-D picture is drawn when `tab` is first opened, the playground
    whenever it is (a closed form: cheap)."""
    gr.Markdown("## GANs: watch the game being played\nReal torch networks train live on this server, one run per "
                "visitor: on points in the plane (GAN Lab's game) and on Fashion-MNIST images.")
    with gr.Tabs():
        with gr.Tab("2-D toy data", id="gan-toy"):
            toy_open = build_toy()
        image_mode()
        with gr.Tab("D* playground", id="gan-dstar"):
            d_open = build_d_star()
    with gr.Accordion("Explain: the minimax game, D*, the non-saturating loss, WGAN-GP, smoothing and TTUR, collapse, "
                      "PyTorch", open=False, elem_id="gan-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="gan-explain-text")
        gr.Plot(figures.saturation_figure(), show_label=False, elem_id="gan-saturation")
    for fn, inputs, outputs_ in (toy_open, d_open):
        tab.select(fn, inputs, outputs_, **PRIVATE)
    api(gan_train_2d, "gan_train_2d")
    api(gan_d_star, "gan_d_star")


def build_d_star() -> tuple:
    """The playground; returns its first-opening event (fn, inputs, outputs)."""
    gr.Markdown("For a fixed G the best D is known in closed form: D*(x) = p_data(x) / (p_data(x) + p_g(x)). Move "
                "the two Gaussians; when p_g = p_data, D* is ½ everywhere and the game's value is −2 log 2.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            boxes = [box.slider(step=0.05, elem_id=f"gan-{name}")
                     for box, name in zip(GAUSSIANS, ("mu-data", "sd-data", "mu-g", "sd-g"))]
        with gr.Column(scale=3, min_width=480):
            plot = gr.Plot(show_label=False, elem_id="gan-dstar-plot")

    @user_errors
    def d_star_ui(*values):
        return d_star_views(*values)

    gr.on([b.release for b in boxes], d_star_ui, boxes, [plot, *boxes], trigger_mode="always_last", **PRIVATE)
    return d_star_ui, boxes, [plot, *boxes]


def build_toy() -> tuple:
    """The 2-D mode's components and events; returns its first-opening event (fn, inputs, outputs)."""
    gr.Markdown("Two small networks play a game on points in the plane: **G** turns noise into points, **D** scores "
                "how real a point looks. Press play and watch G's points (purple) chase the data (green) over D's "
                "opinion (the background), each pushed along its arrow: the way G's update moves it.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=330):
            dataset = gr.Radio(DATASET_CHOICES, value="ring", label="Data", elem_id="gan-dataset")
            with gr.Row():
                play = gr.Button("Play", variant="primary", elem_id="gan-play", min_width=60)
                pause = gr.Button("Pause", elem_id="gan-pause", min_width=60)
                reset = gr.Button("Reset", elem_id="gan-reset", min_width=60)
            with gr.Row():
                step = gr.Button("Step", elem_id="gan-step", min_width=60)
                step_d = gr.Button("Step D", elem_id="gan-step-d", min_width=60)
                step_g = gr.Button("Step G", elem_id="gan-step-g", min_width=60)
            slow = gr.Checkbox(False, label="Slow motion (4 iterations a second)", elem_id="gan-slow")
            counter = gr.Markdown("**Iteration 0**", elem_id="gan-counter")
            status = gr.Markdown("Press play to train, or step through it one iteration at a time.",
                                 elem_id="gan-status")
            warm = gr.Button("Start from a pretrained run", elem_id="gan-warm")
        with gr.Column(scale=2, min_width=420):
            view = gr.Plot(show_label=False, elem_id="gan-picture")
            playing = gr.HTML(visible=False, elem_id="gan-live")
            layers = gr.CheckboxGroup(LAYER_CHOICES, value=[v for _, v in LAYER_CHOICES], show_label=False,
                                      elem_id="gan-layers")
        with gr.Column(scale=2, min_width=380):
            curves = gr.Plot(show_label=False, elem_id="gan-curves")
    with gr.Accordion("Settings: loss, learning rates, networks, seed", open=True, elem_id="gan-settings"):
        with gr.Row():
            loss = gr.Radio(LOSS_CHOICES, value="nonsaturating", label="Loss", elem_id="gan-loss")
            optimizer = gr.Radio(list(toy.OPTIMIZERS), value="adam", label="Optimiser", elem_id="gan-optimizer")
        boxes = {}
        for row in (list(BOXES)[:6], list(BOXES)[6:]):
            with gr.Row():
                for name in row:
                    boxes[name] = BOXES[name].number(elem_id=f"gan-{name.replace('_', '-')}", min_width=120)
        gr.Markdown("Changing the loss, k, a learning rate, the batch, the smoothing or λ applies to the run as it "
                    "goes; changing the data, a network, the optimiser or the seed starts a new run.")
    with gr.Accordion("Draw your own data", open=False, elem_id="gan-draw"):
        sketch = sketchpad(type="numpy", canvas_size=(PAD, PAD), height=PAD + 40, label="The data's square",
                           brush=gr.Brush(colors=["#15803d"], default_size=10, color_mode="fixed"),
                           elem_id="gan-sketch")
        use_drawing = gr.Button("Use the drawing", elem_id="gan-use-drawing")
    with gr.Accordion("Save or load a run", open=False, elem_id="gan-files"):
        with gr.Row():
            with gr.Column(min_width=260):
                # a button that makes the file, then a link to it: a DownloadButton downloads the value it held
                # before its click, so the first click would save nothing and later ones the run as it was
                save = gr.Button("Save this run (.safetensors)", elem_id="gan-save")
                saved = gr.File(label="Saved run", interactive=False, elem_id="gan-saved")
            load = gr.File(file_types=[".safetensors"], type="binary", label="Load a saved run", elem_id="gan-load")

    state = visitor_state()
    controls = [dataset, loss, optimizer, *boxes.values()]
    views = [view, playing, curves, counter, status]
    everything = [state, *views, *boxes.values()]
    loaded = [state, *views, *controls]

    def shown(visitor, shown_layers) -> Visitor:
        visitor = visitor or Visitor()
        visitor.layers = frozenset(shown_layers or ())
        return visitor

    @user_errors
    def play_ui(visitor, shown_layers, slow_motion, *values):
        visitor, trainer, note, boxes_shown = prepared(shown(visitor, shown_layers), values)
        trainer.slow = bool(slow_motion)
        refused = trainer.start()
        draw = drawer(visitor, note)
        if refused:
            trainer.reason = refused
            yield visitor, *draw(capture(visitor)), *boxes_shown
            return
        for i, pictured in enumerate(stream(trainer, lambda: capture(visitor), draw)):
            if visitor.trainer is not trainer:   # reset, load or a warm start replaced the run: its event draws it
                return
            yield visitor, *pictured, *(boxes_shown if i == 0 else [gr.skip()] * len(boxes_shown))

    def step_ui(which):
        @user_errors
        def handler(visitor, shown_layers, *values):
            visitor, trainer, note, boxes_shown = prepared(shown(visitor, shown_layers), values)
            trainer.step(which)
            trainer.reason = {"both": "One iteration: k D steps, then one G step.", "d": "One D step: G stays put.",
                              "g": "One G step: D stays put."}[which]
            with trainer.lock:
                return visitor, *drawer(visitor, note)(capture(visitor)), *boxes_shown
        return handler

    @user_errors
    def reset_ui(visitor, shown_layers, *values):
        visitor = shown(visitor, shown_layers)
        settings, boxes_shown = read_settings(visitor, *values)
        visitor.new_run(toy.Run(settings))
        return visitor, *drawer(visitor)(capture(visitor)), *boxes_shown

    @user_errors
    def first_open(visitor, shown_layers, *values):
        if visitor is not None:
            return [gr.skip()] * len(everything)
        return reset_ui(visitor, shown_layers, *values)

    @user_errors
    def apply_ui(visitor, *values):
        """Enter in a number box, or a new choice: the settings are read (a bad box says so and shows the value
        used) and, where they can be, applied to the run as it goes."""
        visitor = visitor or Visitor()
        settings, boxes_shown = read_settings(visitor, *values)
        trainer = visitor.trainer
        if trainer is None:
            note = "Press play or step to start a run with these settings."
        elif runs.retune(trainer.run, settings):
            note = "Applied to the run as it goes."
        else:
            note = "This change needs a new run: pause, then press play, step or reset to start one."
        if trainer is not None and trainer.running:
            gr.Info(note)   # the stream rewrites the status line five times a second
            return visitor, gr.skip(), *boxes_shown
        return visitor, note, *boxes_shown

    @user_errors
    def pause_ui(visitor):
        if visitor is not None and visitor.trainer is not None:
            visitor.trainer.stop("Paused.")

    def adopt(visitor, run: toy.Run, shown_layers, note: str):
        visitor = shown(visitor, shown_layers)
        if run.settings.dataset == toy2d.DRAWN:
            visitor.points = run.settings.points
        trainer = visitor.new_run(run)
        trainer.reason = note
        return visitor, *drawer(visitor)(capture(visitor)), *control_values(run.settings)

    @user_errors
    def warm_ui(visitor, shown_layers, chosen):
        run = toy.warm_start(chosen)
        return adopt(visitor, run, shown_layers, f"Loaded the pretrained run for “{chosen}” at iteration "
                                                 f"{run.step_count:,}: press play to go on from there.")

    @user_errors
    def load_ui(visitor, shown_layers, data):
        run = toy.load(data)
        return adopt(visitor, run, shown_layers, f"Loaded a saved run at iteration {run.step_count:,}.")

    @user_errors
    def drawing_ui(visitor, sketch_value):
        visitor = visitor or Visitor()
        visitor.points = toy2d.points_from_sketch(sketch_value, hint="press “Use the drawing”")
        return visitor, toy2d.DRAWN, f"Your drawing: {len(visitor.points):,} points. Press play or reset."

    @user_errors
    def save_ui(visitor):
        if visitor is None or visitor.trainer is None:
            raise ValueError("There is no run to save yet: press play or step first.")
        return saved_file(visitor.trainer)

    @user_errors
    def layers_ui(visitor, shown_layers):
        visitor = shown(visitor, shown_layers)
        trainer = visitor.trainer
        if trainer is None or trainer.running:
            return visitor, gr.skip()   # a running stream draws the new layers in its next picture
        with trainer.lock:
            return visitor, figures.toy_figure(finite_view(visitor, trainer.run), trainer.run.settings.loss,
                                               visitor.layers)

    gr.on([*(box.submit for box in boxes.values()), dataset.input, loss.input, optimizer.input], apply_ui,
          [state, *controls], [state, status, *boxes.values()], **PRIVATE)
    # trigger_mode "once": a second press while playing is ignored, not a second stream of the same run; no
    # concurrency limit: live.SLOTS caps the runs that train, and a refused play returns at once.
    play.click(play_ui, [state, layers, slow, *controls], everything, trigger_mode="once", concurrency_limit=None,
               **PRIVATE)
    pause.click(pause_ui, [state], None, concurrency_limit=None, **PRIVATE)
    for button, which in ((step, "both"), (step_d, "d"), (step_g, "g")):
        button.click(step_ui(which), [state, layers, *controls], everything, **PRIVATE)
    reset.click(reset_ui, [state, layers, *controls], everything, **PRIVATE)
    warm.click(warm_ui, [state, layers, dataset], loaded, **PRIVATE)
    load.upload(load_ui, [state, layers, load], loaded, **PRIVATE)
    use_drawing.click(drawing_ui, [state, sketch], [state, dataset, status], **PRIVATE)
    save.click(save_ui, [state], saved, **PRIVATE)
    layers.input(layers_ui, [state, layers], [state, view], **PRIVATE)

    def slow_ui(visitor, on):
        if visitor is not None and visitor.trainer is not None:
            visitor.trainer.slow = bool(on)   # a running play slows down (or speeds up) at once

    slow.input(slow_ui, [state, slow], None, **PRIVATE)
    return first_open, [state, layers, *controls], everything
