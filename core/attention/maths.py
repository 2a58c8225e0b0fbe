"""The maths of attention, on plain arrays: head averages, rollout, sink hiding, entropy, the Q·Kᵀ scores, and
ViT patch maps. Plus `record_outputs`, the forward-hook recorder that fetches a model's real Q and K.

Conventions: an attention matrix A is [n, n] with A[i, j] = how much query token i takes from key token j,
so every row is a probability distribution. A stack is [layers, heads, n, n]. Everything is float64 numpy.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from core.arrays import to_numpy as as_array
from core.validate import as_int


def head_average(attention) -> np.ndarray:
    """The mean over heads (axis -3): [..., heads, n, n] -> [..., n, n]. Rows still sum to 1."""
    return as_array(attention).mean(axis=-3)


def layer_index(layer, num_layers: int) -> int:
    """A layer as a person or API caller gives it: 0..L-1, or negative to count from the last (-1), as in Python."""
    return as_int(layer, "layer", -num_layers, num_layers - 1) % num_layers


def head_index(head, num_heads: int, allow_average: bool = True) -> int:
    """A head 0..H-1, or -1 for the average of the heads where that makes sense."""
    return as_int(head, "head", -1 if allow_average else 0, num_heads - 1)


def pick(attentions, layer: int, head: int) -> np.ndarray:
    """From a [layers, heads, n, n] stack, the [n, n] matrix of one head, or of the head average when head is -1."""
    a = attentions[layer]
    return head_average(a) if head == -1 else as_array(a[head])


def attention_rollout(attentions, up_to_layer: int | None = None) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020) through layers 0..up_to_layer (default: all).

    `attentions` is [layers, heads, n, n] (heads are averaged) or [layers, n, n]. Each layer's matrix gets the
    identity added, for the residual connection that carries every token past attention, and its rows are
    renormalised, which is the paper's 0.5·A + 0.5·I because A's rows already sum to 1. The layers are then
    multiplied, latest on the left: R = Â_L ... Â_2 Â_1, so R[i, j] is how much of input token j reaches output
    position i if attention were the only way information mixed.
    """
    a = as_array(attentions)
    if a.ndim == 4:
        a = a.mean(axis=1)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"attention_rollout needs [layers, (heads,) n, n], not shape {a.shape}.")
    last = len(a) - 1 if up_to_layer is None else up_to_layer
    if not 0 <= last < len(a):
        raise ValueError(f"up_to_layer must be between 0 and {len(a) - 1}, not {up_to_layer}.")
    n = a.shape[-1]
    rollout = np.eye(n)
    for layer in a[: last + 1]:
        with_residual = layer + np.eye(n)
        rollout = (with_residual / with_residual.sum(axis=-1, keepdims=True)) @ rollout
    return rollout


def hide_tokens(attention, hidden: Sequence[bool]) -> np.ndarray:
    """Zero the columns of `hidden` tokens (e.g. [CLS], [SEP], BOS "sinks") and renormalise each row over the
    columns that remain, so the rest of the pattern is readable. A row whose whole weight went to hidden
    tokens has nothing left to renormalise and stays all zero."""
    a = as_array(attention).copy()
    hidden = np.asarray(hidden, dtype=bool)
    if hidden.shape != a.shape[-1:]:
        raise ValueError(f"hidden has {hidden.size} entries but the attention has {a.shape[-1]} columns.")
    a[..., hidden] = 0.0
    totals = a.sum(axis=-1, keepdims=True)
    return np.divide(a, totals, out=np.zeros_like(a), where=totals > 0)


def row_entropy(attention) -> np.ndarray:
    """Shannon entropy in bits of every row: 0 when a token attends to one key, log2(n) when uniform."""
    p = as_array(attention)
    logp = np.log2(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logp).sum(axis=-1)


def head_entropy(attentions) -> np.ndarray:
    """Mean row entropy (bits) of each head: [layers, heads, n, n] -> [layers, heads]. Low = focused."""
    return row_entropy(attentions).mean(axis=-1)


def rank_heads(entropy) -> list[tuple[int, int, float]]:
    """(layer, head, bits) for every head of a [layers, heads] entropy map, most focused (lowest) first."""
    e = as_array(entropy)
    order = np.argsort(e, axis=None, kind="stable")
    return [(int(i // e.shape[1]), int(i % e.shape[1]), float(e.flat[i])) for i in order]


def attention_scores(q, k, scale: bool = True) -> np.ndarray:
    """Pre-softmax scores Q Kᵀ / √d_k for one head; q and k are [n, d_k]. `scale=False` drops the √d_k."""
    q, k = as_array(q), as_array(k)
    if q.ndim != 2 or q.shape != k.shape:
        raise ValueError(f"q and k must both be [n, d_k]; got {q.shape} and {k.shape}.")
    scores = q @ k.T
    return scores / np.sqrt(q.shape[-1]) if scale else scores


def causal_mask(n: int) -> np.ndarray:
    """allowed[i, j] is True when query i may see key j: j <= i in a left-to-right (decoder) model."""
    return np.tril(np.ones((n, n), dtype=bool))


def split_heads(x, heads: int) -> np.ndarray:
    """A projection output [n, heads * d_k] (as nn.Linear returns it) -> [heads, n, d_k]."""
    x = as_array(x)
    n, width = x.shape
    if width % heads:
        raise ValueError(f"A projection of width {width} cannot be split into {heads} heads.")
    return x.reshape(n, heads, width // heads).transpose(1, 0, 2)


@contextlib.contextmanager
def record_outputs(modules: Mapping[str, nn.Module]) -> Iterator[dict[str, torch.Tensor]]:
    """Record the output of each named module during the forward passes run inside the block.

    Hooks are removed on exit, even after an error, so a shared model never keeps a stale hook.
    Callers must hold a lock around the block: a hook sees every forward pass of the module, including
    another thread's, while it is registered.
    """
    outputs: dict[str, torch.Tensor] = {}

    def hook_for(name):
        def hook(_module, _inputs, output):
            outputs[name] = (output[0] if isinstance(output, tuple) else output).detach()
        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in modules.items()]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def cls_to_patches(attention, grid: tuple[int, int]) -> np.ndarray:
    """Row 0 (the CLS token) of a ViT attention matrix over the patch tokens, as the [h, w] patch grid.

    Token 0 is CLS and tokens 1..h*w are the patches in row-major order, as both our ViT and torchvision's
    lay them out. The weight CLS keeps on itself is left out, so the map sums to 1 - A[0, 0].
    """
    return patch_to_patches(attention, -1, grid)


def patch_to_patches(attention, patch: int, grid: tuple[int, int]) -> np.ndarray:
    """Where patch `patch` (row-major index; -1 for CLS) attends among the patches, as the [h, w] grid."""
    a = as_array(attention)
    h, w = grid
    if a.shape[-1] != h * w + 1:
        raise ValueError(f"An attention over {a.shape[-1]} tokens does not fit a {h}x{w} patch grid plus CLS.")
    if not -1 <= patch < h * w:
        raise ValueError(f"patch must be between 0 and {h * w - 1}, not {patch}.")
    return a[..., patch + 1, 1:].reshape(*a.shape[:-2], h, w)
