"""What the diffusion tab samples from: a noise-prediction network with its scheduler config and image shape, as
one Denoiser, whether it is the bundled class-conditional UNet or a diffusers UNet2DModel opened from the hub
(core.diffusion.hub_unets). Sampling (core.diffusion.sampling) only ever calls `Denoiser.epsilon`."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

BUNDLED = "default"


@dataclass(frozen=True, eq=False)
class Denoiser:
    name: str                     # "default" for the bundled model, else the hub id
    description: str              # one line for a person
    network: torch.nn.Module      # eval mode, on the chosen device, requires_grad off
    # (x [B, C, H, W], t, labels [B] long or None) -> predicted noise, the shape of x
    epsilon: Callable[[torch.Tensor, object, torch.Tensor | None], torch.Tensor]
    scheduler_config: dict        # a diffusers scheduler config (betas, T, prediction_type ...)
    shape: tuple[int, int, int]   # (C, H, W) of one sample
    num_classes: int              # 0 for an unconditional model
    classes: tuple[str, ...]      # the class names, () for an unconditional model

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def null_label(self) -> int:
        """The "no class" index the conditional model was trained with (classifier-free guidance's ∅)."""
        return self.num_classes


@functools.lru_cache(maxsize=1)
def bundled() -> Denoiser:
    """The bundled class-conditional Fashion-MNIST UNet (assets/ddpm), loaded once per process."""
    from core.data import CLASSES
    from core.models import ddpm_scheduler_config, load

    net = load("ddpm")
    config = dict(ddpm_scheduler_config())
    return Denoiser(BUNDLED, "the bundled class-conditional Fashion-MNIST UNet (DDPM, T = 1000, linear betas)",
                    net, lambda x, t, labels: net(x, t, labels), config,
                    (net.config["in_channels"], 28, 28), net.num_classes, tuple(CLASSES))
