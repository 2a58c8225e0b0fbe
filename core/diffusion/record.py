"""One sampling run as a person watches it: every step's x_t, ε̂ and x̂₀ of the sample (kept on the CPU in
float16, at most MAX_FRAMES of them), its wall time, and afterwards the CNN's reading of x̂₀ over the steps.

A Recording is filled while the run goes, so a run that is stopped half way still has the steps it made. A
SamplingRun fills one step at a time, as a live run (core.live): the tab's Runner steps it in a thread of its own
while the page streams its pictures; `recorded` steps it to the end in the caller's thread."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from core.diffusion import sampling
from core.diffusion.denoisers import Denoiser
from core.metrics import predict

MAX_FRAMES = 1000   # DDPM-1000: 3 x 1000 float16 28x28 frames are 4.7 MB; a 3x32x32 hub model's 18 MB


@dataclass(eq=False)
class Recording:
    denoiser: Denoiser
    settings: sampling.Settings
    timesteps: list[int] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)       # each recorded step's number, 1 … total
    x_t: list[np.ndarray] = field(default_factory=list)
    epsilon: list[np.ndarray] = field(default_factory=list)
    x0: list[np.ndarray] = field(default_factory=list)
    x0_from_scheduler: bool = True
    final: np.ndarray | None = None       # the finished image, once every step is done
    seconds: float = 0.0                  # wall time of the steps so far (sampling only)
    every: int = 1                        # keep one step in `every`
    total: int = 0                        # the scheduler's network calls (Heun: two a step, but the last)

    def __post_init__(self):
        self.every = max(1, -(-2 * self.settings.steps // MAX_FRAMES))   # Heun records up to 2·steps

    def add(self, step: sampling.Step) -> None:
        self.total = step.total
        if step.index % self.every == 0 or step.index == step.total - 1:
            self.timesteps.append(step.t)
            self.steps.append(step.index + 1)
            self.x_t.append(_frame(step.x_t))
            self.epsilon.append(_frame(step.epsilon))
            self.x0.append(_frame(step.x0))
            self.x0_from_scheduler = step.x0_from_scheduler

    @property
    def done(self) -> bool:
        return self.final is not None

    def __len__(self) -> int:
        return len(self.timesteps)

    def rms(self) -> np.ndarray:
        """The root mean square of each recorded x_t: 1 for pure N(0, I) noise, about 0.6 for a garment here."""
        return np.array([float(np.sqrt(np.mean(np.square(x.astype(np.float64))))) for x in self.x_t])

    def probabilities(self) -> np.ndarray | None:
        """The bundled CNN's class probabilities of every recorded x̂₀ ([steps, 10]); None for a model whose
        images are not Fashion-MNIST's (the CNN would read them as nonsense)."""
        return classify(self.denoiser, np.stack(self.x0)) if self.x0 else None


def _frame(x: torch.Tensor) -> np.ndarray:
    return x[0].detach().to("cpu", torch.float16).numpy()


def classify(denoiser: Denoiser, images: np.ndarray) -> np.ndarray | None:
    """The bundled CNN's softmax of images in [-1, 1] ([N, 1, 28, 28]), or None if they are not 1x28x28."""
    if tuple(images.shape[1:]) != (1, 28, 28) or denoiser.classes == ():
        return None
    from core.models import load

    x = (torch.from_numpy(np.clip(images.astype(np.float32), -1, 1)) + 1) / 2
    with torch.no_grad():
        return torch.softmax(predict(load("cnn"), x), dim=1).double().numpy()


class SamplingRun:
    """One sampling run as a live run (core.live): step() is one step of the reverse process into `recording`;
    `ended` says so once the last step is done and the final image kept."""

    def __init__(self, denoiser: Denoiser, settings: sampling.Settings):
        self.recording = Recording(denoiser, settings)
        self._steps = sampling.steps(denoiser, settings)
        self.step_count = 0

    @property
    def ended(self) -> str | None:
        return "Done." if self.recording.done else None

    def step(self) -> None:
        start = time.perf_counter()
        step = next(self._steps)
        recording = self.recording
        recording.add(step)
        self.step_count += 1
        if step.index == step.total - 1:
            recording.final = step.x_next[0].clamp(-1, 1).to("cpu", torch.float32).numpy()
            self._steps.close()
        recording.seconds += time.perf_counter() - start


def recorded(denoiser: Denoiser, settings: sampling.Settings) -> Recording:
    """Sample one image, every step recorded (headless: the API and the tab's comparison)."""
    run = SamplingRun(denoiser, settings)
    while not run.ended:
        run.step()
    return run.recording
