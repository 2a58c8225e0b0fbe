"""`python -m benchmarks.gan_modes [--iterations N] [--seeds S ...]`: which 2-D GAN settings learn the ring.

Trains toy.Run headless on the ring, one torch thread (as the app's worker process), for each candidate setting
and seed, and reports at every checkpoint (2,000, 4,000, 6,000 iterations by default: about 3, 6 and 10 s of play
in the app) the ring's modes covered (core.toy2d.modes_covered on the run's 2,000 fixed fake samples: a mode is
covered when at least 5% of them lie within 3 standard deviations, 0.15, of its centre), JS (the run's own), and
the wall time so far. This chose the tab's defaults (issue 27): the candidate that covers 8 of 8 by 6,000 iterations
on the most seeds, at a bare rate that keeps ~10 s of play near 6,000 iterations: 2 x 32 at lr 0.003 (8 of 8 on 4
of seeds 0-5, 7 and 6 on the others; GAN Lab's 1 x 8 at 0.01 covered 0 or 1 on seeds 0-2). Figures are a report, never a
test assertion; a full run is a few minutes of one core.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from core import toy2d
from core.gan import toy

# name -> the settings that differ from toy.Settings()'s
CANDIDATES = {
    "1x8 lr 0.01 (GAN Lab's)": {"g_neurons": 8, "d_neurons": 8, "lr_d": 0.01, "lr_g": 0.01},
    "1x32 lr 0.01": {"g_neurons": 32, "d_neurons": 32, "lr_d": 0.01, "lr_g": 0.01},
    "2x16 lr 0.01": {"g_layers": 2, "d_layers": 2, "g_neurons": 16, "d_neurons": 16, "lr_d": 0.01, "lr_g": 0.01},
    "2x32 lr 0.01": {"g_layers": 2, "d_layers": 2, "g_neurons": 32, "d_neurons": 32, "lr_d": 0.01, "lr_g": 0.01},
    "2x16 lr 0.003": {"g_layers": 2, "d_layers": 2, "g_neurons": 16, "d_neurons": 16, "lr_d": 0.003,
                      "lr_g": 0.003},
    "2x32 lr 0.003": {"g_layers": 2, "d_layers": 2, "g_neurons": 32, "d_neurons": 32, "lr_d": 0.003,
                      "lr_g": 0.003},
}
CHECKPOINTS = (2000, 4000, 6000)


def measure(changes: dict, seed: int, checkpoints=CHECKPOINTS) -> list[dict]:
    """One run of toy.Settings() with `changes` and `seed`: modes covered, JS and seconds at each checkpoint."""
    settings = dataclasses.replace(toy.Settings(), seed=seed, **changes)
    run = toy.Run(settings, log_every=10_000)   # KL and JS only where measured here
    rows, start = [], time.perf_counter()
    for target in checkpoints:
        while run.step_count < target and not run.diverged:
            run.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            fake = run.g(run.metric_z)
        modes = 0 if run.diverged else toy2d.modes_covered(fake)
        js = float("nan") if run.diverged else run.kl_js()[1]
        rows.append({"iteration": target, "modes": modes, "js": round(js, 3), "seconds": round(seconds, 1)})
    return rows


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gan_modes", description=__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="*", help="candidate names (default: all)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    report = {}
    for name, changes in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        for seed in args.seeds:
            rows = measure(changes, seed)
            report[(name, seed)] = rows
            cells = " | ".join(f"{r['modes']}/8, JS {r['js']}, {r['seconds']} s" for r in rows)
            print(f"| {name} | {seed} | {cells} |", flush=True)
    return report


if __name__ == "__main__":
    main()
