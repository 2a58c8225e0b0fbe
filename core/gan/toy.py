"""The GAN tab's 2-D mode and its D* playground: the toy datasets of core.toy2d (as GAN Lab's), small MLP
generators and discriminators, a run that steps the game (k D steps per G step, D only, G only) and stops when it
diverges, the arrays of its view (points, D's heatmap, G's gradient arrows, the manifold), KL and JS between 2-D
histograms, saving a run as safetensors, headless training, and D*(x) and the game's value for 1-D Gaussians.

Everything runs on the CPU: networks of a few dozen weights are faster there than anywhere else, and a run's
randomness (weights, data, noise) comes from its own seeded torch.Generator, so the same seed gives the same run.
Arrays come back as float64 numpy.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from core import checkpoints
from core.data import ASSETS
from core.gan import losses
from core.gan.runs import GanRun
from core.toy2d import BOX, DATASETS, DRAWN, MAX_POINTS, check_points, from_points, normal, sample
from core.validate import as_choice, as_float, as_int

OPTIMIZERS = ("adam", "sgd", "rmsprop")
MAX_STEPS = 20_000                          # headless training's cap
MAX_HISTORY = 5_000                         # logged rows a run keeps (then every other one, see Run.step)
MAX_LAYERS, MAX_NEURONS, MAX_BATCH, MAX_K = 6, 256, 2000, 20
HIST_BINS = 20                              # KL and JS compare 20 x 20 histograms over the box
HIST_EPS = 1e-6                             # probability added to every bin, so that log(p / q) is finite
METRIC_POINTS = 2000                        # real and fake points behind each logged KL and JS
VIEW_POINTS = 300                           # points the view draws, fixed for the run, so the picture is steady
MANIFOLD_LINES, MANIFOLD_POINTS, MANIFOLD_Z = 7, 40, 2.0   # 7 + 7 lines of the noise grid over [-2, 2]^2
MAX_MODEL_BYTES = 10_000_000
LATEST = ("d_loss", "g_loss", "d_real", "d_fake")   # what a frame keeps of the latest logged row
COUNTS = ("d_updates", "g_updates", "counted_from")  # what a saved run keeps of its counters besides its iteration


def mlp(in_dim: int, out_dim: int, layers: int, neurons: int) -> nn.Sequential:
    """`layers` hidden layers of `neurons` each, ReLU between them; no activation on the output (G's points and
    D's logit are unbounded). layers = 0 is a single linear map."""
    sizes = [in_dim] + [neurons] * layers + [out_dim]
    parts: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        parts += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*parts[:-1])


def _init(net: nn.Module, generator: torch.Generator) -> None:
    """torch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from the run's generator
    instead of the global one, so two runs never share or disturb each other's randomness."""
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)


@dataclasses.dataclass(frozen=True)
class Settings:
    """One run's settings. k: D steps per G step; batch 150 is GAN Lab's default. The networks (2 hidden layers of
    32) and learning rates (0.003) are not GAN Lab's (1 x 8 at 0.01), which covered 0-1 of the ring's 8 modes after
    6,000 iterations (~10 s of play) on seeds 0-2; these cover 8 of 8 by iteration 2,000 on seed 0, the tab's, and
    by 6,000 on 4 of seeds 0-5 (the other two: 7 and 6) (benchmarks/gan_modes.py, issue 27). smoothing:
    one-sided label smoothing of the real target; gp_lambda: WGAN-GP's penalty weight; points: the drawn data when
    dataset is "drawn"."""
    dataset: str = "ring"
    loss: str = "nonsaturating"
    k: int = 1
    lr_d: float = 0.003
    lr_g: float = 0.003
    optimizer: str = "adam"
    batch: int = 150
    smoothing: float = 0.0
    gp_lambda: float = 10.0
    g_layers: int = 2
    g_neurons: int = 32
    d_layers: int = 2
    d_neurons: int = 32
    seed: int = 0
    points: tuple | None = None

    def checked(self) -> Settings:
        """These settings with every field checked and converted (a whole-number float becomes an int), or a
        ValueError that names the field."""
        dataset = as_choice(self.dataset, "dataset", (*DATASETS, DRAWN))
        points = None
        if dataset == DRAWN:
            if self.points is None:
                raise ValueError("The drawn dataset needs points: draw at least 2.")
            points = tuple(map(tuple, check_points(self.points).tolist()))
        return dataclasses.replace(
            self, dataset=dataset, points=points,
            loss=as_choice(self.loss, "loss", losses.LOSSES),
            k=as_int(self.k, "k", 1, MAX_K),
            lr_d=as_float(self.lr_d, "lr_d", 0.0, 10.0, lo_inclusive=False),
            lr_g=as_float(self.lr_g, "lr_g", 0.0, 10.0, lo_inclusive=False),
            optimizer=as_choice(self.optimizer, "optimizer", OPTIMIZERS),
            batch=as_int(self.batch, "batch", 1, MAX_BATCH),
            smoothing=as_float(self.smoothing, "smoothing", 0.0, 0.5),
            gp_lambda=as_float(self.gp_lambda, "gp_lambda", 0.0, 1000.0),
            g_layers=as_int(self.g_layers, "g_layers", 0, MAX_LAYERS),
            g_neurons=as_int(self.g_neurons, "g_neurons", 1, MAX_NEURONS),
            d_layers=as_int(self.d_layers, "d_layers", 0, MAX_LAYERS),
            d_neurons=as_int(self.d_neurons, "d_neurons", 1, MAX_NEURONS),
            seed=as_int(self.seed, "seed", 0, 2 ** 31 - 1))


def _optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    # foreach: one fused kernel per update over all of a network's tensors; torch picks it on GPUs only, and on
    # these tiny networks the per-tensor loop's Python overhead is most of a step.
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), foreach=True)  # beta1 0.5: usual for GANs
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, foreach=True)


class Run(GanRun):
    """One GAN being trained: G, D, their optimisers, the run's generator, counters and the logged history.

    `iteration` counts calls of `step`; `d_updates` and `g_updates` count optimiser steps. `history` holds one
    entry per logged iteration (the first, then every `log_every`, which doubles whenever MAX_HISTORY rows are
    reached and every other row is dropped): D and G loss, mean D(real) and D(fake) as
    `losses.probability` reads them, and KL and JS on fixed samples. When a loss or a weight stops being finite,
    `diverged` says so in one line and `step` no longer changes anything."""

    FIELDS = ("iteration", "d_loss", "g_loss", "d_real", "d_fake", "kl", "js")

    def __init__(self, settings: Settings = Settings(), log_every: int = 10):
        self.settings = s = settings.checked()
        self.log_every = as_int(log_every, "log_every", 1, MAX_STEPS)
        self.rng = torch.Generator().manual_seed(s.seed)
        self.g = mlp(2, 2, s.g_layers, s.g_neurons)
        self.d = mlp(2, 1, s.d_layers, s.d_neurons)
        _init(self.g, self.rng)
        _init(self.d, self.rng)
        self.opt_g = _optimizer(s.optimizer, self.g.parameters(), s.lr_g)
        self.opt_d = _optimizer(s.optimizer, self.d.parameters(), s.lr_d)
        self._points = check_points(s.points) if s.dataset == DRAWN else None
        # Fixed samples for the metrics and the view, from their own generator: the picture and the KL/JS curve
        # then move only because G moves, and drawing them does not change the training's random stream.
        fixed = torch.Generator().manual_seed(s.seed + 1)
        self.metric_real, self.metric_z = self.real(METRIC_POINTS, fixed), normal(METRIC_POINTS, fixed)
        self.view_real, self.view_z = self.real(VIEW_POINTS, fixed), normal(VIEW_POINTS, fixed)
        self.step_count = self.d_updates = self.g_updates = 0
        self.counted_from = 0   # the iteration D's and G's updates were counted from (see load)
        self.diverged: str | None = None
        self.history: dict[str, list[float]] = {name: [] for name in self.FIELDS}
        self._last = {"d_loss": math.nan, "g_loss": math.nan, "d_real": math.nan, "d_fake": math.nan}

    def real(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        generator = generator or self.rng
        if self._points is not None:
            return from_points(self._points, n, generator)
        return sample(self.settings.dataset, n, generator)

    def _finite(self, net: nn.Module) -> bool:
        # One fused norm over every weight instead of a check per tensor: NaN or inf anywhere makes it non-finite
        # (so do weights past ~1e19, whose squares overflow float32: diverged by any measure).
        return bool(torch.nn.utils.get_total_norm(list(net.parameters())).isfinite())

    def _d_step(self) -> None:
        s = self.settings
        real = self.real(s.batch)
        with torch.no_grad():
            fake = self.g(normal(s.batch, self.rng))
        logits = self.d(torch.cat([real, fake]))   # one forward pass for both halves
        real_logits, fake_logits = logits[:s.batch], logits[s.batch:]
        loss = losses.d_loss(s.loss, real_logits, fake_logits, s.smoothing)
        if s.loss == "wgan-gp":
            loss = loss + s.gp_lambda * losses.gradient_penalty(self.d, real, fake, self.rng)
        with torch.no_grad():
            stats = torch.stack([loss, losses.probability(s.loss, real_logits).mean(),
                                 losses.probability(s.loss, fake_logits).mean()]).tolist()
        if self._stop_if_bad(stats[0], "D's loss") or self._stop_if_bad(stats[1] + stats[2], "D's output"):
            return
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.d_updates += 1
        self._last.update(d_loss=stats[0], d_real=stats[1], d_fake=stats[2])
        if not self._finite(self.d):
            self.diverged = f"D's weights became NaN or inf at iteration {self.step_count + 1}; lower lr_d."

    def _g_step(self) -> None:
        s = self.settings
        loss = losses.g_loss(s.loss, self.d(self.g(normal(s.batch, self.rng))))
        value = loss.item()
        if self._stop_if_bad(value, "G's loss"):
            return
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()  # also fills D's gradients, which D's next step discards (zero_grad) before its own
        self.opt_g.step()
        self.g_updates += 1
        self._last["g_loss"] = value
        if not self._finite(self.g):
            self.diverged = f"G's weights became NaN or inf at iteration {self.step_count + 1}; lower lr_g."

    def _stop_if_bad(self, value: float, what: str) -> bool:
        if math.isfinite(value):
            return False
        self.diverged = (f"{what} became {'NaN' if math.isnan(value) else 'infinite'} at iteration "
                         f"{self.step_count + 1}; lower the learning rates.")
        return True

    def step(self, which: str = "both") -> dict[str, float]:
        """One iteration: "both" is k D steps then one G step, "d" one D step, "g" one G step. Returns the latest
        D and G loss and mean D(real) and D(fake) (NaN for what has not been measured yet), and KL and JS when
        this iteration is logged. Does nothing once the run has diverged."""
        which = as_choice(which, "which", ("both", "d", "g"))
        if self.diverged:
            return dict(self._last)
        for _ in range({"both": self.settings.k, "d": 1, "g": 0}[which]):
            self._d_step()
            if self.diverged:
                return dict(self._last)
        if which != "d":
            self._g_step()
            if self.diverged:
                return dict(self._last)
        self.step_count += 1
        stats = dict(self._last)
        if self.step_count == 1 or self.step_count % self.log_every == 0:
            stats["kl"], stats["js"] = self.kl_js()
            for name in self.FIELDS:
                self.history[name].append(self.step_count if name == "iteration" else stats[name])
            if len(self.history["iteration"]) > MAX_HISTORY:
                # A long run logs half as often and keeps the rows it would have logged so (the first, then every
                # new log_every): the history stays evenly spaced and bounded (a run may train for hours of plays).
                self.log_every *= 2
                keep = [i for i, it in enumerate(self.history["iteration"]) if it == 1 or it % self.log_every == 0]
                self.history = {name: [values[i] for i in keep] for name, values in self.history.items()}
        return stats

    def kl_js(self) -> tuple[float, float]:
        """KL(p_real || p_fake) and JS on the run's fixed samples."""
        with torch.no_grad():
            fake = self.g(self.metric_z)
        return densities_kl_js(self.metric_real.numpy(), fake.numpy())


@dataclasses.dataclass(frozen=True)
class View:
    """What the 2-D plot draws. real, fake: [n, 2] points; grid: the heatmap's coordinates (resolution values
    over [-BOX, BOX]) and heat [resolution, resolution] D's output there (rows are y); arrows [n, 2]: the direction
    each fake point moves, minus the gradient of G's loss at it; manifold [lines, points, 2]: G's image of the
    lines of a noise grid."""
    real: np.ndarray
    fake: np.ndarray
    grid: np.ndarray
    heat: np.ndarray
    arrows: np.ndarray
    manifold: np.ndarray


def view(run: Run, resolution: int = 40) -> View:
    """The arrays of the run's current picture, on its fixed view samples."""
    resolution = as_int(resolution, "resolution", 2, 200)
    kind = run.settings.loss
    axis = torch.linspace(-BOX, BOX, resolution)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    line = torch.linspace(-MANIFOLD_Z, MANIFOLD_Z, MANIFOLD_POINTS)
    levels = torch.linspace(-MANIFOLD_Z, MANIFOLD_Z, MANIFOLD_LINES)
    across = torch.stack([line.expand(MANIFOLD_LINES, -1), levels[:, None].expand(-1, MANIFOLD_POINTS)], -1)
    noise_lines = torch.cat([across, across.flip(-1)])   # lines of constant z2, then of constant z1
    with torch.no_grad():
        fake = run.g(run.view_z)
        heat = losses.probability(kind, run.d(torch.stack([xs, ys], -1).reshape(-1, 2))).reshape(xs.shape)
        manifold = run.g(noise_lines.reshape(-1, 2)).reshape(noise_lines.shape)
    points = fake.clone().requires_grad_(True)
    grad, = torch.autograd.grad(losses.g_loss(kind, run.d(points)), points)
    as_np = lambda t: t.detach().numpy().astype(np.float64)  # noqa: E731
    return View(as_np(run.view_real), as_np(fake), as_np(axis), as_np(heat), as_np(-grad), as_np(manifold))


def frame(run: Run, resolution: int = 40) -> dict:
    """What a picture of the run needs as it plays, small enough to send 16 times a second from a worker process
    (core.workers): its iteration ("step"), D's and G's updates, its loss, why it diverged (or None), its view (None
    once it diverged: its weights are NaN) and the latest logged losses and outputs that are finite."""
    h = run.history
    return {"step": run.step_count, "d_updates": run.d_updates, "g_updates": run.g_updates,
            "counted_from": run.counted_from, "loss": run.settings.loss, "diverged": run.diverged,
            "view": None if run.diverged else view(run, resolution),
            "latest": {k: h[k][-1] for k in LATEST if h[k] and math.isfinite(h[k][-1])}}


def real_view(run: Run) -> View:
    """The real points alone (no fakes, arrows or manifold, D's heatmap a flat ½): the picture of a run that
    diverged before any view of it with finite numbers was drawn."""
    empty = np.zeros((0, 2))
    return View(run.view_real.numpy().astype(np.float64), empty, np.linspace(-BOX, BOX, 2), np.full((2, 2), 0.5),
                empty, np.zeros((0, 2, 2)))


def densities_kl_js(real, fake, bins: int = HIST_BINS, box: float = BOX) -> tuple[float, float]:
    """KL(p_real || p_fake) and the Jensen-Shannon divergence, in nats, between the two samples' histograms on a
    bins x bins grid over [-box, box]^2. Points outside the box count in the edge bins (a fake that flew away is
    still a wrong fake). HIST_EPS (1e-6) is added to every bin's probability before renormalising, so KL stays
    finite where the fakes leave a bin empty; JS is at most log 2 (disjoint samples) and 0 for equal histograms."""
    bins = as_int(bins, "bins", 1, 500)
    box = as_float(box, "box", 0.0, lo_inclusive=False)
    p, q = (_histogram(np.asarray(a, dtype=np.float64), bins, box) for a in (real, fake))
    m = 0.5 * (p + q)
    kl = float(np.sum(p * np.log(p / q)))
    js = float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))
    return kl, min(js, math.log(2))


def _histogram(points: np.ndarray, bins: int, box: float) -> np.ndarray:
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError("Each sample must be a non-empty list of [x, y] points.")
    if not np.isfinite(points).all():
        raise ValueError("The samples have NaN or inf points; KL and JS need finite ones.")
    edge = box * (1 - 1e-9)  # inside the last bin, which np.histogram2d closes on the right
    clipped = np.clip(points, -edge, edge)
    counts, _, _ = np.histogram2d(clipped[:, 0], clipped[:, 1], bins=bins, range=[[-box, box], [-box, box]])
    p = counts / counts.sum() + HIST_EPS
    return p / p.sum()


# ---------------------------------------------------------------- the D* playground


def _gaussians(mu_data, sd_data, mu_g, sd_g) -> tuple[float, float, float, float]:
    return (as_float(mu_data, "mu_data", -1e6, 1e6), as_float(sd_data, "sd_data", 0.0, 1e6, lo_inclusive=False),
            as_float(mu_g, "mu_g", -1e6, 1e6), as_float(sd_g, "sd_g", 0.0, 1e6, lo_inclusive=False))


def _lognormal(x: np.ndarray, mu: float, sd: float) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)


def d_star(x, mu_data, sd_data, mu_g, sd_g) -> np.ndarray:
    """The optimal discriminator for fixed G, D*(x) = p_data(x) / (p_data(x) + p_g(x)), for two 1-D Gaussians.
    Computed from log densities (a sigmoid of their difference), so it stays exact far in the tails where both
    densities underflow to 0."""
    mu_data, sd_data, mu_g, sd_g = _gaussians(mu_data, sd_data, mu_g, sd_g)
    try:
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError, OverflowError):
        raise ValueError("x must be a number or a list of numbers.") from None
    if x.ndim != 1 or len(x) > MAX_POINTS or not np.isfinite(x).all():
        raise ValueError(f"x must be a list of at most {MAX_POINTS:,} finite numbers.")
    diff = _lognormal(x, mu_data, sd_data) - _lognormal(x, mu_g, sd_g)
    return np.exp(-np.logaddexp(0.0, -diff))  # sigmoid(diff), without exp's overflow or 1 + tanh's cancellation


def d_star_curves(mu_data, sd_data, mu_g, sd_g, n: int = 201) -> tuple[np.ndarray, ...]:
    """What the D* playground draws: x (n points reaching 4 standard deviations past both means), the two
    densities p_data(x) and p_g(x), and D*(x)."""
    mu_data, sd_data, mu_g, sd_g = _gaussians(mu_data, sd_data, mu_g, sd_g)
    n = as_int(n, "n", 2, MAX_POINTS)
    x = np.linspace(min(mu_data - 4 * sd_data, mu_g - 4 * sd_g), max(mu_data + 4 * sd_data, mu_g + 4 * sd_g), n)
    return (x, np.exp(_lognormal(x, mu_data, sd_data)), np.exp(_lognormal(x, mu_g, sd_g)),
            d_star(x, mu_data, sd_data, mu_g, sd_g))


def game_value(mu_data, sd_data, mu_g, sd_g, points: int = 20_001) -> float:
    """The value of the game at D*, E_data[log D*] + E_g[log(1 - D*)] = 2 JSD(p_data, p_g) - 2 log 2, in nats,
    integrated with the trapezoid rule on a grid reaching 12 standard deviations past both means; -2 log 2
    exactly when p_g = p_data, and at most 0 (disjoint densities)."""
    mu_data, sd_data, mu_g, sd_g = _gaussians(mu_data, sd_data, mu_g, sd_g)
    lo = min(mu_data - 12 * sd_data, mu_g - 12 * sd_g)
    hi = max(mu_data + 12 * sd_data, mu_g + 12 * sd_g)
    x = np.linspace(lo, hi, points)
    log_p, log_q = _lognormal(x, mu_data, sd_data), _lognormal(x, mu_g, sd_g)
    log_mix = np.logaddexp(log_p, log_q)
    integrand = np.exp(log_p) * (log_p - log_mix) + np.exp(log_q) * (log_q - log_mix)
    return float(min(np.trapezoid(integrand, x), 0.0))


# ---------------------------------------------------------------- saving and headless training


def save(run: Run) -> bytes:
    """The run as safetensors: G's and D's weights ("g.*", "d.*") and, in the metadata, its settings as JSON, its
    iteration, and D's and G's updates with the iteration they were counted from. Optimiser state is left out: a
    loaded run continues with fresh optimisers."""
    tensors = {f"g.{k}": v.contiguous() for k, v in run.g.state_dict().items()}
    tensors |= {f"d.{k}": v.contiguous() for k, v in run.d.state_dict().items()}
    settings = dataclasses.asdict(run.settings)
    return save_tensors(tensors, metadata={"settings": json.dumps(settings), "iteration": str(run.step_count),
                                           **{k: str(getattr(run, k)) for k in COUNTS}})


def saved(run: Run) -> tuple[bytes, str]:
    """`save`'s bytes and a file name for them (the dataset, the iteration and a hash of the bytes), or a
    ValueError when the run diverged (its weights are NaN: nothing worth saving)."""
    if run.diverged:
        raise ValueError(f"This run diverged, so its weights are NaN: {run.diverged} Reset to start again.")
    data = save(run)
    return data, f"gan-{run.settings.dataset}-{run.step_count}-{hashlib.sha1(data).hexdigest()[:8]}.safetensors"


def load(data: bytes) -> Run:
    """A Run from `save`'s bytes, or a ValueError that says what is wrong with them. Weights only: nothing in the
    data is executed or unpickled. A file saved without D's and G's updates (before they were saved) counts them
    from its iteration: `counted_from` says so, rather than claiming none were made."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValueError("A saved run must be the bytes of a .safetensors file.")
    if len(data) > MAX_MODEL_BYTES:
        raise ValueError(f"The saved run is {len(data):,} bytes; the limit is {MAX_MODEL_BYTES:,}.")
    try:
        tensors = load_tensors(bytes(data))
        metadata = _metadata(bytes(data))
        settings = json.loads(metadata["settings"])
        iteration = int(metadata["iteration"])
        counts = {k: int(metadata[k]) for k in COUNTS if k in metadata}
    except (SafetensorError, ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        raise ValueError("This is not a saved GAN run: the file is not safetensors with the run's settings and "
                         "iteration.") from None
    if not isinstance(settings, dict) or set(settings) - {f.name for f in dataclasses.fields(Settings)}:
        raise ValueError("The saved run's settings are not a GAN run's settings.")
    if settings.get("points") is not None:
        settings["points"] = tuple(map(tuple, settings["points"]))
    run = Run(Settings(**settings))
    for prefix, net in (("g.", run.g), ("d.", run.d)):
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            net.load_state_dict(state)
        except RuntimeError:
            raise ValueError(f"The saved run's {prefix[0].upper()} weights do not match its settings' network "
                             "sizes.") from None
    if not (run._finite(run.g) and run._finite(run.d)):
        raise ValueError("The saved run's weights have NaN or inf values.")
    run.step_count = as_int(iteration, "the saved iteration", 0, 10 ** 9)
    if set(counts) != set(COUNTS):
        counts = {"d_updates": 0, "g_updates": 0, "counted_from": run.step_count}
    for name, value in counts.items():
        setattr(run, name, as_int(value, f"the saved {name}", 0, MAX_K * 10 ** 9))
    if run.counted_from > run.step_count:
        raise ValueError("The saved run's counts are from after its iteration.")
    return run


def _metadata(data: bytes) -> dict:
    """The metadata of safetensors bytes: an 8-byte little-endian header length, then the JSON header."""
    size, = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + size])["__metadata__"]


def train(settings: Settings, steps: int, log_every: int = 10, seconds: float | None = None) -> Run:
    """A run trained headless for `steps` iterations (1 to MAX_STEPS), or until it diverges, or until `seconds` of
    wall time have passed (the API's bound on one call: 20,000 iterations of the largest networks would take
    hours); deterministic for a given seed when it is not cut short."""
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    run = Run(settings, log_every)
    deadline = None if seconds is None else time.monotonic() + as_float(seconds, "seconds", 0.0, lo_inclusive=False)
    for _ in range(steps):
        run.step()
        if run.diverged or (deadline is not None and time.monotonic() > deadline):
            break
    return run


# ---------------------------------------------------------------- warm starts

WARM_STARTS = ASSETS / "gan2d"   # written by `python -m core.train gan2d`; listed in assets/manifest.json


def warm_start(dataset: str) -> Run:
    """The bundled run trained ahead of time on a built-in dataset (`python -m core.train gan2d`), as GAN Lab's
    pretrained start: settings, weights and iteration from assets/gan2d/<dataset>.safetensors, fresh optimisers
    and an empty history. The file is checked against the manifest's sha256 before it is read; a ValueError says
    what is wrong (no such dataset, drawn points, a missing or altered file)."""
    if isinstance(dataset, str) and dataset == DRAWN:
        raise ValueError("There is no warm start for drawn points: draw your data, press “Use the drawing”, then "
                         "play to train on it from scratch.")
    dataset = as_choice(dataset, "dataset", DATASETS)
    path = WARM_STARTS / f"{dataset}.safetensors"
    try:
        # The folder's manifest is the assets' own (assets/manifest.json, keys "gan2d/<dataset>.safetensors").
        checkpoints.verify(path, root=WARM_STARTS.parent)
        data = path.read_bytes()
    except (checkpoints.CheckpointError, OSError) as e:
        raise ValueError(f"The {dataset} warm start cannot be loaded: {e}") from None
    run = load(data)
    if run.settings.dataset != dataset:
        raise ValueError(f"The {dataset} warm start was trained on {run.settings.dataset}; retrain it with "
                         "`python -m core.train gan2d`.")
    return run
