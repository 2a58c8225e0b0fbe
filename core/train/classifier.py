"""Train the Fashion-MNIST classifiers (`cnn`, `vit`): AdamW with a one-cycle schedule, small random shifts and
horizontal flips as augmentation, and test accuracy measured after every epoch."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from core import checkpoints
from core.device import seed_everything
from core.metrics import accuracy
from core.models import MODELS
from core.train.common import RUNS, Batches, check_remaining, image_tensors, load_run_state, param_count, save_run_state

SETTINGS = {
    "cnn": {"epochs": 15, "batch_size": 128, "lr": 3e-3, "weight_decay": 5e-4, "label_smoothing": 0.0},
    "vit": {"epochs": 30, "batch_size": 128, "lr": 1e-3, "weight_decay": 0.05, "label_smoothing": 0.1},
}


def augment(x: torch.Tensor, gen: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Shift each image by up to `max_shift` pixels (zero fill) and mirror half of them left-right."""
    b = len(x)
    padded = F.pad(x, [max_shift] * 4)
    dx, dy = (torch.randint(0, 2 * max_shift + 1, (2, b), generator=gen)).unbind(0)
    rows = (dy[:, None] + torch.arange(28))[:, :, None].expand(b, 28, 28)
    cols = (dx[:, None] + torch.arange(28))[:, None, :].expand(b, 28, 28)
    shifted = padded[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(b, generator=gen) < 0.5
    shifted[flip] = shifted[flip].flip(-1)
    return shifted


def train(args) -> dict:
    name, cfg = args.name, SETTINGS[args.name]
    gen = seed_everything(args.seed)
    x, y, source = image_tensors("train", args.limit)
    x_test, y_test, _ = image_tensors("test", args.limit)
    model = MODELS[name].build().to(args.device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=cfg["weight_decay"])
    batch_size = min(args.batch_size, len(y))
    steps_per_epoch = len(y) // batch_size
    state_path = (args.run_dir or RUNS / name) / "state.safetensors"
    epoch, elapsed, history = 0, 0.0, []
    if args.resume and state_path.is_file():
        epoch, extra = load_run_state(state_path, {"model": model}, {"opt": opt}, gen)
        elapsed, history = extra.get("elapsed_s", 0.0), extra.get("history", [])
        check_remaining(name, epoch, args.epochs, "epochs", state_path)
        print(f"resumed {name} after epoch {epoch}")
    # Built after a resume so it continues where it stopped (the restored param groups carry its initial_lr).
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                last_epoch=epoch * steps_per_epoch - 1)
    order = Batches(len(y), batch_size, gen)
    while epoch < args.epochs:
        t0 = time.monotonic()
        model.train()
        for _ in tqdm(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{args.epochs}", mininterval=10):
            idx = next(order)
            logits = model(augment(x[idx], gen).to(args.device))
            loss = F.cross_entropy(logits, y[idx].to(args.device), label_smoothing=cfg["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        epoch += 1
        elapsed += time.monotonic() - t0
        acc = accuracy(model, x_test, y_test)
        history.append(round(acc, 4))
        print(f"{name} epoch {epoch}: loss {loss.item():.4f}, test accuracy {acc:.4f}")
        save_run_state(state_path, epoch, {"model": model}, {"opt": opt}, {"elapsed_s": elapsed, "history": history},
                       gen)
    path = args.out / f"{name}.safetensors"
    checkpoints.save(model.state_dict(), path, root=args.out)
    return {"files": [str(path)], "steps": epoch * steps_per_epoch, "elapsed_s": elapsed,
            "params": param_count(model), "source": source, "final_loss": loss.item(),
            "metrics": {"test_accuracy": history[-1], "accuracy_by_epoch": history}}
