"""The trained-network section's gr.api endpoints, conv_layers, conv_features, conv_predict, conv_gradcam and
conv_draw: the same computations the section's pictures come from (explorers.convolution.network). No `from
__future__ import annotations` here, for the reason given in explorers/convolution/__init__.py.
"""

import numpy as np
from gradio.data_classes import FileData

from core import device as devices
from core import probability
from core.convolution import features, vision_models
from core.render import to_data_url
from explorers.common import user_errors
from explorers.convolution.network import (
    cam_view,
    drawing_image,
    feature_view,
    image_from,
    model_for,
    overlay,
    predictions,
)
from explorers.widgets import packed

DRAWN_MAPS = 8  # conv_draw's maps: enough to see strokes light up, small enough for every move of the pointer


def layer_json(layer: vision_models.Layer) -> dict:
    return {"name": layer.name, "kind": layer.kind, "type": layer.module_type, "shape": list(layer.shape),
            "params": layer.params, "param_formula": layer.param_formula, "kernel_conv": layer.conv}


@user_errors
def conv_layers(model: str = "cnn") -> dict:
    """The selectable layers of `model`: name, kind, output shape [C, H, W] for the model's input size, parameters
    and how they are counted, and the conv whose kernels make its channels. Without a torchvision model's weights,
    the cnn's layers and a "note".

    Parameters:
        model: "cnn" (bundled, Fashion-MNIST) or an ImageNet CNN: "resnet18", "vgg16", "alexnet", "mobilenet_v3_small"

    Returns:
        A dict: "model", the model answering; "note", null or why the cnn answers instead; "description";
        "input_size" [C, H, W]; "default_layer", the first conv; "gradcam_layer", the layer conv_gradcam reads;
        "layers", one {"name", "kind" ("conv", "conv block", "activation", "pool" or "block"), "type" (the module's
        class, or "add" for a residual sum), "shape" ([C, H, W] of its output), "params" (the parameters it holds),
        "param_formula" (how they are counted), "kernel_conv" (the conv whose kernels make its channels, or null)}
        per layer, in network order."""
    vm, note = model_for(model)
    return {"model": vm.name, "note": note, "description": vm.description, "input_size": list(vm.input_size),
            "default_layer": vm.default_layer, "gradcam_layer": vision_models.GRADCAM_LAYERS[vm.name],
            "layers": [layer_json(layer) for layer in vm.layers]}


@user_errors
@devices.gpu
def conv_features(image: FileData, model: str = "cnn", layer: str | None = None, top_k: int = 16,
                  normalize: str = "map") -> dict:
    """The feature maps of one layer (default: the first conv) for an image, channels sorted by mean activation.
    Without a torchvision model's weights (not cached and no download possible) the bundled cnn answers instead,
    and "note" says why.

    Parameters:
        image: an image file (gradio_client: handle_file(path)), any format PIL reads; ≤ 40 MP, downscaled to 1024 px
        model: "cnn" (bundled, Fashion-MNIST) or an ImageNet CNN: "resnet18", "vgg16", "alexnet", "mobilenet_v3_small"
        layer: a name from conv_layers (cnn: "conv1" to "conv6", "relu1" to "relu6", "pool1", "pool2"); null: first conv
        top_k: how many channels to show, largest mean activation first: 1 to 1024 (at most the layer's channels)
        normalize: the colour scale: "map" (each map its own), "layer" (one for the layer) or "global" (one for all)

    Returns:
        A dict: "model"; "note" (null, or why the cnn answers); "layer", "kind" and "shape" [C, H, W] of the layer;
        "channel_order", every channel, largest mean activation first; "channel_means", each channel's mean over
        space, in channel order; "shown", the channels in the grid, in grid order; "normalize"; "colour", the colour
        scale in words; "value_range" [low, high] of that scale (for "map": [-1, 1] or [0, 1], relative to each
        map's largest |value|); "image", the grid (PNG data URL); "seen", the picture the model sees (PNG data URL);
        "preprocessing", the steps in words; "params", "param_formula" and "kernel_conv", as conv_layers gives."""
    v = feature_view(image_from(image), model, layer, top_k, normalize)
    return {"model": v.vm.name, "note": v.note, "layer": v.layer.name, "kind": v.layer.kind,
            "shape": list(v.layer.shape), "channel_order": v.order.tolist(), "channel_means": v.means.tolist(),
            "shown": v.grid.channels, "normalize": normalize, "colour": v.grid.colour_note,
            "value_range": list(v.grid.value_range), "image": to_data_url(v.grid.image),
            "seen": to_data_url(v.acts.seen), "preprocessing": v.acts.preprocessing, "params": v.layer.params,
            "param_formula": v.layer.param_formula, "kernel_conv": v.layer.conv}


@user_errors
@devices.gpu
def conv_predict(image: FileData, model: str = "cnn", temperature: float = 1.0) -> dict:
    """Class probabilities softmax(logits / temperature) for every class (they sum to 1), the top 10, and the
    entropy at this temperature and at T = 1.
    Without a torchvision model's weights (not cached and no download possible) the bundled cnn answers instead,
    and "note" says why.

    Parameters:
        image: an image file (gradio_client: handle_file(path)), any format PIL reads; ≤ 40 MP, downscaled to 1024 px
        model: "cnn" (bundled, Fashion-MNIST) or an ImageNet CNN: "resnet18", "vgg16", "alexnet", "mobilenet_v3_small"
        temperature: T, which divides the logits: from 0.01 to 100; T > 1 flattens, T < 1 sharpens

    Returns:
        A dict: "model"; "note" (null, or why the cnn answers); "temperature", the T used; "labels", the class names
        in logit order (10 for the cnn, 1000 for ImageNet); "probabilities", one per class, in that order, at T;
        "predicted" and "predicted_label", the most probable class (the same at every T); "top", the 10 most
        probable as {"index", "label", "probability" (at T), "probability_t1" (at T = 1)}; "entropy" and
        "entropy_t1", of the distribution at T and at T = 1, in nats."""
    vm, note, _, probs, base, t = predictions(image_from(image), model, temperature)
    top = np.argsort(-probs, kind="stable")[:10]
    return {"model": vm.name, "note": note, "temperature": t, "labels": list(vm.labels),
            "probabilities": probs.tolist(), "predicted": int(top[0]), "predicted_label": vm.labels[top[0]],
            "top": [{"index": int(i), "label": vm.labels[i], "probability": float(probs[i]),
                     "probability_t1": float(base[i])} for i in top],
            "entropy": probability.entropy(probs), "entropy_t1": probability.entropy(base)}


@user_errors
@devices.gpu
def conv_gradcam(image: FileData, model: str = "cnn", target: int | None = None) -> dict:
    """Grad-CAM for class `target` (default: the predicted class) at the model's last conv stage: heatmap
    [H, W] in [0, 1] at the model's input size, and an overlay on the picture the model sees (PNG data URL).
    Without a torchvision model's weights (not cached and no download possible) the bundled cnn answers instead,
    and "note" says why.

    Parameters:
        image: an image file (gradio_client: handle_file(path)), any format PIL reads; ≤ 40 MP, downscaled to 1024 px
        model: "cnn" (bundled, Fashion-MNIST) or an ImageNet CNN: "resnet18", "vgg16", "alexnet", "mobilenet_v3_small"
        target: the class index, 0 to 9 for the cnn or 0 to 999 for ImageNet (see conv_predict); null or -1: predicted

    Returns:
        A dict: "model"; "note" (null, or why the cnn answers); "target" and "target_label", the class explained;
        "predicted", the class the model predicts; "probability", the target's softmax probability (T = 1);
        "layer", where Grad-CAM looks (e.g. "relu6"), and "layer_shape" [h, w] of its maps; "peak", the largest
        value of ReLU(Σ α·A) before scaling (0: no positive evidence anywhere); "heatmap" [H][W], upsampled to
        the input size and divided by its maximum, in [0, 1], 4 decimals; "overlay", the heatmap (Jet, opacity
        0.5) over the picture the model sees (PNG data URL)."""
    vm, note, acts, cam, probs, predicted = cam_view(image_from(image), model, target)
    return {"model": vm.name, "note": note, "target": cam.target, "target_label": vm.labels[cam.target],
            "predicted": predicted, "probability": float(probs[cam.target]), "layer": cam.layer,
            "layer_shape": list(cam.coarse.shape), "peak": cam.peak,
            "heatmap": np.round(cam.heatmap, 4).tolist(), "overlay": to_data_url(overlay(acts.seen, cam.heatmap, 0.5))}



@user_errors
@devices.gpu
def conv_draw(pixels: list[list[float]], temperature: float = 1.0) -> dict:
    """The bundled cnn on a 28×28 drawing, lean enough to answer every move of a stroke: class probabilities
    softmax(logits / temperature) and the first conv layer's maps, packed. The same numbers conv_predict and
    conv_features give for the same 28×28 picture saved as a file.

    Parameters:
        pixels: 28 rows of 28 grey levels from 0 (black ink) to 255 (white paper), as a drawing pad gives them
        temperature: T, which divides the logits: from 0.01 to 100; T > 1 flattens, T < 1 sharpens

    Returns:
        A dict: "temperature"; "labels", the 10 class names; "probabilities", one per class at T; "predicted" and
        "predicted_label", the most probable class; "entropy" (nats, at T); "layer", the first conv ("conv1");
        "channels", its DRAWN_MAPS channels of largest mean activation, largest first; "maps", those channels' maps
        as {"dtype": "float32", "shape": [channels, 28, 28], "data": base64 of the little-endian bytes}; "peak",
        the largest |value| of those maps."""
    vm, _, acts, probs, _, t = predictions(drawing_image(pixels), vision_models.BUNDLED, temperature)
    maps = acts.maps[vm.default_layer]
    _, order = features.channel_ranking(maps)
    shown = order[:DRAWN_MAPS]
    top = int(np.argmax(probs))
    return {"temperature": t, "labels": list(vm.labels), "probabilities": probs.tolist(), "predicted": top,
            "predicted_label": vm.labels[top], "entropy": probability.entropy(probs), "layer": vm.default_layer,
            "channels": shown.tolist(), "maps": packed(maps[shown]),
            "peak": float(np.abs(maps[shown]).max(initial=0.0))}
