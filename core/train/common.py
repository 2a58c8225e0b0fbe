"""What every training run shares: data tensors, an EMA of the weights, resumable run state in safetensors
(never pickle, random-number state included), time-based checkpointing, and the record written to assets/MODELS.md."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from core.data import ASSETS, load_split

RUNS = Path(__file__).resolve().parents[2] / "runs"


def image_tensors(split: str, limit: int | None = None, scale: str = "unit") -> tuple[torch.Tensor, torch.Tensor, str]:
    """Fashion-MNIST as float tensors [N, 1, 28, 28] in [0, 1] ("unit") or [-1, 1] ("signed"), plus labels.

    `limit` takes `limit` evenly spaced images rather than the first ones: the bundled sample is stored
    class by class, and its first images would all be T-shirts."""
    data = load_split(split)
    images, labels = data.images, data.labels
    if limit is not None and limit < len(labels):
        limit = max(1, limit)
        idx = np.arange(limit) * len(labels) // limit  # evenly spaced, to the end of the set
        images, labels = images[idx], labels[idx]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    if scale == "signed":
        x = x * 2 - 1
    return x, torch.from_numpy(labels), data.source


class Batches:
    """Endless shuffled index batches over n items, reshuffled from `generator` when an epoch runs out.

    Its state (this epoch's permutation and the position in it) can go into the run state, so a run resumed
    mid-epoch draws the batches an uninterrupted one would have."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator):
        self.n, self.batch_size, self.generator = n, batch_size, generator
        self.perm, self.pos = None, 0

    def __iter__(self):
        return self

    def __next__(self) -> torch.Tensor:
        if self.perm is None or self.pos + self.batch_size > self.n:  # drawn lazily, at the epoch's first batch
            self.perm, self.pos = torch.randperm(self.n, generator=self.generator), 0
        self.pos += self.batch_size
        return self.perm[self.pos - self.batch_size:self.pos]

    def state(self) -> dict[str, torch.Tensor]:
        perm = self.perm if self.perm is not None else torch.empty(0, dtype=torch.long)
        return {"perm": perm, "pos": torch.tensor(self.pos)}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        if len(state["perm"]) not in (0, self.n):
            raise SystemExit(f"The run state shuffles {len(state['perm']):,} images but this run has {self.n:,}: "
                             "resume with the same --limit.")
        self.perm = state["perm"] if len(state["perm"]) else None
        self.pos = int(state["pos"])


class EMA:
    """Exponential moving average of a model's weights, with the usual warm-up so early steps count less."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for ema_v, v in zip(self.model.state_dict().values(), model.state_dict().values(), strict=True):
            if ema_v.is_floating_point():
                ema_v.mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                ema_v.copy_(v)


def save_run_state(path: Path, step: int, modules: dict[str, torch.nn.Module],
                   optimizers: dict[str, torch.optim.Optimizer], extra: dict | None = None,
                   generator: torch.Generator | None = None, order: Batches | None = None) -> None:
    """Everything needed to resume, as one safetensors file: weights, optimizer moments, the step count, the
    random state (the run's generator and torch's global one, which dropout and initialisation draw on) and,
    for runs that stop mid-epoch, where the data order stands."""
    tensors, meta = {"rng/torch": torch.get_rng_state()}, {"step": str(step), "extra": json.dumps(extra or {})}
    if torch.cuda.is_available():  # dropout on a GPU draws from the GPU's own generators
        tensors.update({f"rng/cuda/{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    if generator is not None:
        tensors["rng/generator"] = generator.get_state()
    if order is not None:
        tensors.update({f"batches/{k}": v for k, v in order.state().items()})
    for name, module in modules.items():
        tensors.update({f"{name}/{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        meta[f"{name}/param_groups"] = json.dumps(sd["param_groups"])
        for idx, state in sd["state"].items():
            for k, v in state.items():
                tensors[f"{name}/{idx}/{k}"] = torch.as_tensor(v).detach().cpu().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)  # atomic, so an interruption mid-write never leaves a broken checkpoint


def load_run_state(path: Path, modules: dict[str, torch.nn.Module],
                   optimizers: dict[str, torch.optim.Optimizer],
                   generator: torch.Generator | None = None, order: Batches | None = None) -> tuple[int, dict]:
    """Restore what save_run_state wrote, torch's global random state included; returns (step, extra)."""
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    for name, module in modules.items():
        prefix = f"{name}/"
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, opt in optimizers.items():
        state: dict[int, dict] = {}
        for k, v in tensors.items():
            parts = k.split("/")
            if parts[0] == name and len(parts) == 3:
                state.setdefault(int(parts[1]), {})[parts[2]] = v
        opt.load_state_dict({"state": state, "param_groups": json.loads(meta[f"{name}/param_groups"])})
    step = int(meta["step"])
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    cuda_keys = sorted((k for k in tensors if k.startswith("rng/cuda/")), key=lambda k: int(k.rsplit("/", 1)[1]))
    cuda_states = [tensors[k] for k in cuda_keys]
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    if generator is not None:
        if "rng/generator" in tensors:
            generator.set_state(tensors["rng/generator"])
        else:  # a state file from before the random state was saved: a fresh, reproducible stream, not seed 0's
            generator.manual_seed(generator.initial_seed() + step)
    if order is not None and "batches/pos" in tensors:
        order.load_state({"perm": tensors["batches/perm"], "pos": tensors["batches/pos"]})
    return step, json.loads(meta["extra"])


def check_remaining(name: str, done: int, target: int, unit: str, state_path: Path) -> None:
    """A resumed run that has already reached its target says so instead of exporting nothing."""
    if done >= target:
        raise SystemExit(f"{name}: the run in {state_path.parent} has already done {done:,} {unit}; "
                         f"ask for more than that (--{unit} N) to train further.")


class StepLog:
    """A step-based run's progress: its tqdm bar, and its losses, whose mean over the last 100 steps the bar shows
    every 100 steps and the model card records at the end."""

    def __init__(self, name: str, steps: int, done: int):
        self.bar = tqdm(total=steps, initial=done, desc=name, mininterval=30)
        self.losses: list[float] = []

    def add(self, step: int, loss: float) -> None:
        self.losses.append(loss)
        self.bar.update(1)
        if step % 100 == 0:
            self.bar.set_postfix(loss=f"{self.recent():.4f}")

    def recent(self) -> float:
        last = self.losses[-100:]
        return sum(last) / max(1, len(last))


class Checkpointer:
    """Calls `save()` when `every_s` seconds have passed since the last save."""

    def __init__(self, every_s: float):
        self.every_s, self.last = every_s, time.monotonic()

    def due(self) -> bool:
        if time.monotonic() - self.last >= self.every_s:
            self.last = time.monotonic()
            return True
        return False


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def append_model_card(name: str, lines: list[str], path: Path = ASSETS / "MODELS.md", kind: str = "training") -> None:
    """Append one dated `kind` record ("training" or "evaluation") for `name` to MODELS.md (earlier records
    stay, as history)."""
    stamp = time.strftime("%Y-%m-%d %H:%M")
    text = path.read_text() if path.is_file() else "# Glassbox models\n"
    record = "\n".join(f"- {line}" for line in lines)
    text = text.rstrip("\n") + f"\n\n### `{name}` {kind} record, {stamp}\n\n{record}\n"
    path.write_text(text)
