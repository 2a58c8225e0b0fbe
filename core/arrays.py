"""Plain float64 numpy arrays from whatever a caller holds (a tensor on any device, a list, an array), for the
maths and figure code that works on numpy."""
from __future__ import annotations

import numpy as np
import torch


def to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)
