"""The input column every image tab shares: a gallery of Fashion-MNIST test samples (one per class), a random
sample, a sketch pad, and an image box that also takes uploads.

`InputColumn.on_new_image` wires every way of choosing an image to one handler of the tab, in the same event that
shows the new image: a gallery click is one round trip, not a chain of "show the image" then "compute the views"."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
import numpy as np
from PIL import Image

from core import render
from core.data import CLASSES, load_sample
from core.uploads import open_image, to_rgb
from explorers.common import EMPTY_PAD, sketchpad, uploaded_path, user_errors

PRIVATE = {"api_visibility": "private"}


def gallery_indices() -> list[int]:
    """The first test sample of each class, in class order."""
    labels = load_sample("test").labels
    return [int(np.flatnonzero(labels == c)[0]) for c in range(len(CLASSES))]


def sample_image(index: int) -> Image.Image:
    return Image.fromarray(load_sample("test").images[index])


def gallery_pick(c: int) -> tuple[Image.Image, str]:
    return sample_image(gallery_indices()[c]), f"Fashion-MNIST test sample: {CLASSES[c]}."


def random_pick() -> tuple[Image.Image, str]:
    sample = load_sample("test")
    i = int(np.random.default_rng().integers(len(sample)))
    return sample_image(i), f"Random test sample #{i}: {CLASSES[sample.labels[i]]}."


def drawing_pick(sketch) -> tuple[Image.Image, str] | None:
    """The drawing and its note, or None for an empty pad."""
    composite = (sketch or {}).get("composite")
    if composite is None or not np.asarray(composite).any():
        return None
    return to_rgb(composite), "Your drawing."


@dataclass(frozen=True)
class InputColumn:
    image: gr.Image        # the input itself: a file path, as every later event of the tab reads it
    note: gr.Markdown      # where the input came from
    gallery: gr.Gallery
    random: gr.Button
    sketch: gr.Component   # the sketch pad, or the tab's own drawing widget
    use_drawing: gr.Button
    read_drawing: Callable = drawing_pick  # the pad's value -> (image, note), or None when nothing is drawn

    def on_new_image(self, compute: Callable, inputs: list, outputs: list) -> list:
        """Whenever a new image is chosen, show it and call `compute(image, *values of inputs)`, whose results go
        to `outputs`, in the same event. Returns the four events, so a tab can chain slower views after them."""
        with_image = [self.image, self.note, *outputs]

        @user_errors
        def from_gallery(evt: gr.SelectData, *values):
            img, note = gallery_pick(int(evt.index))
            return img, note, *compute(img, *values)

        @user_errors
        def from_random(*values):
            img, note = random_pick()
            return img, note, *compute(img, *values)

        @user_errors
        def from_drawing(sketch, *values):
            picked = self.read_drawing(sketch)
            if picked is None:  # a slip, not an error: the input and its views stay as they were
                gr.Warning(EMPTY_PAD)
                return (gr.skip(),) * len(with_image)
            img, note = picked
            return img, note, *compute(img, *values)

        @user_errors
        def from_upload(path, *values):
            return "Your image.", *compute(open_image(uploaded_path(path)), *values)

        # The spinner on the input box alone (see explorers.common.progress_on_one), even when it is not an output.
        one = {"show_progress_on": self.image, **PRIVATE}
        return [self.gallery.select(from_gallery, inputs, with_image, **one),
                self.random.click(from_random, inputs, with_image, **one),
                self.use_drawing.click(from_drawing, [self.sketch, *inputs], with_image, **one),
                self.image.upload(from_upload, [self.image, *inputs], [self.note, *outputs], **one)]


def input_column(first: Image.Image, prefix: str, pad: Callable[[], gr.Component] | None = None,
                 read_pad: Callable = drawing_pick, opens_on: str = "gallery",
                 image_here: bool = True) -> InputColumn:
    """Gallery, random sample and sketch pad feeding one image box; `prefix` keeps elem_ids unique per tab. A tab
    may bring its own drawing surface: `pad()` builds it in place of the sketch pad, and `read_pad` reads its value
    as drawing_pick reads the sketch pad's. `opens_on` ("gallery" or "draw") is the inner tab shown first; with
    `image_here` False the image box and its note are left unrendered, for the tab to render() where it wants them."""
    gr.Markdown("#### Input")
    with gr.Tabs(selected=f"{prefix}-tab-{opens_on}"):
        with gr.Tab("Gallery", id=f"{prefix}-tab-gallery"):
            # a caption above, not the gallery's own label, which floats over its first row; and a height that
            # grows with the rows, since at 800 px the ten samples take more rows than a fixed height shows
            gr.Markdown("Fashion-MNIST test samples: click one", elem_id=f"{prefix}-gallery-caption")
            gallery = gr.Gallery([(render.upscale(sample_image(i), 84), CLASSES[c])
                                  for c, i in enumerate(gallery_indices())], height="fit-content", allow_preview=False,
                                 show_label=False, buttons=[], elem_classes="gb-gallery", elem_id=f"{prefix}-gallery")
            random = gr.Button("Random test sample", elem_id=f"{prefix}-random")
        with gr.Tab("Draw", id=f"{prefix}-tab-draw"):
            sketch = pad() if pad else sketchpad(
                type="pil", canvas_size=(280, 280), height=320, label="Draw a garment",
                brush=gr.Brush(colors=["#000000"], default_size=14, color_mode="fixed"), elem_id=f"{prefix}-sketch")
            use = gr.Button("Use the drawing", elem_id=f"{prefix}-use-drawing")
    image = gr.Image(first, type="filepath", format="png", sources=["upload", "clipboard"], height=220,
                     label="The input (or drop your own image here)", elem_id=f"{prefix}-input", render=image_here)
    note = gr.Markdown(f"Fashion-MNIST test sample: {CLASSES[0]}.", elem_id=f"{prefix}-input-note",
                       render=image_here)
    return InputColumn(image, note, gallery, random, sketch, use, read_pad)
