"""Noise schedules and the forward process q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I).

The betas come from diffusers' own DDPMScheduler (the library every sampler here uses), so a schedule shown is the
schedule sampled with. The bundled model's schedule is read from assets/ddpm/scheduler_config.json (through
core.models.ddpm_scheduler_config, the one reader of that file), and `add_noise` is the one forward process of the
tab, the 2-D toy and training (core.train.ddpm).

Index convention: arrays hold t = 1 … T at positions 0 … T−1, as in Ho et al. (2020); the diffusers timestep
t_d = t − 1. t = 0 is the clean image (ᾱ_0 = 1)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.diffusion import diffusers_class
from core.models import ddpm_scheduler_config
from core.validate import as_choice, as_float, as_int

KINDS = {"linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2"}
MAX_T = 10_000
_BUNDLED = ddpm_scheduler_config()
BUNDLED_T = int(_BUNDLED["num_train_timesteps"])
BUNDLED_BETA_START, BUNDLED_BETA_END = float(_BUNDLED["beta_start"]), float(_BUNDLED["beta_end"])
SCALED_LINEAR = (0.00085, 0.012)   # Stable Diffusion's range for the scaled-linear schedule
# A signal coefficient √ᾱ below this moves a pixel of [-1, 1] by under 1.3 of 255 grey levels: pure noise to the eye.
VISIBLE_SIGNAL = 0.01


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

    @property
    def keeps_image(self) -> bool:
        """Whether x_T still holds a visible share of the image: √ᾱ_T of at least VISIBLE_SIGNAL."""
        return self.coefficients(self.T)[0] >= VISIBLE_SIGNAL

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
    if kind != "cosine" and not 0.0 < beta_start < beta_end < 1.0:
        raise ValueError(f"The betas must satisfy 0 < beta_start < beta_end < 1; got beta_start {beta_start:g} "
                         f"and beta_end {beta_end:g}.")
    scheduler = diffusers_class("DDPMScheduler")(num_train_timesteps=T, beta_start=beta_start, beta_end=beta_end,
                              beta_schedule=KINDS[kind])
    betas = scheduler.betas.double().numpy()
    alpha_bar = np.cumprod(1.0 - betas)  # in float64, so ᾱ near 0 keeps its digits (diffusers' is float32)
    return Schedule(kind, betas, alpha_bar)


def make_shown(kind: str, T: int = BUNDLED_T) -> Schedule:
    """The schedule `kind` as the tab shows it: scaled_linear over Stable Diffusion's β range, linear over the
    bundled model's (cosine ignores the range)."""
    return make(kind, T, *(SCALED_LINEAR if kind == "scaled_linear" else (BUNDLED_BETA_START, BUNDLED_BETA_END)))


def check_t(t, schedule: Schedule) -> int:
    return as_int(t, "t", 0, schedule.T)


def noise_like(x0: torch.Tensor, seed: int) -> torch.Tensor:
    """The one fixed ε for a seed: the same seed gives the same noise whatever t is."""
    generator = torch.Generator().manual_seed(as_int(seed, "seed", 0, 2**63 - 1))
    return torch.randn(x0.shape, generator=generator, dtype=torch.float64)


def add_noise(x0: torch.Tensor, alpha_bar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, a draw of q(x_t | x_0) in closed form; `alpha_bar` broadcasts against x_0 (one
    ᾱ_t per sample, e.g. [B, 1, 1, 1] for a batch of images, or a 0-d tensor for one t)."""
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


def forward(x0: torch.Tensor, t: int, schedule: Schedule, noise: torch.Tensor) -> torch.Tensor:
    """x_t of x_0 in [-1, 1] at step t of `schedule` (t = 0 is x_0 itself), in float64."""
    t = check_t(t, schedule)
    alpha_bar = torch.tensor(1.0 if t == 0 else float(schedule.alpha_bar[t - 1]), dtype=torch.float64)
    return add_noise(x0.double(), alpha_bar, noise)


def image_x0(img: Image.Image, max_side: int) -> torch.Tensor:
    """An image as x_0 in [-1, 1], [C, H, W] float64, at most `max_side` a side (grey stays one channel)."""
    img = img.copy()
    img.thumbnail((max_side, max_side))
    a = np.asarray(img.convert("RGB"), dtype=np.float64)
    if np.allclose(a[..., 0], a[..., 1]) and np.allclose(a[..., 1], a[..., 2]):
        a = a[..., :1]
    return torch.from_numpy(a.transpose(2, 0, 1) / 127.5 - 1)


def forward_parts(img: Image.Image, seed: int, kind: str, T: int, max_side: int):
    """What the forward view's x_t is made of at every t: x_0 ([C, H, W] numpy in [-1, 1], at most `max_side` a
    side), the one ε of `seed` (the same shape), and the schedule `kind` with T steps as the tab shows it
    (make_shown). x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε (add_noise), so the browser draws any t from these three."""
    s = make_shown(kind, T)
    x0 = image_x0(img, max_side)
    return x0.numpy(), noise_like(x0, seed).numpy(), s


def noised_image(img: Image.Image, t: int, seed: int, kind: str, T: int, max_side: int):
    """The forward view of an image: x_t ([C, H, W] numpy), (√ᾱ_t, √(1 − ᾱ_t)) and t checked, for the schedule
    `kind` with T steps as the tab shows it (make_shown) and the one ε of `seed`."""
    x0, noise, s = forward_parts(img, seed, kind, T, max_side)
    t = check_t(t, s)
    x_t = forward(torch.from_numpy(x0), t, s, torch.from_numpy(noise))
    return x_t.numpy(), s.coefficients(t), t
