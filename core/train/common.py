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

from core.data import ASSETS, load_split

RUNS = Path(__file__).resolve().parents[2] / "runs"


def image_tensors(split: str, limit: int | None = None, scale: str = "unit") -> tuple[torch.Tensor, torch.Tensor, str]:
    """Fashion-MNIST as float tensors [N, 1, 28, 28] in [0, 1] ("unit") or [-1, 1] ("signed"), plus labels.

    `limit` takes every (N // limit)-th image rather than the first ones: the bundled sample is stored
    class by class, and its first images would all be T-shirts."""
    data = load_split(split)
    images, labels = data.images, data.labels
    if limit is not None:
        stride = max(1, len(labels) // max(1, limit))
        images, labels = images[::stride][:limit], labels[::stride][:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    if scale == "signed":
        x = x * 2 - 1
    return x, torch.from_numpy(labels), data.source


def batches(n: int, batch_size: int, generator: torch.Generator):
    """Endless shuffled index batches over n items, reshuffled every epoch from `generator`."""
    while True:
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n - batch_size + 1, batch_size):
            yield perm[i:i + batch_size]


class EMA:
    """Exponential moving average of a model's weights, with the usual warm-up so early steps count less."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for ema_v, v in zip(self.model.state_dict().values(), model.state_dict().values()):
            if ema_v.is_floating_point():
                ema_v.mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                ema_v.copy_(v)


def save_run_state(path: Path, step: int, modules: dict[str, torch.nn.Module],
                   optimizers: dict[str, torch.optim.Optimizer], extra: dict | None = None,
                   generator: torch.Generator | None = None) -> None:
    """Everything needed to resume, as one safetensors file: weights, optimizer moments, the step count, and
    the random state (the run's generator and torch's global one, which dropout and initialisation draw on)."""
    tensors, meta = {"rng/torch": torch.get_rng_state()}, {"step": str(step), "extra": json.dumps(extra or {})}
    if generator is not None:
        tensors["rng/generator"] = generator.get_state()
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
                   generator: torch.Generator | None = None) -> tuple[int, dict]:
    """Restore what save_run_state wrote; returns (step, extra)."""
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
    # States written before the random state was saved lack these keys; such a run resumes with fresh streams.
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    if generator is not None and "rng/generator" in tensors:
        generator.set_state(tensors["rng/generator"])
    return int(meta["step"]), json.loads(meta["extra"])


def check_remaining(name: str, done: int, target: int, unit: str, state_path: Path) -> None:
    """A resumed run that has already reached its target says so instead of exporting nothing."""
    if done >= target:
        raise SystemExit(f"{name}: the run in {state_path.parent} has already done {done:,} {unit}; "
                         f"ask for more than that (--{unit} N) to train further.")


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
    text = text.rstrip("\n") + f"\n\n### `{name}` {kind} record, {stamp}\n\n" + "\n".join(f"- {l}" for l in lines) + "\n"
    path.write_text(text)
