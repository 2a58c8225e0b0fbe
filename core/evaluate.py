"""`python -m core.evaluate [NAME ...]`: measure the bundled models and print one JSON object per model.

Classifiers: accuracy on the test split. VAEs/AE: reconstruction MSE (and KL, ELBO) on the test split.
Generators: fid_cnn (FID in the bundled CNN's 128-d feature space, against the test split; not Inception FID)
and, for the class-conditional DDPM, class agreement: the share of samples the CNN assigns the asked-for class.
Uses the best data source available (the full test split when Debian's dataset-fashion-mnist is installed).
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from core import metrics
from core.device import seed_everything
from core.diffusion import make_scheduler, sample
from core.models import MODELS, ddpm_scheduler_config, load
from core.train.common import image_tensors
from core.train.vae import evaluate as vae_metrics

GUIDANCE_SCALES = (1.0, 1.5, 2.0, 3.0, 4.0)


def evaluate_classifier(name: str, limit: int | None) -> dict:
    x, y, source = image_tensors("test", limit)
    return {"test_accuracy": round(metrics.accuracy(load(name), x, y), 4), "data": source}


def evaluate_autoencoder(name: str, limit: int | None) -> dict:
    x, _, source = image_tensors("test", limit)
    return {**vae_metrics(load(name), x), "data": source}


def evaluate_dcgan(samples: int, limit: int | None, seed: int) -> dict:
    gen = seed_everything(seed)
    g, cnn = load("dcgan"), load("cnn")
    x_ref, _, source = image_tensors("test", limit)
    with torch.no_grad():
        fake = (g(torch.randn(samples, g.z_dim, generator=gen)) + 1) / 2
        untrained = MODELS["dcgan"].build().eval()
        baseline = (untrained(torch.randn(samples, g.z_dim, generator=gen)) + 1) / 2
    return {"fid_cnn": round(metrics.fid_cnn(cnn, fake, x_ref), 3),
            "fid_cnn_untrained_generator": round(metrics.fid_cnn(cnn, baseline, x_ref), 3),
            "samples": samples, "data": source}


def ddpm_samples(steps: int, guidance: float, samples: int, seed: int, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`samples` class-balanced samples in [0, 1] and the classes asked for."""
    gen = seed_everything(seed)
    model = load("ddpm")
    labels = torch.arange(samples) % 10
    scheduler = make_scheduler(kind, ddpm_scheduler_config())
    out = [sample(model, scheduler, labels[i:i + 500], steps, guidance, gen) for i in range(0, samples, 500)]
    return (torch.cat(out) + 1) / 2, labels


def evaluate_ddpm(samples: int, agreement_samples: int, limit: int | None, seed: int, full: bool) -> dict:
    cnn = load("cnn")
    x_ref, _, source = image_tensors("test", limit)
    curve = {}
    for w in GUIDANCE_SCALES:
        images, labels = ddpm_samples(50, w, agreement_samples, seed, "ddim")
        curve[str(w)] = round(metrics.class_agreement(cnn, images, labels), 4)
    best = max(GUIDANCE_SCALES, key=lambda w: curve[str(w)])
    images, _ = ddpm_samples(50, best, samples, seed, "ddim")
    result = {"class_agreement_ddim50": curve, "best_guidance": best,
              "fid_cnn_ddim50": round(metrics.fid_cnn(cnn, images, x_ref), 3),
              "agreement_samples": agreement_samples, "fid_samples": samples, "data": source}
    if full:  # 1000 network evaluations per sample (twice with guidance): hours on a CPU
        images, _ = ddpm_samples(1000, best, samples, seed, "ddpm")
        result["fid_cnn_ddpm1000"] = round(metrics.fid_cnn(cnn, images, x_ref), 3)
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m core.evaluate", description=__doc__)
    p.add_argument("names", nargs="*", help="models to evaluate (default: all)")
    p.add_argument("--samples", type=int, default=2000, help="generated samples for fid_cnn")
    p.add_argument("--agreement-samples", type=int, default=1000, help="DDIM-50 samples per guidance scale")
    p.add_argument("--ddpm1000", action="store_true", help="also measure fid_cnn with 1000 DDPM steps (slow)")
    p.add_argument("--limit", type=int, help="use only the first N test images (quick checks)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    names = args.names or ["cnn", "vit", "vae2", "vae16", "ae2", "dcgan", "ddpm"]
    results = {}
    for name in names:
        t0 = time.monotonic()
        if name in ("cnn", "vit"):
            r = evaluate_classifier(name, args.limit)
        elif name in ("vae2", "vae16", "ae2"):
            r = evaluate_autoencoder(name, args.limit)
        elif name == "dcgan":
            r = evaluate_dcgan(args.samples, args.limit, args.seed)
        elif name == "ddpm":
            r = evaluate_ddpm(args.samples, args.agreement_samples, args.limit, args.seed, args.ddpm1000)
        else:
            p.error(f"unknown model {name!r}; choose from cnn vit vae2 vae16 ae2 dcgan ddpm")
        r["seconds"] = round(time.monotonic() - t0, 1)
        results[name] = r
        print(json.dumps({"model": name, **r}), flush=True)
    return results


if __name__ == "__main__":
    main()
