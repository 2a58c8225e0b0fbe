"""The GAN losses the tab offers, on the discriminator's raw outputs (logits; a critic's scores for WGAN-GP).

Each kind gives D's loss (to minimise) from its outputs on real and fake samples, and G's loss from D's outputs on
fakes. `smoothing` is one-sided label smoothing: the real target becomes 1 - smoothing (Salimans et al. 2016).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("nonsaturating", "saturating", "wgan-gp", "lsgan", "hinge")
LABELS = {"nonsaturating": "non-saturating (−log D(G(z)))", "saturating": "saturating (log(1 − D(G(z))))",
          "wgan-gp": "WGAN-GP", "lsgan": "least squares (LSGAN)", "hinge": "hinge"}


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """D's loss. BCE kinds: -log sigmoid(real) - log(1 - sigmoid(fake)) with the real target 1 - smoothing;
    wgan-gp: E[D(fake)] - E[D(real)] (the penalty is added by `gradient_penalty`); lsgan: (D(real) - t)^2 + D(fake)^2,
    halved; hinge: relu(1 - D(real)) + relu(1 + D(fake))."""
    target = 1.0 - smoothing
    if kind in ("nonsaturating", "saturating"):
        return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, target))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "lsgan":
        return 0.5 * ((real - target).pow(2).mean() + fake.pow(2).mean())
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {kind!r}.")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """G's loss on D's outputs for its samples. saturating: the minimax game's own log(1 - D(G(z))), whose
    gradient vanishes exactly when D confidently rejects the fakes (early in training); nonsaturating: -log D(G(z)),
    the same fixed point with strong gradients there; wgan-gp and hinge: -E[D(G(z))]; lsgan: (D(G(z)) - 1)^2 / 2."""
    if kind == "nonsaturating":
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind == "saturating":
        return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))  # = E[log(1 - sigmoid(fake))]
    if kind in ("wgan-gp", "hinge"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * (fake - 1).pow(2).mean()
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {kind!r}.")


def gradient_penalty(d, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017), before its weight λ: E[(‖∇D(x̂)‖ - 1)^2] at random points x̂ on
    the lines between real and fake samples."""
    shape = (len(real),) + (1,) * (real.dim() - 1)
    t = torch.rand(shape, generator=generator).to(real.device)
    between = (t * real + (1 - t) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(d(between).sum(), between, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def probability(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """D's output as a person reads it: sigmoid for the BCE kinds; other kinds' scores are not probabilities,
    and are shown as they are."""
    return torch.sigmoid(logits) if kind in ("nonsaturating", "saturating") else logits
