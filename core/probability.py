"""Turning scores into probabilities, shared by every explorer that shows a softmax: class probabilities with a
temperature (the CNNs), attention weights with a temperature and a causal mask (the transformers), and entropy."""
from __future__ import annotations

import numpy as np

MAX_TEMPERATURE = 100.0  # the temperature sliders' and the API's upper bound: beyond it every softmax is uniform


def softmax(scores, temperature: float = 1.0, allowed=None) -> np.ndarray:
    """softmax(scores / T) along the last axis. T > 1 flattens the distribution and T < 1 sharpens it; the ranking
    never changes. Entries where `allowed` is False (a causal mask) get weight 0, exactly as adding -inf before
    the softmax does. Max-subtraction keeps large scores from overflowing."""
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be greater than 0 and finite, not {temperature}.")
    s = np.asarray(scores, dtype=np.float64) / temperature
    if allowed is not None:
        s = np.where(np.asarray(allowed, dtype=bool), s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def entropy(p: np.ndarray) -> float:
    """Of one distribution, in nats: 0 for a certain prediction, ln(classes) for a uniform one."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())
