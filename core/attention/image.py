"""Attention in vision transformers: the bundled Fashion-MNIST `vit`, and torchvision's ImageNet `vit_b_16` where
its weights are cached or can be downloaded. Both put a CLS token before the patch tokens, in row-major order.

The bundled ViT returns its weights itself (`forward(x, return_attention=True)`), so it is shared read-only with
the other explorers and never hooked. torchvision's encoder never computes them (see `mha_weights`), so vit_b_16
is a private instance whose hooks are registered only for one forward pass, under its lock.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn

from core import models
from core.attention import maths as att
from core.data import CLASSES
from core.device import device
from core.registry import Registry
from core.vision import VisionModel, imagenet_availability, imagenet_state_dict

BUNDLED = "vit"
TORCHVISION_VIT = "vit_b_16"
NAMES = (BUNDLED, TORCHVISION_VIT)


@dataclass(frozen=True, eq=False)
class ImageRun:
    """One image through one vision transformer."""
    vm: VisionModel
    seen: Image.Image          # the picture the model sees
    preprocessing: str         # the steps, in words
    attentions: np.ndarray     # [layers, heads, n, n] float64, n = h·w patches + CLS
    grid: tuple[int, int]      # (h, w) patches
    probabilities: np.ndarray  # [classes]

    @property
    def num_layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def num_heads(self) -> int:
        return self.attentions.shape[1]

    @property
    def num_tokens(self) -> int:
        return self.attentions.shape[-1]


@contextlib.contextmanager
def mha_weights(modules: Sequence[nn.MultiheadAttention]) -> Iterator[list[torch.Tensor]]:
    """Collect the per-head attention weights [batch, heads, n, n] of each nn.MultiheadAttention, in call order.

    torchvision's EncoderBlock calls `self_attention(x, x, x, need_weights=False)`, so the weights are never
    computed and its output carries None in their place. A forward pre-hook (with_kwargs) rewrites that call to
    `need_weights=True, average_attn_weights=False`: the module then computes softmax(QKᵀ/√d_k) per head on its
    explicit path and returns it beside the same attention output, and a forward hook keeps it. The block still
    discards the weights, so nothing downstream changes. Hooks are removed on exit, even after an error; callers
    hold the model's lock, because a hook sees every forward pass of its module while it is registered.
    """
    weights: list[torch.Tensor] = []

    def ask_for_weights(_module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep(_module, _args, output):
        weights.append(output[1].detach())

    handles = []
    try:
        for m in modules:
            handles.append(m.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
            handles.append(m.register_forward_hook(keep))
        yield weights
    finally:
        for handle in handles:
            handle.remove()


def torchvision_attentions(net: torchvision.models.VisionTransformer, x: torch.Tensor):
    """(logits, weights [layers, batch, heads, n, n]) of a torchvision VisionTransformer."""
    with mha_weights([block.self_attention for block in net.encoder.layers]) as weights:
        logits = net(x)
    return logits, torch.stack(weights)


def patch_grid(module: nn.Module) -> tuple[int, int]:
    if isinstance(module, torchvision.models.VisionTransformer):
        side = module.image_size // module.patch_size
    else:
        side = module.grid
    return side, side


# ---------------------------------------------------------------- loading


def bundled() -> VisionModel:
    net = models.load(BUNDLED)
    return VisionModel(BUNDLED, net, CLASSES, net.input_size,
                       f"bundled Fashion-MNIST ViT: {net.grid ** 2} patches of {net.patch}×{net.patch} pixels "
                       f"({net.grid}×{net.grid}), {net.num_layers} layers × {net.num_heads} heads",
                       None)


def torchvision_vit(pretrained: bool = True) -> VisionModel:
    """torchvision's vit_b_16; pretrained=False gives random weights (for tests and timing, never the UI)."""
    weights = torchvision.models.get_model_weights(TORCHVISION_VIT).DEFAULT
    net = torchvision.models.get_model(TORCHVISION_VIT, weights=None)
    if pretrained:
        net.load_state_dict(imagenet_state_dict(TORCHVISION_VIT))
    what = "ImageNet weights" if pretrained else "random weights"
    h, w = patch_grid(net)
    return VisionModel(TORCHVISION_VIT, net.eval().requires_grad_(False).to(device()),
                       tuple(weights.meta["categories"]), (3, net.image_size, net.image_size),
                       f"torchvision vit_b_16, {what}: {h * w} patches of {net.patch_size}×{net.patch_size} pixels "
                       f"({h}×{w}), {len(net.encoder.layers)} layers × "
                       f"{net.encoder.layers[0].self_attention.num_heads} heads",
                       weights.transforms())


REGISTRY: Registry[VisionModel] = Registry(lambda name: bundled() if name == BUNDLED else torchvision_vit(), BUNDLED,
                                           NAMES, label=f"Fashion-MNIST {BUNDLED}")
load, resolve = REGISTRY.load, REGISTRY.resolve


def availability(name: str) -> str:
    return "bundled, Fashion-MNIST" if name == BUNDLED else imagenet_availability(name)


def clear_cache() -> None:
    REGISTRY.clear()


# ---------------------------------------------------------------- running


def run(vm: VisionModel, img: Image.Image) -> ImageRun:
    x, seen, steps = vm.preprocess(img)
    with vm.lock, torch.no_grad():
        if isinstance(vm.module, torchvision.models.VisionTransformer):
            logits, stack = torchvision_attentions(vm.module, x)
        else:
            logits, stack = vm.module(x, return_attention=True)
    probabilities = torch.softmax(logits[0].double(), -1).cpu().numpy()
    return ImageRun(vm, seen, steps, stack[:, 0].double().cpu().numpy(), patch_grid(vm.module), probabilities)


def cls_map(r: ImageRun, layer: int, head: int) -> np.ndarray:
    """[h, w]: how much the CLS token takes from each patch in one layer (one head, or the head average)."""
    return att.cls_to_patches(att.pick(r.attentions, layer, head), r.grid)


def patch_map(r: ImageRun, layer: int, head: int, patch: int) -> np.ndarray:
    """[h, w]: where patch `patch` (row-major) looks among the patches."""
    return att.patch_to_patches(att.pick(r.attentions, layer, head), patch, r.grid)


def rollout_map(r: ImageRun) -> np.ndarray:
    """[h, w]: the CLS row of attention rollout through every layer (heads averaged), over the patches."""
    return att.cls_to_patches(att.attention_rollout(r.attentions), r.grid)


def cost_note(r: ImageRun) -> str:
    """The token count and what attention's N² costs for this model, in numbers."""
    (h, w), n = r.grid, r.num_tokens
    return (f"{h}×{w} = {h * w} patches + 1 CLS = **{n} tokens**. Every head compares every query with every key: "
            f"{n}² = {n * n:,} scores per head, {r.num_layers}·{r.num_heads}·{n}² = "
            f"{r.num_layers * r.num_heads * n * n:,} per image. That is O(N²) in the token count: patches half as "
            "wide give 4× the tokens and about 16× the scores.")


def patch_at(size: tuple[int, int], grid: tuple[int, int], x: float, y: float) -> int | None:
    """The row-major patch under pixel (x, y) of a picture of `size` (width, height) divided into `grid`."""
    (width, height), (h, w) = size, grid
    if not (0 <= x < width and 0 <= y < height):
        return None
    return int(y * h // height) * w + int(x * w // width)
