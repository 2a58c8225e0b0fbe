"""Train the GAN tab's 2-D warm starts, as GAN Lab offers a pretrained model for each dataset: one seeded
`core.gan.toy` run per built-in dataset, with GAN Lab's settings (non-saturating loss, k = 1, Adam at lr 0.01
for D and G, batch 150, one hidden layer; pinned here, not toy's defaults, so that the files stay reproducible)
and a fixed number of iterations, saved with `toy.save` as assets/gan2d/<dataset>.safetensors.

GAN Lab's default networks, one hidden layer of 8 neurons for G and D, learn the moons and the line; on the ring,
the 25-Gaussian grid and the three blobs their JS was still about 0.45-0.6 after 4,000 iterations (0.62-0.69 at
iteration 0, seed 0), so those three get one hidden layer of 32 neurons. Each file's metadata holds its settings,
so the tab shows the size it really has. The JS oscillates from one logged iteration to the next (the game at
lr 0.01 does not settle), so the record gives its range over the last 1,000 iterations beside the final value.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from core import checkpoints, toy2d
from core.gan import toy
from core.train.common import param_count

SETTINGS = {"gan2d": {"steps": 4000}}
NEURONS = {"moons": 8, "line": 8, "ring": 32, "grid": 32, "blobs": 32}  # one hidden layer each, G and D
LOG_EVERY = 50
TAIL = 1000                                 # the iterations the record's JS range covers
FOLDER = "gan2d"


def _write(data: bytes, path: Path, root: Path) -> None:
    """The file beside its final name first, then renamed over it: a kill mid-write leaves the old, listed file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    checkpoints.record(path, root)


def train(args) -> dict:
    for flag, value in (("--epochs", args.epochs), ("--limit", args.limit), ("--batch-size", args.batch_size),
                        ("--lr", args.lr)):
        if value is not None:
            raise SystemExit(f"gan2d trains each dataset for a fixed number of iterations with toy's default "
                             f"settings; {flag} does not apply.")
    if args.resume:
        raise SystemExit("gan2d trains in well under a minute and keeps no run state; run it again without --resume.")
    # The networks have a few hundred weights: toy runs them on the CPU whatever --device says, and the record
    # should say where they really ran.
    args.device = torch.device("cpu")
    out = Path(args.out).resolve()
    files, metrics, params, g_losses, elapsed = [], {}, 0, [], 0.0
    for name in toy2d.DATASETS:
        t0 = time.monotonic()
        n = NEURONS[name]
        settings = toy.Settings(dataset=name, g_layers=1, g_neurons=n, d_layers=1, d_neurons=n, lr_d=0.01,
                                lr_g=0.01, seed=args.seed)
        run = toy.Run(settings, log_every=LOG_EVERY)
        kl0, js0 = run.kl_js()   # iteration 0: the same run before its first step
        for _ in range(args.steps):
            stats = run.step()
            if run.diverged:
                raise SystemExit(f"gan2d {name}: {run.diverged}")
        kl, js = run.kl_js()
        path = out / FOLDER / f"{name}.safetensors"
        _write(toy.save(run), path, out)
        elapsed += time.monotonic() - t0
        its, history = np.array(run.history["iteration"]), np.array(run.history["js"])
        tail = history[its > args.steps - TAIL]
        files.append(str(path))
        params += param_count(run.g) + param_count(run.d)
        g_losses.append(stats["g_loss"])
        metrics[name] = (f"1 x {n} neurons (G and D), {run.step_count:,} iterations: JS {js0:.3f} -> {js:.3f}, "
                         f"KL {kl0:.2f} -> {kl:.2f} (iteration 0 -> final); logged JS over the last "
                         f"{min(TAIL, args.steps):,} iterations {tail.min():.3f}-{tail.max():.3f} "
                         f"(mean {tail.mean():.3f}); final D loss {stats['d_loss']:.3f}, G loss {stats['g_loss']:.3f}")
        print(f"gan2d {name}: {metrics[name]}", flush=True)
    metrics["final training loss is"] = "the mean of the five runs' last G loss (non-saturating)"
    metrics["seconds"] = f"{elapsed:.1f}"
    return {"files": files, "steps": args.steps * len(toy2d.DATASETS), "elapsed_s": elapsed, "params": params,
            "source": "the 2-D toy datasets of core.toy2d (" + ", ".join(toy2d.DATASETS) + "), a fresh batch of "
                      "150 points per D step from each run's seeded generator; KL and JS on its fixed 2,000 points",
            "final_loss": float(np.mean(g_losses)), "metrics": metrics}
