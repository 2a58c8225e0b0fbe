"""What a trained CNN computes on one image: every layer's feature maps and its logits (torchvision's
create_feature_extractor, no hand-written hooks), channels ranked by mean activation, and the kernels behind them.
The class probabilities are core.probability's softmax of the logits."""
from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import probability
from core.convolution.vision_models import ConvNet, Layer, conv_module, node_module
from core.threads import one_thread
from core.validate import echo

# Recorded runs are kept, newest first, up to this many bytes of maps (at least the newest run): every view of a
# new image reads one forward pass, and later changes of layer or channel read it again instead of re-running.
CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Activations:
    """One forward pass: the input as the model saw it, each layer's maps [C, H, W] and the logits [classes]."""
    input: torch.Tensor     # [1, C, H, W], preprocessed
    seen: Image.Image       # the picture the model sees (before any mean/std normalisation)
    preprocessing: str      # the steps, in words
    maps: dict[str, np.ndarray]
    logits: np.ndarray
    # The inputs of layers' modules, recorded on the first click that needs them (module_input): the extractor
    # returns outputs only, and most clicks never need an input.
    inputs: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in self.maps.values())


_runs: OrderedDict[tuple, Activations] = OrderedDict()
_runs_lock = threading.Lock()


def _freeze(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # runs are cached and shared between requests
    return a


SMALL_INPUT = 4096  # values: the bundled cnn's 1×28×28 input is 784, an ImageNet model's 3×224×224 is 150,528


def threads_for(x: torch.Tensor):
    """One torch thread for a small input: the bundled cnn's 28×28 pass is bound by the overhead per op, which a
    second thread only adds to (measured on 2 busy cores: 12-15 ms on one thread against 145-170 ms on two); an
    ImageNet model's pass keeps torch's default threads."""
    return one_thread() if x.numel() <= SMALL_INPUT else contextlib.nullcontext()


def run(vm: ConvNet, img: Image.Image) -> Activations:
    """One forward pass of `vm` on `img`, recording every layer; the same (model, pixels) is answered from the
    cache."""
    key = (vm, img.mode, img.size, hashlib.blake2b(img.tobytes(), digest_size=16).digest())
    with _runs_lock:
        if key in _runs:
            _runs.move_to_end(key)
            return _runs[key]
    x, seen, steps = vm.preprocess(img)
    with vm.lock, torch.no_grad(), threads_for(x):
        out = vm.extractor(x)
    names = {layer.name for layer in vm.layers}
    maps = {k: _freeze(v[0].float().cpu().numpy()) for k, v in out.items() if k in names}
    acts = Activations(x, seen, steps, maps, _freeze(out["logits"][0].double().cpu().numpy()))
    with _runs_lock:
        _runs[key] = acts
        while len(_runs) > 1 and sum(a.nbytes for a in _runs.values()) > CACHE_BYTES:
            _runs.popitem(last=False)
    return acts


def channel_ranking(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean activation of each channel over space, channel indices from the largest mean to the smallest)."""
    means = maps.reshape(maps.shape[0], -1).mean(axis=1)
    return means, np.argsort(-means, kind="stable")


def pick_channels(order: np.ndarray, top_k: int | None = None, channels: list[int] | None = None) -> list[int]:
    """The channels to show: the given ones (checked), else the top_k of `order` (all when top_k is None)."""
    if channels:
        bad = [c for c in channels if not 0 <= c < len(order)]
        if bad:
            raise ValueError(f"Channel {bad[0]} does not exist: this layer has channels 0 to {len(order) - 1}.")
        return list(dict.fromkeys(channels))
    return [int(c) for c in order[:top_k]]


def parse_channels(text) -> list[int]:
    """ "3, 17 40" -> [3, 17, 40]; what a person types into the "pick channels" box."""
    parts = str(text or "").replace(",", " ").split()
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"Channels must be whole numbers separated by commas, e.g. 3, 17, 40; not {echo(text)}.") \
            from None


def kernels(vm: ConvNet, layer: Layer) -> np.ndarray | None:
    """The weights [out_channels, in_channels / groups, kh, kw] of the convolution behind `layer`."""
    conv = conv_module(vm, layer)
    return None if conv is None else conv.weight.detach().float().cpu().numpy()


def peak(acts: Activations) -> float:
    """The largest |activation| anywhere in the network for this input: the "global" colour scale."""
    return max(float(np.abs(m).max(initial=0.0)) for m in acts.maps.values())


def representatives(vm: ConvNet, acts: Activations) -> list[tuple[str, np.ndarray]]:
    """One map per layer (its most active channel), labelled "name / CxHxW / parameters / channel"."""
    reps = []
    for layer in vm.layers:
        maps = acts.maps[layer.name]
        _, order = channel_ranking(maps)
        c, h, w = layer.shape
        reps.append((f"{layer.name}\n{c}x{h}x{w}\n{layer.params:,} params\nshown: #{order[0]}", maps[order[0]]))
    return reps


HEAD_CLASSES = 10  # classes the overview's classifier and softmax show: all of Fashion-MNIST's, ImageNet's top 10


@dataclass(frozen=True)
class Head:
    """What follows the last feature map, for the overview: the classifier (the model's last nn.Linear) and the
    softmax, with this input's logits and probabilities for the classes shown (the most probable first, at most
    HEAD_CLASSES)."""
    name: str              # the Linear's module name, e.g. "fc"
    in_features: int
    params: int
    classes: int           # the model's number of classes
    labels: list[str]      # the classes shown
    logits: np.ndarray     # their logits
    probs: np.ndarray      # their softmax probabilities (over every class, not only those shown)


def head(vm: ConvNet, acts: Activations) -> Head:
    """The classifier and softmax of `vm` on the input `acts` recorded (softmax at temperature 1, as predicted)."""
    name, linear = [(n, m) for n, m in vm.module.named_modules() if isinstance(m, nn.Linear)][-1]
    logits = np.asarray(acts.logits, dtype=np.float64)
    probs = probability.softmax(logits)
    shown = np.argsort(-probs, kind="stable")[:HEAD_CLASSES]
    if len(logits) <= HEAD_CLASSES:
        shown = np.sort(shown)  # every class, in the model's order, as CNN Explainer lists them
    return Head(name, linear.in_features, sum(p.numel() for p in linear.parameters()), len(logits),
                [vm.labels[i] for i in shown], logits[shown], probs[shown])


class _Recorded(Exception):
    """Stops module_input's forward pass once the input it wants is recorded."""


def module_input(vm: ConvNet, acts: Activations, layer: Layer) -> np.ndarray:
    """The input [C, H, W] of the module that computes `layer`, from one more forward pass of the same input
    (recorded once per run): a forward pre-hook sees it; FX names a module's second call "relu_1"."""
    if layer.name not in acts.inputs:
        module, _name, call = node_module(vm.module, layer.name)
        if module is None:
            raise ValueError(f"{layer.name} is not computed by one module (a residual sum has no kernel to show).")
        seen: list[torch.Tensor] = []

        def record(_, args):
            seen.append(args[0][0].detach())
            if len(seen) > call:
                raise _Recorded  # the rest of the network is not needed

        with vm.lock, torch.no_grad(), threads_for(acts.input):
            hook = module.register_forward_pre_hook(record)
            try:
                vm.module(acts.input)
            except _Recorded:
                pass
            finally:
                hook.remove()
        acts.inputs[layer.name] = _freeze(seen[call].float().cpu().numpy())
    return acts.inputs[layer.name]


@dataclass(frozen=True)
class Cell:
    """How one value of a layer's maps comes about, recomputed from the recorded input of its module."""
    layer: str
    channel: int
    row: int
    col: int
    operation: str               # "conv", "conv block", "relu", "max pool", "average pool" or "activation"
    window: np.ndarray           # [c, kh, kw] the input values it reads (padding included), float64
    input_channels: list[int]    # which input channels `window` holds
    kernel: np.ndarray | None    # [c, kh, kw] the conv weights for this output channel, float64
    terms: np.ndarray | None     # [c] Σ kernel·window per input channel
    bias: float                  # the conv's bias (0 without one)
    conv_sum: float | None       # Σ terms + bias: the conv's output, before any batch norm or activation
    computed: float              # the cell's value as recomputed here
    recorded: float              # the cell's value in the recorded forward pass


def _window(x: np.ndarray, row: int, col: int, kernel, stride, padding, dilation, fill: float) -> np.ndarray:
    """x[:, rows, cols] of the window that output (row, col) reads, with `fill` where it hangs over the edge."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    padded = np.pad(x.astype(np.float64), ((0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    r, c = row * sh, col * sw
    return padded[:, r:r + (kh - 1) * dh + 1:dh, c:c + (kw - 1) * dw + 1:dw]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _conv_cell(conv: nn.Conv2d, x: np.ndarray, channel: int, row: int, col: int):
    """(window, its input channels, kernel, terms, bias) of conv output (channel, row, col)."""
    if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        raise ValueError("Only zero-padded convolutions with numeric padding are broken down here.")
    per_group = conv.in_channels // conv.groups
    first = channel // (conv.out_channels // conv.groups) * per_group
    window = _window(x[first:first + per_group], row, col, conv.kernel_size, conv.stride, conv.padding,
                     conv.dilation, 0.0)
    kernel = conv.weight[channel].detach().double().cpu().numpy()
    bias = 0.0 if conv.bias is None else float(conv.bias[channel])
    terms = (kernel * window).sum(axis=(1, 2))
    return window, list(range(first, first + per_group)), kernel, terms, bias


def cell(vm: ConvNet, acts: Activations, layer: Layer, channel: int, row: int, col: int) -> Cell:
    """The arithmetic behind acts.maps[layer][channel, row, col], recomputed from its module's recorded input."""
    maps = acts.maps[layer.name]
    c, h, w = maps.shape
    if not (0 <= channel < c and 0 <= row < h and 0 <= col < w):
        raise ValueError(f"{layer.name} has {c} channels of {h}×{w}; there is no cell ({channel}, {row}, {col}).")
    module, _, _ = node_module(vm.module, layer.name)
    x = module_input(vm, acts, layer)
    recorded = float(maps[channel, row, col])
    kernel = terms = conv_sum = None
    bias = 0.0
    if isinstance(module, nn.Conv2d) or layer.kind == "conv block":
        conv = module if isinstance(module, nn.Conv2d) else module[0]
        window, ins, kernel, terms, bias = _conv_cell(conv, x, channel, row, col)
        conv_sum = computed = float(terms.sum() + bias)
        operation = "conv"
        if not isinstance(module, nn.Conv2d):  # batch norm and activation act per channel: run them on z alone
            z = torch.zeros(1, conv.out_channels, 1, 1, dtype=conv.weight.dtype, device=conv.weight.device)
            z[0, channel] = conv_sum
            with vm.lock, torch.no_grad():
                for step in list(module)[1:]:
                    z = step(z)
            computed = float(z[0, channel, 0, 0])
            operation = "conv block"
    elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        is_max = isinstance(module, nn.MaxPool2d)
        if module.ceil_mode or (not is_max and not module.count_include_pad):
            raise ValueError(f"{layer.name}'s pooling options are not broken down here.")
        window = _window(x[channel:channel + 1], row, col, _pair(module.kernel_size),
                         _pair(module.stride or module.kernel_size), _pair(module.padding),
                         _pair(getattr(module, "dilation", 1)), -np.inf if is_max else 0.0)
        computed, operation = (float(window.max()), "max pool") if is_max else (float(window.mean()), "average pool")
        ins = [channel]
    elif layer.kind == "activation":
        window, ins = x[channel:channel + 1, row:row + 1, col:col + 1].astype(np.float64), [channel]
        with vm.lock, torch.no_grad():
            computed = float(module(torch.tensor(window, dtype=torch.float32))[0, 0, 0])
        operation = "relu" if isinstance(module, nn.ReLU) else "activation"
    else:
        raise ValueError(f"{layer.name} ({layer.module_type}) has no arithmetic to break down here; pick a conv, "
                         "activation or pooling layer.")
    return Cell(layer.name, channel, row, col, operation, window, ins, kernel, terms, bias, conv_sum, computed,
                recorded)


@dataclass(frozen=True)
class Window:
    """Which window of its module's input each cell of a layer reads: output (row, col) reads input rows
    row·stride − padding + i·dilation for i < kernel (and the same across), as _window cuts it."""
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    input_shape: tuple[int, int, int]   # [C, H, W] of the module's input


def window(vm: ConvNet, acts: Activations, layer: Layer) -> Window | None:
    """The window geometry of `layer`'s cells (a conv's or a pool's own; 1×1 for an activation), or None for a
    residual sum, which has no window of its own."""
    module, _, _ = node_module(vm.module, layer.name)
    if layer.kind == "block" or module is None:
        return None
    shape = tuple(int(n) for n in module_input(vm, acts, layer).shape)
    if isinstance(module, nn.Conv2d) or layer.kind == "conv block":
        conv = module if isinstance(module, nn.Conv2d) else module[0]
        if isinstance(conv.padding, str):
            return None  # "same"/"valid" padding: torch chooses it per side, so there is no one number to draw
        return Window(_pair(conv.kernel_size), _pair(conv.stride), _pair(conv.padding), _pair(conv.dilation), shape)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return Window(_pair(module.kernel_size), _pair(module.stride or module.kernel_size), _pair(module.padding),
                      _pair(getattr(module, "dilation", 1)), shape)
    return Window((1, 1), (1, 1), (0, 0), (1, 1), shape)


def peak_cell(maps: np.ndarray, channel: int) -> tuple[int, int]:
    """(row, col) of channel's largest value: the cell shown before any click."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(maps[channel])), maps.shape[1:]))
