"""`python -m benchmarks.gan_images [--minutes 5] [--every 30] [--threads 1]`: the GAN tab's image mode trained
from scratch on this machine, fid_cnn and the collapse meter against wall time.

One `ImageRun(Settings())` (from scratch, seed 0: the tab's defaults) is trained by calling `run.step()` in a loop
for `--minutes` of wall time. Every `--every` seconds of training, and at 0, the clock is paused and the run is read
as the tab's meters read it: `dcgan.fid(run, 256)` (fid_cnn of 256 samples against 2,000 real test images) and
`dcgan.collapse(run)` (the bundled CNN's class histogram of 256 samples, its entropy in nats, and the largest
class's share). The training time includes what `step()` does itself, as in the tab (a grid snapshot every few
steps, the history's meters every 50); the reading time does not. The training images and the reference features
are loaded before the clock starts. The bundled dcgan read the same way at step 0 (a warm-started run) is printed
as a reference: fid_cnn of 256 samples is biased upwards relative to 2,000, so compare it with that, not with
MODELS.md's 2,000-sample figure. A report, never a test assertion.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from core.gan import dcgan


def read(run: dcgan.ImageRun) -> dict:
    """The tab's meters on the run as it is now: fid_cnn (256 samples), entropy (nats) and top class share."""
    counts, entropy = dcgan.collapse(run)
    return {"fid_cnn": dcgan.fid(run, dcgan.METER_SAMPLES), "entropy": entropy,
            "top_share": float(counts.max() / counts.sum()), "histogram": counts.tolist()}


def bundled_reference() -> dict:
    """The bundled dcgan, read exactly as the live run is (a warm-started run at step 0)."""
    return read(dcgan.ImageRun(dcgan.Settings(warm_start=True)))


def measure(minutes: float = 5, every: float = 30, threads: int = 1) -> list[dict]:
    """Train a default run from scratch for `minutes` of wall time, read every `every` seconds (and at 0) with
    the clock paused while reading. One dict per reading: seconds (of training), steps, steps_per_s, fid_cnn,
    entropy, top_share, histogram, read_s (the reading's own time, not counted in seconds)."""
    torch.set_num_threads(threads)
    dcgan.real_images()
    dcgan.reference_features()
    run = dcgan.ImageRun(dcgan.Settings())
    rows: list[dict] = []

    def record(trained: float) -> None:
        t0 = time.perf_counter()
        row = {"seconds": round(trained, 1), "steps": run.step_count,
               "steps_per_s": round(run.step_count / trained, 2) if trained else None, **read(run)}
        row["read_s"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        print(f"{row['seconds']:7.1f} s  step {row['steps']:5d}  fid_cnn {row['fid_cnn']:8.3f}  "
              f"entropy {row['entropy']:.3f}  top {row['top_share']:.3f}  (read {row['read_s']} s)", flush=True)

    record(0.0)
    trained, total, next_read = 0.0, minutes * 60, min(every, minutes * 60)
    while trained < total:
        t0 = time.perf_counter()
        if run.step() is None:
            print(f"diverged: {run.diverged}", flush=True)
            break
        trained += time.perf_counter() - t0
        if trained >= next_read:
            record(trained)
            next_read = min(next_read + every, total)
    if rows[-1]["steps"] != run.step_count:  # stopped by divergence between two readings
        record(trained)
    return rows


def markdown(rows: list[dict], reference: dict | None = None) -> str:
    lines = ["| seconds | steps | steps/s | fid_cnn (256 samples) | entropy (nats, max 2.303) | top class share |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['seconds']:.0f} | {r['steps']:,} | {r['steps_per_s'] if r['steps_per_s'] else '–'} | "
              f"{r['fid_cnn']:.2f} | {r['entropy']:.3f} | {r['top_share']:.3f} |" for r in rows]
    if reference:
        lines.append(f"| bundled dcgan | – | – | {reference['fid_cnn']:.2f} | {reference['entropy']:.3f} | "
                     f"{reference['top_share']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gan_images", description=__doc__)
    p.add_argument("--minutes", type=float, default=5, help="wall time of training, reading excluded")
    p.add_argument("--every", type=float, default=30, help="seconds of training between readings")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args(argv)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, torch {torch.__version__},"
          f" {args.threads} thread(s)", flush=True)
    rows = measure(args.minutes, args.every, args.threads)
    reference = bundled_reference()
    print(markdown(rows, reference), flush=True)
    return rows


if __name__ == "__main__":
    main()
