"""The VAE tab's maths on the bundled vae16, vae2 and ae2: encoding with the closed-form KL, linear and spherical
paths between codes, decoding, the CNN's reading of decoded images (class probabilities, confidence, distance to
the nearest real test image in the CNN's feature space), the test set's codes, the decoded 2-D manifold grid,
per-dimension traversals and sampling from the prior.

Arrays come back as float64 numpy; images are [n, 28, 28] in [0, 1]. Models are used read-only under no_grad.
"""
from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from core import models
from core.data import CLASSES, load_split
from core.device import device
from core.metrics import cnn_features
from core.validate import as_choice, as_int, as_vector

MODELS = ("vae16", "vae2", "ae2")
MAP_MODELS = ("vae2", "ae2")          # the 2-D ones: a map of the whole latent space
PATHS = ("linear", "slerp")
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 2, 32, 10
CONFIDENT = 0.9                        # the CNN's top probability that counts as "reads it as a garment"
GRID = 20                              # the manifold grid is GRID x GRID decoded points
TRAVERSAL = tuple(np.linspace(-3.0, 3.0, 7))
MAX_POINTS = 10_000
MAX_DIMS = 1024                        # the KL calculator's limit
REFERENCES = 2000                      # test images a decoded frame is compared with
BATCH = 500


def check_model(name: str, allowed: tuple[str, ...] = MODELS) -> str:
    return as_choice(name, "model", allowed)


def model(name: str) -> torch.nn.Module:
    return models.load(check_model(name))


@dataclass(frozen=True)
class Code:
    """q(z|x) of one image: mu, and for a VAE logvar and the closed-form KL to N(0, I) per dimension (nats)."""
    mu: np.ndarray
    logvar: np.ndarray | None
    kl_per_dim: np.ndarray | None
    reconstruction: np.ndarray          # [28, 28], the decoder's output at z = mu

    @property
    def kl(self) -> float | None:
        return None if self.kl_per_dim is None else float(self.kl_per_dim.sum())

    @property
    def sigma(self) -> np.ndarray | None:
        return None if self.logvar is None else np.exp(0.5 * self.logvar)


def kl_closed_form(mu, logvar) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per dimension, -1/2 (1 + logvar - mu^2 - exp(logvar)), in nats.

    Checked first: lists of finite numbers within float32 (as everywhere in the app), of equal lengths; then
    every term and the sum finite in float64 (exp(logvar) overflows past logvar ~ 709)."""
    mu, logvar = as_vector(mu, "mu", MAX_DIMS), as_vector(logvar, "logvar", MAX_DIMS)
    if len(mu) != len(logvar):
        raise ValueError(f"mu has {len(mu)} values but logvar has {len(logvar)}: give one of each per dimension.")
    with np.errstate(over="ignore"):
        kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))
    bad = np.flatnonzero(~np.isfinite(kl))
    if len(bad):
        i = bad[0]
        raise ValueError(f"The KL of dimension {i} overflows (logvar = {logvar[i]:.3g}): keep logvar below 700, "
                         "where exp(logvar) is still a float64.")
    if not np.isfinite(kl.sum()):
        raise ValueError("The total KL overflows float64 (each dimension is finite, their sum is not): use smaller "
                         "logvar values.")
    return kl + 0.0  # -0.0 (at mu = 0, logvar = 0) becomes 0.0


def encode(name: str, x: torch.Tensor) -> Code:
    """x: [1, 1, 28, 28] in [0, 1] (core.vision.fashion_preprocess). One new endpoint asks for the same image's
    code many times (its code, the path, AE vs VAE, the map, the dimensions), so the latest few are kept; their
    arrays are read-only, since every caller shares them."""
    pixels = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
    return _encode(check_model(name), pixels.tobytes(), pixels.shape)


@functools.lru_cache(maxsize=16)
@torch.no_grad()
def _encode(name: str, pixels: bytes, shape: tuple[int, ...]) -> Code:
    net = model(name)
    x = torch.frombuffer(bytearray(pixels), dtype=torch.float32).reshape(shape)
    mu, logvar = net.encode(x.to(device()))
    mu64 = mu[0].double().cpu().numpy()
    recon = net.decode(mu)[0, 0].double().cpu().numpy()
    if logvar is None:
        return Code(_frozen(mu64), None, None, _frozen(recon))
    logvar64 = logvar[0].double().cpu().numpy()
    return Code(*map(_frozen, (mu64, logvar64, kl_closed_form(mu64, logvar64), recon)))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def check_code(name: str, z, what: str = "z") -> np.ndarray:
    """z as a float64 vector of the model's latent size, finite and within float32."""
    d = model(name).latent_dim
    if isinstance(z, (list, tuple, np.ndarray)) and len(z) != d:
        raise ValueError(f"{what} must be a list of {d} numbers for {name} (its latent has {d} dimensions), not "
                         f"{len(z)}.")
    return as_vector(z, what, d)


def linear_path(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """[steps, d]: (1 - t) a + t b at t = 0, 1/(steps-1), ..., 1."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * a + t * b


def slerp_path(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """[steps, d]: the direction turns from a's to b's along the great circle at constant angular speed, and
    the length goes linearly from |a| to |b|. Under a Gaussian prior nearly all mass sits near a sphere, and a
    straight line between two codes cuts inside it, where codes are rarer; slerp stays at typical radii. Where
    the directions are (almost) equal or opposite the great circle is not defined, and the path is linear."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return linear_path(a, b, steps)
    ua, ub = a / na, b / nb
    omega = math.acos(float(np.clip(ua @ ub, -1.0, 1.0)))
    if math.sin(omega) < 1e-6:
        return linear_path(a, b, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / math.sin(omega)
    path = direction * ((1 - t) * na + t * nb)
    path[0], path[-1] = a, b  # exactly, not up to round-off
    return path


def path(a: np.ndarray, b: np.ndarray, steps, kind: str = "linear") -> np.ndarray:
    steps = as_int(steps, "steps", MIN_STEPS, MAX_STEPS)
    kind = as_choice(kind, "path", PATHS)
    return (linear_path if kind == "linear" else slerp_path)(a, b, steps)


@torch.no_grad()
def decode(name: str, z: np.ndarray) -> np.ndarray:
    """[n, d] codes -> [n, 28, 28] images in [0, 1]."""
    net = model(name)
    z = torch.tensor(np.atleast_2d(z), dtype=torch.float32)  # a copy: a cached code is read-only
    out = [net.decode(z[i:i + BATCH].to(device())).cpu() for i in range(0, len(z), BATCH)]
    return torch.cat(out)[:, 0].double().numpy()


def _images(frames: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(frames, dtype=torch.float32).unsqueeze(1)


@torch.no_grad()
def classify(frames: np.ndarray) -> np.ndarray:
    """[n, 10]: the bundled CNN's class probabilities for each image."""
    cnn = models.load("cnn")
    x = _images(frames)
    logits = torch.cat([cnn(x[i:i + BATCH].to(device())).cpu() for i in range(0, len(x), BATCH)])
    return torch.softmax(logits.double(), 1).numpy()


_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _test_set() -> tuple[np.ndarray, np.ndarray]:
    """The Fashion-MNIST test images in [0, 1] and labels (the full 10,000 where installed, else the bundled
    1,000-image sample), in a seeded random order so that any first n are a fair subset."""
    split = load_split("test", allow_download=False)
    order = np.random.default_rng(0).permutation(len(split))
    return split.images[order].astype(np.float32) / 255, split.labels[order].astype(np.int64)


@functools.lru_cache(maxsize=1)
def _test_features() -> torch.Tensor:
    images, _ = _test_set()
    return cnn_features(models.load("cnn"), _images(images[:REFERENCES]))


class Reading(NamedTuple):
    """The bundled CNN's reading of decoded images."""
    probabilities: np.ndarray     # [n, 10]: classify's class probabilities
    nearest_distance: np.ndarray  # [n]: the distance from the image's CNN features to the nearest reference's


@torch.no_grad()
def read_frames(frames: np.ndarray) -> Reading:
    """The class probabilities and the Euclidean distance from each image's CNN features (128-d, penultimate
    layer) to the nearest of REFERENCES test images' (small where a frame looks like some real garment, large in
    the holes of a latent space), from ONE pass of the CNN: the features, then its last layer on them (dropout is
    off in eval mode), which is the pass classify makes."""
    with _lock:
        reference = _test_features()
    cnn = models.load("cnn")
    features = cnn_features(cnn, _images(frames))
    logits = cnn.fc(features.float().to(device())).cpu()
    return Reading(torch.softmax(logits.double(), 1).numpy(), torch.cdist(features, reference).min(1).values.numpy())


@functools.lru_cache(maxsize=len(MODELS))
def _test_codes(name: str) -> np.ndarray:
    """mu of every test image under model `name`, computed once per model."""
    images, _ = _test_set()
    net = model(name)
    x = _images(images)
    with torch.no_grad():
        mus = [net.encode(x[i:i + BATCH].to(device()))[0].cpu() for i in range(0, len(x), BATCH)]
    return torch.cat(mus).double().numpy()


def test_codes(name: str, points=2000) -> tuple[np.ndarray, np.ndarray]:
    """([n, d] codes, [n] labels) of the first n = min(points, installed) test images (a seeded random subset):
    all of them where fewer than `points` are installed (the bundled sample has 1,000)."""
    name = check_model(name)
    points = min(as_int(points, "points", 1, MAX_POINTS), len(_test_set()[0]))
    with _lock:
        codes = _test_codes(name)
    return codes[:points], _test_set()[1][:points]


def code_range(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per dimension: the 0.5th and 99.5th percentiles of the test codes, so a few outliers do not
    stretch the grid."""
    codes, _ = test_codes(name, MAX_POINTS)
    return np.percentile(codes, 0.5, axis=0), np.percentile(codes, 99.5, axis=0)


@dataclass(frozen=True)
class Manifold:
    """A GRID x GRID grid of 2-D codes over the model's code range, decoded, with the CNN's reading."""
    z1: np.ndarray                # [GRID] the first coordinate of each column
    z2: np.ndarray                # [GRID] the second coordinate of each row, top row highest
    frames: np.ndarray            # [GRID * GRID, 28, 28], row-major from the top left
    top_probability: np.ndarray   # [GRID * GRID]

    @property
    def confident_share(self) -> float:
        """Share of grid points the CNN reads with top probability >= CONFIDENT."""
        return float((self.top_probability >= CONFIDENT).mean())


@functools.lru_cache(maxsize=len(MAP_MODELS))
def manifold(name: str) -> Manifold:
    name = check_model(name, MAP_MODELS)
    low, high = code_range(name)
    z1 = np.linspace(low[0], high[0], GRID)
    z2 = np.linspace(high[1], low[1], GRID)
    grid = np.stack(np.meshgrid(z1, z2), -1).reshape(-1, 2)
    frames = decode(name, grid)
    return Manifold(z1, z2, frames, classify(frames).max(1))


def traversal(name: str, mu: np.ndarray, values=TRAVERSAL) -> np.ndarray:
    """[d, len(values), 28, 28]: dimension i set to each value while the others stay at mu."""
    d = len(mu)
    z = np.repeat(np.repeat(mu[None, None], d, 0), len(values), 1)
    for i in range(d):
        z[i, :, i] = values
    return decode(name, z.reshape(-1, d)).reshape(d, len(values), 28, 28)


MIN_TAU, MAX_TAU = 0.0, 3.0


def sample(name: str, n: int, tau: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes [n, d] ~ N(0, tau^2 I) from a seeded generator, their decoded images)."""
    d = model(name).latent_dim
    z = tau * np.random.default_rng(seed).standard_normal((n, d))
    return z, decode(name, z)


def top_class(probabilities: np.ndarray) -> tuple[str, float]:
    i = int(np.argmax(probabilities))
    return CLASSES[i], float(probabilities[i])
