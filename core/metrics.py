"""Model quality measures: accuracy, FID in the bundled CNN's feature space (fid_cnn), class agreement,
and the VAE's reconstruction error, KL and ELBO."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _batched(fn, model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """fn over x in batches on the model's device; the result comes back to the CPU."""
    dev = next(model.parameters(), torch.empty(0)).device
    return torch.cat([fn(x[i:i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)])


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class logits for images in [0, 1], computed in batches in eval mode."""
    was_training = model.training
    model.eval()
    out = _batched(model, model, x, batch_size)
    model.train(was_training)
    return out


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (predict(model, x).argmax(1) == y).float().mean().item()


@torch.no_grad()
def cnn_features(cnn, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The bundled CNN's 128-d penultimate features of images in [0, 1]."""
    cnn.eval()
    return _batched(cnn.embed, cnn, x, batch_size).double()


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians fitted to feature sets.

    tr((S1 S2)^(1/2)) is computed as tr((S1^(1/2) S2 S1^(1/2))^(1/2)), which has the same eigenvalues but is
    symmetric, so an eigendecomposition gives it exactly (no scipy.linalg.sqrtm, no complex round-off).
    """
    f1, f2 = f1.double(), f2.double()
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = torch.cov(f1.T), torch.cov(f2.T)
    r1 = _sqrt_psd(s1)
    cross = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + s1.trace() + s2.trace() - 2 * cross)


def fid_cnn(cnn, generated: torch.Tensor, reference: torch.Tensor) -> float:
    """FID between two image sets (both in [0, 1]) in the bundled CNN's feature space. Not Inception FID."""
    return frechet_distance(cnn_features(cnn, generated), cnn_features(cnn, reference))


def class_agreement(cnn, images: torch.Tensor, requested: torch.Tensor) -> float:
    """Share of class-conditioned samples (in [0, 1]) that the CNN classifies as the class asked for: the CNN's
    accuracy with the asked-for classes as the labels."""
    return accuracy(cnn, images, requested)


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) for a share measured on n independent trials."""
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)  # round-off can step just outside [0, 1]


def vae_terms(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image Bernoulli reconstruction NLL (summed over pixels), KL(q(z|x) || N(0, I)), and their sum, -ELBO."""
    nll = F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    return {"nll": nll, "kl": kl, "neg_elbo": nll + kl}
