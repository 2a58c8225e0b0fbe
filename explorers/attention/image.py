"""The Attention tab's image section: attention in a vision transformer (the bundled Fashion-MNIST vit, or the
ImageNet vit_b_16), as the CLS token's weights on the patches, rollout through every layer, and any picked
patch's weights, over the picture the model sees. core.attention.image runs the model."""
from dataclasses import dataclass
from typing import NamedTuple

import gradio as gr
import numpy as np

from core import device as devices
from core.attention import figures as ar
from core.attention import image as ia
from core.attention import maths as att
from core.uploads import open_image
from core.validate import as_choice
from explorers.attention.heads import AVERAGE, head_choices, head_name
from explorers.common import Box, outputs, skipped, uploaded_path, user_errors
from explorers.inputs import gallery_indices, input_column, sample_image
from explorers.path import Step, path

# The number boxes (explorers.common.Box). Layers and patches depend on the model; an empty Layer box is the last.
IMAGE_LAYER = Box("Layer (images)", 0, None, None, label="Layer")
OPACITY = Box("Overlay opacity", 0, 1, 0.5, whole=False)
PATCH = Box("Patch", 0, None, 5, label="Patch (or click the patch grid)")
COLOURS = "Viridis: dark purple 0, yellow this map's maximum"  # core.attention.figures.heat_overlay's colours


@dataclass(frozen=True)
class ImageView:
    run: ia.ImageRun
    note: str | None
    layer: int
    head: int
    cls: np.ndarray            # [h, w]
    rollout: np.ndarray        # [h, w]


def image_view(image, model, layer, head) -> ImageView:
    return picture_view(open_image(uploaded_path(image)), model, layer, head)


def picture_view(img, model, layer, head, box: Box | None = None) -> ImageView:
    vm, note = ia.resolve(as_choice(model, "model", ia.NAMES))
    r = ia.run(vm, img)
    if box:  # the UI's Layer box, read against this model's layers
        layer = box.read(layer, hi=r.num_layers - 1).value
    layer, head = att.layer_index(layer, r.num_layers), att.head_index(head, r.num_heads)
    return ImageView(r, note, layer, head, ia.cls_map(r, layer, head), ia.rollout_map(r))


def image_model_choices() -> list[tuple[str, str]]:
    return [(f"{name} ({ia.availability(name)})", name) for name in ia.NAMES]


class ImageViews(NamedTuple):
    image_model: object
    image_layer: object
    image_head: object
    image_note: str
    cls_image: object
    cls_note: str
    rollout_image: object
    rollout_note: str
    grid_image: object
    patch_grid: dict
    grid_note: str
    patch_image: object
    patch_note: str
    opacity: object
    patch: object


@user_errors
@devices.gpu
def image_ui(image, model, layer, head, opacity, patch):
    if image is None:
        return skipped(ImageViews)
    return image_views(open_image(uploaded_path(image)), model, layer, head, opacity, patch)


def image_views(img, model, layer, head, opacity, patch) -> ImageViews:
    return image_panels(picture_view(img, model, layer, head, IMAGE_LAYER), opacity, patch)


def image_panels(v: ImageView, opacity, patch) -> ImageViews:
    """Every image output for one view: the controls fitted to the model, the overlays, the grid and the notes."""
    r = v.run
    if v.note:
        gr.Warning(v.note)
    h, w = r.grid
    asked = OPACITY.read(opacity)
    picked, alpha = PATCH.read(patch, hi=h * w - 1).value, asked.value  # the Patch box is told always: a click sets it
    where = f"layer {v.layer}, {head_name(v.head, r.num_heads)}"
    top = int(np.argmax(r.probabilities))
    model_md = (f"{'⚠️ ' + v.note + '  ' + chr(10) if v.note else ''}**{r.vm.description}**. Prediction: "
                f"**{r.vm.labels[top]}** (p = {r.probabilities[top]:.3f}). What the model sees: {r.preprocessing}.")
    cls_md = (f"CLS → patches, {where}: the CLS token's weights on the {h * w} patches (its weight on itself, "
              f"{att.pick(r.attentions, v.layer, v.head)[0, 0]:.3f}, is left out). {COLOURS} ({v.cls.max():.3f}), "
              "as the bar under it says.")
    patch_md = (f"Patch {picked} (row {picked // w}, column {picked % w}) → patches, {where}; outlined in white. "
                f"{COLOURS}.")
    rollout_md = (f"Rollout through layers 0–{r.num_layers - 1} (heads averaged, identity added for the residual), "
                  f"CLS row over the patches: from {v.rollout.min():.3f} to {v.rollout.max():.3f}. {COLOURS}. It "
                  "does not depend on the layer and head chosen above.")
    grid_picture = ar.patch_grid_picture(r.seen, r.grid, picked)
    return ImageViews(gr.update(choices=image_model_choices(), value=r.vm.name),
                      gr.update(maximum=r.num_layers - 1, value=v.layer),
                      gr.update(choices=head_choices(r.num_heads), value=v.head), model_md,
                      ar.heat_overlay(r.seen, v.cls, alpha, r.grid), cls_md,
                      ar.heat_overlay(r.seen, v.rollout, alpha, r.grid), rollout_md,
                      grid_picture, {"size": list(grid_picture.size), "grid": list(r.grid)}, ia.cost_note(r),
                      ar.heat_overlay(r.seen, ia.patch_map(r, v.layer, v.head, picked), alpha, r.grid, picked),
                      patch_md, asked.shown, picked)


@user_errors
@devices.gpu
def pick_patch(state, image, model, layer, head, opacity, evt: gr.SelectData):
    """A click on the patch grid picks the patch under it and redraws every image view for it."""
    patch = ia.patch_at(tuple(state["size"]), tuple(state["grid"]), *evt.index[:2]) if state and evt.index else None
    if patch is None or image is None:
        return skipped(ImageViews)
    return image_views(open_image(uploaded_path(image)), model, layer, head, opacity, patch)


class ImageControls(NamedTuple):
    """The image section's components: the picture's input column, the settings, and the views with their notes."""
    column: object
    image_model: gr.Dropdown
    image_layer: gr.Slider
    image_head: gr.Dropdown
    opacity: gr.Slider
    patch: gr.Number
    image_note: gr.Markdown
    cls_image: gr.Image
    cls_note: gr.Markdown
    rollout_image: gr.Image
    rollout_note: gr.Markdown
    grid_image: gr.Image
    grid_note: gr.Markdown
    patch_image: gr.Image
    patch_note: gr.Markdown
    patch_grid: gr.State


def picture_column(picture, label: str, elem_id: str, note: str, note_id: str, scale: int = 1,
                   min_width: int = 240) -> tuple[gr.Image, gr.Markdown]:
    """One image view in its column: its title above it, as a caption (a floating label was cut at the column's
    width and, with the corner buttons, covered the top patches and their numbers), its note below."""
    with gr.Column(scale=scale, min_width=min_width):
        gr.Markdown(f"**{label}**", elem_id=f"{elem_id}-caption")
        return (gr.Image(picture, type="pil", format="png", interactive=False, show_label=False, buttons=[],
                         label=label, elem_id=elem_id),
                gr.Markdown(note, elem_id=note_id))


def layout() -> ImageControls:
    """The section's components, showing the first gallery picture through the bundled vit from the start: the input,
    the CLS map and the settings side by side (the first screen), the other three maps in a row under them."""
    path("attn-path-image", "The CLS token, which the classifier reads, puts its attention on the picture's patches: "
         "yellow patches are where it looks most in the layer and head chosen, dark purple where it hardly looks.",
         [Step("Pick a garment", "attn-gallery"), Step("See where CLS looks", "attn-cls"),
          Step("Change layer and head", "attn-image-layer"), Step("Through all layers: rollout", "attn-image-rollout"),
          Step("Click a patch", "attn-patch-grid")],
         picture="attn-cls", control="attn-gallery")
    vit = ia.load(ia.BUNDLED)
    first_image = sample_image(gallery_indices()[0])
    start = image_panels(picture_view(first_image, ia.BUNDLED, -1, AVERAGE), 0.5, PATCH.default)
    with gr.Row(equal_height=False):
        # At 1400 px the input's half of the row holds the gallery's ten thumbnails in two rows; at 800 px the
        # input and the CLS map share the first line (three thumbnails a row), the settings wrap under.
        with gr.Column(scale=5, min_width=300):
            column = input_column(first_image, "attn")
        cls_image, cls_note = picture_column(start.cls_image, "CLS → patches", "attn-cls", start.cls_note,
                                             "attn-cls-note", scale=3, min_width=300)
        with gr.Column(scale=2, min_width=200):
            image_model = gr.Dropdown(image_model_choices(), value=ia.BUNDLED, label="Model",
                                      elem_id="attn-image-model")
            image_layer = IMAGE_LAYER.slider(hi=vit.module.num_layers - 1, elem_id="attn-image-layer")
            image_head = gr.Dropdown(head_choices(vit.module.num_heads), value=AVERAGE, label="Head",
                                     elem_id="attn-image-head")
            opacity = OPACITY.slider(step=0.05, elem_id="attn-opacity")
            patch = PATCH.number(elem_id="attn-patch")
            image_note = gr.Markdown(start.image_note, elem_id="attn-image-note")
    with gr.Row(equal_height=False):
        rollout_image, rollout_note = picture_column(start.rollout_image, "Rollout: CLS row, all layers",
                                                     "attn-image-rollout", start.rollout_note,
                                                     "attn-image-rollout-note")
        grid_image, grid_note = picture_column(start.grid_image, "Patch grid (click a patch)", "attn-patch-grid",
                                               start.grid_note, "attn-grid-note")
        patch_image, patch_note = picture_column(start.patch_image, "The picked patch → patches", "attn-patch-map",
                                                 start.patch_note, "attn-patch-note")
    patch_grid = gr.State(start.patch_grid)
    return ImageControls(column, image_model, image_layer, image_head, opacity, patch, image_note, cls_image,
                         cls_note, rollout_image, rollout_note, grid_image, grid_note, patch_image, patch_note,
                         patch_grid)


def wire(c: ImageControls) -> None:
    """A new picture, a changed setting or a click on the patch grid redraws every image view."""
    private = {"api_visibility": "private"}
    image, image_outputs = c.column.image, outputs(ImageViews, c._asdict())
    settings = [c.image_model, c.image_layer, c.image_head, c.opacity, c.patch]
    c.column.on_new_image(devices.gpu(image_views), settings, image_outputs)
    gr.on([c.image_model.input, c.image_layer.release, c.image_head.input, c.opacity.release, c.patch.submit],
          image_ui, [image, *settings], image_outputs, trigger_mode="always_last", **private)
    c.grid_image.select(pick_patch, [c.patch_grid, image, *settings[:-1]], image_outputs, **private)


def build() -> None:
    """The image section, drawn at build time from the first gallery picture through the bundled vit."""
    wire(layout())
