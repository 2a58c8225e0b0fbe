"""Train the DCGAN: Adam (lr 2e-4, betas 0.5/0.999), BCE with one-sided label smoothing (real = 0.9),
one discriminator step then one generator step (non-saturating loss) per batch."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from core import checkpoints
from core.device import seed_everything
from core.models.gan import Discriminator, Generator, init_weights
from core.train.common import RUNS, Batches, check_remaining, image_tensors, load_run_state, param_count, save_run_state

SETTINGS = {"dcgan": {"epochs": 20, "batch_size": 128, "lr": 2e-4}}
REAL_LABEL = 0.9


def gan_step(g, d, opt_g, opt_d, real: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
    """One DCGAN update of D then G; returns the losses and D's mean outputs, as the GAN tab also plots."""
    b = len(real)
    z = torch.randn(b, g.z_dim, generator=gen).to(real.device)
    fake = g(z)
    d_real, d_fake = d(real), d(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, REAL_LABEL))
              + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    d_fake_for_g = d(fake)
    loss_g = F.binary_cross_entropy_with_logits(d_fake_for_g, torch.ones_like(d_fake_for_g))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}


def train(args) -> dict:
    gen = seed_everything(args.seed)
    x, _, source = image_tensors("train", args.limit, scale="signed")
    g, d = Generator(), Discriminator()
    g.apply(init_weights)
    d.apply(init_weights)
    g, d = g.to(args.device), d.to(args.device)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.5, 0.999))
    batch_size = min(args.batch_size, len(x))
    steps_per_epoch = len(x) // batch_size
    state_path = (args.run_dir or RUNS / "dcgan") / "state.safetensors"
    epoch, elapsed = 0, 0.0
    modules, optimizers = {"g": g, "d": d}, {"opt_g": opt_g, "opt_d": opt_d}
    if args.resume and state_path.is_file():
        epoch, extra = load_run_state(state_path, modules, optimizers, gen)
        elapsed = extra.get("elapsed_s", 0.0)
        check_remaining("dcgan", epoch, args.epochs, "epochs", state_path)
    order = Batches(len(x), batch_size, gen)
    while epoch < args.epochs:
        t0 = time.monotonic()
        g.train()
        d.train()
        for _ in tqdm(range(steps_per_epoch), desc=f"dcgan epoch {epoch + 1}/{args.epochs}", mininterval=10):
            stats = gan_step(g, d, opt_g, opt_d, x[next(order)].to(args.device), gen)
        epoch += 1
        elapsed += time.monotonic() - t0
        print(f"dcgan epoch {epoch}: " + ", ".join(f"{k} {v:.3f}" for k, v in stats.items()))
        save_run_state(state_path, epoch, modules, optimizers, {"elapsed_s": elapsed}, gen)
    files = [args.out / "dcgan.safetensors", args.out / "dcgan_d.safetensors"]
    checkpoints.save(g.state_dict(), files[0], root=args.out)
    checkpoints.save(d.state_dict(), files[1], root=args.out)
    return {"files": [str(f) for f in files], "steps": epoch * steps_per_epoch, "elapsed_s": elapsed,
            "params": param_count(g), "source": source, "final_loss": stats["loss_g"],
            "metrics": {k: round(v, 4) for k, v in stats.items()}}
