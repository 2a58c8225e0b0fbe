"""The diffusion tab's 2-D toy: a small MLP noise predictor trained live on the GAN tab's 2-D datasets (or points
drawn with the mouse) for a few seconds, the density of x_t over t, and particles sampled back from noise with
DDIM and DDPM side by side, animated in the browser. explorers/diffusion.py calls build() inside its tab (app.py
hands it over: explorers never import each other). The gr.api endpoint diffusion_toy returns what the UI shows in
numbers; core.diffusion.toy does the work.

No `from __future__ import annotations` here, for the reason given in explorers/convolution.py.
"""
import gradio as gr
import numpy as np

from core import toy2d
from explorers.common import Box, api, sketchpad, user_errors
from explorers.inputs import PRIVATE

PAD = 280                    # the drawing pad's side in pixels; it maps onto the box [-BOX, BOX]^2
DENSITY_TS = (0, 100, 250, 400, 600, 1000)   # ᾱ_t from 1 to ~0: the data, blurred, and pure noise
DATASET_CHOICES = [("ring of 8", "ring"), ("grid of 25", "grid"), ("two moons", "moons"), ("line", "line"),
                   ("3 blobs", "blobs"), ("my drawing", toy2d.DRAWN)]
# gr.Plot hands plotly.js the figure's data and layout only (Plotly.react without frames), so the animation's
# frames travel in layout.meta and this hook, run after each new figure, gives them to plotly.js: the browser then
# plays the animation with no round trip. It waits (up to 5 s) for the new figure's frames to be drawn.
ADD_FRAMES = """() => {
  const attach = (tries) => {
    const gd = document.querySelector('#dtoy-particles-plot .js-plotly-plot');
    const frames = gd?.layout?.meta?.frames;
    if (gd && frames && gd.glassboxFrames !== frames && window.Plotly) {
      gd.glassboxFrames = frames;
      window.Plotly.deleteFrames(gd).then(() => window.Plotly.addFrames(gd, frames));
    } else if (tries > 0) setTimeout(() => attach(tries - 1), 100);
  };
  attach(50);
}"""
# The number boxes, in the order of the handler's arguments (limits as core.diffusion.toy's caps).
BOXES = {
    "seconds": Box("Training seconds", 0.1, 30.0, 4.0, whole=False),
    "particles": Box("Particles", 1, 2_000, 500),
    "steps": Box("Sampling steps", 1, 1_000, 50),
    "seed": Box("Seed", 0, 2**31 - 1, 0),
}


def _summary(run, ddim: np.ndarray, ddpm: np.ndarray) -> dict:
    from core.diffusion import toy
    result = {"final_loss": run.final_loss, "first_loss": float(np.mean(run.losses[:toy.FINAL_LOSS_STEPS])),
              "training_seconds": run.seconds, "steps_done": run.steps}
    for name, path in (("ddim", ddim), ("ddpm", ddpm)):
        final = path[-1]
        result[f"{name}_near_mode"] = toy.near_mode(final, run)
        result[f"{name}_mean"] = final.mean(0).round(6).tolist()
        result[f"{name}_std"] = final.std(0).round(6).tolist()
        result[f"{name}_final"] = final.round(5).tolist()
    return result


def _run(dataset, seconds, train_steps, particles, steps, seed, points):
    """Train, then sample both ways from the same start: (run, ddim path, ddpm path)."""
    from core.diffusion import toy
    run = toy.train(dataset, seconds, train_steps, seed, points)
    return run, *(toy.reverse_trajectories(run, particles, steps, kind, seed) for kind in toy.KINDS)


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
    from core.validate import as_int
    train_steps = as_int(train_steps, "train_steps", 0, 20_000)
    run, ddim, ddpm = _run(dataset, seconds, train_steps or None, particles, steps, seed, points)
    return _summary(run, ddim, ddpm)


def build() -> None:
    """The 2-D toy's controls and views, inside the caller's open gr.Tab, and the diffusion_toy endpoint."""
    gr.Markdown("### 2-D toy diffusion\nA small network (3 × 64 SiLU) learns to predict the noise added to points "
                "in the plane, live on this server for a few seconds; then particles start as pure noise and walk "
                "back to the data: **DDIM** deterministically, **DDPM** with fresh noise at every step.")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            dataset = gr.Radio(DATASET_CHOICES, value="ring", label="Data", elem_id="dtoy-dataset")
            sketch = sketchpad(type="numpy", canvas_size=(PAD, PAD), height=PAD + 40,
                               label="Draw the data (used with “my drawing”)", elem_id="dtoy-sketch")
            with gr.Row():
                boxes = {name: box.number(elem_id=f"dtoy-{name}", min_width=110) for name, box in BOXES.items()}
            run_button = gr.Button("Train and sample", variant="primary", elem_id="dtoy-run")
            status = gr.Markdown("Press “Train and sample”: training takes the seconds set above.",
                                 elem_id="dtoy-status")
        with gr.Column(scale=2):
            animation = gr.Plot(show_label=False, elem_id="dtoy-particles-plot")
            loss = gr.Plot(show_label=False, elem_id="dtoy-loss")
    density = gr.Plot(show_label=False, elem_id="dtoy-density")

    @user_errors
    def train_ui(dataset_value, sketch_value, *values):
        from core.diffusion import toy, toy_figures
        readings = [box.read(v) for box, v in zip(BOXES.values(), values)]
        seconds, particles, steps, seed = (r.value for r in readings)
        points = None
        if dataset_value == toy2d.DRAWN:
            points = toy2d.points_from_sketch(sketch_value, hint="press “Train and sample”")
        run, ddim, ddpm = _run(dataset_value, seconds, None, particles, steps, seed, points)
        figure = toy_figures.trajectory_figure(ddim, ddpm, run.data)
        figure.layout.meta = {"frames": [frame.to_plotly_json() for frame in figure.frames]}   # see ADD_FRAMES
        figure.frames = ()
        densities = toy_figures.density_figure(toy.forward_density(run.data, DENSITY_TS, seed))
        near = [toy.near_mode(p[-1], run) for p in (ddim, ddpm)]
        where = "a mode" if dataset_value in ("ring", "grid", "blobs") else "a data point"
        note = (f"Trained {run.steps:,} steps in {run.seconds:.1f} s; final loss {run.final_loss:.3f} (first "
                f"{np.mean(run.losses[:toy.FINAL_LOSS_STEPS]):.3f}). Particles within 0.2 of {where}: DDIM "
                f"{near[0]:.0%}, DDPM {near[1]:.0%}. Press ▶ Play under the particles.")
        return figure, toy_figures.loss_figure(run), densities, note, *(r.shown for r in readings)

    trained = run_button.click(train_ui, [dataset, sketch, *boxes.values()],
                               [animation, loss, density, status, *boxes.values()], **PRIVATE)
    trained.then(None, js=ADD_FRAMES, **PRIVATE)
    api(diffusion_toy, "diffusion_toy")
