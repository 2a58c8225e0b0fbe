"""The diffusion tab's 2-D toy: a small MLP noise predictor trained live on the GAN tab's 2-D datasets (or points
drawn with the mouse) for a few seconds, its progress streamed and stoppable, the density of x_t over t, and
particles sampled back from noise with DDIM and DDPM side by side, animated in the browser. The gr.api endpoint
diffusion_toy returns what the UI shows in numbers; core.diffusion.toy does the work (its TrainingRun is stepped by
core.live.Runner and streamed by explorers.streaming).

No `from __future__ import annotations` here: gr.api reads the return annotation without resolving strings, and
real types give the API page a real schema.
"""
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import numpy as np

from core import toy2d
from core.diffusion import toy, toy_figures
from core.live import Runner
from core.validate import as_int
from explorers.common import Box, api, page_script, sketchpad, user_errors
from explorers.inputs import PRIVATE
from explorers.path import Step, path
from explorers.streaming import stream, visitor_state

PAD = 280                    # the drawing pad's side in pixels; it maps onto the box [-BOX, BOX]^2
DENSITY_TS = (0, 100, 250, 400, 600, 1000)   # ᾱ_t from 1 to ~0: the data, blurred, and pure noise
DATASET_CHOICES = [("ring of 8", "ring"), ("grid of 25", "grid"), ("two moons", "moons"), ("line", "line"),
                   ("3 blobs", "blobs"), ("my drawing", toy2d.DRAWN)]
ADD_FRAMES = page_script(Path(__file__).with_name("add_frames.js"))  # the particles' frames to plotly.js
# The number boxes, in the order of the handler's arguments.
BOXES = {
    "seconds": Box("Training seconds", toy.MIN_SECONDS, toy.MAX_SECONDS, 4.0, whole=False),
    "particles": Box("Particles", 1, toy.MAX_PARTICLES, 500),
    "steps": Box("Sampling steps", 1, toy.MAX_SAMPLING_STEPS, 50),
    "seed": Box("Seed", 0, 2**31 - 1, 0),
}


class LastTraining:
    """One visitor's toy training: its Runner, which steps the TrainingRun on a thread of its own (on one intra-op
    thread: a net this small is bound by Python's overhead per call, core.threads) while the page shows its
    progress, so that Stop can end it."""

    def __init__(self):
        self.runner: Runner | None = None

    def new_run(self, run: toy.TrainingRun) -> Runner:
        self.close()
        self.runner = Runner(run, single=True, name="diffusion-toy")
        return self.runner

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop(wait=False)


def _summary(run, ddim: np.ndarray, ddpm: np.ndarray) -> dict:
    result = {"final_loss": run.final_loss, "first_loss": float(np.mean(run.losses[:toy.FINAL_LOSS_STEPS])),
              "training_seconds": run.seconds, "steps_done": run.steps}
    for name, particles in (("ddim", ddim), ("ddpm", ddpm)):
        final = particles[-1]
        result[f"{name}_near_mode"] = toy.near_mode(final, run)
        result[f"{name}_mean"] = final.mean(0).round(6).tolist()
        result[f"{name}_std"] = final.std(0).round(6).tolist()
        result[f"{name}_final"] = final.round(5).tolist()
    return result


@user_errors
def diffusion_toy(dataset: str = "ring", seconds: float = 4.0, train_steps: int = 0, particles: int = 500,
                  steps: int = 50, seed: int = 0, points: list[list[float]] | None = None) -> dict:
    """Train a 2-D diffusion model (an MLP noise predictor, T = 1000, linear betas) and sample particles back from
    noise with DDIM and DDPM from the same start.

    Parameters:
        dataset: ring (8 Gaussians), grid (25), moons, line, blobs, or drawn (then give points)
        seconds: training time, 0.1 to 30 seconds (with train_steps, the most it may take)
        train_steps: training steps, 1 to 20,000, the same seed then giving the same model; 0 trains for `seconds`
        particles: particles sampled by each scheduler, 1 to 2,000
        steps: reverse (sampling) steps of each scheduler, 1 to 1,000
        seed: the seed of the weights, the data, the particles' start and DDPM's noise
        points: for dataset drawn, the data: 2 to 10,000 [x, y] points inside [-1.5, 1.5]^2

    Returns:
        final_loss (the mean of the last 100 training steps' ε-prediction MSE), first_loss (of the first 100),
        training_seconds (measured), steps_done; for ddim and ddpm: *_near_mode (the fraction of final particles
        within 0.2 of a mode: a ring or grid centre, a blob's centre, or a data point for the other datasets),
        *_mean and *_std ([x, y] of the final particles) and *_final (the final particles, [x, y] each).
    """
    train_steps = as_int(train_steps, "train_steps", 0, toy.MAX_STEPS)
    run = toy.train(dataset, seconds, train_steps or None, seed, points)
    return _summary(run, *toy.both_trajectories(run, particles, steps, seed))


def progress(run: toy.TrainingRun) -> str:
    """The status line while the toy trains (read under the runner's lock)."""
    if not run.step_count:
        return "Training …"
    return (f"Training: step {run.step_count:,}, loss {run.diffusion.final_loss:.3f} "
            f"({run.diffusion.seconds:.1f} of {run.settings.seconds:g} s) …")


def results(run: toy.ToyDiffusion, stopped: bool, particles: int, steps: int, seed: int) -> tuple:
    """The particles' animation, the loss, the densities and the note of a trained (or stopped) toy."""
    ddim, ddpm = toy.both_trajectories(run, particles, steps, seed)
    figure = toy_figures.trajectory_figure(ddim, ddpm, run.data)
    figure.layout.meta = {"frames": [frame.to_plotly_json() for frame in figure.frames]}   # see ADD_FRAMES
    figure.frames = ()
    densities = toy_figures.density_figure(toy.forward_density(run.data, DENSITY_TS, seed))
    near = [toy.near_mode(p[-1], run) for p in (ddim, ddpm)]
    where = "a mode" if run.settings.dataset in ("ring", "grid", "blobs") else "a data point"
    note = (f"{'Stopped after' if stopped else 'Trained'} {run.steps:,} steps in {run.seconds:.1f} s; final loss "
            f"{run.final_loss:.3f} (first {np.mean(run.losses[:toy.FINAL_LOSS_STEPS]):.3f}). Particles within 0.2 "
            f"of {where}: DDIM {near[0]:.0%}, DDPM {near[1]:.0%}. Press ▶ Play under the particles.")
    return figure, toy_figures.loss_figure(run), densities, note


def trained(holder, dataset_value, sketch_value, values):
    """train_ui's updates: the training's progress every REFRESH while it runs, then the sampled particles."""
    readings = [box.read(v) for box, v in zip(BOXES.values(), values, strict=True)]
    seconds, particles, steps, seed = (r.value for r in readings)
    points = None
    if dataset_value == toy2d.DRAWN:
        points = toy2d.points_from_sketch(sketch_value, hint="press “Train and sample”")
    holder = holder or LastTraining()
    runner = holder.new_run(toy.TrainingRun(toy.Settings(dataset_value, seed, seconds, None, points)))
    shown = [r.shown for r in readings]
    skips = (gr.skip(),) * 3
    runner.start()
    try:
        for line in stream(runner, lambda: progress(runner.run), lambda line: line):
            yield *skips, line, holder, *shown
    finally:   # also when the page is closed mid-run: gradio then closes this generator
        runner.stop()
    if runner.error is not None:
        raise runner.error
    if not runner.run.step_count:
        yield *skips, "Stopped before the first training step.", holder, *shown
        return
    yield *results(runner.run.diffusion, runner.run.ended is None, particles, steps, seed), holder, *shown


class ToyUI(NamedTuple):
    dataset: gr.Radio
    sketch: gr.Sketchpad
    boxes: list
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown
    views: list          # the particles' animation, the loss, the densities
    state: gr.State


def layout() -> ToyUI:
    path("dtoy-path", "A small network (3 × 64 SiLU) learns to predict the noise added to points in the plane, live "
         "for a few seconds; then particles start as pure noise and walk back to the data: DDIM deterministically, "
         "DDPM with fresh noise at every step.",
         [Step("Pick the data", "dtoy-dataset"), Step("Train and sample", "dtoy-run"),
          Step("Play the particles", "dtoy-particles-plot"), Step("Read the loss", "dtoy-loss"),
          Step("See the data noised", "dtoy-density"), Step("Draw your own data", "dtoy-sketch")],
         picture="dtoy-particles-plot", control="dtoy-run", action="dtoy-run")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            dataset = gr.Radio(DATASET_CHOICES, value="ring", label="Data", elem_id="dtoy-dataset")
            with gr.Row():
                boxes = [box.number(elem_id=f"dtoy-{name}", min_width=110) for name, box in BOXES.items()]
            with gr.Row():
                run = gr.Button("Train and sample", variant="primary", elem_id="dtoy-run")
                stop = gr.Button("Stop", elem_id="dtoy-stop")
            status = gr.Markdown("Press “Train and sample”: training takes the seconds set above.",
                                 elem_id="dtoy-status", elem_classes="gb-status")
            # The pad after the button: at 800 px the particles then come soon after it. Its caption above it: as
            # the pad's label it sat under the pad's toolbar, cut off.
            gr.Markdown("**Draw the data** (used with “my drawing”)", elem_id="dtoy-sketch-caption")
            sketch = sketchpad(type="numpy", canvas_size=(PAD, PAD), height=PAD + 40, show_label=False,
                               label="Draw the data", elem_id="dtoy-sketch")
        with gr.Column(scale=2):
            animation = gr.Plot(show_label=False, elem_id="dtoy-particles-plot")
            gr.Markdown("Grey: the data; blue: the particles at the reverse step the slider shows (▶ Play walks them "
                        "from pure noise to the last step). A well-trained model lands them on the data.",
                        elem_id="dtoy-particles-caption")
            loss = gr.Plot(show_label=False, elem_id="dtoy-loss")
    density = gr.Plot(show_label=False, elem_id="dtoy-density")
    return ToyUI(dataset, sketch, boxes, run, stop, status, [animation, loss, density], visitor_state())


def wire(ui: ToyUI) -> None:
    @user_errors
    def train_ui(holder, dataset_value, sketch_value, *values):
        yield from trained(holder, dataset_value, sketch_value, values)

    def stop_ui(holder):
        if holder is not None and holder.runner is not None:
            holder.runner.stop("Stopped.", wait=False)

    clicked = ui.run.click(train_ui, [ui.state, ui.dataset, ui.sketch, *ui.boxes],
                           [*ui.views, ui.status, ui.state, *ui.boxes], **PRIVATE)
    clicked.then(None, js=ADD_FRAMES, **PRIVATE)
    # Through the queue like every event (gradio's route for unqueued events is closed), with no limit, so a
    # press of Stop never waits for another visitor's.
    ui.stop.click(stop_ui, [ui.state], None, concurrency_limit=None, **PRIVATE)


def build() -> None:
    """The 2-D toy's controls and views, inside the caller's open gr.Tab, and the diffusion_toy endpoint."""
    wire(layout())
    api(diffusion_toy, "diffusion_toy")
