"""The GAN tab's image mode: a Fashion-MNIST DCGAN trained live, one run per visitor.

A run (`ImageRun`) holds its own fresh G and D (DCGAN's initialisation, or the bundled `dcgan` / `dcgan_d` when
warm-started), their Adam optimisers, a seeded torch.Generator for every random draw, a fixed z batch for the sample
grid, the iteration counter, a history of the losses and D's outputs per step, and a bounded list of snapshots of
the grid. Read-outs (the grid, the mode-collapse meter, fid_cnn, the latent walk) put G in eval mode, so they never
move its BatchNorm statistics and never draw from the training generator: reading a run does not change it.

Memory of one run, 10 to 20 MB: G (0.77 M parameters) and D (0.14 M) with their gradients and two Adam moments
(at most 15 MB; a new run measured 10 MB of RSS after its first step at batch 64), at most SNAPSHOTS uint8 grids
of 64 images (3 MB), and the history (~0.5 kB a step). The training images (uint8, 47 MB) and the reference
features are shared by every run of the process, read-only.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import checkpoints, models, render
from core.data import ASSETS, load_split
from core.device import device
from core.gan import losses
from core.gan.runs import GanRun
from core.metrics import cnn_features, frechet_distance, predict
from core.models.gan import Z_DIM, Discriminator, Generator
from core.validate import as_bool, as_choice, as_float, as_int, as_vector

MAX_STEPS = 500          # train()'s cap (the issue's): at batch 64 on a 2-core CPU, a few minutes at most
MAX_K = 10
MAX_BATCH = 256
GRID_SIZE = 64           # the fixed-z sample grid, 8 x 8
SNAPSHOTS = 60           # at most this many grids are kept for the history scrubber
SNAPSHOT_EVERY = 5       # steps between snapshots at first (it doubles at each thinning): a G forward each
METER_EVERY = 50         # steps between the collapse meter and fid_cnn in the history
METER_SAMPLES = 256      # samples the meters read: enough for a stable histogram, cheap next to 50 steps
MAX_SAMPLES = 2000
REFERENCES = 2000        # real test images fid_cnn compares with
MAX_WALK = 32
BETAS = (0.5, 0.999)     # DCGAN's Adam, as core/train/gan.py trained the bundled dcgan
METER_SEED_OFFSET = 1    # the meters' z come from seed + 1, never from the training generator


@dataclass(frozen=True)
class Settings:
    """One run's settings; the defaults are how the bundled dcgan was trained (real label 0.9 = smoothing 0.1)."""
    loss: str = "nonsaturating"
    k: int = 1                  # D steps per G step
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    batch: int = 64
    smoothing: float = 0.1      # one-sided: the real target is 1 - smoothing
    gp_lambda: float = 10.0     # WGAN-GP's penalty weight; unused by the other losses
    warm_start: bool = False    # start from the bundled dcgan and dcgan_d
    seed: int = 0

    def checked(self) -> Settings:
        """The same settings with every field checked and converted; a ValueError names the field at fault."""
        return Settings(
            loss=as_choice(self.loss, "loss", losses.LOSSES),
            k=as_int(self.k, "k (D steps per G step)", 1, MAX_K),
            lr_d=_learning_rate(self.lr_d, "lr_d (D's learning rate)"),
            lr_g=_learning_rate(self.lr_g, "lr_g (G's learning rate)"),
            # BatchNorm needs at least two samples to normalise a batch.
            batch=as_int(self.batch, "batch", 2, MAX_BATCH),
            smoothing=as_float(self.smoothing, "smoothing", 0.0, 0.5),
            gp_lambda=as_float(self.gp_lambda, "gp_lambda", 0.0, 100.0),
            warm_start=as_bool(self.warm_start, "warm_start"),
            seed=as_int(self.seed, "seed", 0, 2**31 - 1))


def _learning_rate(value, name: str) -> float:
    return as_float(value, name, 0.0, 1.0, lo_inclusive=False)


@functools.lru_cache(maxsize=1)
def real_images() -> torch.Tensor:
    """The Fashion-MNIST training images, uint8 [N, 28, 28], shared read-only by every run of the process. Kept
    as bytes (47 MB instead of 188 MB of floats); a batch is scaled to [-1, 1], G's tanh range, when drawn."""
    return torch.from_numpy(load_split("train", allow_download=False).images)


@functools.lru_cache(maxsize=1)
def reference_features() -> torch.Tensor:
    """The bundled CNN's features of the first REFERENCES real test images, computed once per process."""
    test = torch.from_numpy(load_split("test", allow_download=False).images[:REFERENCES])
    return cnn_features(models.load("cnn"), test.unsqueeze(1).float() / 255)


def _bundled(name: str) -> nn.Module:
    """A private, trainable copy of a bundled model (models.load's copy is shared and frozen)."""
    spec = models.MODELS[name]
    return checkpoints.load_into(spec.build(), ASSETS / spec.weights).train()


def _dcgan_init(module: nn.Module, gen: torch.Generator) -> None:
    """DCGAN's initialisation (core.models.gan.init_weights), drawn from the run's generator: init_weights
    draws from torch's global one, which concurrent runs share, so its result would depend on timing."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02, generator=gen)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=gen)
            nn.init.zeros_(m.bias)


def _finite(module: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


@contextlib.contextmanager
def _evaluating(g: nn.Module):
    """G in eval mode under no_grad (BatchNorm uses its running statistics and leaves them alone), then back."""
    was_training = g.training
    g.eval()
    try:
        with torch.no_grad():
            yield g
    finally:
        g.train(was_training)


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    """G's [-1, 1] output as images in [0, 1], the range the bundled CNN reads."""
    return ((x + 1) / 2).clamp(0, 1)


def _bytes(unit: torch.Tensor) -> torch.Tensor:
    return (unit * 255).round().to(torch.uint8)


class ImageRun(GanRun):
    """One visitor's DCGAN run. `step()` trains it; `samples`, `collapse`, `fid` and `latent_walk` read it.

    Attributes read by the tab: `step_count` (the iteration counter: one per step() call), `history` (one dict
    per step: step, loss_d, loss_g, d_real, d_fake, and every METER_EVERY steps histogram, entropy and fid),
    `snapshots` ((step, uint8 [64, 28, 28]) pairs, evenly spaced, at most SNAPSHOTS) and `diverged` (None, or a
    one-line reason; a diverged run no longer changes).
    """

    def __init__(self, settings: Settings = Settings()):
        self.settings = s = settings.checked()
        self.device = device()
        self.gen = torch.Generator().manual_seed(s.seed)
        if s.warm_start:
            self.g, self.d = _bundled("dcgan"), _bundled("dcgan_d")
        else:
            self.g, self.d = Generator(), Discriminator()
            _dcgan_init(self.g, self.gen)
            _dcgan_init(self.d, self.gen)
        self.g.to(self.device).train()
        self.d.to(self.device).train()
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=s.lr_g, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=s.lr_d, betas=BETAS)
        self.fixed_z = torch.randn(GRID_SIZE, Z_DIM, generator=self.gen)
        self.step_count = 0
        self.history: list[dict] = []
        self.snapshots: list[tuple[int, torch.Tensor]] = []
        self.snapshot_every = SNAPSHOT_EVERY
        self.diverged: str | None = None
        # One visitor's events (play, a click on "step D") may overlap; they take turns on the run.
        self.lock = threading.RLock()
        self._snapshot()

    # ------------------------------------------------------------ training

    def _real(self) -> torch.Tensor:
        images = real_images()
        idx = torch.randint(len(images), (self.settings.batch,), generator=self.gen)
        return (images[idx].unsqueeze(1).float() / 127.5 - 1).to(self.device)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, Z_DIM, generator=self.gen).to(self.device)

    def _update(self, opt: torch.optim.Optimizer, loss: torch.Tensor, what: str) -> bool:
        """Apply one update, unless the loss is NaN or inf: then mark the run diverged and change nothing."""
        if not torch.isfinite(loss):
            self.diverged = f"{what} became {loss.item()} at step {self.step_count + 1}; the run is stopped."
            return False
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return True

    def _d_step(self) -> tuple[dict, torch.Tensor] | None:
        """One update of D on a fresh real batch and fresh fakes. Returns its row and the fakes, still attached to
        G's graph, so that the G step right after reuses them: one G forward per iteration, as in DCGAN."""
        s = self.settings
        real, fake = self._real(), self.g(self._noise(s.batch))
        real_logits, fake_logits = self.d(real), self.d(fake.detach())
        loss = losses.d_loss(s.loss, real_logits, fake_logits, s.smoothing)
        if s.loss == "wgan-gp":
            loss = loss + s.gp_lambda * losses.gradient_penalty(self.d, real, fake, self.gen)
        if not self._update(self.opt_d, loss, "D's loss"):
            return None
        real_logits, fake_logits = real_logits.detach(), fake_logits.detach()
        return {"loss_d": loss.item(), "loss_g": losses.g_loss(s.loss, fake_logits).item(),
                "d_real": losses.probability(s.loss, real_logits).mean().item(),
                "d_fake": losses.probability(s.loss, fake_logits).mean().item()}, fake

    def _g_step(self, fake: torch.Tensor | None = None, row: dict | None = None) -> dict | None:
        """One update of G. After a D step it takes that step's fakes and row; alone it draws fakes and reads D
        on a real batch (D's parameters untouched), so its row still shows both players."""
        s = self.settings
        if fake is None:
            fake = self.g(self._noise(s.batch))
        fake_logits = self.d(fake)
        loss = losses.g_loss(s.loss, fake_logits)
        if row is None:
            with torch.no_grad():
                real_logits = self.d(self._real())
            seen = fake_logits.detach()
            row = {"loss_d": losses.d_loss(s.loss, real_logits, seen, s.smoothing).item(),
                   "d_real": losses.probability(s.loss, real_logits).mean().item(),
                   "d_fake": losses.probability(s.loss, seen).mean().item()}
        if not self._update(self.opt_g, loss, "G's loss"):
            return None
        return {**row, "loss_g": loss.item()}

    def step(self, which: str = "both") -> dict | None:
        """One iteration: "both" is k D steps then one G step; "d" or "g" updates that network only. Returns the
        history row it adds, or None when the run has diverged (then nothing changes). In "both" the row holds
        the last D step's D loss and mean outputs, and G's loss from its own step."""
        which = as_choice(which, "which", ("both", "d", "g"))
        with self.lock:
            if self.diverged:
                return None
            row = fake = None
            if which in ("both", "d"):
                for _ in range(self.settings.k if which == "both" else 1):
                    if (done := self._d_step()) is None:
                        return None
                    row, fake = done
            if which in ("both", "g") and (row := self._g_step(fake, row)) is None:
                return None
            self.step_count += 1
            for name, net in (("G", self.g), ("D", self.d)):
                if not _finite(net):
                    self.diverged = f"{name}'s weights became NaN or inf at step {self.step_count}; the run is stopped."
            row = {"step": self.step_count, **row}
            if self.step_count % METER_EVERY == 0 and not self.diverged:
                row.update(self._meters())
            self.history.append(row)
            if self.step_count % self.snapshot_every == 0 and not self.diverged:
                self._snapshot()
            return row

    def _meters(self) -> dict:
        """The history's periodic read-outs, from one batch of METER_SAMPLES samples."""
        x = self.generate(METER_SAMPLES)
        counts, entropy = _histogram(predict(models.load("cnn"), x).argmax(1))
        fid_cnn = frechet_distance(cnn_features(models.load("cnn"), x), reference_features())
        return {"histogram": counts.tolist(), "entropy": entropy, "fid": fid_cnn}

    def _snapshot(self) -> None:
        """Keep the grid at this step. Past SNAPSHOTS, every other one is dropped and the spacing doubles, so the
        scrubber always covers the whole run with evenly spaced steps."""
        with _evaluating(self.g) as g:
            x = _to_unit(g(self.fixed_z.to(self.device))).squeeze(1).cpu()
        self.snapshots.append((self.step_count, _bytes(x)))
        if len(self.snapshots) > SNAPSHOTS:
            self.snapshots = self.snapshots[::2]
            self.snapshot_every *= 2

    def generate(self, n: int) -> torch.Tensor:
        """n samples in [0, 1], [n, 1, 28, 28], from z drawn with seed + 1: the same z at every call, so the
        meters follow G alone, and the training generator is left untouched."""
        z = torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(self.settings.seed + METER_SEED_OFFSET))
        with self.lock, _evaluating(self.g) as g:
            return _to_unit(g(z.to(self.device))).cpu()


def grid_image(images: torch.Tensor) -> Image.Image:
    """uint8 images [n, 28, 28] as an 8-column sheet of 56-pixel tiles (pixel values as they are: no
    min-max stretch, so a grey G looks grey)."""
    return render.grid([Image.fromarray(im) for im in images.numpy()], columns=8, cell=56)


def samples(run: ImageRun) -> Image.Image:
    """The current fixed-z grid (8 x 8); the latest snapshot when it was taken at this step."""
    step, images = run.snapshots[-1]
    if step != run.step_count:
        with run.lock, _evaluating(run.g) as g:
            images = _bytes(_to_unit(g(run.fixed_z.to(run.device))).squeeze(1).cpu())
    return grid_image(images)


def snapshot_image(run: ImageRun, i: int) -> tuple[int, Image.Image]:
    """The history scrubber's picture i (0 = the oldest kept) and the step it shows."""
    i = as_int(i, "snapshot", 0, len(run.snapshots) - 1)
    step, images = run.snapshots[i]
    return step, grid_image(images)


def collapse(run: ImageRun, n: int = METER_SAMPLES) -> tuple[np.ndarray, float]:
    """The mode-collapse meter: how the bundled CNN classifies n samples, as 10 counts, and the entropy of
    their shares in nats: log 10 ≈ 2.303 when every class is equally made, 0 when G makes one class only."""
    n = as_int(n, "n", 1, MAX_SAMPLES)
    return _histogram(predict(models.load("cnn"), run.generate(n)).argmax(1))


def _histogram(classes: torch.Tensor) -> tuple[np.ndarray, float]:
    counts = np.bincount(classes.numpy(), minlength=10)
    p = counts[counts > 0] / len(classes)
    return counts, float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: one class gives -0.0


def fid(run: ImageRun, n: int = METER_SAMPLES) -> float:
    """fid_cnn of n samples against REFERENCES real test images (the CNN's feature space, not Inception's).
    The covariance of 128-d features needs a few hundred samples to mean much; fewer than 64 are refused."""
    n = as_int(n, "n", 64, MAX_SAMPLES)
    return frechet_distance(cnn_features(models.load("cnn"), run.generate(n)), reference_features())


def latent_walk(run: ImageRun, z_a, z_b, steps: int = 10) -> np.ndarray:
    """G's images along the straight line from z_a to z_b (both 100 numbers), [steps, 28, 28] in [0, 1],
    float64; the first and last frames are exactly G(z_a) and G(z_b) in eval mode."""
    z_a, z_b = (as_vector(z, name, Z_DIM) for z, name in ((z_a, "z_a"), (z_b, "z_b")))
    for z, name in ((z_a, "z_a"), (z_b, "z_b")):
        if len(z) != Z_DIM:
            raise ValueError(f"{name} must have {Z_DIM} numbers, one per latent dimension, not {len(z)}.")
    steps = as_int(steps, "steps", 2, MAX_WALK)
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    a, b = torch.from_numpy(z_a), torch.from_numpy(z_b)
    path = ((1 - t) * a + t * b).float()
    path[0], path[-1] = a.float(), b.float()  # exact endpoints, not (1 - 1) * a + 1 * b with its round-off
    with run.lock, _evaluating(run.g) as g:
        return _to_unit(g(path.to(run.device))).squeeze(1).cpu().double().numpy()


def walk_strip(run: ImageRun, seed: int, steps: int = 10) -> Image.Image:
    """The latent walk as one picture: latent_walk's `steps` frames side by side in 56-pixel tiles, from z_a to z_b,
    both drawn from `seed` by a generator of their own (float64), never from the run's."""
    seed = as_int(seed, "seed", 0, 2**63 - 1)
    z = torch.randn(2, Z_DIM, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    frames = latent_walk(run, z[0], z[1], steps)
    return render.grid([Image.fromarray((f * 255).round().astype(np.uint8)) for f in frames], columns=len(frames),
                       cell=56)


def train(settings: Settings = Settings(), steps: int = 50, seconds: float | None = None) -> dict:
    """A headless run for the API: `steps` iterations (1 to MAX_STEPS), stopping early if it diverges or when
    `seconds` of wall time have passed (500 steps at k = 10 and batch 256 would take most of an hour here). The
    same settings (seed included) give the same result when it is not cut short. Returns the losses and D's
    outputs per step and `diverged` (None, or the reason); a run that did not diverge adds the final class
    histogram, its entropy, fid_cnn and the sample grid."""
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    run = ImageRun(settings)
    deadline = None if seconds is None else time.monotonic() + as_float(seconds, "seconds", 0.0, lo_inclusive=False)
    for _ in range(steps):
        if run.step() is None or (deadline is not None and time.monotonic() > deadline):
            break
    h = run.history
    result = {"steps": run.step_count, "losses_d": [r["loss_d"] for r in h], "losses_g": [r["loss_g"] for r in h],
              "d_real": [r["d_real"] for r in h], "d_fake": [r["d_fake"] for r in h], "diverged": run.diverged}
    if run.diverged:  # G may hold NaN: its samples, histogram and fid would be meaningless numbers
        return result
    counts, entropy = collapse(run)
    return {**result, "class_histogram": counts.tolist(), "entropy": entropy, "fid_cnn": fid(run),
            "grid": samples(run)}

