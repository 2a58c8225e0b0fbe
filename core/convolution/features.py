"""What a trained CNN computes on one image: every layer's feature maps and its logits (torchvision's
create_feature_extractor, no hand-written hooks), channels ranked by mean activation, and the kernels behind them.
The class probabilities are core.probability's softmax of the logits."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.convolution.vision_models import ConvNet, Layer, conv_module
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


    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in self.maps.values())


_runs: OrderedDict[tuple, Activations] = OrderedDict()
_runs_lock = threading.Lock()


def _freeze(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # runs are cached and shared between requests
    return a


def run(vm: ConvNet, img: Image.Image) -> Activations:
    """One forward pass of `vm` on `img`, recording every layer; the same (model, pixels) is answered from the
    cache."""
    key = (vm, img.mode, img.size, hashlib.blake2b(img.tobytes(), digest_size=16).digest())
    with _runs_lock:
        if key in _runs:
            _runs.move_to_end(key)
            return _runs[key]
    x, seen, steps = vm.preprocess(img)
    with vm.lock, torch.no_grad():
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
