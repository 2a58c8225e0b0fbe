"""The image classifiers the convolution explorer opens: the bundled Fashion-MNIST `cnn` and torchvision's ImageNet
CNNs. Loading (torch hub cache, else a download with a tqdm progress bar, else one line saying why not), the
preprocessing each model really applies, and its class labels.

Every VisionModel owns a private copy of its network: tracing for feature extraction briefly switches a model
between train and eval mode, and Grad-CAM registers hooks, so neither may touch a model that other explorers
share. Requests on one VisionModel take its lock, because a hook registered by one request would otherwise see
another request's forward pass.
"""
from __future__ import annotations

import copy
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torchvision
from PIL import Image, ImageOps
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from core import models
from core.data import CLASSES
from core.device import device
from core.images import to_rgb
from core.models.cnn import MEAN as CNN_MEAN, STD as CNN_STD

log = logging.getLogger(__name__)

BUNDLED = "cnn"
TORCHVISION = ("resnet18", "vgg16", "alexnet", "mobilenet_v3_small")
NAMES = (BUNDLED, *TORCHVISION)
# The last convolutional stage of each network: where Grad-CAM looks, because its maps still have space but
# already respond to whole parts (Selvaraju et al. use the last conv layer for the same reason).
GRADCAM_LAYERS = {"cnn": "relu6", "resnet18": "layer4", "vgg16": "features.29", "alexnet": "features.11",
                  "mobilenet_v3_small": "features.12"}
RETRY_SECONDS = 300  # after a failed download, say "unavailable" at once for this long instead of retrying
LIGHT_BORDER = 0.5   # a grayscale border brighter than this means dark-on-light: Fashion-MNIST is light-on-dark

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.GELU, nn.LeakyReLU)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


class WeightsUnavailable(ValueError):
    """A torchvision model's weights are neither cached nor downloadable; the message is one line for a person."""


@dataclass(frozen=True)
class Layer:
    """One selectable layer: a graph node whose output is a stack of feature maps."""
    name: str
    kind: str                   # "conv", "conv block", "activation", "pool" or "block"
    module_type: str            # e.g. "Conv2d", "ReLU", or "add" for a residual sum
    shape: tuple[int, int, int]  # (C, H, W) for the model's input size
    params: int                 # parameters this layer itself holds
    param_formula: str          # how `params` comes about, e.g. "32·(1·3·3) = 288"
    conv: str | None            # the convolution whose output channels these are (its kernels explain them)


@dataclass(eq=False)
class VisionModel:
    name: str
    module: nn.Module               # private copy, eval mode, parameters frozen
    labels: tuple[str, ...]
    input_size: tuple[int, int, int]
    description: str
    transform: nn.Module | None     # torchvision's own preprocessing; None for the bundled cnn
    layers: list[Layer] = field(default_factory=list)
    extractor: nn.Module | None = None  # returns every layer's output and the logits in one forward pass
    lock: threading.RLock = field(default_factory=threading.RLock)

    def layer(self, name) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        shown = ", ".join(layer.name for layer in self.layers[:12])
        more = "" if len(self.layers) <= 12 else f" ... ({len(self.layers)} in all; conv_layers lists them)"
        raise ValueError(f"{self.name} has no selectable layer {name!r}; its layers are {shown}{more}.")

    @property
    def default_layer(self) -> str:
        """The first convolution: where the kernels are still readable as pictures."""
        return next(layer.name for layer in self.layers if layer.conv)

    def preprocess(self, img: Image.Image) -> tuple[torch.Tensor, Image.Image, str]:
        """(input tensor [1, C, H, W] on the device, the picture the model sees, the steps in words)."""
        if self.transform is None:
            x, seen, steps = fashion_preprocess(img)
        else:
            x = self.transform(to_rgb(img)).unsqueeze(0)
            mean, std = (torch.tensor(v).view(3, 1, 1) for v in (self.transform.mean, self.transform.std))
            seen = Image.fromarray((x[0] * std + mean).clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy())
            t = self.transform
            steps = (f"RGB → resize the short side to {t.resize_size[0]} ({t.interpolation.value}) → centre crop "
                     f"{t.crop_size[0]}×{t.crop_size[0]} → per channel (x − mean)/std with ImageNet mean "
                     f"{tuple(t.mean)} and std {tuple(t.std)} (torchvision's weights.transforms())")
        return x.to(device()), seen, steps


def fashion_preprocess(img: Image.Image) -> tuple[torch.Tensor, Image.Image, str]:
    """Make any picture look like Fashion-MNIST: grayscale, light garment on black, centred, 28×28, in [0, 1]."""
    gray = to_rgb(img).convert("L")
    steps = ["grayscale"]
    a = np.asarray(gray, dtype=np.float64) / 255
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean()
    if border > LIGHT_BORDER:
        gray = ImageOps.invert(gray)
        steps.append(f"inverted (the border is light, mean {border:.2f}; Fashion-MNIST is light on black)")
    if gray.size != (28, 28):
        side = max(gray.size)
        square = Image.new("L", (side, side), 0)
        square.paste(gray, ((side - gray.width) // 2, (side - gray.height) // 2))
        gray = square.resize((28, 28), Image.Resampling.LANCZOS)
        steps.append("padded to a square with black and resized to 28×28 (Lanczos)")
    steps.append(f"pixels scaled to [0, 1], then the model's own first layer computes (x − {CNN_MEAN})/{CNN_STD}")
    x = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255).view(1, 1, 28, 28)
    return x, gray, " → ".join(steps)


# ---------------------------------------------------------------- layers


def _node_module(module: nn.Module, node: str) -> tuple[nn.Module | None, bool]:
    """(the module a graph node calls, whether this is a second call of it): FX names a module's second call
    "relu_1", which is still module "relu"."""
    for name, reused in ((node, False), (node.rsplit("_", 1)[0], True)):
        try:
            return module.get_submodule(name), reused
        except AttributeError:
            continue
    return None, False


def _kind(module: nn.Module | None, node: str) -> str | None:
    if module is None:
        return "block" if node.rsplit(".", 1)[-1].split("_")[0] == "add" else None  # a residual sum
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, ACTIVATIONS):
        return "activation"
    if isinstance(module, POOLS):
        return "pool"
    children = list(module.children())
    if children and isinstance(children[0], nn.Conv2d):
        return "conv block"  # torchvision's Conv2dNormActivation: conv, batch norm, activation as one leaf
    return None


def conv_params(conv: nn.Conv2d) -> tuple[int, str]:
    """n·(c/g·kh·kw + 1) with a bias, n·(c/g·kh·kw) without; the count is the tensors' own, the text explains it."""
    n, c, (kh, kw), g = conv.out_channels, conv.in_channels, conv.kernel_size, conv.groups
    count = sum(p.numel() for p in conv.parameters())
    per = f"{c}/{g}·{kh}·{kw}" if g > 1 else f"{c}·{kh}·{kw}"
    return count, f"{n}·({per}{' + 1' if conv.bias is not None else ''}) = {count:,}"


def _layer(module: nn.Module, node: str, shape, last_conv: dict[int, str]) -> Layer | None:
    mod, reused = _node_module(module, node)
    kind = _kind(mod, node)
    if kind is None or len(shape) != 3 or shape[1] * shape[2] == 1:
        return None  # 1×1 outputs (global pooling, squeeze-excitation) have no map left to look at
    if kind == "conv":
        params, formula = conv_params(mod)
        last_conv[mod.out_channels] = node
    elif kind == "conv block":
        conv_count, conv_formula = conv_params(mod[0])
        params = sum(p.numel() for p in mod.parameters())
        formula = f"conv {conv_formula} + batch norm {params - conv_count:,} = {params:,}"
        last_conv[mod[0].out_channels] = node
    else:
        params, formula = 0, "no weights"
    if reused:
        params, formula = 0, "no new weights (a module called a second time)"
    module_type = type(mod).__name__ if mod is not None else "add"
    return Layer(node, kind, module_type, tuple(int(s) for s in shape), params, formula, last_conv.get(shape[0]))


def _build_layers(vm: VisionModel) -> None:
    """Trace once, keep the meaningful nodes, and record their output shapes for the model's input size."""
    nodes = get_graph_node_names(vm.module)[1]
    candidates = [n for n in nodes if _kind(_node_module(vm.module, n)[0], n)]
    output = nodes[-1]
    extractor = create_feature_extractor(vm.module, {**{n: n for n in candidates}, output: "logits"}).eval()
    with torch.no_grad():
        shapes = {k: tuple(v.shape[1:]) for k, v in extractor(torch.zeros(1, *vm.input_size, device=device())).items()}
    last_conv: dict[int, str] = {}
    for node in candidates:
        if "downsample" in node:  # a 1×1 shortcut conv: the block's main branch explains its channels better
            continue
        layer = _layer(vm.module, node, shapes[node], last_conv)
        if layer:
            vm.layers.append(layer)
    vm.extractor = extractor


def conv_module(vm: VisionModel, layer: Layer) -> nn.Conv2d | None:
    """The Conv2d whose kernels produced this layer's channels."""
    if layer.conv is None:
        return None
    mod = vm.module.get_submodule(layer.conv)
    return mod if isinstance(mod, nn.Conv2d) else mod[0]


# ---------------------------------------------------------------- loading


def _private(module: nn.Module) -> nn.Module:
    """Eval mode, frozen, and no in-place activations: an in-place ReLU would overwrite the conv output that the
    feature extractor returns for the layer before it."""
    for m in module.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    return module.eval().requires_grad_(False).to(device())


def _finish(vm: VisionModel) -> VisionModel:
    _build_layers(vm)
    return vm


def bundled() -> VisionModel:
    net = _private(copy.deepcopy(models.load(BUNDLED)))
    return _finish(VisionModel(BUNDLED, net, CLASSES, (1, 28, 28),
                               f"bundled Fashion-MNIST CNN ({models.MODELS[BUNDLED].description})", None))


def checkpoint_path(name: str) -> Path:
    """Where torch hub keeps (or will keep) the ImageNet weights of torchvision model `name`."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


_failed: dict[str, tuple[float, str]] = {}


def imagenet_state_dict(name: str) -> dict:
    """The ImageNet weights of torchvision model `name`: from the torch hub cache, else downloaded (unless
    GLASSBOX_OFFLINE=1); WeightsUnavailable with one line when neither works."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    path = checkpoint_path(name)
    if not path.is_file():
        if os.environ.get("GLASSBOX_OFFLINE") == "1":
            raise WeightsUnavailable(f"{name}'s ImageNet weights are not in the torch hub cache ({path.parent}) "
                                     "and GLASSBOX_OFFLINE=1 forbids downloading them.")
        failed_at, reason = _failed.get(name, (-RETRY_SECONDS, ""))
        if time.monotonic() - failed_at < RETRY_SECONDS:
            raise WeightsUnavailable(reason)
        try:
            # torch hub shows a tqdm bar, which gr.Progress(track_tqdm=True) turns into the UI's progress bar.
            return weights.get_state_dict(progress=True, check_hash=True)
        except Exception as e:  # offline machines fail in many ways: DNS, refused connections, timeouts, proxies
            reason = (f"{name}'s ImageNet weights are not cached and could not be downloaded "
                      f"({type(e).__name__}: {str(e)[:80]}).")
            _failed[name] = (time.monotonic(), reason)
            raise WeightsUnavailable(reason) from e
    try:
        return torch.load(path, map_location="cpu", weights_only=True)  # a restricted unpickler that admits tensors only
    except Exception as e:
        raise WeightsUnavailable(f"The cached weights {path} could not be read ({type(e).__name__}); delete the "
                                 "file to download them again.") from e


def torchvision_model(name: str, pretrained: bool = True) -> VisionModel:
    """A torchvision ImageNet CNN; pretrained=False gives random weights (for tests and timing, never the UI)."""
    if name not in TORCHVISION:
        raise ValueError(f"Unknown torchvision model {name!r}; choose one of {', '.join(TORCHVISION)}.")
    weights = torchvision.models.get_model_weights(name).DEFAULT
    net = torchvision.models.get_model(name, weights=None)
    if pretrained:
        try:
            net.load_state_dict(imagenet_state_dict(name))
        except RuntimeError as e:
            raise WeightsUnavailable(f"The cached weights for {name} do not fit its architecture: "
                                     f"{str(e)[:120]}") from e
    what = "ImageNet weights" if pretrained else "random weights"
    return _finish(VisionModel(name, _private(net), tuple(weights.meta["categories"]), (3, 224, 224),
                               f"torchvision {name}, {what} ({weights.meta['num_params'] / 1e6:.1f} M parameters)",
                               weights.transforms()))


@dataclass(eq=False)
class Registry:
    """Models loaded once per process by name. `resolve` falls back to the bundled model, with one line saying
    why, when a torchvision model's weights cannot be had (the attention explorer keeps its ViTs in one too)."""
    names: tuple[str, ...]
    bundled: str
    build: Callable[[str], VisionModel]
    loaded: dict[str, VisionModel] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    locks_lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, name) -> VisionModel:
        """Model `name` with its real weights; WeightsUnavailable when they cannot be had."""
        if name not in self.names:
            raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(self.names)}.")
        if name in self.loaded:
            return self.loaded[name]
        with self.locks_lock:
            lock = self.locks.setdefault(name, threading.Lock())
        # One lock per model: a second caller of the same model waits for its one download or trace instead of
        # starting another, while a 500 MB vgg16 download never holds up someone using the bundled cnn.
        with lock:
            if name not in self.loaded:
                self.loaded[name] = self.build(name)
            return self.loaded[name]

    def resolve(self, name) -> tuple[VisionModel, str | None]:
        try:
            return self.load(name), None
        except WeightsUnavailable as e:
            log.info("%s", e)
            return self.load(self.bundled), f"{e} Showing the bundled Fashion-MNIST {self.bundled} instead."


REGISTRY = Registry(NAMES, BUNDLED, lambda name: bundled() if name == BUNDLED else torchvision_model(name))


def load(name) -> VisionModel:
    """Model `name` with its real weights, loaded once per process; WeightsUnavailable when they cannot be had."""
    return REGISTRY.load(name)


def resolve(name) -> tuple[VisionModel, str | None]:
    """Model `name`, or the bundled cnn with one line saying why `name` could not be loaded."""
    return REGISTRY.resolve(name)


def availability(name: str) -> str:
    """How model `name` would open right now, in a few words."""
    if name == BUNDLED:
        return "bundled, Fashion-MNIST"
    if checkpoint_path(name).is_file():
        return "ImageNet, cached"
    size = torchvision.models.get_model_weights(name).DEFAULT.meta["_file_size"]
    return f"ImageNet, {size:.0f} MB download"


def clear_cache() -> None:
    """Forget loaded models and failed downloads (tests point TORCH_HOME somewhere new)."""
    REGISTRY.loaded.clear()
    _failed.clear()
