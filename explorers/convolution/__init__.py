"""The Convolution tab, two inner tabs with a path each: inside a trained CNN (the drawing pad beside the layer
overview and the prediction; then feature maps, kernels, one cell's arithmetic, Grad-CAM) and a kernel on an image
(the input, the kernel and the output on one screen; then the step-through arithmetic and pooling).

Each section is three modules: its values and handlers (playground, network), its gr.api endpoints
(playground_api, network_api: the same functions the UI's numbers come from) and its components and events
(playground_layout, network_layout). core.convolution does the maths.

No `from __future__ import annotations` in the modules that define endpoints: gr.api reads the return
annotation without resolving strings, and real types give the API page a real schema.
"""
import gradio as gr

from explorers.convolution import network_layout, playground_layout


def build(demo: gr.Blocks, tab: gr.Tab) -> None:
    """The tab's two inner tabs, the trained CNN first, and their conv_* API endpoints. Needs neither `demo` nor
    `tab`: every event belongs to a component of the tab."""
    with gr.Tabs(elem_id="conv-sections"):
        with gr.Tab("Inside a trained CNN", id="conv-section-network", elem_id="conv-section-network"):
            network_layout.build()
        with gr.Tab("A kernel on an image", id="conv-section-kernel", elem_id="conv-section-kernel"):
            playground_layout.build()
