"""Turning scores into probabilities, shared by every explorer that shows a softmax: class probabilities with a
temperature (the CNNs), attention weights with a temperature and a causal mask (the transformers), and entropy."""
from __future__ import annotations

import numpy as np

from core.validate import as_float

MAX_TEMPERATURE = 100.0  # the temperature sliders' and the API's upper bound: beyond it every softmax is uniform
# The lower bound: logits / T stay finite for any logits a float32 model gives (|z| < 3.4e38 / 1e36 ... in practice
# |z| < 1e4), and the probabilities stay normal numbers instead of denormals that print as null.
MIN_TEMPERATURE = 0.01


def check_temperature(value) -> float:
    """A temperature from a person or an API caller: a finite number from MIN_TEMPERATURE to MAX_TEMPERATURE."""
    t = as_float(value, "temperature", 0, MAX_TEMPERATURE, lo_inclusive=False)
    if t < MIN_TEMPERATURE:
        raise ValueError(f"temperature must be at least {MIN_TEMPERATURE}, not {t:.3g}: below it softmax(z / T) "
                         "is a one-hot vector whose zeros underflow, and the entropy is meaningless.")
    return t


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
