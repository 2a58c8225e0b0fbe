"""The maths of a causal language model as the Attention tab shows it: the next-token distribution before and after
temperature, top-k and top-p (transformers' own logits warpers, so the cuts are the ones `generate()` makes), one
seeded draw from it, the logit lens, the entropy of every prediction, and each head's induction and
previous-token scores on a repeated random sequence.

Everything here works on tensors a model has already produced, so it holds for the bundled GPT and for a Hub
model alike.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from core.probability import check_temperature
from core.validate import as_float, as_int

MAX_TOP_K = 100_000   # a larger k keeps every token of any vocabulary this tab opens


def check_filters(temperature, top_k, top_p) -> tuple[float, int, float]:
    """Checked sampling settings: temperature within core.probability's bounds, top_k ≥ 0 (0: off), top_p in
    (0, 1] (1: off)."""
    return (check_temperature(temperature), as_int(top_k, "top_k", 0, MAX_TOP_K),
            as_float(top_p, "top_p", 0.0, 1.0, lo_inclusive=False))


@functools.lru_cache(maxsize=1)
def _warpers():
    # transformers is imported on first use: it takes seconds, and only this view needs it.
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )
    return TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper


def filtered_logits(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """The logits of one position ([vocab]) after temperature, then top-k, then top-p, in the order
    transformers' `generate()` applies them; a removed token's logit is -inf."""
    temperature_w, top_k_w, top_p_w = _warpers()
    scores = logits.detach().double().reshape(1, -1)
    no_ids = torch.zeros((1, 0), dtype=torch.long)
    scores = temperature_w(temperature)(no_ids, scores)
    if top_k:
        scores = top_k_w(top_k)(no_ids, scores)
    if top_p < 1.0:
        scores = top_p_w(top_p)(no_ids, scores)
    return scores[0]


def distributions(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(raw, filtered) probabilities of the next token: softmax(logits), and softmax of the filtered logits (the
    distribution a draw is made from; 0 for every token a cut removed)."""
    temperature, top_k, top_p = check_filters(temperature, top_k, top_p)
    raw = torch.softmax(logits.detach().double(), -1)
    filtered = torch.softmax(filtered_logits(logits, temperature, top_k, top_p), -1)
    return raw.numpy(), filtered.numpy()


def choose(filtered: np.ndarray, generator: torch.Generator | None) -> int:
    """One token from the filtered distribution: a seeded draw, or the most likely one (greedy) without a
    generator."""
    if generator is None:
        return int(np.argmax(filtered))
    return int(torch.multinomial(torch.from_numpy(filtered), 1, generator=generator))


def entropies(logits: torch.Tensor) -> np.ndarray:
    """The entropy (nats) of the model's prediction at every position of [positions, vocab] logits."""
    logp = torch.log_softmax(logits.detach().double(), -1)
    return -(logp.exp() * logp).nan_to_num().sum(-1).numpy()


def logit_lens(lens_logits: torch.Tensor) -> np.ndarray:
    """The next-token probabilities each layer's residual stream would give if the model stopped there:
    softmax over the vocabulary of [layers + 1, positions, vocab] logits, each stream read through the final
    LayerNorm and the unembedding as the model reads its last (core.attention.causal's forward does that)."""
    return torch.softmax(lens_logits.detach().double(), -1).numpy()


def repeated_sequence(vocab_size: int, length: int, seed: int) -> torch.Tensor:
    """A random token sequence of `length` tokens followed by itself: the test of a head that copies."""
    gen = torch.Generator().manual_seed(as_int(seed, "seed", 0, 2**31 - 1))
    first = torch.randint(0, vocab_size, (length,), generator=gen)
    return torch.cat([first, first])


def head_scores(attention: torch.Tensor, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(induction, previous-token) scores of every head, [layers, heads] each, from the attention weights
    [layers, heads, 2·length, 2·length] on a sequence repeated once.

    Induction: the mean weight from each token i of the second copy to the token after that token's earlier
    occurrence, i − length + 1 (a head that has learned "what came after me last time" puts it there). Previous
    token: the mean weight from each token to the one before it."""
    a = attention.detach().double()
    second = torch.arange(length, 2 * length)
    induction = a[..., second, second - length + 1].mean(-1)
    rows = torch.arange(1, 2 * length)
    previous = a[..., rows, rows - 1].mean(-1)
    return induction.numpy(), previous.numpy()
