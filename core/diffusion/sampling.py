"""The reverse process: diffusers' schedulers driving a Denoiser's noise predictor, classifier-free guidance with
the two standard remedies for large w, and every step's x_t, predicted noise ε̂ and predicted clean image x̂₀.

Images are in [-1, 1]. Pure torch plus diffusers' schedulers; no UI."""
from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from core.diffusion import diffusers_class
from core.diffusion.denoisers import Denoiser
from core.models import ddpm_scheduler_config
from core.validate import as_bool, as_choice, as_float, as_int

# The multistep solvers space "leading" timesteps by T // (steps + 1), which reaches 0 at 500 steps: DPM-Solver++ at
# 500 steps started at t = 500 and at 1,000 ran every step at t = 0. "trailing" (Lin et al. 2023) starts at T - 1
# at any number of steps. The other schedulers keep the config's "leading", which the measured figures used.
TRAILING = {"timestep_spacing": "trailing"}
# name -> (diffusers class name, extra config, what a person reads in the dropdown)
SCHEDULERS = {
    "ddpm": ("DDPMScheduler", {}, "DDPM (ancestral, Ho et al. 2020)"),
    "ddim": ("DDIMScheduler", {}, "DDIM (η = 0 is deterministic)"),
    "dpm++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2, **TRAILING},
              "DPM-Solver++ (2M)"),
    "euler": ("EulerDiscreteScheduler", {}, "Euler (Karras et al. 2022)"),
    "euler-a": ("EulerAncestralDiscreteScheduler", {}, "Euler ancestral"),
    "heun": ("HeunDiscreteScheduler", {}, "Heun (2nd order: two network calls a step)"),
    "unipc": ("UniPCMultistepScheduler", TRAILING, "UniPC (multistep)"),
}
# diffusers' dynamic thresholding (Saharia et al. 2022, Imagen) clamps its percentile s into [1, sample_max_value];
# with the config's 1.0 that is plain clipping to [-1, 1], which hurts guidance here (assets/MODELS.md), so the
# switch lets s grow to this bound, as DeepFloyd IF's configs do.
THRESHOLD_RATIO, THRESHOLD_MAX = 0.995, 1.5
THRESHOLDING = {"ddpm", "ddim", "dpm++", "unipc"}   # the schedulers whose step() implements it
MAX_STEPS = 1000
MAX_GUIDANCE = 10.0
MAX_ETA = MAX_RESCALE = 1.0   # η = 1 is as stochastic as DDPM; φ = 1 is the fully rescaled ε
DEFAULT_GUIDANCE = 3.0   # the measured best w (assets/MODELS.md: DDIM-50 class agreement 99.0% at w = 3)


def training_scheduler():
    """The bundled model's DDPM scheduler, from assets/ddpm/scheduler_config.json (Ho et al. 2020's linear betas over
    T = 1000, predicting epsilon). It does not clip x̂₀: clipping every step's x̂₀ to [-1, 1] is what made guidance
    lower class agreement (assets/MODELS.md)."""
    return diffusers_class("DDPMScheduler").from_config(ddpm_scheduler_config())


def make_scheduler(kind: str, config: dict | None = None, thresholding: bool = False):
    """A diffusers scheduler of `kind` from a training schedule's config (so the betas always agree)."""
    if kind not in SCHEDULERS:
        raise ValueError(f"Unknown scheduler {kind!r}; choose one of {', '.join(SCHEDULERS)}.")
    if thresholding and kind not in THRESHOLDING:
        raise ValueError(f"Dynamic thresholding is implemented by diffusers for {', '.join(sorted(THRESHOLDING))}, "
                         f"not {kind}.")
    class_name, extra, _ = SCHEDULERS[kind]
    config = {**(config or training_scheduler().config), **extra}
    if thresholding:
        config.update(thresholding=True, dynamic_thresholding_ratio=THRESHOLD_RATIO, sample_max_value=THRESHOLD_MAX)
    return diffusers_class(class_name).from_config(config)


@dataclass(frozen=True)
class Settings:
    """One sampling run, checked: what a person chose."""
    label: int | None        # None: unconditional
    guidance: float          # w; 1 is the plain conditional model, 0 the unconditional one
    scheduler: str
    steps: int
    seed: int
    eta: float = 0.0         # DDIM's η (0 deterministic, 1 as stochastic as DDPM)
    thresholding: bool = False
    rescale: float = 0.0     # guidance rescale φ (Lin et al. 2023); 0 is off


def check(denoiser: Denoiser, label, guidance, scheduler, steps, seed, eta=0.0, thresholding=False,
          rescale=0.0) -> Settings:
    if label is not None and not denoiser.conditional:
        raise ValueError(f"{denoiser.name} is unconditional: leave the class empty (None).")
    if label is not None:
        label = as_int(label, "label", 0, denoiser.num_classes - 1)
    scheduler = as_choice(scheduler, "scheduler", list(SCHEDULERS))
    s = Settings(label, as_float(guidance, "guidance", 0.0, MAX_GUIDANCE), scheduler,
                 as_int(steps, "steps", 1, MAX_STEPS), as_int(seed, "seed", 0, 2**63 - 1),
                 as_float(eta, "eta", 0.0, MAX_ETA), as_bool(thresholding, "thresholding"),
                 as_float(rescale, "rescale", 0.0, MAX_RESCALE))
    if s.thresholding and s.scheduler not in THRESHOLDING:
        raise ValueError(f"Dynamic thresholding is implemented by diffusers for {', '.join(sorted(THRESHOLDING))}, "
                         f"not {s.scheduler}; switch it off or choose one of those.")
    return s


def rescale_guidance(eps_guided: torch.Tensor, eps_cond: torch.Tensor, phi: float) -> torch.Tensor:
    """Lin et al. 2023, eq. 15-16 (diffusers' rescale_noise_cfg): scale the guided ε to the conditional ε's standard
    deviation per sample, then mix φ of that with 1 − φ of the guided ε, to undo over-exposure at large w."""
    dims = list(range(1, eps_guided.ndim))
    rescaled = eps_guided * (eps_cond.std(dim=dims, keepdim=True) / eps_guided.std(dim=dims, keepdim=True))
    return phi * rescaled + (1 - phi) * eps_guided


def guided_epsilon(epsilon, x: torch.Tensor, t, labels: torch.Tensor | None, guidance: float, null_label: int,
                   rescale: float = 0.0) -> torch.Tensor:
    """Classifier-free guidance: ε(∅) + w·(ε(c) − ε(∅)); w = 1 is the plain conditional model (one call), w = 0
    the unconditional one, and no label means the unconditional model whatever w is."""
    if labels is None:
        return epsilon(x, t, None)
    if guidance == 1.0 or bool((labels == null_label).all()):   # nothing to mix: one call
        return epsilon(x, t, labels)
    both = epsilon(torch.cat([x, x]), t, torch.cat([labels, torch.full_like(labels, null_label)]))
    eps_cond, eps_uncond = both.chunk(2)
    guided = eps_uncond + guidance * (eps_cond - eps_uncond)
    return rescale_guidance(guided, eps_cond, rescale) if rescale > 0 else guided


@dataclass(frozen=True)
class Step:
    index: int                 # 0 … total − 1
    total: int                 # the scheduler's timesteps: `steps`, or 2·steps − 1 for Heun (two calls a step)
    t: int                     # the diffusers timestep, 0 … T − 1
    x_t: torch.Tensor          # the network's input at this step (variance-preserving scale)
    epsilon: torch.Tensor      # the guided ε̂
    x0: torch.Tensor           # the predicted clean image x̂₀
    x0_from_scheduler: bool    # x̂₀ is the scheduler's own pred_original_sample (else computed from ε̂)
    x_next: torch.Tensor       # the scheduler's prev_sample (in its own scale: Euler's is x_t·√(1 + σ²))


def _labels(denoiser: Denoiser, label: int | None, n: int, device) -> torch.Tensor | None:
    if not denoiser.conditional:
        return None
    fill = denoiser.null_label if label is None else label
    return torch.full((n,), fill, dtype=torch.long, device=device)


def initial_noise(denoiser: Denoiser, n: int, seed: int) -> torch.Tensor:
    """x_T for a seed: the same seed starts every scheduler from the same noise (on the CPU, so every device too)."""
    return torch.randn((n, *denoiser.shape), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def steps(denoiser: Denoiser, settings: Settings, n: int = 1, labels: torch.Tensor | None = None) -> Iterator[Step]:
    """Run the reverse process, yielding every step. `labels` overrides settings.label with one label per sample."""
    device = next(denoiser.network.parameters()).device
    scheduler = make_scheduler(settings.scheduler, denoiser.scheduler_config, settings.thresholding)
    scheduler.set_timesteps(settings.steps, device=device)
    generator = torch.Generator(device).manual_seed(settings.seed + 1)  # the scheduler's own noise (DDPM, η > 0)
    if labels is None:
        labels = _labels(denoiser, settings.label, n, device)
    else:
        n, labels = len(labels), labels.to(device)
    x = initial_noise(denoiser, n, settings.seed).to(device) * scheduler.init_noise_sigma
    alphas_cumprod = scheduler.alphas_cumprod.to(device)
    # Only the stochastic schedulers take a generator (Heun's and UniPC's step() refuse the keyword).
    accepts = inspect.signature(scheduler.step).parameters
    noise = {"generator": generator} if "generator" in accepts else {}
    if "eta" in accepts:  # DDIM reads η from step()'s arguments only (a scheduler attribute would be ignored)
        noise["eta"] = settings.eta
    for i, t in enumerate(scheduler.timesteps):
        model_in = scheduler.scale_model_input(x, t)
        eps = guided_epsilon(denoiser.epsilon, model_in, t, labels, settings.guidance, denoiser.null_label,
                             settings.rescale)
        out = scheduler.step(eps, t, x, **noise)
        x0 = getattr(out, "pred_original_sample", None)
        from_scheduler = x0 is not None
        if x0 is None:  # DPM-Solver++ and UniPC return only prev_sample
            a = alphas_cumprod[int(t)]
            x0 = (model_in - (1 - a).sqrt() * eps) / a.sqrt()
        yield Step(i, len(scheduler.timesteps), int(t), model_in, eps, x0, from_scheduler, out.prev_sample)
        x = out.prev_sample


def sample(denoiser: Denoiser, settings: Settings, labels: torch.Tensor | None = None, n: int = 1) -> torch.Tensor:
    """Final samples in [-1, 1] after every reverse step."""
    x = None
    for step in steps(denoiser, settings, n, labels):
        x = step.x_next
    return x.clamp(-1, 1)
