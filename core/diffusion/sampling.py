"""The maths of denoising diffusion: the DDPM noise schedule, noising, classifier-free guidance, and sampling
with any diffusers scheduler. Pure torch plus diffusers' schedulers; no UI."""
from __future__ import annotations

from typing import Callable, Iterator

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

NUM_TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 1e-4, 0.02
SCHEDULERS = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler,
              "dpm++": DPMSolverMultistepScheduler, "euler": EulerDiscreteScheduler}


def training_scheduler() -> DDPMScheduler:
    """T=1000 linear betas from 1e-4 to 0.02 (Ho et al. 2020), predicting epsilon."""
    return DDPMScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, beta_start=BETA_START, beta_end=BETA_END,
                         beta_schedule="linear", prediction_type="epsilon", clip_sample=True)


def make_scheduler(kind: str, config: dict | None = None):
    """A diffusers scheduler of `kind` built from the training schedule's config (so betas always agree)."""
    if kind not in SCHEDULERS:
        raise ValueError(f"Unknown scheduler {kind!r}; choose one of {', '.join(SCHEDULERS)}.")
    return SCHEDULERS[kind].from_config(config or training_scheduler().config)


def guided_epsilon(model: Callable, x: torch.Tensor, t, labels: torch.Tensor, guidance: float,
                   null_label: int) -> torch.Tensor:
    """Classifier-free guidance: eps_uncond + w * (eps_cond - eps_uncond); w = 1 is the plain conditional model."""
    if guidance == 1.0:
        return model(x, t, labels)
    both = model(torch.cat([x, x]), t, torch.cat([labels, torch.full_like(labels, null_label)]))
    eps_cond, eps_uncond = both.chunk(2)
    return eps_uncond + guidance * (eps_cond - eps_uncond)


def sample_steps(model, scheduler, labels: torch.Tensor, steps: int, guidance: float,
                 generator: torch.Generator | None = None, null_label: int = 10) -> Iterator[tuple]:
    """Run the reverse process, yielding (t, x_t, predicted x_0) after every step; images are in [-1, 1]."""
    device = next(model.parameters()).device
    scheduler.set_timesteps(steps, device=device)
    x = torch.randn((len(labels), 1, 28, 28), generator=generator).to(device) * scheduler.init_noise_sigma
    labels = labels.to(device)
    for t in scheduler.timesteps:
        model_in = scheduler.scale_model_input(x, t)
        eps = guided_epsilon(model, model_in, t, labels, guidance, null_label)
        out = scheduler.step(eps, t, x, generator=generator)
        x = out.prev_sample
        x0 = getattr(out, "pred_original_sample", None)
        yield float(t), x, x0


@torch.no_grad()
def sample(model, scheduler, labels: torch.Tensor, steps: int, guidance: float,
           generator: torch.Generator | None = None, null_label: int = 10) -> torch.Tensor:
    """Final samples in [-1, 1] after `steps` reverse steps."""
    x = None
    for _, x, _ in sample_steps(model, scheduler, labels, steps, guidance, generator, null_label):
        pass
    return x.clamp(-1, 1)
