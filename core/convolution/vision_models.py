"""The CNNs the convolution explorer opens: the bundled Fashion-MNIST `cnn` and torchvision's ImageNet CNNs, each
with its selectable layers (traced once with torchvision's feature extraction) and one feature extractor that
returns every layer's output and the logits in one forward pass. Loading and preprocessing are core.vision's.

Every ConvNet owns a private copy of its network: tracing for feature extraction briefly switches a model
between train and eval mode, and Grad-CAM registers hooks, so neither may touch a model that other explorers
share. Requests on one ConvNet take its lock, because a hook registered by one request would otherwise see
another request's forward pass.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import torch
import torchvision
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from core import models
from core.data import CLASSES
from core.device import device
from core.offline import forbidden_by
from core.registry import ModelUnavailable, Registry
from core.validate import echo
from core.vision import VisionModel, imagenet_availability, imagenet_state_dict

BUNDLED = "cnn"
TORCHVISION = ("resnet18", "vgg16", "alexnet", "mobilenet_v3_small")
NAMES = (BUNDLED, *TORCHVISION)
# The last convolutional stage of each network: where Grad-CAM looks, because its maps still have space but
# already respond to whole parts (Selvaraju et al. use the last conv layer for the same reason).
GRADCAM_LAYERS = {"cnn": "relu6", "resnet18": "layer4", "vgg16": "features.29", "alexnet": "features.11",
                  "mobilenet_v3_small": "features.12"}

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.GELU, nn.LeakyReLU)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


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
class ConvNet(VisionModel):
    layers: list[Layer] = field(default_factory=list)
    extractor: nn.Module | None = None  # returns every layer's output and the logits in one forward pass

    def layer(self, name) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        shown = ", ".join(layer.name for layer in self.layers[:12])
        more = "" if len(self.layers) <= 12 else f" ... ({len(self.layers)} in all; conv_layers lists them)"
        raise ValueError(f"{self.name} has no selectable layer {echo(name)}; its layers are {shown}{more}.")

    @property
    def default_layer(self) -> str:
        """The first convolution: where the kernels are still readable as pictures."""
        return next(layer.name for layer in self.layers if layer.conv)


# ---------------------------------------------------------------- layers


def node_module(module: nn.Module, node: str) -> tuple[nn.Module | None, str, int]:
    """(the module a graph node calls, its name, which call of it this is, from 0): FX names a module's second
    call "relu_1", which is still module "relu"."""
    try:
        return module.get_submodule(node), node, 0
    except AttributeError:
        pass
    name, _, suffix = node.rpartition("_")
    if not name:  # get_submodule("") would be the whole network
        return None, node, 0
    try:
        return module.get_submodule(name), name, int(suffix)
    except (AttributeError, ValueError):
        return None, node, 0


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
    mod, _, call = node_module(module, node)
    reused = call > 0
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


def _build_layers(vm: ConvNet) -> None:
    """Trace once, keep the meaningful nodes, and record their output shapes for the model's input size."""
    nodes = get_graph_node_names(vm.module)[1]
    candidates = [n for n in nodes if _kind(node_module(vm.module, n)[0], n)]
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


def conv_module(vm: ConvNet, layer: Layer) -> nn.Conv2d | None:
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


def _finish(vm: ConvNet) -> ConvNet:
    _build_layers(vm)
    return vm


def bundled() -> ConvNet:
    net = _private(copy.deepcopy(models.load(BUNDLED)))
    return _finish(ConvNet(BUNDLED, net, CLASSES, (1, 28, 28),
                           f"bundled Fashion-MNIST CNN ({models.MODELS[BUNDLED].description})", None))


def torchvision_model(name: str, pretrained: bool = True) -> ConvNet:
    """A torchvision ImageNet CNN; pretrained=False gives random weights (for tests and timing, never the UI)."""
    if name not in TORCHVISION:
        raise ValueError(f"Unknown torchvision model {name!r}; choose one of {', '.join(TORCHVISION)}.")
    weights = torchvision.models.get_model_weights(name).DEFAULT
    net = torchvision.models.get_model(name, weights=None)
    if pretrained:
        try:
            net.load_state_dict(imagenet_state_dict(name))
        except RuntimeError as e:
            raise ModelUnavailable(f"The cached weights for {name} do not fit its architecture: "
                                   f"{str(e)[:120]}") from e
    what = "ImageNet weights" if pretrained else "random weights"
    return _finish(ConvNet(name, _private(net), tuple(weights.meta["categories"]), (3, 224, 224),
                           f"torchvision {name}, {what} ({weights.meta['num_params'] / 1e6:.1f} M parameters)",
                           weights.transforms()))


REGISTRY: Registry[ConvNet] = Registry(lambda name: bundled() if name == BUNDLED else torchvision_model(name),
                                       BUNDLED, NAMES, label=f"Fashion-MNIST {BUNDLED}")


def availability(name: str) -> str:
    """How model `name` would open right now, in a few words: offline, or after a failed download, a model
    that is not cached says it is not available here."""
    if name == BUNDLED:
        return "bundled, Fashion-MNIST"
    where = imagenet_availability(name)
    if where.endswith("download") and (forbidden_by() or name in REGISTRY.failed):
        return "not available here: ImageNet weights not cached, no download"
    return where


def load(name) -> ConvNet:
    """Model `name` with its real weights, loaded once per process; ModelUnavailable when they cannot be had."""
    return REGISTRY.load(name)


def resolve(name) -> tuple[ConvNet, str | None]:
    """Model `name`, or the bundled cnn with one line saying why `name` could not be loaded. The line may quote
    urllib ("<urlopen error ...>"): its angle brackets go, because a toast renders HTML and would swallow them."""
    vm, note = REGISTRY.resolve(name)
    return vm, note and re.sub(r"<([^<>]*)>", r"\1", note)


def clear_cache() -> None:
    """Forget loaded models and failed downloads (tests point TORCH_HOME somewhere new)."""
    REGISTRY.clear()
