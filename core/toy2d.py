"""The 2-D toy datasets shared by the GAN tab's 2-D mode and the diffusion tab's toy: built-in datasets in the box
[-BOX, BOX]^2 (as GAN Lab's), points drawn by a person (checked, and turned into a density), and the drawing pad's
strokes as points. Sampling takes a torch.Generator so that a seeded run draws the same data every time.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from core.validate import as_choice, as_float

BOX = 1.5                                   # data and views live in [-BOX, BOX]^2
DATASETS = ("ring", "grid", "moons", "line", "blobs")
DRAWN = "drawn"                             # the dataset name of points drawn by a person
MAX_POINTS = 10_000                         # drawn points


def normal(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(n, 2, generator=generator)


def mixture(centres: torch.Tensor, sd: float, n: int, generator: torch.Generator) -> torch.Tensor:
    which = torch.randint(len(centres), (n,), generator=generator)
    return centres[which] + sd * normal(n, generator)


RING = torch.stack([torch.cos(torch.arange(8) * math.pi / 4), torch.sin(torch.arange(8) * math.pi / 4)], 1)
GRID = torch.cartesian_prod(torch.linspace(-1, 1, 5), torch.linspace(-1, 1, 5))
BLOBS = torch.tensor([[-0.9, 0.8], [0.9, 0.7], [0.0, -0.9]])


RING_SD = 0.05                              # each of the ring's Gaussians' standard deviation


def modes_covered(points, centres: torch.Tensor = RING, sd: float = RING_SD, within: float = 3.0,
                  share: float = 0.05) -> int:
    """How many modes of a mixture a sample covers: a mode (a centre of `centres`, standard deviation `sd`) is
    covered when at least `share` of the points lie within `within` standard deviations of it. With the defaults,
    the ring's 8 modes and 5% of the points within 0.15 of a centre: a G that collapses onto 3 modes covers 3, and
    one that spreads its points between the modes covers none."""
    pts = torch.as_tensor(np.asarray(points, dtype=np.float32))
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError("The points must be a non-empty list of [x, y] pairs.")
    near = torch.cdist(pts, centres.to(pts.dtype)) <= within * sd   # [n, modes]
    return int((near.float().mean(0) >= share).sum())


def sample(name: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """n points [n, 2] of a built-in dataset: a ring of 8 Gaussians (radius 1), a 5 x 5 grid of 25 Gaussians,
    two interleaved moons, a line segment, or three disjoint blobs; all well inside [-BOX, BOX]^2."""
    name = as_choice(name, "dataset", DATASETS)
    if name == "ring":
        return mixture(RING, RING_SD, n, generator)
    if name == "grid":
        return mixture(GRID, 0.04, n, generator)
    if name == "blobs":
        return mixture(BLOBS, 0.12, n, generator)
    t = torch.rand(n, generator=generator)
    if name == "line":
        return torch.stack([2 * t - 1, t - 0.5], 1) + 0.02 * normal(n, generator)
    # Two moons (as scikit-learn's make_moons), centred and scaled into the box: x in [-1.2, 1.2].
    angle = math.pi * t
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    return 0.8 * torch.stack([x - 0.5, y - 0.25], 1) + 0.05 * normal(n, generator)


def check_points(points) -> torch.Tensor:
    """Points drawn by a person, a list of [x, y] inside the box, as a float32 tensor [m, 2]."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("The drawn points must be a list of [x, y] pairs of numbers.") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError("The drawn points must be a list of [x, y] pairs of numbers.")
    if len(array) < 2:
        raise ValueError(f"Draw at least 2 points for the data; there {'is' if len(array) == 1 else 'are'} "
                         f"{len(array)}.")
    if len(array) > MAX_POINTS:
        raise ValueError(f"There are {len(array):,} drawn points; the limit is {MAX_POINTS:,}.")
    if not np.isfinite(array).all():
        raise ValueError("The drawn points must be finite numbers (no NaN or inf).")
    if np.abs(array).max() > BOX:
        raise ValueError(f"The drawn points must lie in the box [-{BOX}, {BOX}] x [-{BOX}, {BOX}]; one is at "
                         f"{np.abs(array).max():.3g}.")
    return torch.as_tensor(array, dtype=torch.float32)


def from_points(points, n: int, generator: torch.Generator, noise: float = 0.02) -> torch.Tensor:
    """n samples [n, 2] from points drawn by a person: a drawn point at random plus N(0, noise^2) in each
    direction, so that a few strokes become a density a model can match rather than a handful of exact points."""
    points = points if isinstance(points, torch.Tensor) else check_points(points)
    noise = as_float(noise, "noise", 0.0, 1.0)
    return mixture(points, noise, n, generator)


def points_from_sketch(sketch, limit: int = 2000, hint: str = "") -> tuple:
    """A drawing pad's strokes (gradio's ImageEditor value, a dict with a "composite" array) as data: every drawn
    pixel's centre mapped onto [-BOX, BOX]^2 (y up), evenly thinned to `limit` points. The composite is opaque
    white where nothing is drawn, so a stroke is a pixel that is visible (alpha, where there is one) and darker
    than the paper. hint ends the message of an empty pad (what to press after drawing)."""
    empty = "The drawing pad is empty: draw the data first" + (f", then {hint}." if hint else ".")
    composite = None if not isinstance(sketch, dict) else sketch.get("composite")
    array = None if composite is None else np.asarray(composite)
    if array is None or array.ndim != 3 or array.size == 0:
        raise ValueError(empty)
    drawn = array[..., :3].min(-1) < 200
    if array.shape[2] == 4:
        drawn &= array[..., 3] > 0
    rows, cols = np.nonzero(drawn)
    if len(rows) < 2:
        raise ValueError(empty)
    height, width = drawn.shape
    x = ((cols + 0.5) / width * 2 - 1) * BOX
    y = (1 - (rows + 0.5) / height * 2) * BOX
    idx = np.linspace(0, len(x) - 1, min(limit, len(x))).round().astype(int)
    return tuple(zip(np.round(x[idx], 4).tolist(), np.round(y[idx], 4).tolist(), strict=True))
