"""The GAN tab: GANs trained live on this server, one run per visitor, in two modes that share one skeleton
(live_mode.py): points in the plane, GAN Lab's game (points.py), and Fashion-MNIST images with a DCGAN (images.py);
then the D* playground (d_star.py), the Explain panel, and the gr.api endpoints (endpoints.py)."""
import gradio as gr

from core.gan import figures
from explorers.common import LATEX, explain
from explorers.gan import d_star, endpoints, images, points
from explorers.inputs import PRIVATE

EXPLAIN = explain("gan")


def build(demo: gr.Blocks, tab: gr.Tab) -> None:
    """The tab's modes and playground as tabs of their own, the Explain panel under them, and the endpoints. The
    2-D picture is drawn when `tab` is first opened, the playground whenever it is (a closed form: cheap), the image
    mode's step 0 when its own tab is first opened."""
    with gr.Tabs():
        with gr.Tab("2-D toy data", id="gan-toy"):
            points_open = points.build()
        with gr.Tab("Images (Fashion-MNIST)", id="gan-images") as images_tab:
            images_open = images.build()
        with gr.Tab("D* playground", id="gan-dstar"):
            d_star_open = d_star.build()
    with gr.Accordion("Explain: the minimax game, D*, the non-saturating loss, WGAN-GP, smoothing and TTUR, collapse, "
                      "PyTorch", open=False, elem_id="gan-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="gan-explain-text")
        gr.Plot(figures.saturation_figure(), show_label=False, elem_id="gan-saturation")
    for fn, inputs, outputs in (points_open, d_star_open):
        tab.select(fn, inputs, outputs, **PRIVATE)
    images_tab.select(*images_open, **PRIVATE)   # a DCGAN's step 0 costs ~10-20 MB: only for those who open it
    endpoints.register()
