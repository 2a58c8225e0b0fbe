"""The VAE tab's two endpoint pickers, small enough that both sit side by side above the strip they feed: the image
box, the ten gallery samples as small thumbnails (picker.html/.js/.css, one row of ten, or two of five in a narrow
column), a random sample and a sketch pad. Each is an explorers.inputs.InputColumn, so `on_new_image` wires it as
it wires every image tab's input column (the thumbnails' "select" carries the index a gr.Gallery's would)."""
from pathlib import Path

import gradio as gr

from core import render
from core.data import CLASSES
from explorers.common import sketchpad
from explorers.inputs import InputColumn, gallery_indices, gallery_pick, sample_image
from explorers.widgets import widget

PICKER = Path(__file__).with_name("picker")
FIRSTS = {"a": 5, "b": 7}  # Sandal -> Sneaker: a path through footwear that every model decodes cleanly
ROLES = {"a": "**Endpoint A**: the strip's first frame", "b": "**Endpoint B**: the strip's last frame"}


def thumbnails() -> dict:
    """The picker's value: each gallery sample (28 x 28, drawn enlarged by the page) and its class."""
    return {"items": [{"src": render.to_data_url(sample_image(i)), "name": CLASSES[c]}
                      for c, i in enumerate(gallery_indices())]}


def picker(name: str) -> InputColumn:
    """Endpoint `name` ("a" or "b"): a line saying which end of the strip it is, its image box (which also takes
    an upload) beside the thumbnails, the random sample's button and the note saying where the image came from; the
    sketch pad in a second tab."""
    prefix = f"vae-{name}"
    first, first_note = gallery_pick(FIRSTS[name])
    with gr.Column(elem_id=f"{prefix}-picker", min_width=300):
        gr.Markdown(ROLES[name], elem_id=f"{prefix}-caption")
        with gr.Row(equal_height=False):
            with gr.Column(scale=0, min_width=110):
                # no label, no fullscreen button: in a box this small both covered the picture's top
                image = gr.Image(first, type="filepath", format="png", sources=["upload", "clipboard"], height=130,
                                 show_label=False, buttons=[], elem_id=f"{prefix}-input")
            with gr.Column(scale=1, min_width=180):
                with gr.Tabs():
                    with gr.Tab("Gallery", id=f"{prefix}-tab-gallery"):
                        gallery = widget(PICKER, f"{prefix}-gallery", thumbnails())
                        random = gr.Button("Random test sample", size="sm", elem_id=f"{prefix}-random")
                    with gr.Tab("Draw", id=f"{prefix}-tab-draw"):
                        # the button above the pad: gradio draws the pad's canvas ~33 px below its block, over
                        # whatever follows it (a small button there could not be clicked)
                        use = gr.Button("Use the drawing", size="sm", elem_id=f"{prefix}-use-drawing")
                        sketch = sketchpad(type="pil", canvas_size=(280, 280), height=300, show_label=False,
                                           brush=gr.Brush(colors=["#000000"], default_size=14, color_mode="fixed"),
                                           elem_id=f"{prefix}-sketch")
                note = gr.Markdown(first_note, elem_id=f"{prefix}-input-note")
    return InputColumn(image, note, gallery, random, sketch, use)
