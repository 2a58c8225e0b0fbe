"""Diffusion tab: the forward process on any image with the noise schedules (forward.py), the reverse process live
with diffusers' schedulers (x_t, ε̂ and x̂₀ at every step, a scrubber, a filmstrip, a GIF and trajectories;
reverse.py), two configurations side by side from the same seed (compare.py), the 2-D toy trained live (toy.py),
and the Explain panel; the diffusion_* endpoints are in endpoints.py (diffusion_toy in toy.py). The maths is in
core/diffusion."""
from __future__ import annotations

import threading

import gradio as gr

from core.diffusion.denoisers import bundled
from explorers.common import LATEX, explain, skipped, user_errors
from explorers.diffusion import compare, endpoints, forward, reverse, toy
from explorers.inputs import PRIVATE


def build(demo: gr.Blocks, tab: gr.Tab) -> None:
    """The Diffusion tab and its diffusion_* endpoints; the forward views are drawn when the tab is first opened."""
    with gr.Tabs():
        with gr.Tab("Forward process", id="diff-forward"):
            column, controls, views = forward.build()
        with gr.Tab("Reverse process", id="diff-reverse"):
            reverse.build()
        with gr.Tab("Compare", id="diff-compare"):
            compare.build()
        with gr.Tab("2-D toy", id="diff-toy"):
            toy.build()
    with gr.Accordion("Explain: what the code computes", open=False):
        gr.Markdown(explain("diffusion"), latex_delimiters=LATEX)
    filled = gr.State(False)

    @user_errors
    def first_open(done, image, *values):
        """The forward views are drawn when the tab is first opened, not at the app's start."""
        if done:
            return True, *skipped(forward.Forward)
        # The UNet loads while a person looks at the forward process, so their first Sample does not wait for it.
        threading.Thread(target=bundled, name="glassbox-ddpm-load", daemon=True).start()
        return True, *forward.forward_views(forward.read_image(image), *values)

    tab.select(first_open, [filled, column.image, *controls], [filled, *views], **PRIVATE)
    endpoints.register()
