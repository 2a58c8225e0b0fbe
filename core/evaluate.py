"""`python -m core.evaluate [NAME ...]`: measure the bundled models and print one JSON object per model.

Classifiers: accuracy on the test split. VAEs/AE: reconstruction MSE (and KL, ELBO) on the test split.
Generators: fid_cnn (FID in the bundled CNN's 128-d feature space, against the test split; not Inception FID)
and, for the class-conditional DDPM, class agreement: the share of samples the CNN assigns the asked-for class.
Uses the best data source available (the full test split when Debian's dataset-fashion-mnist is installed).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import safetensors.torch
import torch

from core import checkpoints, metrics
from core.data import ASSETS
from core.device import seed_everything
from core.diffusion import sampling
from core.diffusion.denoisers import bundled
from core.models import MODELS, load
from core.models.gan import init_weights
from core.train.common import append_model_card, image_tensors
from core.train.vae import evaluate as vae_metrics

GUIDANCE_SCALES = (1.0, 1.5, 2.0, 3.0, 4.0)
CHUNK = 500


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
        dev = next(g.parameters()).device
        fake = (g(torch.randn(samples, g.z_dim, generator=gen).to(dev)) + 1) / 2
        torch.manual_seed(seed)  # its initial weights must not depend on which models were built before
        untrained = MODELS["dcgan"].build().apply(init_weights).to(dev).eval()  # as training starts
        baseline = (untrained(torch.randn(samples, g.z_dim, generator=gen).to(dev)) + 1) / 2
    return {"fid_cnn": round(metrics.fid_cnn(cnn, fake, x_ref), 3),
            "fid_cnn_untrained_generator": round(metrics.fid_cnn(cnn, baseline, x_ref), 3),
            "samples": samples, "data": source}


def ddpm_samples(steps: int, guidance: float, samples: int, seed: int, kind: str, cache: Path | None = None,
                 thresholding: bool = False, rescale: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """`samples` class-balanced samples in [0, 1] and the classes asked for, made in chunks of CHUNK.

    Each chunk has its own seed, so a chunk is the same whether it is made alone or in a longer run. With
    `cache`, finished chunks are kept on disk under the weights' sha256: DDPM-1000 sampling takes hours on a
    CPU, and a run that is cut off then resumes at the next chunk instead of starting again. The guidance
    remedies (dynamic thresholding, rescale φ) join the key only when set, so plain runs keep their old keys."""
    denoiser = bundled()
    labels = torch.arange(samples) % 10
    weights = checkpoints.read_manifest()["ddpm/unet.safetensors"]["sha256"][:16]
    out = []
    for start in range(0, samples, CHUNK):
        chunk_labels = labels[start:start + CHUNK]
        remedies = ("-thresh" if thresholding else "") + (f"-rescale{rescale}" if rescale else "")
        key = f"{weights}-{kind}{steps}-w{guidance}{remedies}-seed{seed}-{start}-{len(chunk_labels)}"
        path = cache / f"{key}.safetensors" if cache else None
        if path and path.is_file():
            out.append(safetensors.torch.load_file(path)["images"])
            continue
        settings = sampling.Settings(None, guidance, kind, steps, seed * 1_000_003 + start,
                                     thresholding=thresholding, rescale=rescale)
        images = (sampling.sample(denoiser, settings, chunk_labels).cpu() + 1) / 2
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            safetensors.torch.save_file({"images": images.contiguous()}, path)
        out.append(images)
    return torch.cat(out), labels


def evaluate_ddpm(samples: int, agreement_samples: int, limit: int | None, seed: int, full: bool,
                  cache: Path | None = None, scales=GUIDANCE_SCALES, thresholding: bool = False,
                  rescale: float = 0.0) -> dict:
    """The DDIM-50 class-agreement curve over `scales`, then fid_cnn at its best w (skipped when samples is 0)."""
    remedies = {"thresholding": thresholding, "rescale": rescale}
    cnn = load("cnn")
    x_ref, _, source = image_tensors("test", limit)
    curve = {}
    for w in scales:
        # The scale is chosen on seed + 1's samples, so the figures reported at that scale below come from
        # samples the choice never saw (a best-of-five on the same samples would flatter it).
        images, labels = ddpm_samples(50, w, agreement_samples, seed + 1, "ddim", cache, **remedies)
        curve[str(w)] = round(metrics.class_agreement(cnn, images, labels), 4)
    best = max(scales, key=lambda w: curve[str(w)])
    result = {"class_agreement_ddim50": curve, "best_guidance": best,
              "agreement_samples": agreement_samples, "fid_samples": samples, "data": source}
    if thresholding or rescale:
        result.update(remedies)
    runs = ([("ddim50", 50, "ddim")] if samples else []) + ([("ddpm1000", 1000, "ddpm")] if samples and full else [])
    for name, steps, kind in runs:  # DDPM-1000 is 1000 network calls per sample: hours on a CPU
        images, labels = ddpm_samples(steps, best, samples, seed, kind, cache, **remedies)
        result[f"fid_cnn_{name}"] = round(metrics.fid_cnn(cnn, images, x_ref), 3)
        share = metrics.class_agreement(cnn, images, labels)
        result[f"class_agreement_{name}_fid_samples"] = round(share, 4)
        interval = metrics.wilson_interval(share, samples)
        result[f"class_agreement_{name}_fid_samples_95ci"] = [round(v, 4) for v in interval]
    return result


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m core.evaluate", description=__doc__)
    p.add_argument("names", nargs="*", help="models to evaluate (default: all)")
    p.add_argument("--samples", type=int, default=2000, help="generated samples for fid_cnn (0: DDPM curve only)")
    p.add_argument("--agreement-samples", type=int, default=500, help="DDIM-50 samples per guidance scale")
    p.add_argument("--guidance-scales", type=float, nargs="+", default=list(GUIDANCE_SCALES), metavar="W",
                   help="the DDPM's guidance scales w for the class-agreement curve")
    p.add_argument("--thresholding", action="store_true",
                   help="DDPM sampling with dynamic thresholding (Saharia et al. 2022)")
    p.add_argument("--rescale", type=float, default=0.0, metavar="PHI",
                   help="DDPM sampling with guidance rescale φ (Lin et al. 2023); 0 is off")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--ddpm1000", action="store_true", help="also measure fid_cnn with 1000 DDPM steps (slow)")
    p.add_argument("--sample-cache", type=Path,
                   help="keep generated DDPM samples here in chunks, so a cut-off run resumes (runs/eval)")
    p.add_argument("--limit", type=int, help="use only N evenly spaced test images (quick checks)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--record", action="store_true", help="also append each model's figures, with this command, "
                   "to MODELS.md")
    p.add_argument("--models-md", type=Path, default=ASSETS / "MODELS.md", help="where --record writes")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
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
            r = evaluate_ddpm(args.samples, args.agreement_samples, args.limit, args.seed, args.ddpm1000,
                              args.sample_cache, tuple(args.guidance_scales), args.thresholding, args.rescale)
        else:
            p.error(f"unknown model {name!r}; choose from cnn vit vae2 vae16 ae2 dcgan ddpm")
        if args.limit:
            r["data"] += f", {args.limit:,} evenly spaced images only"
        r["seconds"] = round(time.monotonic() - t0, 1)
        results[name] = r
        print(json.dumps({"model": name, **r}), flush=True)
        if args.record:
            append_model_card(name, [f"command: `python -m core.evaluate {shlex.join(argv)}`",
                                     *(f"{k}: {v}" for k, v in r.items())], args.models_md, kind="evaluation")
    return results


if __name__ == "__main__":
    main()
