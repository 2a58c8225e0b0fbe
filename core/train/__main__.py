"""`python -m core.train NAME [--steps N] [--minutes M] [--seed 0] [--resume] [--out assets]`."""
from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

import torch

from core.data import ASSETS
from core.device import CHOICES, describe, set_device
from core.train.common import append_model_card

TRAINERS = {"ddpm": "core.train.ddpm", "cnn": "core.train.classifier", "vit": "core.train.classifier",
            "vae2": "core.train.vae", "vae16": "core.train.vae", "ae2": "core.train.vae", "dcgan": "core.train.gan",
            "gan2d": "core.train.gan2d", "gpt": "core.train.gpt"}
LIMITED = {"gpt": "first characters"}  # what --limit keeps, where it is not evenly spaced images
STEP_BASED = {"ddpm", "gpt"}  # they count optimizer steps; the others count epochs


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m core.train", description=__doc__)
    p.add_argument("name", choices=sorted(TRAINERS))
    p.add_argument("--steps", type=int, help="optimizer steps, for step-based trainers (default: the model's own)")
    p.add_argument("--epochs", type=int, help="passes over the data, for epoch-based trainers")
    p.add_argument("--minutes", type=float, help="stop after this much wall time, whatever the step")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from runs/NAME/state.safetensors")
    p.add_argument("--limit", type=int,
                   help="train on N evenly spaced images only (gpt: the first N characters; smoke tests)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--device", choices=CHOICES, default="auto", help="where to train (auto: cuda, then mps, then cpu)")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--cond-dropout", type=float,
                   help="ddpm only: share of labels dropped to the no-class token (trains the unconditional branch)")
    p.add_argument("--init", type=Path, help="ddpm only: start from these exported weights (a warm start)")
    p.add_argument("--corpus", type=Path, help="gpt only: train on this UTF-8 text instead of the King James Bible")
    p.add_argument("--run-dir", type=Path, help="resumable state goes here (default runs/NAME)")
    p.add_argument("--out", type=Path, default=ASSETS, help="where weights, manifest and MODELS.md go")
    args = p.parse_args(argv)
    step_based = args.name in STEP_BASED
    for flag, value in (("--steps", args.steps), ("--minutes", args.minutes)):
        if value is not None and not step_based:
            p.error(f"{flag} is for ddpm and gpt, which count steps; {args.name} trains for --epochs.")
    for flag, value, only in (("--init", args.init, "ddpm"), ("--cond-dropout", args.cond_dropout, "ddpm"),
                              ("--corpus", args.corpus, "gpt")):
        if value is not None and args.name != only:
            p.error(f"{flag} is for {only} only.")
    if args.epochs is not None and step_based:
        p.error(f"--epochs is for the epoch-based trainers; {args.name} trains for --steps (or --minutes).")
    if args.cond_dropout is not None and not 0 <= args.cond_dropout < 1:
        p.error("--cond-dropout is a share of batches, from 0 up to (not including) 1.")
    try:
        args.device = set_device(args.device)
    except ValueError as e:
        p.error(str(e))
    trainer = importlib.import_module(TRAINERS[args.name])
    for key, value in trainer.SETTINGS[args.name].items():  # each trainer's SETTINGS: its models' defaults
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = trainer.train(args)
    append_model_card(args.name, [
        f"command: `python -m core.train {shlex.join(argv)}`",
        f"data: {result['source']}" + (f", {args.limit:,} {LIMITED.get(args.name, 'evenly spaced images')} only"
                                       if args.limit else ""),
        f"parameters: {result['params']:,}",
        f"steps: {result['steps']:,}, wall time {result['elapsed_s'] / 60:.1f} min, "
        + describe(args.device).removeprefix("running "),
        f"final training loss: {result['final_loss']:.4f}",
        *(f"{k}: {v}" for k, v in result.get("metrics", {}).items()),
        "weights: " + ", ".join(Path(f).relative_to(args.out.resolve()).as_posix() if Path(f).is_absolute() else f
                                for f in result["files"]),
    ], args.out / "MODELS.md")
    return result


if __name__ == "__main__":
    main()
