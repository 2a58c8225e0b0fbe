"""The diffusion tab's 2-D toy: a small MLP noise predictor ε̂(x_t, t) trained live on the 2-D datasets of
core.toy2d (or points drawn by a person), the forward density of x_t over t in closed form, and particles sampled
back along their reverse trajectories with diffusers' DDIM (deterministic, η = 0) and DDPM (stochastic) schedulers.
Training is a live run (TrainingRun, stepped by core.live.Runner while a person watches, or by `train` headless).

The schedule is the bundled model's (T = 1000 linear βs, from core.diffusion.schedule), so the toy's ᾱ_t are those
the image tab shows. A smaller T would not train faster: t enters the network through a
sinusoidal embedding of t / T, so the network learns one smooth function of t whatever T is, and the cost of a
step is the same. Everything runs on the CPU (a 3 x 128 MLP on 2-D points is faster there than anywhere else),
every random draw comes from the run's own seeded torch.Generator, and arrays come back as float64 numpy.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np
import torch
import torch.nn as nn

from core import toy2d
from core.diffusion import diffusers_class, schedule
from core.threads import one_thread
from core.validate import as_choice, as_float, as_int

T, BETA_START, BETA_END = schedule.BUNDLED_T, schedule.BUNDLED_BETA_START, schedule.BUNDLED_BETA_END
KINDS = ("ddim", "ddpm")
MIN_SECONDS, MAX_SECONDS = 0.1, 30.0   # one training call; a recognisable ring takes about 4 s
MAX_STEPS = 20_000            # training steps of one call
MAX_PARTICLES = 2_000
MAX_SAMPLING_STEPS = T        # reverse steps (DDPM and DDIM both stride over the T training timesteps)
MAX_TS = 12                   # forward densities in one call
FINAL_LOSS_STEPS = 100        # the final loss is the mean of the last 100 steps' (one step's loss is noisy)
# 3 x 64 rather than 3 x 128: as good a ring after the same steps here, and about 1.5x the steps a second; lr 1e-2
# (Adam) reaches the ring in a few seconds where 2e-3 needs several times as many steps.
BATCH, LR, HIDDEN, LAYERS, FREQUENCIES = 256, 1e-2, 64, 3, 16
DATA_POINTS = 3_000           # the data drawn faintly behind the particles, and the forward density's x_0
DENSITY_RANGE = 3.0           # histograms of x_t over [-3, 3]^2: x_T ~ N(0, I) mostly lies inside


@dataclasses.dataclass(frozen=True)
class Settings:
    dataset: str = "ring"
    seed: int = 0
    seconds: float = 4.0
    steps: int | None = None          # None: train for `seconds`; else for `steps` (at most `seconds` still)
    points: tuple | None = None       # the drawn data, when dataset is "drawn"

    def checked(self) -> Settings:
        dataset = as_choice(self.dataset, "dataset", (*toy2d.DATASETS, toy2d.DRAWN))
        points = None
        if dataset == toy2d.DRAWN:
            if self.points is None:
                raise ValueError("The dataset is “drawn” but there are no points: draw the data first.")
            points = tuple(map(tuple, toy2d.check_points(self.points).tolist()))
        seconds = as_float(self.seconds, "seconds", MIN_SECONDS, MAX_SECONDS)
        steps = None if self.steps is None else as_int(self.steps, "steps", 1, MAX_STEPS)
        return Settings(dataset, as_int(self.seed, "seed", 0, 2**31 - 1), seconds, steps, points)


class NoisePredictor(nn.Module):
    """ε̂(x_t, t): [x_t, sin and cos of t / T at FREQUENCIES frequencies] through LAYERS hidden SiLU layers."""

    def __init__(self):
        super().__init__()
        sizes = [2 + 2 * FREQUENCIES] + [HIDDEN] * LAYERS
        parts: list[nn.Module] = []
        for a, b in itertools.pairwise(sizes):
            parts += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*parts, nn.Linear(HIDDEN, 2))
        # Frequencies 1 ... 100 (geometric) of t / T: fine enough for the last few percent of the steps, where the
        # ring's modes appear; higher ones only add features that change faster than ε does.
        self.register_buffer("freqs", torch.logspace(0, 2, FREQUENCIES))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        angle = (t.float() / T)[:, None] * self.freqs[None, :]
        return self.net(torch.cat([x, torch.sin(angle), torch.cos(angle)], 1))


@dataclasses.dataclass
class ToyDiffusion:
    settings: Settings
    model: NoisePredictor
    losses: list[float]               # every training step's loss (mean squared error of ε̂)
    seconds: float                    # measured training time
    data: np.ndarray                  # [DATA_POINTS, 2] the data, for the figures

    @property
    def steps(self) -> int:
        return len(self.losses)

    @property
    def final_loss(self) -> float:
        return float(np.mean(self.losses[-FINAL_LOSS_STEPS:])) if self.losses else math.nan


def alpha_bar() -> torch.Tensor:
    """ᾱ for diffusers' timesteps 0 ... T-1 (t = 1 ... T), float32, from the same schedule the samplers use."""
    return torch.as_tensor(schedule.make("linear", T, BETA_START, BETA_END).alpha_bar, dtype=torch.float32)


def _data(settings: Settings, n: int, generator: torch.Generator) -> torch.Tensor:
    if settings.dataset == toy2d.DRAWN:
        return toy2d.from_points(settings.points, n, generator)
    return toy2d.sample(settings.dataset, n, generator)


def _init(model: nn.Module, generator: torch.Generator) -> None:
    """torch's default Linear initialisation drawn from the run's generator (not the global one), so the same seed
    gives the same run whatever else the process does."""
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)


def untrained(settings: Settings = Settings()) -> ToyDiffusion:
    """A run with its freshly initialised network and no training step (what training starts from)."""
    settings = settings.checked()
    generator = torch.Generator().manual_seed(settings.seed)
    model = NoisePredictor()
    _init(model, generator)
    data = _data(settings, DATA_POINTS, torch.Generator().manual_seed(settings.seed + 1)).double().numpy()
    return ToyDiffusion(settings, model, [], 0.0, data)


class TrainingRun:
    """The training of one ToyDiffusion as a live run (core.live): each step() is one Adam step of the ε-prediction
    loss ‖ε − ε̂(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖² on a fresh batch of BATCH points, timesteps and noise, until
    `settings.steps` steps (MAX_STEPS without) or `settings.seconds` from the first step, whichever comes first."""

    def __init__(self, settings: Settings):
        self.diffusion = untrained(settings)
        self.settings = self.diffusion.settings
        self._generator = torch.Generator().manual_seed(self.settings.seed + 2)
        self._alpha_bar = alpha_bar()
        self._optimiser = torch.optim.Adam(self.diffusion.model.parameters(), lr=LR)
        self._limit = self.settings.steps or MAX_STEPS
        self._start: float | None = None

    @property
    def step_count(self) -> int:
        return len(self.diffusion.losses)

    @property
    def ended(self) -> str | None:
        if self.step_count >= self._limit:
            return f"Trained {self.step_count:,} steps."
        if self._start is not None and time.perf_counter() - self._start >= self.settings.seconds:
            return f"Trained for {self.settings.seconds:g} s."
        return None

    def step(self) -> None:
        if self._start is None:
            self._start = time.perf_counter()
        run, generator = self.diffusion, self._generator
        x0 = _data(self.settings, BATCH, generator)
        t = torch.randint(T, (BATCH,), generator=generator)
        eps = torch.randn(BATCH, 2, generator=generator)
        loss = ((run.model(schedule.add_noise(x0, self._alpha_bar[t][:, None], eps), t) - eps) ** 2).mean()
        self._optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self._optimiser.step()
        run.losses.append(loss.item())
        run.seconds = time.perf_counter() - self._start


def train(dataset: str = "ring", seconds: float = 4.0, steps: int | None = None, seed: int = 0,
          points=None) -> ToyDiffusion:
    """A TrainingRun stepped to its end here, headless: `seconds` of training (or `steps`, still within `seconds`)."""
    run = TrainingRun(Settings(dataset, seed, seconds, steps, points))
    # One intra-op thread: at this size torch's thread pool costs far more than it gains (a step took 6 ms on one
    # thread and 90 ms on two on a busy 2-core machine), and visitors training at once share the cores.
    with one_thread():
        while not run.ended:
            run.step()
    return run.diffusion


@dataclasses.dataclass(frozen=True)
class Density:
    ts: tuple[int, ...]               # t = 0 (the data) ... T
    alpha_bar: np.ndarray             # [len(ts)] ᾱ_t (1 at t = 0)
    points: np.ndarray                # [len(ts), n, 2] x_t of the same x_0 and ε at each t
    counts: np.ndarray                # [len(ts), bins, bins] histograms of x_t (rows are y), as densities
    edges: np.ndarray                 # [bins + 1] the bin edges of both axes


def forward_density(points, ts, seed: int = 0, bins: int = 40) -> Density:
    """Histograms of x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε at each t of `ts` (0 ... T), for x_0 the [n, 2] `points` and one
    seeded ε per point, shared by every t (so a point's path over t is continuous)."""
    x0 = np.asarray(toy2d.check_points(points) if not isinstance(points, np.ndarray) else points, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] != 2 or not len(x0) or not np.isfinite(x0).all():
        raise ValueError("The points must be a non-empty list of finite [x, y] pairs.")
    try:
        ts = tuple(as_int(t, "t", 0, T) for t in ts)
    except TypeError:
        raise ValueError("ts must be a list of whole numbers of steps from 0 to 1000.") from None
    if not 1 <= len(ts) <= MAX_TS:
        raise ValueError(f"Give 1 to {MAX_TS} values of t; there are {len(ts)}.")
    bins = as_int(bins, "bins", 2, 200)
    ab = np.concatenate([[1.0], schedule.make("linear", T, BETA_START, BETA_END).alpha_bar])[list(ts)]
    eps = np.random.default_rng(as_int(seed, "seed", 0, 2**31 - 1)).standard_normal(x0.shape)
    xt = schedule.add_noise(torch.from_numpy(x0[None]), torch.from_numpy(ab[:, None, None]),
                            torch.from_numpy(eps[None])).numpy()
    edges = np.linspace(-DENSITY_RANGE, DENSITY_RANGE, bins + 1)
    counts = np.stack([np.histogram2d(p[:, 1], p[:, 0], bins=[edges, edges], density=True)[0] for p in xt])
    return Density(ts, ab, xt, counts, edges)


def scheduler(kind: str, steps: int):
    """diffusers' DDIM (η = 0) or DDPM scheduler on the training schedule, set to `steps` reverse steps. Neither
    clips x̂₀ (diffusers' default clips it to [-1, 1], which would cut the ring of radius 1 and the moons)."""
    kind = as_choice(kind, "kind", KINDS)
    steps = as_int(steps, "steps", 1, MAX_SAMPLING_STEPS)
    common = {"num_train_timesteps": T, "beta_start": BETA_START, "beta_end": BETA_END, "beta_schedule": "linear",
              "clip_sample": False}
    if kind == "ddim":
        s = diffusers_class("DDIMScheduler")(**common, set_alpha_to_one=True)
    else:
        s = diffusers_class("DDPMScheduler")(**common, variance_type="fixed_small")
    s.set_timesteps(steps)
    return s


def reverse_trajectories(run: ToyDiffusion, n_particles: int = 500, steps: int = 50, kind: str = "ddim",
                         seed: int = 0) -> np.ndarray:
    """[steps + 1, n, 2]: particles from x_T ~ N(0, I) (seeded; the same start for both kinds) back to x_0 through
    `steps` steps of DDIM (deterministic: the same start always ends in the same place) or DDPM (fresh noise at
    every step, drawn from the same seed)."""
    n = as_int(n_particles, "particles", 1, MAX_PARTICLES)
    s = scheduler(kind, steps)
    generator = torch.Generator().manual_seed(as_int(seed, "seed", 0, 2**31 - 1))
    x = torch.randn(n, 2, generator=generator)
    path = [x]
    with one_thread(), torch.no_grad():   # as in train
        for t in s.timesteps:
            eps = run.model(x, torch.full((n,), int(t)))
            x = s.step(eps, t, x, generator=generator).prev_sample
            path.append(x)
    return torch.stack(path).double().numpy()


def both_trajectories(run: ToyDiffusion, n_particles: int, steps: int, seed: int) -> tuple[np.ndarray, ...]:
    """reverse_trajectories of each of KINDS (DDIM, then DDPM) from the same start."""
    return tuple(reverse_trajectories(run, n_particles, steps, kind, seed) for kind in KINDS)


def near_mode(points: np.ndarray, run: ToyDiffusion, radius: float = 0.2) -> float:
    """The fraction of `points` within `radius` of a mode of the data: a ring or grid centre, a blob's centre, or
    (for the other datasets) within `radius` of one of the run's data points."""
    points = np.asarray(points, dtype=np.float64)
    centres = {"ring": toy2d.RING, "grid": toy2d.GRID, "blobs": toy2d.BLOBS}.get(run.settings.dataset)
    targets = run.data if centres is None else centres.double().numpy()
    d = np.sqrt(((points[:, None, :] - targets[None, :, :]) ** 2).sum(-1)).min(1)
    return float((d <= radius).mean()) if len(points) else math.nan
