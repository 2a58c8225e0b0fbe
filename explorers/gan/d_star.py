"""The GAN tab's D* playground: for a fixed G the best D is known in closed form, drawn for two 1-D Gaussians the
visitor moves (core.gan.toy computes it; the gan_d_star endpoint returns the same numbers)."""
import gradio as gr

from core.gan import figures, toy
from explorers.common import Box, user_errors
from explorers.inputs import PRIVATE
from explorers.path import Step, path

# The playground's two Gaussians.
GAUSSIANS = (Box("p_data's mean", -5.0, 5.0, 0.0, whole=False), Box("p_data's sd", 0.05, 5.0, 1.0, whole=False),
             Box("p_g's mean", -5.0, 5.0, 1.5, whole=False), Box("p_g's sd", 0.05, 5.0, 0.6, whole=False))


@user_errors
def d_star_views(mu_data, sd_data, mu_g, sd_g):
    readings = [box.read(v) for box, v in zip(GAUSSIANS, (mu_data, sd_data, mu_g, sd_g), strict=True)]
    values = [r.value for r in readings]
    fig = figures.d_star_figure(*toy.d_star_curves(*values), toy.game_value(*values))
    return fig, *(r.shown for r in readings)


def build() -> tuple:
    """The playground; returns its first-opening event (fn, inputs, outputs)."""
    path("gan-dstar-path", "For a fixed G the best D is known in closed form: D*(x) = p_data(x) / (p_data(x) + "
         "p_g(x)), the black curve over the two densities. When p_g = p_data, D* is ½ everywhere and the game's "
         "value is −2 log 2.",
         [Step("Move p_g's mean", "gan-mu-g"), Step("Read D*, the black curve", "gan-dstar-plot"),
          Step("Give p_g p_data's sd", "gan-sd-g"), Step("Why it matters: Explain", "gan-explain")],
         picture="gan-dstar-plot", control="gan-mu-g")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            boxes = [box.slider(step=0.05, elem_id=f"gan-{name}")
                     for box, name in zip(GAUSSIANS, ("mu-data", "sd-data", "mu-g", "sd-g"), strict=True)]
        with gr.Column(scale=3, min_width=480):
            plot = gr.Plot(show_label=False, elem_id="gan-dstar-plot")
    gr.on([b.release for b in boxes], d_star_views, boxes, [plot, *boxes], trigger_mode="always_last", **PRIVATE)
    return d_star_views, boxes, [plot, *boxes]
