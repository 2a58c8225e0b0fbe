"""Causal language models as the Attention tab's GPT section runs them: the bundled GPT (core/models/gpt.py, one
token per character, offline), or a causal Hugging Face model (GPT-2 and its relatives) behind the text models'
guards (core.attention.text.canonical: the allow-list, local folders only where allowed; the size cap counted on
the meta device before any weights; safetensors only; no remote code), with the bundled GPT and one line where the
download is impossible. One forward pass gives what every view reads: the logits, every layer's attention and the
logit lens.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core import hub, models, offline
from core.attention import language
from core.attention import text as ta
from core.device import device
from core.registry import Registry
from core.threads import one_thread
from core.validate import as_int, as_text, echo

BUNDLED = "default"
BUNDLED_NAME = "bundled GPT"
MAX_CHARS = 2_000   # a prompt; far beyond the bundled GPT's 128-character context, so the message says the context
MAX_STEPS = 200     # tokens one generate call adds


@dataclass(frozen=True)
class Pass:
    """One forward pass over a prompt's tokens."""
    ids: tuple[int, ...]
    tokens: list[str]          # each token as text
    logits: torch.Tensor       # [T, vocab], float64 on the CPU
    attentions: torch.Tensor   # [layers, heads, T, T]
    lens: torch.Tensor | None  # [layers + 1, T, vocab]: the logits each residual stream would give (None: unknown)


@dataclass(frozen=True, eq=False)  # hashed by identity: the forward cache keys on the model
class LanguageModel:
    name: str
    description: str
    vocab_size: int
    num_layers: int
    num_heads: int
    max_tokens: int                                     # the context length
    encode: Callable[[str], list[int]]                  # ValueError naming what cannot be encoded
    token_text: Callable[[int], str]                    # one token as a person reads it
    forward: Callable[[torch.Tensor], tuple]            # ids [1, T] -> (logits, attentions, lens) as in Pass
    lock: threading.Lock                                # one forward pass at a time (hooks and caches are shared)
    one_thread: bool = False                            # a small model: torch's thread pool only slows it down

    def decode(self, ids) -> str:
        return "".join(self.token_text(i) for i in ids)


# ---------------------------------------------------------------- which model


def canonical(model) -> str:
    """"default" for the bundled GPT, else a checked Hugging Face id or allowed local folder (as the text models)."""
    if isinstance(model, str) and model.strip() in ta.BUNDLED_ALIASES - {ta.BUNDLED}:
        raise ValueError(f"{ta.BUNDLED_NAME} is an encoder: it predicts no next token. Give a causal model such as "
                         "openai-community/gpt2, or \"default\" for the bundled GPT.")
    return ta.canonical(model)


def _bundled() -> LanguageModel:
    gpt, tokenizer, config = models.load("gpt"), models.gpt_tokenizer(), models.gpt_config()

    def forward(ids):
        logits, attentions, streams = gpt(ids, return_internals=True)
        return logits[0], attentions[:, 0], gpt.unembed(streams[:, 0])

    params = sum(p.numel() for p in gpt.parameters())
    return LanguageModel(
        name=BUNDLED_NAME,
        description=f"{BUNDLED_NAME} (bundled, offline; {config['layers']} layers × {config['heads']} heads, "
                    f"{params / 1e6:.2f} M parameters, one token per character, trained on the King James Bible)",
        vocab_size=config["vocab_size"], num_layers=config["layers"], num_heads=config["heads"],
        max_tokens=config["block_size"], encode=tokenizer.encode, token_text=lambda i: tokenizer.vocab[int(i)],
        forward=forward, lock=threading.Lock(), one_thread=True)


def _final_norm(module) -> torch.nn.Module | None:
    """The LayerNorm a causal model applies before its unembedding: GPT-2's ln_f, Llama's norm, GPT-NeoX's and
    OPT's final_layer_norm."""
    base = module.base_model
    for owner in (base, getattr(base, "decoder", None)):
        for name in ("ln_f", "norm", "final_layer_norm"):
            norm = getattr(owner, name, None)
            if isinstance(norm, torch.nn.Module):
                return norm
    return None


def _hub(model_id: str) -> LanguageModel:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    offline.tell_huggingface_hub()
    common = {"local_files_only": Path(model_id).is_absolute() or hub.local_only(), "trust_remote_code": False}
    config = hub.fetch(model_id, lambda: AutoConfig.from_pretrained(model_id, **common))
    try:
        with torch.device("meta"):  # counts parameters without allocating or downloading any weights
            skeleton = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    except ValueError as e:
        raise ValueError(f"{model_id} is not a causal language model (a {type(config).__name__}).") from e
    params = sum(p.numel() for p in skeleton.parameters())
    if params > ta.max_params():
        raise ValueError(f"{model_id} has {params / 1e6:,.0f} M parameters; this server loads at most "
                         f"{ta.max_params() / 1e6:,.0f} M (GLASSBOX_MAX_PARAMS).")
    module = hub.fetch(model_id, lambda: AutoModelForCausalLM.from_pretrained(
        model_id, attn_implementation="eager", use_safetensors=True, **common))
    module = module.eval().requires_grad_(False).to(device())
    if not ta.masks_the_future(module, torch.tensor([[0, 1]])):  # BERT loads as a "causal LM" but sees both ways
        raise ValueError(f"{model_id} is not a causal language model: its tokens attend to the tokens after them.")
    tokenizer = hub.fetch(model_id, lambda: AutoTokenizer.from_pretrained(model_id, **common))
    norm, head = _final_norm(module), module.get_output_embeddings()

    def forward(ids):
        out = module(input_ids=ids, output_attentions=True, output_hidden_states=True)
        # hidden_states[-1] has the final norm applied already; every earlier stream is read through it.
        lens = None if norm is None else torch.cat(
            [head(norm(torch.stack(out.hidden_states[:-1])[:, 0])), out.logits[0][None]])
        return out.logits[0], torch.stack(out.attentions)[:, 0], lens

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    limits = [getattr(config, "max_position_embeddings", None), getattr(config, "n_positions", None),
              tokenizer.model_max_length, ta.MAX_TOKENS]
    return LanguageModel(
        name=model_id,
        description=f"{model_id} (Hugging Face; {type(module).__name__}, {config.num_hidden_layers} layers × "
                    f"{config.num_attention_heads} heads, {params / 1e6:.1f} M parameters)",
        vocab_size=int(head.weight.shape[0]), num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads, max_tokens=min(int(x) for x in limits if x), encode=encode,
        token_text=lambda i: tokenizer.decode([int(i)]), forward=forward, lock=threading.Lock())


def _build(model_id: str) -> LanguageModel:
    return _bundled() if model_id == BUNDLED else _hub(model_id)


REGISTRY: Registry[LanguageModel] = Registry(_build, BUNDLED, label="GPT", max_loaded=2)  # "the bundled GPT"


def resolve(model="default") -> tuple[LanguageModel, str | None]:
    """Model `model`, or the bundled GPT with one line saying why `model` could not be downloaded."""
    return REGISTRY.resolve(canonical(model))


# ---------------------------------------------------------------- running a prompt


def check_prompt(lm: LanguageModel, text) -> list[int]:
    """The prompt's token ids: not blank, at most MAX_CHARS characters and the model's context in tokens, and
    nothing the tokenizer cannot encode (the message names the characters)."""
    text = as_text(text, "prompt", MAX_CHARS)
    if not text.strip():
        raise ValueError("The prompt is empty: type a few words for the model to continue.")
    ids = lm.encode(text)
    if not ids:
        raise ValueError(f"{lm.name} reads no token in {echo(text)}.")
    if len(ids) > lm.max_tokens:
        raise ValueError(f"The prompt is {len(ids)} tokens; {lm.name} reads at most {lm.max_tokens} (its context "
                         "length). Shorten it.")
    return ids


@functools.lru_cache(maxsize=64)
def _forward(lm: LanguageModel, ids: tuple[int, ...]) -> Pass:
    # The bundled GPT's matrices are tiny: on a busy 2-core machine two intra-op threads made a forward pass about
    # 25 times slower than one (20 generated tokens: 10.4 s against 0.42 s), so it runs on one (core.threads).
    threads = one_thread() if lm.one_thread else contextlib.nullcontext()
    with lm.lock, torch.no_grad(), threads:
        logits, attentions, lens = lm.forward(torch.tensor([ids], device=device()))
    return Pass(ids, [lm.token_text(i) for i in ids], _cpu(logits), _cpu(attentions), _cpu(lens))


def _cpu(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().double().cpu()


def forward(lm: LanguageModel, ids) -> Pass:
    """The forward pass over `ids`, cached: the views of one prompt share it."""
    return _forward(lm, tuple(int(i) for i in ids))


def check_steps(steps) -> int:
    return as_int(steps, "steps", 1, MAX_STEPS)


def top(probabilities: np.ndarray, k: int) -> np.ndarray:
    """The k most likely token ids, most likely first (ties: the smaller id first)."""
    return np.argsort(-probabilities, kind="stable")[:k]


# ---------------------------------------------------------------- the views' flows


@dataclass(frozen=True)
class Next:
    """The next token after a prompt: the forward pass, and the distribution before and after the cuts."""
    run: Pass
    raw: np.ndarray       # softmax(logits) over the vocabulary
    filtered: np.ndarray  # after temperature, top-k and top-p: what a draw is made from
    entropy: float        # of `raw`, in nats


def next_token(lm: LanguageModel, ids, temperature=1.0, top_k=0, top_p=1.0) -> Next:
    run = forward(lm, ids)
    raw, filtered = language.distributions(run.logits[-1], temperature, top_k, top_p)
    return Next(run, raw, filtered, float(language.entropies(run.logits[-1:])[0]))


@dataclass(frozen=True)
class Step:
    """One generated token."""
    token: int
    raw: float        # its probability before the cuts
    filtered: float   # and after: the probability it was drawn with
    dropped: int      # tokens cut from the front of the context to make room (0 while the prompt fits)


def generate(lm: LanguageModel, ids, steps, seed=0, temperature=1.0, top_k=0, top_p=1.0, greedy=False):
    """Yields `steps` tokens, one at a time: each drawn (seeded by `seed`: the same seed gives the same text) or,
    greedy, the most likely, from the filtered distribution after the context so far. Past the model's context
    length the oldest tokens are dropped, as GPT-2's sampling scripts do."""
    steps = check_steps(steps)
    temperature, top_k, top_p = language.check_filters(temperature, top_k, top_p)
    generator = None if greedy else torch.Generator().manual_seed(as_int(seed, "seed", 0, 2**31 - 1))
    ids = list(ids)
    for _ in range(steps):
        dropped = max(0, len(ids) - lm.max_tokens)
        n = next_token(lm, ids[dropped:], temperature, top_k, top_p)
        token = language.choose(n.filtered, generator)
        ids.append(token)
        yield Step(token, float(n.raw[token]), float(n.filtered[token]), dropped)


MAX_REPEAT = 200  # tokens in one copy of the heads test's sequence (GPT-2's context fits two)


def heads(lm: LanguageModel, length, seed=0) -> tuple[Pass, np.ndarray, np.ndarray]:
    """The forward pass over `length` random tokens repeated once, and every head's induction and previous-token
    scores on it, [layers, heads] each (core.attention.language.head_scores)."""
    length = as_int(length, "length", 2, min(MAX_REPEAT, lm.max_tokens // 2))
    ids = language.repeated_sequence(lm.vocab_size, length, seed)
    run = forward(lm, ids.tolist())
    induction, previous = language.head_scores(run.attentions, length)
    return run, induction, previous
