"""The Convolution tab's second section, inside a trained CNN: what its endpoints and views compute, and its
handlers. Feature maps of any layer, the learned kernels, a layer overview, one cell's arithmetic, class
probabilities with a temperature, and Grad-CAM, for the bundled cnn or a torchvision ImageNet model.
core.convolution's vision_models, features, gradcam and network_figures do the work; network_api holds the
endpoints and network_layout the components and events.
"""
from dataclasses import asdict, dataclass
from typing import NamedTuple

import gradio as gr
import numpy as np
from PIL import Image

from core import device as devices
from core import probability, render
from core.convolution import features, gradcam, vision_models
from core.convolution import network_figures as figures
from core.uploads import open_image
from core.validate import as_choice, as_int, as_matrix, echo
from explorers.common import (
    Box,
    combined,
    skipped,
    uploaded_path,
    user_errors,
)
from explorers.widgets import packed, panels_value

TOP_K_MAX = 1024
SHOW_CHOICES = [("top-k by mean activation", "top"), ("all channels", "all"), ("pick channels", "pick")]
NORMALIZE_CHOICES = [("per map", "map"), ("per layer", "layer"), ("global", "global")]
PREDICTED = -1  # the Grad-CAM target dropdown's "whatever the model predicts"
MAPS_IN_BROWSER = 1_000_000  # values of the shown maps sent for the hover (4 MB as float32); beyond, no value shown
PREDICTION_BARS = 10  # the cnn-prediction widget's classes, most probable first
PICTURE_SIDE = 224  # small inputs are enlarged to at least this, nearest neighbour, so pixels stay square
# The number boxes (explorers.common.Box): ranges of the UI, within what the endpoints accept.
TEMPERATURE = Box("Softmax temperature T", 0.1, 10, 1.0, whole=False)
TOP_K = Box("k (top-k)", 1, 64, 16)
CHANNEL = Box("Channel", 0, None, 0)  # up to the layer's channels - 1
OPACITY = Box("Overlay opacity", 0, 1, 0.5, whole=False)


# ---------------------------------------------------------------- computing: the endpoints and the views share these


def model_for(model) -> tuple[vision_models.ConvNet, str | None]:
    return vision_models.resolve(as_choice(model, "model", vision_models.NAMES))


def image_from(image) -> Image.Image:
    return open_image(uploaded_path(image))


DRAWING_SIDE = 28  # the cnn-draw pad sends its drawing at the bundled cnn's own size


def drawing_image(pixels) -> Image.Image:
    """A drawing pad's 28×28 grey levels (0 ink to 255 paper) as the greyscale picture they are: saved as a PNG,
    the same picture reaches conv_predict, so a drawing and its file get the same numbers."""
    grey = as_matrix(pixels, "pixels", max_side=DRAWING_SIDE)
    if grey.shape != (DRAWING_SIDE, DRAWING_SIDE):
        raise ValueError(f"pixels must be {DRAWING_SIDE} rows of {DRAWING_SIDE} grey levels, not "
                         f"{grey.shape[0]}×{grey.shape[1]}.")
    if grey.min() < 0 or grey.max() > 255:
        raise ValueError(f"pixels are grey levels from 0 to 255; got {grey.min():g} to {grey.max():g}.")
    return Image.fromarray(np.round(grey).astype(np.uint8))


@dataclass(frozen=True)
class FeatureView:
    vm: vision_models.ConvNet
    note: str | None
    acts: features.Activations
    layer: vision_models.Layer
    means: np.ndarray
    order: np.ndarray
    grid: render.Grid


def feature_view(img: Image.Image, model, layer, top_k, normalize, channels=None) -> FeatureView:
    vm, note = model_for(model)
    if note and layer and layer not in {entry.name for entry in vm.layers}:
        note += f" Layer {echo(layer)} is not in the cnn; showing {vm.default_layer}."
        layer = None
    info = vm.layer(layer or vm.default_layer)
    k = as_int(top_k, "top_k", 1, TOP_K_MAX)
    normalize = as_choice(normalize, "normalize", figures.NORMALIZE)
    acts = features.run(vm, img)
    maps = acts.maps[info.name]
    means, order = features.channel_ranking(maps)
    shown = features.pick_channels(order, k, channels)
    what = (f"Channels {', '.join(map(str, shown))}, as picked" if channels
            else f"Top {len(shown)} of {maps.shape[0]} channels by mean activation")
    grid = figures.feature_grid(maps, shown, means, info.name, normalize, features.peak(acts), what)
    return FeatureView(vm, note, acts, info, means, order, grid)


def predictions(img: Image.Image, model, temperature):
    t = probability.check_temperature(temperature)
    vm, note = model_for(model)
    acts = features.run(vm, img)
    return vm, note, acts, probability.softmax(acts.logits, t), probability.softmax(acts.logits), t


def cam_view(img: Image.Image, model, target):
    vm, note = model_for(model)
    acts = features.run(vm, img)
    probs = probability.softmax(acts.logits)
    predicted = int(np.argmax(probs))
    target = predicted if target is None or target == PREDICTED else as_int(target, "target", 0, len(vm.labels) - 1)
    return vm, note, acts, gradcam.for_model(vm, acts.input, target), probs, predicted


def overlay(seen: Image.Image, heatmap: np.ndarray, opacity: float) -> Image.Image:
    return render.overlay(render.upscale(seen, PICTURE_SIDE), heatmap, opacity)


# ---------------------------------------------------------------- UI handlers


class FeatureViews(NamedTuple):
    seen: object
    seen_note: str
    grid: object
    grid_note: str
    kernels: dict  # the panels widget's value (or gr.skip())
    overview: object
    grid_info: dict
    maps_hover: dict
    top_k: object


class ChannelViews(NamedTuple):
    channel: int
    channel_plot: dict  # the panels widget's value
    channel_note: str


class CellViews(NamedTuple):
    cell_plot: dict  # the panels widget's value
    cell_note: str


class PickedLayer(NamedTuple):
    layer: object  # the Layer dropdown, set to the layer clicked in the overview


class PredictionViews(NamedTuple):
    prediction: dict  # the cnn-prediction widget's bars
    prediction_note: str
    temperature: object


class CamViews(NamedTuple):
    cam_image: object
    cam_note: str
    opacity: object


class ModelControls(NamedTuple):
    model: object
    layer: object
    model_note: str
    table: list
    target: object


class DrawnInput(NamedTuple):
    input: object  # the input column's image box
    input_note: str


PickViews = combined("PickViews", ChannelViews, CellViews)
LayerViews = combined("LayerViews", FeatureViews, ChannelViews, CellViews)
OverviewViews = combined("OverviewViews", LayerViews, PickedLayer)
SectionViews = combined("SectionViews", FeatureViews, ChannelViews, CellViews, PredictionViews, CamViews)
ModelViews = combined("ModelViews", ModelControls, SectionViews)
DrawnViews = combined("DrawnViews", DrawnInput, SectionViews)


def model_choices() -> list[tuple[str, str]]:
    return [(f"{name} ({vision_models.availability(name)})", name) for name in vision_models.NAMES]


def layer_rows(vm: vision_models.ConvNet) -> list[list]:
    return [[layer.name, layer.kind, "×".join(map(str, layer.shape)), layer.params, layer.param_formula]
            for layer in vm.layers]


def model_markdown(vm, note) -> str:
    head = f"**{vm.description}**, input {'×'.join(map(str, vm.input_size))}, {len(vm.layers)} layers to look at."
    return f"⚠️ {note}\n\n{head}" if note else head


def target_choices(vm) -> list[tuple[str, int]]:
    return [("the predicted class", PREDICTED), *[(f"{i}: {label}", i) for i, label in enumerate(vm.labels)]]


def grid_state(v: FeatureView) -> dict:
    """The grid's geometry, which pick_from_grid reads clicks with, and what its kernels show (model, layer,
    channels), so that a new image whose grid shows the same channels leaves the kernels' figure alone."""
    return {"channels": v.grid.channels, "columns": v.grid.columns, "cell": v.grid.cell, "top": v.grid.top,
            "model": v.vm.name, "layer": v.layer.name}


def hover_value(v: FeatureView) -> dict:
    """What the cnn-maps widget reads the grid's cells with, with no request: the grid's geometry (as
    render.tile_at), the shown maps (up to MAPS_IN_BROWSER values) and the window each cell reads."""
    maps = v.acts.maps[v.layer.name][v.grid.channels]
    win = features.window(v.vm, v.acts, v.layer)
    return {"layer": v.layer.name, "channels": v.grid.channels, "shape": list(maps.shape), "columns": v.grid.columns,
            "cell": v.grid.cell, "top": v.grid.top, "pad": render.PAD, "label": render.LABEL_HEIGHT,
            "width": v.grid.image.width, "maps": packed(maps) if maps.size <= MAPS_IN_BROWSER else None,
            "window": None if win is None else asdict(win)}


def feature_views(v: FeatureView, top_k, hint: str = "", shown_before: dict | None = None) -> FeatureViews:
    """The views of one layer's maps; `shown_before` is the grid_state of the grid on the page, whose kernels
    stay (gr.skip: no figure built, none redrawn) when this grid shows the same model, layer and channels."""
    vm, layer = v.vm, v.layer
    kernel = features.kernels(vm, layer)
    state = grid_state(v)
    same = shown_before is not None and all(shown_before.get(k) == state[k] for k in ("model", "layer", "channels"))
    kernel_plot = (gr.skip() if same else
                   panels_value(figures.kernel_panels(kernel, v.grid.channels, layer.conv) if kernel is not None
                                else render.Panels(f"{layer.name} has no convolution before it")))
    strip = figures.layer_strip(features.representatives(vm, v.acts), features.head(vm, v.acts))
    seen_md = f"**What the model sees** ({'×'.join(map(str, vm.input_size))}): {v.acts.preprocessing}."
    grid_md = (f"**{layer.name}** ({layer.kind}, {layer.module_type}) → {'×'.join(map(str, layer.shape))}; "
               f"parameters {layer.param_formula}. {v.grid.colour_note} Click a map to see it large, and the "
               f"arithmetic of the cell you click.{hint}")
    return FeatureViews(render.upscale(v.acts.seen, PICTURE_SIDE), seen_md, v.grid.image, grid_md, kernel_plot,
                        strip, state, hover_value(v), top_k)


def shown_view(img: Image.Image, model, layer, show, top_k, picks, normalize) -> tuple[FeatureView, str]:
    """The feature view, and a line to add to its note: choosing "pick channels" before any channel is typed is
    no mistake, so the top k stay and the line says where to type."""
    show = as_choice(show, "show", [value for _, value in SHOW_CHOICES])
    channels = features.parse_channels(picks) if show == "pick" else None
    hint = (" **Type channel numbers in 'Pick channels' (e.g. 0, 5, 12) and press Enter**; until then the top k "
            "are shown." if show == "pick" and not channels else "")
    return feature_view(img, model, layer, TOP_K_MAX if show == "all" else top_k, normalize, channels), hint


def channel_views(img: Image.Image, model, layer, channel) -> ChannelViews:
    vm, _ = model_for(model)
    info = vm.layer(layer or vm.default_layer)
    acts = features.run(vm, img)
    maps = acts.maps[info.name]
    c = CHANNEL.read(channel, hi=maps.shape[0] - 1).value
    means, order = features.channel_ranking(maps)
    kernel = features.kernels(vm, info)
    fig = panels_value(figures.channel_panels(np.asarray(acts.seen), None if kernel is None else kernel[c],
                                              maps[c], c, info.name, info.conv))
    rank = int(np.flatnonzero(order == c)[0]) + 1
    k_note = (f"its kernel {info.conv}[{c}] has shape {list(kernel.shape[1:])} (first 8 input channels drawn, one "
              "shared blue-white-red scale)" if kernel is not None else "no convolution feeds it")
    return ChannelViews(c, fig, f"Channel **{c}** of {info.name}: mean activation {means[c]:.4g}, rank {rank} "
                                f"of {len(order)}, max {maps[c].max():.4g}; {k_note}.")


def fmt(v: float) -> str:
    """A number in the cell view, to 4 significant figures."""
    return f"{v:.4g}"


def cell_views(img: Image.Image, model, layer, channel: int, row: int | None = None,
               col: int | None = None) -> CellViews:
    """How one value of the layer's maps is computed, from the recorded input of its module; without a cell,
    the channel's largest value."""
    vm, _ = model_for(model)
    info = vm.layer(layer or vm.default_layer)
    acts = features.run(vm, img)
    if row is None or col is None:
        row, col = features.peak_cell(acts.maps[info.name], channel)
    if info.kind == "block":
        return CellViews(panels_value(render.Panels(f"{info.name} is a residual sum: no kernel of its own")),
                         f"**{info.name}** adds the block's input to its branch's output, so its cells have no "
                         "kernel of their own: click a conv, activation or pooling layer in the overview.")
    cell = features.cell(vm, acts, info, channel, row, col)
    at = f"{info.name}[{channel}, {row}, {col}]"
    check = (f"The recorded forward pass has {at} = {fmt(cell.recorded)}; recomputed here {fmt(cell.computed)} "
             f"(difference {abs(cell.computed - cell.recorded):.1g}, float32 rounding).")
    window = "×".join(map(str, cell.window.shape[1:]))
    if cell.kernel is not None:
        n = len(cell.terms)
        largest = np.argsort(-np.abs(cell.terms), kind="stable")[:3]
        parts = " + ".join(f"({cell.terms[i]:+.4g})" for i in range(n)) if n <= 4 else \
            (f"{n} terms, the largest " + ", ".join(f"in {cell.input_channels[i]}: {cell.terms[i]:+.4g}"
                                                    for i in largest))
        md = (f"**{at}** = Σ over {n} input channel{'s' * (n > 1)} of Σ kernel·window ({window} each) + bias "
              f"= [{parts}] = {fmt(float(cell.terms.sum()))}, + bias {fmt(cell.bias)} = **{fmt(cell.conv_sum)}**.")
        if cell.operation == "conv block":
            md += (f" Then batch norm and {info.module_type}'s activation on that one value: "
                   f"**{fmt(cell.computed)}**.")
        else:
            md += " This is the conv's output before any batch norm or ReLU."
    elif cell.operation in ("max pool", "average pool"):
        what = "largest" if cell.operation == "max pool" else "mean"
        md = (f"**{at}** is the {what} of the {window} window of channel {channel} of the layer's input "
              f"(the previous layer's map): **{fmt(cell.computed)}**.")
    else:
        x = float(cell.window[0, 0, 0])
        md = (f"**{at}** = max(0, x) with x = {fmt(x)} (the same cell of the layer's input, after the conv and "
              f"batch norm) = **{fmt(cell.computed)}**." if cell.operation == "relu" else
              f"**{at}** = {info.module_type}(x) with x = {fmt(x)} = **{fmt(cell.computed)}**.")
    return CellViews(panels_value(figures.cell_panels(cell, info.conv)),
                     f"{md} {check} Click any map to pick another cell.")


def layer_views(img: Image.Image, model, layer, show, top_k, picks, normalize,
                shown_before: dict | None = None) -> LayerViews:
    """The feature maps and kernels of one layer, its top channel on its own, and how that channel's largest
    value is computed."""
    k = TOP_K.read(top_k)
    v, hint = shown_view(img, model, layer, show, k.value, picks, normalize)
    top = int(v.grid.channels[0])
    return LayerViews(**feature_views(v, k.shown, hint, shown_before)._asdict(),
                      **channel_views(img, v.vm.name, v.layer.name, top)._asdict(),
                      **cell_views(img, v.vm.name, v.layer.name, top)._asdict())


def prediction_views(img: Image.Image, model, temperature) -> PredictionViews:
    asked = TEMPERATURE.read(temperature)
    vm, _, _, probs, base, t = predictions(img, model, asked.value)
    top = int(np.argmax(probs))
    at_one = t == 1  # then the T = 1 figures would repeat the ones just given
    md = (f"Prediction: **{vm.labels[top]}**, p = {probs[top]:.3f} at T = {t:g}"
          + ("" if at_one else f" (p = {base[top]:.3f} at T = 1)")
          + f". Entropy {probability.entropy(probs):.3f} nats at T = {t:g}"
          + ("" if at_one else f", {probability.entropy(base):.3f} at T = 1")
          + f" (uniform: {np.log(len(probs)):.3f}). Dividing the logits by T keeps their order: the top class never "
          "changes, only how sure the model sounds.")
    order = np.argsort(-probs, kind="stable")[:PREDICTION_BARS]
    bars = {"labels": [vm.labels[i] for i in order], "probabilities": probs[order].tolist(),
            "probabilities_t1": base[order].tolist(), "temperature": t}
    return PredictionViews(bars, md, asked.shown)


def cam_views(img: Image.Image | None, model, on, target, opacity) -> CamViews:
    alpha = OPACITY.read(opacity)
    if not on or img is None:
        return CamViews(gr.Image(visible=False), "", alpha.shown)
    vm, _, acts, cam, probs, predicted = cam_view(img, model, target)
    h, w = cam.coarse.shape
    md = (f"Grad-CAM for **{vm.labels[cam.target]}** (p = {probs[cam.target]:.3f}; the model predicts "
          f"{vm.labels[predicted]}) at layer {cam.layer}: a {h}×{w} map, upsampled bilinearly to "
          f"{cam.heatmap.shape[0]}×{cam.heatmap.shape[1]}. **Colours are relative to this class's own maximum** "
          f"(Jet: blue 0, red = that maximum): its raw maximum, ReLU(Σ α·A), is **{cam.peak:.4g}**.")
    if cam.target != predicted:
        best = gradcam.for_model(vm, acts.input, predicted)
        md += (f" For the predicted class, {vm.labels[predicted]}, it is {best.peak:.4g}: compare these two "
               "numbers, not the two pictures' reds.")
    if cam.peak <= 0:
        md += " **No positive evidence anywhere:** ReLU(Σ α·A) is 0 everywhere for this class."
    return CamViews(gr.Image(overlay(acts.seen, cam.heatmap, alpha.value), visible=True), md, alpha.shown)


@devices.gpu
def section_views(img: Image.Image, model, layer, show, top_k, picks, normalize, temperature, cam_on, target,
                  opacity, shown_before: dict | None = None) -> SectionViews:
    """Every view of the section for a new input: one recorded forward pass feeds the maps, the channel and the
    prediction (features.run answers the later calls from its cache); Grad-CAM adds its own gradient pass. The
    kernels are left as they are when the grid on the page (`shown_before`) shows the same channels."""
    return SectionViews(**layer_views(img, model, layer, show, top_k, picks, normalize, shown_before)._asdict(),
                        **prediction_views(img, model, temperature)._asdict(),
                        **cam_views(img, model, cam_on, target, opacity)._asdict())


@user_errors
def model_ui(image, model, show, top_k, picks, normalize, temperature, cam_on, opacity,
             progress=gr.Progress(track_tqdm=True)):
    """Load (perhaps download) a model; offline, say so in one line and fall back to the cnn. Then every view,
    at the model's default layer and its predicted class."""
    progress(0, desc=f"Loading {model}")
    vm, note = model_for(model)
    if note:
        gr.Warning(note)
    controls = ModelControls(gr.Dropdown(choices=model_choices(), value=vm.name),
                             gr.Dropdown(choices=[layer.name for layer in vm.layers], value=vm.default_layer),
                             model_markdown(vm, note), layer_rows(vm),
                             gr.Dropdown(choices=target_choices(vm), value=PREDICTED))
    views = (skipped(SectionViews) if image is None else
             section_views(image_from(image), vm.name, vm.default_layer, show, top_k, picks, normalize, temperature,
                           cam_on, PREDICTED, opacity))
    return ModelViews(**controls._asdict(), **views._asdict())


@user_errors
@devices.gpu
def layer_ui(image, model, layer, show, top_k, picks, normalize):
    if image is None:
        return skipped(LayerViews)
    return layer_views(image_from(image), model, layer, show, top_k, picks, normalize)


@user_errors
@devices.gpu
def channel_ui(image, model, layer, channel):
    if image is None:
        return skipped(PickViews)
    img = image_from(image)
    views = channel_views(img, model, layer, channel)
    return PickViews(**views._asdict(), **cell_views(img, model, layer, views.channel)._asdict())


@user_errors
@devices.gpu
def pick_from_grid(state, image, model, layer, evt: gr.SelectData):
    """A click on the feature-map grid selects the channel under it and shows it."""
    channel = None
    if state and evt.index and image is not None:
        grid = render.Grid(None, state["channels"], state["columns"], state["cell"], state["top"], "", (0, 0))
        channel = render.tile_at(grid, *evt.index[:2])
    if channel is None:
        return skipped(PickViews)
    img = image_from(image)
    views = channel_views(img, model, layer, channel)
    offset = render.tile_offset(grid, *evt.index[:2])
    if offset is None:  # the tile's label: the channel, at its largest value
        return PickViews(**views._asdict(), **cell_views(img, model, layer, channel)._asdict())
    _, h, w = features.run(model_for(model)[0], img).maps[layer].shape
    return PickViews(**views._asdict(),
                     **cell_views(img, model, layer, channel, int(offset[0] * h), int(offset[1] * w))._asdict())


@user_errors
@devices.gpu
def overview_ui(image, model, show, top_k, picks, normalize, evt: gr.SelectData):
    """A click on the layer overview opens that layer: the Layer dropdown, its maps, kernels and top channel."""
    vm, _ = model_for(model)
    i = figures.strip_at(len(vm.layers), *evt.index[:2]) if evt.index else None
    if i is None or image is None:
        return skipped(OverviewViews)
    name = vm.layers[i].name
    views = layer_views(image_from(image), vm.name, name, show, top_k, picks, normalize)
    return OverviewViews(**views._asdict(), layer=gr.Dropdown(value=name))


@user_errors
@devices.gpu
def predict_ui(image, model, temperature):
    if image is None:
        return skipped(PredictionViews)
    return prediction_views(image_from(image), model, temperature)


@user_errors
@devices.gpu
def gradcam_ui(image, model, on, target, opacity):
    return cam_views(None if image is None else image_from(image), model, on, target, opacity)


def drawn_pick(value) -> tuple[Image.Image, str] | None:
    """The cnn-draw pad's drawing as the section's input, or None when nothing is drawn (the paper is white)."""
    pixels = (value or {}).get("pixels")
    if pixels is None:
        return None
    img = drawing_image(pixels)
    return (img, "Your drawing (28×28, as the pad sent it to the cnn).") if np.asarray(img).min() < 255 else None


@user_errors
def drawn_ui(value, *settings) -> DrawnViews:
    """The pad's drawing, as the pen lifts, made the section's input, with every view computed on it: what the
    input column's "Use the drawing" does on a click, in an event of the pad's own that always runs the last stroke
    (a click while the one before is still running is dropped). An empty pad changes nothing."""
    picked = drawn_pick(value)
    if picked is None:
        return skipped(DrawnViews)
    img, note = picked
    return DrawnViews(img, note, **section_views(img, *settings)._asdict())
