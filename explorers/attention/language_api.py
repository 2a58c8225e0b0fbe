"""The gr.api endpoints of a causal language model (core.attention.causal): lm_next, lm_generate, lm_logit_lens and
lm_heads. Each works on the bundled GPT offline, or on a causal Hugging Face model this server allows.

No `from __future__ import annotations` here: gr.api reads the return annotation without resolving strings.
"""
import numpy as np

from core import device as devices
from core.attention import causal, language
from core.validate import as_int
from explorers.common import api, user_errors

DECIMALS = 7
MAX_TOP = 100  # candidates one lm_next call lists


def _model(model):
    lm, note = causal.resolve(model)
    return lm, {"model": lm.name, "note": note, "description": lm.description}


@user_errors
@devices.gpu
def lm_next(text: str, model: str = "default", temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
            top: int = 10) -> dict:
    """The next-token distribution after a prompt, before and after temperature, top-k and top-p (applied in that
    order, as transformers' generate() does), and how sure the model is at every position of the prompt.

    Parameters:
        text: the prompt, not blank, at most 2,000 characters and the model's context in tokens (128 for default)
        model: "default" (the bundled GPT: 4 layers x 4 heads, a token per character) or a causal Hugging Face id
        temperature: divides the logits before the softmax: from 0.01 to 100; T < 1 sharpens, T > 1 flattens
        top_k: keep only the k most likely tokens (0: no cut)
        top_p: keep the smallest set of most likely tokens whose probability reaches p, in (0, 1] (1: no cut)
        top: how many candidates to list, most likely first: 1 to 100

    Returns:
        A dict: "model", "note" (null, or why the bundled GPT answers), "description"; "tokens", the prompt's tokens;
        "candidates", the `top` most likely next tokens by the model's own probability, each {"token", "id",
        "probability" (softmax of the logits), "filtered" (after the cuts: what a draw uses; 0 when cut), "kept"};
        "kept", how many tokens of the vocabulary survive the cuts; "vocab_size"; "entropy", of the next-token
        distribution in nats; "entropies", the entropy of the prediction after every prompt token, in nats."""
    lm, about = _model(model)
    top = as_int(top, "top", 1, MAX_TOP)
    n = causal.next_token(lm, causal.check_prompt(lm, text), temperature, top_k, top_p)
    best = causal.top(n.raw, top)
    return {**about, "tokens": n.run.tokens,
            "candidates": [{"token": lm.token_text(i), "id": int(i), "probability": float(n.raw[i]),
                            "filtered": float(n.filtered[i]), "kept": bool(n.filtered[i] > 0)} for i in best],
            "kept": int((n.filtered > 0).sum()), "vocab_size": lm.vocab_size, "entropy": n.entropy,
            "entropies": language.entropies(n.run.logits).tolist()}


@user_errors
@devices.gpu
def lm_generate(text: str, steps: int = 20, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
                top_p: float = 1.0, greedy: bool = False, model: str = "default") -> dict:
    """Continues a prompt token by token: each token drawn from the distribution after temperature, top-k and top-p
    (seeded: the same seed gives the same text), or the most likely one when greedy.

    Parameters:
        text: the prompt, not blank, at most 2,000 characters and the model's context in tokens (128 for default)
        steps: how many tokens to add: 1 to 200; past the context the oldest tokens are dropped
        seed: 0 to 2**31 - 1; seeds the draws
        temperature: divides the logits before the softmax: from 0.01 to 100
        top_k: keep only the k most likely tokens (0: no cut)
        top_p: keep the smallest set of most likely tokens whose probability reaches p, in (0, 1] (1: no cut)
        greedy: a boolean; true takes the most likely token every time (seed unused)
        model: "default" (the bundled GPT) or a causal Hugging Face id this server allows

    Returns:
        A dict: "model", "note", "description"; "text", the prompt and what was added; "added", what was added;
        "steps", one {"token", "id", "probability" (before the cuts), "filtered" (the probability it was chosen
        with), "dropped" (context tokens dropped to make room)} per new token; "seed" (null when greedy)."""
    lm, about = _model(model)
    ids = causal.check_prompt(lm, text)
    steps = list(causal.generate(lm, ids, steps, seed, temperature, top_k, top_p, bool(greedy)))
    added = lm.decode(s.token for s in steps)
    return {**about, "text": lm.decode(ids) + added, "added": added,
            "steps": [{"token": lm.token_text(s.token), "id": s.token, "probability": s.raw,
                       "filtered": s.filtered, "dropped": s.dropped} for s in steps],
            "seed": None if greedy else as_int(seed, "seed", 0, 2**31 - 1)}


@user_errors
@devices.gpu
def lm_logit_lens(text: str, model: str = "default") -> dict:
    """The logit lens: the next token each layer's residual stream would predict if the model stopped there, read
    through the final LayerNorm and the unembedding. The last row is the model's own prediction.

    Parameters:
        text: the prompt, not blank, at most 2,000 characters and the model's context in tokens (128 for default)
        model: "default" (the bundled GPT) or a causal Hugging Face id this server allows

    Returns:
        A dict: "model", "note", "description"; "tokens", the prompt's tokens; "layers", the row names
        ("embedding", then "block 1" …); "top_tokens" and "top_probabilities", [layers + 1][tokens]: at each
        position, the most likely next token through that layer's stream and its probability; "next_tokens", the
        model's own prediction after every position (the last row's tokens)."""
    lm, about = _model(model)
    run = causal.forward(lm, causal.check_prompt(lm, text))
    if run.lens is None:
        raise ValueError(f"{lm.name} has no final LayerNorm this explorer can find, so its streams cannot be read "
                         "through it.")
    probabilities = language.logit_lens(run.lens)
    best = probabilities.argmax(-1)
    return {**about, "tokens": run.tokens,
            "layers": ["embedding", *(f"block {i}" for i in range(1, lm.num_layers + 1))],
            "top_tokens": [[lm.token_text(i) for i in row] for row in best.tolist()],
            "top_probabilities": np.round(probabilities.max(-1), DECIMALS).tolist(),
            "next_tokens": [lm.token_text(i) for i in best[-1].tolist()]}


@user_errors
@devices.gpu
def lm_heads(model: str = "default", length: int = 20, seed: int = 0) -> dict:
    """The heads that copy: on `length` random tokens repeated once, each head's induction score (the mean weight
    from a token of the second copy to the token after its earlier occurrence) and previous-token score (the mean
    weight from each token to the one before it).

    Parameters:
        model: "default" (the bundled GPT) or a causal Hugging Face id this server allows
        length: tokens in one copy: 2 to half the model's context (64 for default), at most 200
        seed: 0 to 2**31 - 1; seeds the random tokens

    Returns:
        A dict: "model", "note", "description"; "tokens", the repeated sequence; "induction" and "previous",
        [layers][heads] scores from 0 to 1; "top_head", {"layer", "head", "induction"}: the head with the highest
        induction score; "pattern", that head's attention over the sequence, [2·length][2·length], rounded to 7
        decimals."""
    lm, about = _model(model)
    run, induction, previous = causal.heads(lm, length, seed)
    layer, head = np.unravel_index(int(np.argmax(induction)), induction.shape)
    return {**about, "tokens": run.tokens, "induction": np.round(induction, DECIMALS).tolist(),
            "previous": np.round(previous, DECIMALS).tolist(),
            "top_head": {"layer": int(layer), "head": int(head), "induction": float(induction[layer, head])},
            "pattern": np.round(run.attentions[layer, head].numpy(), DECIMALS).tolist()}


def register() -> None:
    """Adds the four endpoints to the Blocks being built, in the order the API page lists them."""
    prompt = {"text": "Once upon a time"}
    api(lm_next, "lm_next", example=prompt)
    api(lm_generate, "lm_generate", example=prompt)
    api(lm_logit_lens, "lm_logit_lens", example=prompt)
    api(lm_heads, "lm_heads")
