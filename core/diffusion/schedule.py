"""Noise schedules and the forward process q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I).

The betas come from diffusers' own DDPMScheduler (the library every sampler here uses), so a schedule shown is the
schedule sampled with. Index convention: arrays hold t = 1 … T at positions 0 … T−1, as in Ho et al. (2020); the
diffusers timestep t_d = t − 1. t = 0 is the clean image (ᾱ_0 = 1)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.diffusion import diffusers_class
from core.validate import as_choice, as_float, as_int

KINDS = {"linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2"}
MAX_T = 10_000
BUNDLED_T, BUNDLED_BETA_START, BUNDLED_BETA_END = 1000, 1e-4, 0.02


@dataclass(frozen=True)
class Schedule:
    kind: str
    betas: np.ndarray       # [T] float64, β_t for t = 1 … T
    alpha_bar: np.ndarray   # [T] ᾱ_t = Π_{s ≤ t} (1 − β_s)

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t)."""
        return self.alpha_bar / (1.0 - self.alpha_bar)

    @property
    def snr_cross_t(self) -> int | None:
        """The first t with SNR < 1 (noise outweighs signal), or None if SNR never falls below 1."""
        below = np.flatnonzero(self.snr < 1.0)
        return int(below[0]) + 1 if len(below) else None

    def coefficients(self, t: int) -> tuple[float, float]:
        """(√ᾱ_t, √(1 − ᾱ_t)); t = 0 is the clean image."""
        a = 1.0 if t == 0 else float(self.alpha_bar[t - 1])
        return float(np.sqrt(a)), float(np.sqrt(1.0 - a))


def make(kind: str = "linear", T: int = BUNDLED_T, beta_start: float = BUNDLED_BETA_START,
         beta_end: float = BUNDLED_BETA_END) -> Schedule:
    """The schedule `kind` with T steps. linear and scaled_linear run from beta_start to beta_end; cosine (Nichol &
    Dhariwal 2021, diffusers' squaredcos_cap_v2) is set by T alone and ignores the beta range."""
    kind = as_choice(kind, "kind", list(KINDS))
    T = as_int(T, "T", 2, MAX_T)
    beta_start = as_float(beta_start, "beta_start", 0.0, 1.0)
    beta_end = as_float(beta_end, "beta_end", 0.0, 1.0)
    if kind != "cosine":
        if not 0.0 < beta_start < beta_end < 1.0:
            raise ValueError(f"The betas must satisfy 0 < beta_start < beta_end < 1; got beta_start {beta_start:g} "
                             f"and beta_end {beta_end:g}.")
    scheduler = diffusers_class("DDPMScheduler")(num_train_timesteps=T, beta_start=beta_start, beta_end=beta_end,
                              beta_schedule=KINDS[kind])
    betas = scheduler.betas.double().numpy()
    alpha_bar = np.cumprod(1.0 - betas)  # in float64, so ᾱ near 0 keeps its digits (diffusers' is float32)
    return Schedule(kind, betas, alpha_bar)


def check_t(t, schedule: Schedule) -> int:
    return as_int(t, "t", 0, schedule.T)


def noise_like(x0: torch.Tensor, seed: int) -> torch.Tensor:
    """The one fixed ε for a seed: the same seed gives the same noise whatever t is."""
    generator = torch.Generator().manual_seed(as_int(seed, "seed", 0, 2**63 - 1))
    return torch.randn(x0.shape, generator=generator, dtype=torch.float64)


def forward(x0: torch.Tensor, t: int, schedule: Schedule, noise: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε in closed form, x_0 in [-1, 1]."""
    signal, noise_coef = schedule.coefficients(check_t(t, schedule))
    return signal * x0.double() + noise_coef * noise
