"""Train the class-conditional DDPM noise predictor (core/models/unet.py) with condition dropout (the share of
batches' labels replaced by the "no class" token, which trains the unconditional branch that classifier-free
guidance extrapolates from; 10% by default) and an EMA.

The loss is Ho et al.'s simple objective: || eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t, y) ||^2.
"""
from __future__ import annotations

import json
import time

import torch
import torch.nn.functional as F

from core import checkpoints
from core.device import seed_everything
from core.diffusion.sampling import training_scheduler
from core.diffusion.schedule import add_noise
from core.models.unet import UNet
from core.train.common import (
    EMA,
    RUNS,
    Batches,
    Checkpointer,
    StepLog,
    check_remaining,
    image_tensors,
    load_run_state,
    param_count,
    save_run_state,
)

SETTINGS = {"ddpm": {"steps": 12000, "batch_size": 128, "lr": 2e-4, "cond_dropout": 0.1}}
CHANNELS = (32, 64, 128)


def export(ema_model: UNet, scheduler, out_dir, step: int) -> list[str]:
    """Write the EMA weights and both configs in the layout `core.models.load("ddpm")` reads."""
    folder = out_dir / "ddpm"
    folder.mkdir(parents=True, exist_ok=True)
    checkpoints.write_json(folder / "config.json", ema_model.config, root=out_dir)
    checkpoints.write_json(folder / "scheduler_config.json", json.loads(scheduler.to_json_string()), root=out_dir)
    checkpoints.save(ema_model.state_dict(), folder / "unet.safetensors", {"step": str(step)}, root=out_dir)
    return [str(folder / "unet.safetensors")]


def train(args) -> dict:
    gen = seed_everything(args.seed)
    x_all, y_all, source = image_tensors("train", args.limit, scale="signed")
    model = UNet(CHANNELS).to(args.device)
    ema = EMA(model, decay=0.999)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    scheduler = training_scheduler()
    abar = scheduler.alphas_cumprod
    state_path = (args.run_dir or RUNS / "ddpm") / "state.safetensors"
    step, elapsed = 0, 0.0
    order = Batches(len(y_all), min(args.batch_size, len(y_all)), gen)
    if args.init and not (args.resume and state_path.is_file()):
        # A warm start from exported weights: the optimizer and the step count begin afresh.
        checkpoints.load_into(model, args.init, root=args.init.parent.parent).train()
        ema.model.load_state_dict(model.state_dict())
        print(f"ddpm starts from the weights in {args.init}")
    if args.resume and state_path.is_file():
        step, extra = load_run_state(state_path, {"model": model, "ema": ema.model}, {"opt": opt}, gen, order)
        elapsed = extra.get("elapsed_s", 0.0)
        check_remaining("ddpm", step, args.steps, "steps", state_path)
        print(f"resumed ddpm at step {step} ({elapsed / 60:.1f} min trained so far)")
    ckpt = Checkpointer(args.checkpoint_minutes * 60)
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    t0 = time.monotonic()
    model.train()
    log = StepLog("ddpm", args.steps, step)
    while step < args.steps and (deadline is None or time.monotonic() < deadline):
        idx = next(order)
        x0, y = x_all[idx], y_all[idx].clone()  # noised on the CPU, where the seeded generator lives
        y[torch.rand(len(y), generator=gen) < args.cond_dropout] = model.num_classes  # the "no class" token
        x0 = torch.where(torch.rand(len(y), 1, 1, 1, generator=gen) < 0.5, x0, x0.flip(-1))
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(y),), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        noisy = add_noise(x0, abar[t].view(-1, 1, 1, 1), eps)
        noisy, eps, t, y = (v.to(args.device) for v in (noisy, eps, t, y))
        loss = F.mse_loss(model(noisy, t, y), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(model, step)
        step += 1
        log.add(step, loss.item())
        if ckpt.due():
            save_run_state(state_path, step, {"model": model, "ema": ema.model}, {"opt": opt},
                           {"elapsed_s": elapsed + time.monotonic() - t0}, gen, order)
            export(ema.model, scheduler, args.out, step)
    log.bar.close()
    elapsed += time.monotonic() - t0
    save_run_state(state_path, step, {"model": model, "ema": ema.model}, {"opt": opt}, {"elapsed_s": elapsed}, gen,
                   order)
    files = export(ema.model, scheduler, args.out, step)
    return {"files": files, "steps": step, "elapsed_s": elapsed, "params": param_count(model), "source": source,
            "final_loss": log.recent()}
