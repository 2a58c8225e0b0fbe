"""Train the bundled character-level GPT (core/models/gpt.py) on the King James Bible.

The corpus is Debian's `bible-kjv-text` (the 1611 translation, public domain; read through the package's `bible`
program), or any UTF-8 text file named by `--corpus`. Characters are the tokens: the text has 73 distinct ones,
so the embedding stays small and every token a learner sees is a letter they can read. The split is by place:
the text is cut into 100 equal pieces and every tenth is validation, so both halves span the whole book.

The loss is next-character cross-entropy. `bigram_nats` measures the baseline a transformer must beat: an
add-α bigram model counted on the same training split.
"""
from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from core import checkpoints
from core.device import seed_everything
from core.models.gpt import GPT, CharTokenizer
from core.train.common import RUNS, Checkpointer, StepLog, check_remaining, load_run_state, param_count, save_run_state

SETTINGS = {"gpt": {"steps": 10000, "batch_size": 32, "lr": 1e-3}}
SHAPE = {"block_size": 128, "layers": 4, "heads": 4, "dim": 128}
WARMUP, MIN_LR_SHARE, BIGRAM_ALPHA = 200, 0.1, 0.1
PROMPT = "And God said"
KJV = "Debian's bible-kjv-text: the King James Version (1611), public domain"


def kjv_text() -> str:
    """The whole King James Bible as the `bible` program prints it: "Genesis 1", then one numbered verse a line."""
    program = shutil.which("bible")
    if program is None:
        raise SystemExit("The corpus is Debian's King James Bible: `apt-get install bible-kjv`, or pass --corpus FILE.")
    out = subprocess.run([program, "-l", "100000", "-m", "8192", "Gen1:1-Rev22:21"], capture_output=True,
                         text=True, check=True).stdout
    return "\n".join(line.strip() for line in out.strip().splitlines()) + "\n"


def split(text: str, pieces: int = 100) -> tuple[str, str]:
    """(train, validation): every tenth of `pieces` equal pieces is validation."""
    bounds = [len(text) * i // pieces for i in range(pieces + 1)]
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    return "".join(c for i, c in enumerate(chunks) if i % 10 != 9), "".join(chunks[9::10])


def bigram_nats(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab: int, alpha: float = BIGRAM_ALPHA) -> float:
    """Validation cross-entropy (nats/character) of an add-α bigram model counted on the training ids."""
    counts = torch.full((vocab, vocab), alpha, dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1, dtype=torch.float64),
                      accumulate=True)
    logp = (counts / counts.sum(1, keepdim=True)).log()
    return float(-logp[val_ids[:-1], val_ids[1:]].mean())


@torch.no_grad()
def validation_nats(model: GPT, ids: torch.Tensor, device, batch: int = 64) -> float:
    """Mean next-character cross-entropy over the validation text cut into windows of the model's context."""
    model.eval()
    t = model.block_size
    n = (len(ids) - 1) // t
    x, y = ids[:n * t].view(n, t), ids[1:n * t + 1].view(n, t)
    total = 0.0
    for i in range(0, n, batch):
        logits = model(x[i:i + batch].to(device))
        total += F.cross_entropy(logits.flatten(0, 1), y[i:i + batch].flatten().to(device), reduction="sum").item()
    model.train()
    return total / (n * t)


def learning_rate(step: int, steps: int, peak: float) -> float:
    """Linear warm-up, then a cosine down to a tenth of the peak."""
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    progress = min(1.0, (step - WARMUP) / max(1, steps - WARMUP))
    return peak * (MIN_LR_SHARE + (1 - MIN_LR_SHARE) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def sample(model: GPT, tok: CharTokenizer, prompt: str, n: int, seed: int, device) -> str:
    """n characters sampled at temperature 1 after `prompt`, for the model card."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    ids = torch.tensor([tok.encode(prompt)])
    for _ in range(n):
        probs = F.softmax(model(ids[:, -model.block_size:].to(device))[0, -1].float().cpu(), -1)
        ids = torch.cat([ids, torch.multinomial(probs, 1, generator=gen)[None]], 1)
    model.train()
    return tok.decode(ids[0])


def export(model: GPT, vocab: str, out_dir: Path, step: int) -> list[str]:
    """Weights and the config (shape and vocabulary) in the layout `core.models.load("gpt")` reads."""
    folder = out_dir / "gpt"
    folder.mkdir(parents=True, exist_ok=True)
    checkpoints.write_json(folder / "config.json", {**model.config, "vocab": vocab}, root=out_dir)
    # The unembedding is the token embedding (tied), so it is stored once.
    checkpoints.save(model.state_dict(), folder / "gpt.safetensors", {"step": str(step)}, root=out_dir)
    return [str(folder / "gpt.safetensors")]


def train(args) -> dict:
    gen = seed_everything(args.seed)
    text = Path(args.corpus).read_text(encoding="utf-8") if args.corpus else kjv_text()
    if args.limit:
        text = text[:args.limit]
    train_text, val_text = split(text)
    vocab = "".join(sorted(set(text)))
    tok = CharTokenizer(vocab)
    train_ids, val_ids = torch.tensor(tok.encode(train_text)), torch.tensor(tok.encode(val_text))
    model = GPT(len(vocab), **SHAPE).to(args.device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.99))
    state_path = (args.run_dir or RUNS / "gpt") / "state.safetensors"
    step, elapsed = 0, 0.0
    if args.resume and state_path.is_file():
        step, extra = load_run_state(state_path, {"model": model}, {"opt": opt}, gen)
        elapsed = extra.get("elapsed_s", 0.0)
        check_remaining("gpt", step, args.steps, "steps", state_path)
        print(f"resumed gpt at step {step} ({elapsed / 60:.1f} min trained so far)")
    ckpt = Checkpointer(args.checkpoint_minutes * 60)
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    t0, block = time.monotonic(), model.block_size
    model.train()
    log = StepLog("gpt", args.steps, step)
    while step < args.steps and (deadline is None or time.monotonic() < deadline):
        starts = torch.randint(0, len(train_ids) - block - 1, (args.batch_size,), generator=gen)
        x = torch.stack([train_ids[s:s + block] for s in starts.tolist()]).to(args.device)
        y = torch.stack([train_ids[s + 1:s + block + 1] for s in starts.tolist()]).to(args.device)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        log.add(step, loss.item())
        if ckpt.due():
            save_run_state(state_path, step, {"model": model}, {"opt": opt},
                           {"elapsed_s": elapsed + time.monotonic() - t0}, gen)
            export(model, vocab, args.out, step)
    log.bar.close()
    elapsed += time.monotonic() - t0
    save_run_state(state_path, step, {"model": model}, {"opt": opt}, {"elapsed_s": elapsed}, gen)
    files = export(model, vocab, args.out, step)
    val = validation_nats(model, val_ids, args.device)
    bigram = bigram_nats(train_ids, val_ids, len(vocab))
    # Genesis's refrain for the Bible; another corpus (--corpus) starts from its own validation text.
    prompt = PROMPT if set(PROMPT) <= set(vocab) else val_text[:len(PROMPT)]
    metrics = {
        "validation loss": f"{val:.4f} nats/character ({val / math.log(2):.3f} bits per character) on "
                           f"{len(val_ids):,} held-out characters",
        "bigram baseline": f"{bigram:.4f} nats/character ({bigram / math.log(2):.3f} bits), add-{BIGRAM_ALPHA} "
                           "counts on the same training split",
        "sample (temperature 1, seed 0)": repr(sample(model, tok, prompt, 200, 0, args.device)),
    }
    return {"files": files, "steps": step, "elapsed_s": elapsed, "params": param_count(model),
            "source": KJV if not args.corpus else str(args.corpus), "metrics": metrics,
            "final_loss": log.recent()}
