"""Train `vae2`, `vae16` (maximise the ELBO with a Bernoulli decoder) and `ae2` (the same network, plain
reconstruction loss, no KL), with Adam and test-split reconstruction MSE, KL and ELBO measured at the end."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from core import checkpoints
from core.device import seed_everything
from core.metrics import vae_terms
from core.models import MODELS
from core.train.common import RUNS, Batches, check_remaining, image_tensors, load_run_state, param_count, save_run_state

SETTINGS = {
    "vae2": {"epochs": 20, "batch_size": 128, "lr": 1e-3},
    "vae16": {"epochs": 20, "batch_size": 128, "lr": 1e-3},
    "ae2": {"epochs": 20, "batch_size": 128, "lr": 1e-3},
}


def loss_fn(model, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    recon, mu, logvar = model(x, generator=gen)
    if model.variational:
        return vae_terms(recon, x, mu, logvar)["neg_elbo"].mean()
    return F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1).mean()


@torch.no_grad()
def evaluate(model, x: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Test metrics. The reconstruction MSE decodes z = mu (the posterior mean), as the explorer reconstructs.
    The ELBO is E_q[log p(x|z)] - KL, so its reconstruction term decodes a seeded sample z ~ q(z|x), one per
    image: an unbiased estimate over the test split (decoding mu instead would overstate it)."""
    model.eval()
    dev = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    mse, nll, kl = [], [], []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(dev)
        recon_sampled, mu, logvar = model(xb, generator=gen)  # for the plain AE, mu is its code
        mse.append(((model.decode(mu) - xb) ** 2).flatten(1).mean(1).cpu())
        if model.variational:
            terms = vae_terms(recon_sampled, xb, mu, logvar)
            nll.append(terms["nll"].cpu())
            kl.append(terms["kl"].cpu())
    out = {"test_recon_mse": round(torch.cat(mse).mean().item(), 5)}
    if model.variational:
        out["test_recon_nll_nats"] = round(torch.cat(nll).mean().item(), 2)
        out["test_kl_nats"] = round(torch.cat(kl).mean().item(), 2)
        out["test_elbo_nats"] = round(-(torch.cat(nll) + torch.cat(kl)).mean().item(), 2)
    return out


def train(args) -> dict:
    name = args.name
    gen = seed_everything(args.seed)
    x, _, source = image_tensors("train", args.limit)
    x_test, _, _ = image_tensors("test", args.limit)
    model = MODELS[name].build().to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    batch_size = min(args.batch_size, len(x))
    steps_per_epoch = len(x) // batch_size
    state_path = (args.run_dir or RUNS / name) / "state.safetensors"
    epoch, elapsed = 0, 0.0
    if args.resume and state_path.is_file():
        epoch, extra = load_run_state(state_path, {"model": model}, {"opt": opt}, gen)
        elapsed = extra.get("elapsed_s", 0.0)
        check_remaining(name, epoch, args.epochs, "epochs", state_path)
    order = Batches(len(x), batch_size, gen)
    while epoch < args.epochs:
        t0 = time.monotonic()
        model.train()
        for _ in tqdm(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{args.epochs}", mininterval=10):
            loss = loss_fn(model, x[next(order)].to(args.device), gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epoch += 1
        elapsed += time.monotonic() - t0
        print(f"{name} epoch {epoch}: loss {loss.item():.2f} per image")
        save_run_state(state_path, epoch, {"model": model}, {"opt": opt}, {"elapsed_s": elapsed}, gen)
    path = args.out / f"{name}.safetensors"
    checkpoints.save(model.state_dict(), path, root=args.out)
    return {"files": [str(path)], "steps": epoch * steps_per_epoch, "elapsed_s": elapsed,
            "params": param_count(model), "source": source, "final_loss": loss.item(),
            "metrics": evaluate(model, x_test)}
