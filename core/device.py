"""Which torch device the models run on, how to describe it in one line, and seeding."""
from __future__ import annotations

import functools
import os
import random

import numpy as np
import torch

from core import settings

CHOICES = ("auto", "cpu", "cuda", "mps")

_device: torch.device | None = None


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def pick_device(preference: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for "auto"; an explicit choice that is not available is an error."""
    preference = (preference or "auto").lower()
    if preference not in CHOICES:
        raise ValueError(f"Unknown device {preference!r}; choose one of {', '.join(CHOICES)}.")
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU on this machine.")
    if preference == "mps" and not _mps_available():
        raise ValueError("--device mps was asked for, but this torch build has no Apple MPS backend.")
    return torch.device(preference)


def set_device(preference: str = "auto") -> torch.device:
    """Fix the process-wide device once, at start-up (app.py's --device)."""
    global _device
    _device = pick_device(preference)
    return _device


def device() -> torch.device:
    """The device chosen at start-up; defaults to GLASSBOX_DEVICE or auto when nothing chose yet."""
    global _device
    if _device is None:
        _device = pick_device(settings.DEVICE.get())
    return _device


def training_slots() -> int:
    """How many GAN runs may train at once (core.live.SLOTS): GLASSBOX_MAX_TRAINING, else from the machine. A 2-D
    run trains on one core (in a worker process, on one torch thread), so half the cores this process may use, which
    leaves the other half to the server and the pages; at least 2, which a 2-core machine served 20 simulated
    students with (p95 under 2.5 s). With a GPU the image runs' work is on it, so twice that."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    slots = max(2, cores // 2)
    return settings.MAX_TRAINING.get(slots if device().type == "cpu" else 2 * slots)


def describe(dev: torch.device | None = None) -> str:
    """One line for the header, e.g. "running on CPU (2 threads)" or "running on CUDA: NVIDIA T4"."""
    dev = dev or device()
    if dev.type == "cuda":
        return f"running on CUDA: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "running on Apple MPS"
    return f"running on CPU ({torch.get_num_threads()} threads)"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch, and return a torch Generator seeded the same way for local use."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def gpu(fn=None, *, duration: int = 60):
    """Hugging Face ZeroGPU's `spaces.GPU` where the `spaces` package exists; otherwise the function unchanged.

    On a ZeroGPU Space a GPU is attached only inside functions wrapped this way, so every handler that runs
    a model is decorated; everywhere else the decorator must cost nothing.
    """
    def wrap(f):
        try:
            import spaces  # only installed on Hugging Face Spaces
        except ImportError:
            return f
        return functools.wraps(f)(spaces.GPU(duration=duration)(f))

    return wrap(fn) if fn is not None else wrap
