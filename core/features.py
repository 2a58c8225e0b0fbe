"""What a trained CNN computes on one image: every layer's feature maps (torchvision's create_feature_extractor,
no hand-written hooks), channels ranked by mean activation, the kernels behind them, and the class probabilities
with a softmax temperature."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.vision_models import Layer, VisionModel, conv_module

MAX_TEMPERATURE = 100.0


@dataclass(frozen=True)
class Activations:
    """One forward pass: the input as the model saw it, each layer's maps [C, H, W] and the logits [classes]."""
    input: torch.Tensor     # [1, C, H, W], preprocessed
    seen: Image.Image       # the picture the model sees (before any mean/std normalisation)
    preprocessing: str      # the steps, in words
    maps: dict[str, np.ndarray]
    logits: np.ndarray


def run(vm: VisionModel, img: Image.Image) -> Activations:
    x, seen, steps = vm.preprocess(img)
    with vm.lock, torch.no_grad():
        out = vm.extractor(x)
    names = {layer.name for layer in vm.layers}
    maps = {k: v[0].float().cpu().numpy() for k, v in out.items() if k in names}
    return Activations(x, seen, steps, maps, out["logits"][0].double().cpu().numpy())


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
        raise ValueError(f"Channels must be whole numbers separated by commas, e.g. 3, 17, 40; not {text!r}.") \
            from None


def kernels(vm: VisionModel, layer: Layer) -> np.ndarray | None:
    """The weights [out_channels, in_channels / groups, kh, kw] of the convolution behind `layer`."""
    conv = conv_module(vm, layer)
    return None if conv is None else conv.weight.detach().float().cpu().numpy()


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T): T > 1 flattens the distribution, T < 1 sharpens it; the ranking never changes."""
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a finite number greater than 0, not {temperature}.")
    z = np.asarray(logits, dtype=np.float64) / temperature
    e = np.exp(z - z.max())
    return e / e.sum()


def entropy(p: np.ndarray) -> float:
    """In nats: 0 for a certain prediction, ln(classes) for a uniform one."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def peak(acts: Activations) -> float:
    """The largest |activation| anywhere in the network for this input: the "global" colour scale."""
    return max(float(np.abs(m).max(initial=0.0)) for m in acts.maps.values())


def representatives(vm: VisionModel, acts: Activations) -> list[tuple[str, np.ndarray]]:
    """One map per layer (its most active channel), labelled "name / CxHxW / parameters / channel"."""
    reps = []
    for layer in vm.layers:
        maps = acts.maps[layer.name]
        _, order = channel_ranking(maps)
        c, h, w = layer.shape
        reps.append((f"{layer.name}\n{c}x{h}x{w}\n{layer.params:,} params\nshown: #{order[0]}", maps[order[0]]))
    return reps
