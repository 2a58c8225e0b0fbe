"""The Convolution tab: a playground (a kernel on an image, the arithmetic of one output cell, pooling) and, below
it, the inside of a trained CNN (feature maps, kernels, one cell's arithmetic, the prediction, Grad-CAM).

Each section is three modules: its values and handlers (playground, network), its gr.api endpoints
(playground_api, network_api: the same functions the UI's numbers come from) and its components and events
(playground_layout, network_layout). core.convolution does the maths.

No `from __future__ import annotations` in the modules that define endpoints: gr.api reads the return
annotation without resolving strings, and real types give the API page a real schema.
"""
import gradio as gr

from explorers.convolution import network_layout, playground_layout


def build(demo: gr.Blocks, tab: gr.Tab) -> None:
    """The tab's two sections, the playground first, and their conv_* API endpoints. Needs neither `demo` nor
    `tab`: every event belongs to a component of the tab."""
    playground_layout.build()
    network_layout.build()
