"""The Attention tab's gr.api endpoints: attention_text, attention_scores and attention_image. They read the same
views as the tab's sections (text.text_view, text.scores_view, image.image_view), so the API returns the numbers
the pictures are drawn from.

No `from __future__ import annotations` here: gr.api reads the return annotation without resolving strings, and
real types give the API page a real schema.
"""
import numpy as np
from gradio.data_classes import FileData

from core import device as devices
from core.attention import figures as ar
from core.attention import maths as att
from core.attention import text as ta
from core.render import to_data_url
from explorers.attention.image import image_view
from explorers.attention.text import scores_view, text_view
from explorers.common import api, user_errors

DECIMALS = 7  # API matrices are rounded to this: 512 rounded weights still sum to 1 within 3e-5


def rounded(a: np.ndarray) -> list:
    return np.round(a, DECIMALS).tolist()


@user_errors
@devices.gpu
def attention_text(text: str, model: str = "default", layer: int = -1, head: int = -1, hide_special: bool = False,
                   text_pair: str = "") -> dict:
    """Attention of one layer (-1: the last) and head (-1: the average of the heads) for `text`, and attention
    rollout through every layer, from a real pretrained text transformer.

    Parameters:
        text: the text, not blank, at most 10,000 characters; tokens past the model's limit (≤ 512) are truncated
        model: "default" (the bundled all-MiniLM-L6-v2: 6 layers x 12 heads) or a Hugging Face id this server allows
        layer: 0 to num_layers - 1 (6 for default), or negative to count from the last (-1: the last), as in Python
        head: 0 to num_heads - 1 (12 for default), or -1 for the average of the heads
        hide_special: a boolean; true zeroes the special tokens' columns ([CLS], [SEP], BOS) and renormalises each row
        text_pair: an optional second sentence, for encoders only ("" for none, and for decoders); ≤ 10,000 characters

    Returns:
        A dict: "model", "note" (null, or why another model answers), "description"; "tokens", the n tokens, and
        "special", n booleans (the tokens the tokenizer added); "causal" (a decoder: no token sees later ones);
        "num_layers", "num_heads"; "layer" (counted from 0) and "head" (-1: average), as used; "hide_special";
        "attention" and "rollout", n x n lists, row i = what token i takes from each token, rounded to 7 decimals;
        rows sum to 1 within 1e-4 (hide_special zeroes the special columns and renormalises the rows);
        "head_entropy", [layers][heads], each head's mean row entropy in bits; "truncated" (a boolean) and
        "notice" (null, or what truncation dropped) for an input longer than the model reads."""
    v = text_view(text, model, layer, head, hide_special, text_pair)
    r, tm = v.run, v.run.model
    return {"model": tm.name, "note": v.note, "description": tm.description, "tokens": r.tokens,
            "special": r.special.tolist(), "causal": tm.causal, "num_layers": tm.num_layers,
            "num_heads": tm.num_heads, "layer": v.layer, "head": v.head, "hide_special": v.hide_special,
            "attention": rounded(v.attention), "rollout": rounded(v.rollout),
            "head_entropy": np.round(ta.head_entropies(r), 6).tolist(), "truncated": r.notice is not None,
            "notice": r.notice}


@user_errors
@devices.gpu
def attention_scores(text: str, layer: int, head: int, temperature: float = 1.0, scale: bool = True,
                     model: str = "default", text_pair: str = "") -> dict:
    """The maths of one head laid bare: its real Q and K (recorded from the model's projections), the scores
    Q Kᵀ / √d_k (Q Kᵀ when scale is false) and weights = softmax(scores / temperature), row by row. A model whose
    Q and K cannot be read this way (rotary embeddings, grouped-query attention) is refused with a message.

    Parameters:
        text: the text, not blank, at most 10,000 characters; tokens past the model's limit (≤ 512) are truncated
        layer: 0 to num_layers - 1 (6 for default), or negative to count from the last (-1: the last), as in Python
        head: one head, 0 to num_heads - 1 (12 for default); no average, which has no Q and K of its own
        temperature: T in softmax(scores / T): from 0.01 to 100; T > 1 flattens each row, T < 1 sharpens
        scale: a boolean; true divides Q Kᵀ by √d_k, as the model does; false leaves the scores √d_k times larger
        model: "default" (the bundled all-MiniLM-L6-v2: 6 layers x 12 heads) or a Hugging Face id this server allows
        text_pair: an optional second sentence, for encoders only ("" for none, and for decoders); ≤ 10,000 characters

    Returns:
        A dict: "model", "note" (null, or why another model answers); "tokens", the n tokens; "layer" (counted from
        0) and "head", as used; "d_k", the width of one head's queries and keys; "temperature"; "scale"; "causal";
        "scores", n x n, Q Kᵀ / √d_k (or Q Kᵀ), null where masked (a causal model's keys after their query);
        "weights", n x n, softmax(scores / temperature), 0 where masked; "row_sums", each row's sum (1 within
        rounding); "max_difference", the largest |softmax(Q Kᵀ / √d_k) − the model's own weights| at temperature 1,
        the check that this is the model's real computation (at most 1e-4); "notice" (null, or what truncation
        dropped)."""
    r, note, layer, head, s = scores_view(text, model, layer, head, temperature, scale, text_pair)
    finite = np.isfinite(s.scores)
    return {"model": r.model.name, "note": note, "tokens": r.tokens, "layer": layer, "head": head, "d_k": s.d_k,
            "temperature": float(temperature), "scale": bool(scale), "causal": r.causal,
            "scores": [[float(x) if ok else None for x, ok in zip(row, oks, strict=True)]
                       for row, oks in zip(s.scores, finite, strict=True)],
            "weights": s.weights.tolist(), "row_sums": s.weights.sum(-1).tolist(),
            "max_difference": s.max_difference, "notice": r.notice}


@user_errors
@devices.gpu
def attention_image(image: FileData, model: str = "vit", layer: int = -1, head: int = -1) -> dict:
    """Attention in a vision transformer for one layer (-1: the last) and head (-1: the average): the CLS token's
    weight on every patch, and attention rollout through every layer. vit_b_16 is used where its weights are cached
    or downloadable; otherwise the bundled vit answers, with a note.

    Parameters:
        image: an image file (gradio_client: handle_file(path)), any format PIL reads; ≤ 40 MP, downscaled to 1024 px
        model: "vit" (bundled, Fashion-MNIST, 28 x 28 input) or "vit_b_16" (torchvision, ImageNet, 224 x 224 input)
        layer: 0 to num_layers - 1 (vit: 6, vit_b_16: 12), or negative to count from the last (-1: the last)
        head: 0 to num_heads - 1 (vit: 4, vit_b_16: 12), or -1 for the average of the heads

    Returns:
        A dict: "model", "note" (null, or why the vit answers), "description"; "grid" [h, w], the patches (vit: 4 x 4
        of 7 px; vit_b_16: 14 x 14 of 16 px); "num_tokens" n = h·w + 1; "num_layers", "num_heads"; "layer" (counted
        from 0) and "head" (-1: average), as used; "cls_attention", h x w, the CLS token's weight on each patch;
        "rollout", h x w, the CLS row of attention rollout through every layer; "attention", the whole n x n matrix
        (token 0 is CLS, then the patches row by row), so any patch's row can be read; matrices rounded to 7
        decimals; "overlay", cls_attention over the picture the model sees (PNG data URL, Viridis, scaled to its
        own maximum, with a colour bar under the picture); "predicted", "predicted_label" and "probability", the
        model's top class; "preprocessing", the steps in words."""
    v = image_view(image, model, layer, head)
    r = v.run
    top = int(np.argmax(r.probabilities))
    return {"model": r.vm.name, "note": v.note, "description": r.vm.description, "grid": list(r.grid),
            "num_tokens": r.num_tokens, "num_layers": r.num_layers, "num_heads": r.num_heads, "layer": v.layer,
            "head": v.head, "cls_attention": rounded(v.cls), "rollout": rounded(v.rollout),
            "attention": rounded(att.pick(r.attentions, v.layer, v.head)),
            "overlay": to_data_url(ar.heat_overlay(r.seen, v.cls, 0.5, r.grid)),
            "predicted": top, "predicted_label": r.vm.labels[top], "probability": float(r.probabilities[top]),
            "preprocessing": r.preprocessing}


def register() -> None:
    """Adds the three endpoints to the Blocks being built, in the order the API page lists them."""
    sentence = "The cat sat on the mat because it was tired."
    api(attention_text, "attention_text", example={"text": sentence})
    api(attention_scores, "attention_scores", nullable=("scores",),  # masked scores are null
        example={"text": sentence, "layer": 2, "head": 3})
    api(attention_image, "attention_image")
