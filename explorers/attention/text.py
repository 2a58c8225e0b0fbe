"""The Attention tab: what each token or patch attends to in a real transformer, and the Q·Kᵀ softmax behind it.

Text runs through the bundled all-MiniLM-L6-v2 (or a Hugging Face id the server allows); images through the
bundled Fashion-MNIST vit or torchvision's vit_b_16. The gr.api endpoints attention_text, attention_scores and
attention_image are the functions the UI's pictures come from; core.attention does the work.

No `from __future__ import annotations` here, for the reason given in explorers/convolution.py.
"""
from dataclasses import dataclass
from typing import NamedTuple, Optional

import gradio as gr
import numpy as np
from gradio.data_classes import FileData

from core import device as devices
from core import render
from core.attention import figures as ar
from core.attention import image as ia
from core.attention import maths as att
from core.attention import text as ta
from core.images import open_image, to_data_url
from core.validate import as_bool, as_choice, as_int
from explorers.common import LATEX, Box, api, explain, message_figure, outputs, skipped, uploaded_path, user_errors
from explorers.inputs import gallery_indices, input_column, sample_image

DECIMALS = 7  # API matrices are rounded to this: 512 rounded weights still sum to 1 within 3e-5
EXAMPLES = {  # name: (text, second sentence, the token whose focus to show)
    "Coreference: what does “it” attend to?": ("The animal didn't cross the street because it was too tired", "", "it"),
    "“bank” in two senses":
        ("She sat on the bank of the river, then walked into town to pay a cheque into the bank.", "", "bank"),
    "Subject–verb agreement across a phrase":
        ("The keys to the old wooden cabinet in the hall are on the kitchen table.", "", "are"),
    "A sentence pair (encoders only)": ("The trophy doesn't fit into the brown suitcase.", "It is too large.", "it"),
}
FIRST_EXAMPLE = next(iter(EXAMPLES))
AVERAGE = -1
HIDE_NOTE = "Special tokens hidden: their columns set to 0, each row renormalised over the rest. "
# The number boxes (explorers.common.Box). Layers and patches depend on the model; an empty Layer box is the last.
LAYER, IMAGE_LAYER = Box("Layer", 0, None, None), Box("Layer (images)", 0, None, None, label="Layer")
TEMPERATURE = Box("Softmax temperature T", 0.05, 10, 1.0, whole=False)
OPACITY = Box("Overlay opacity", 0, 1, 0.5, whole=False)
PATCH = Box("Patch", 0, None, 5, label="Patch (or click the patch grid)")


# ---------------------------------------------------------------- computing: the API and the UI share these


@dataclass(frozen=True)
class TextView:
    run: ta.TextRun
    note: Optional[str]        # why another model than the one asked for is shown
    layer: int
    head: int                  # -1: the average of the heads
    hide_special: bool
    attention: np.ndarray      # [n, n] the selection, special columns hidden when asked
    rollout: np.ndarray        # [n, n] likewise

    @property
    def where(self) -> str:
        return f"layer {self.layer}, {head_name(self.head, self.run.model.num_heads)}"


def head_name(head: int, num_heads: int) -> str:
    return f"average of {num_heads} heads" if head == AVERAGE else f"head {head}"


def text_view(text, model, layer, head, hide_special, text_pair) -> TextView:
    tm, note = ta.resolve(model)
    r = ta.run(tm, text, text_pair)
    layer, head = att.layer_index(layer, tm.num_layers), att.head_index(head, tm.num_heads)
    hide = as_bool(hide_special, "hide_special")
    return TextView(r, note, layer, head, hide, ta.for_display(att.pick(r.attentions, layer, head), r, hide),
                    ta.for_display(ta.rollout(r), r, hide))


def scores_view(text, model, layer, head, temperature, scale, text_pair):
    tm, note = ta.resolve(model)
    r = ta.run(tm, text, text_pair)
    layer, head = att.layer_index(layer, tm.num_layers), att.head_index(head, tm.num_heads, allow_average=False)
    return r, note, layer, head, ta.scores(r, layer, head, temperature, as_bool(scale, "scale"))


def rounded(a: np.ndarray) -> list:
    return np.round(a, DECIMALS).tolist()


@dataclass(frozen=True)
class ImageView:
    run: ia.ImageRun
    note: Optional[str]
    layer: int
    head: int
    cls: np.ndarray            # [h, w]
    rollout: np.ndarray        # [h, w]


def image_view(image, model, layer, head) -> ImageView:
    return picture_view(open_image(uploaded_path(image)), model, layer, head)


def picture_view(img, model, layer, head, box: Optional[Box] = None) -> ImageView:
    vm, note = ia.resolve(as_choice(model, "model", ia.NAMES))
    r = ia.run(vm, img)
    if box:  # the UI's Layer box, read against this model's layers
        layer = box.read(layer, hi=r.num_layers - 1).value
    layer, head = att.layer_index(layer, r.num_layers), att.head_index(head, r.num_heads)
    return ImageView(r, note, layer, head, ia.cls_map(r, layer, head), ia.rollout_map(r))


# ---------------------------------------------------------------- API endpoints


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
            "scores": [[float(x) if ok else None for x, ok in zip(row, oks)] for row, oks in zip(s.scores, finite)],
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
        decimals; "overlay", cls_attention over the picture the model sees (PNG data URL, Jet, scaled to its own
        maximum); "predicted", "predicted_label" and "probability", the model's top class; "preprocessing", the
        steps in words."""
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


# ---------------------------------------------------------------- text UI


def head_choices(num_heads: int) -> list[tuple[str, int]]:
    return [(head_name(AVERAGE, num_heads), AVERAGE), *single_heads(num_heads)]


def single_heads(num_heads: int) -> list[tuple[str, int]]:
    return [(f"head {h}", h) for h in range(num_heads)]


def token_choices(tokens: list[str]) -> list[tuple[str, int]]:
    return [(f"{i}: {t}", i) for i, t in enumerate(tokens)]


def focus_index(r: ta.TextRun, word: Optional[str]) -> int:
    """The token to focus on: `word` if the text has it, else the first ordinary token."""
    def plain(t: str) -> str:  # GPT-2 and SentencePiece mark a leading space with Ġ or ▁
        return t.lstrip("Ġ▁").lower()

    tokens = [plain(t) for t in r.tokens]
    if word and plain(word) in tokens:
        return tokens.index(plain(word))
    ordinary = np.flatnonzero(~r.special)
    return int(ordinary[0]) if len(ordinary) else 0


def heatmap_figure(v: TextView):
    r = v.run
    return ar.token_heatmap(v.attention, r.tokens, f"{r.model.name}: {v.where}",
                            att.causal_mask(len(r.tokens)) if r.causal else None,
                            HIDE_NOTE if v.hide_special else "")


def rollout_figure(v: TextView):
    r = v.run
    return ar.token_heatmap(v.rollout, r.tokens, f"Attention rollout through layers 0–{r.model.num_layers - 1}",
                            att.causal_mask(len(r.tokens)) if r.causal else None,
                            "Heads averaged, identity added for the residual, layers multiplied. "
                            + (HIDE_NOTE if v.hide_special else ""))


def model_view_state(grid: render.Grid) -> dict:
    return {"columns": grid.columns, "cell": grid.cell, "top": grid.top, "count": len(grid.channels)}


def entropy_markdown(r: ta.TextRun) -> str:
    ranked = att.rank_heads(ta.head_entropies(r))

    def show(items):
        return ", ".join(f"L{layer} H{head} ({bits:.2f} bits)" for layer, head, bits in items)
    return (f"**Most focused:** {show(ranked[:5])}.  \n**Most diffuse:** {show(ranked[::-1][:5])}.  \n"
            f"Uniform attention over {len(r.tokens)} tokens would be {np.log2(len(r.tokens)):.2f} bits."
            + (" In a causal model row i can spread over only i + 1 keys, so early rows pull every head down."
               if r.causal else ""))


def scores_outputs(text, model, layer, head, temperature, scale, text_pair):
    if head == AVERAGE:
        return (message_figure("Pick one head (not the average): the scores view needs that head's own Q and K."),
                "The average of the heads has no Q and K of its own.")
    try:
        r, _, layer, head, s = scores_view(text, model, layer, head, temperature, scale, text_pair)
    except ValueError as e:  # e.g. a rotary model: the other views still work, so only this one says why not
        return message_figure(str(e)), f"The scores view is not available here: {e}"
    t = float(temperature)
    what = f"QKᵀ/√{s.d_k}" if scale else "QKᵀ (no √d_k)"
    fig = ar.scores_figure(s.scores, s.weights, r.tokens,
                           f"{r.model.name}, layer {layer}, head {head}: scores = {what}, weights at T = {t:g}")
    deviation = float(np.abs(s.weights.sum(-1) - 1).max())
    md = (f"d_k = {s.d_k}: Q and K are [{len(r.tokens)} × {s.d_k}], recorded from the model's own projections. "
          f"Every row of the weights sums to 1 (largest |Σ − 1| = {deviation:.1e}). At T = 1 with √d_k on, "
          f"softmax(QKᵀ/√d_k) matches the model's own attention weights to **{s.max_difference:.1e}** "
          "(largest difference).")
    if not scale:
        md += f" Without √d_k the scores are √{s.d_k} ≈ {np.sqrt(s.d_k):.1f}× larger, so softmax saturates."
    if r.causal:
        md += " Grey cells are masked (−∞ before the softmax): a token cannot see the tokens after it."
    return fig, md


def head_view_outputs(v: TextView, heads) -> tuple[str, str]:
    """The head view of the view's layer for the chosen heads (all when `heads` is None), and its note."""
    r, num_heads = v.run, v.run.model.num_heads
    chosen = list(range(num_heads)) if heads is None else sorted(
        {as_int(h, "head", 0, num_heads - 1) for h in heads})
    if not chosen:
        return "", "Tick at least one head to draw its lines."
    weights = np.stack([ta.for_display(r.attentions[v.layer, h], r, v.hide_special) for h in range(num_heads)])
    n = len(r.tokens)
    hv = ar.head_view(weights, r.tokens, chosen, att.causal_mask(n) if r.causal else None)
    return hv.html, (
        f"Layer {v.layer}, {len(chosen)} of {num_heads} heads. Left: the attending token (query); right: the "
        "token it attends to (key). Each line's opacity is that head's weight; one colour per head. **Point at a "
        f"token** to see only its lines. {hv.drawn:,} lines drawn of {hv.total:,} weights: the "
        f"{hv.total - hv.drawn:,} below {hv.floor:.3g}{' or masked' if r.causal else ''} are left out, "
        + ("too faint to see." if hv.floor == ar.HEAD_VIEW_MIN_WEIGHT else
           f"so that at most the {ar.HEAD_VIEW_MAX_LINES:,} strongest lines are drawn (more would take seconds to "
           "draw); untick heads to see fainter ones.") + (" " + HIDE_NOTE if v.hide_special else ""))


def notice_markdown(v: TextView) -> str:
    parts = [f"**{v.run.model.description}**, {len(v.run.tokens)} tokens."]
    if v.note:
        parts.insert(0, f"⚠️ {v.note}")
    if v.run.notice:
        parts.append(f"⚠️ {v.run.notice}")
    if v.hide_special and not v.run.special.any():
        parts.append("This tokenizer added no special tokens to the input, so there is nothing to hide.")
    if ar.long_input(len(v.run.tokens)):  # the axes then count positions: this list says which token each is
        listed = " · ".join(f"{i} {t}" for i, t in enumerate(v.run.tokens)).replace("`", "'")  # in a code span
        parts.append(f"Above {ar.LABELS_UP_TO} tokens the heatmaps' axes count positions (every "
                     f"{ar.TICK_EVERY}th is numbered); point at a cell for its two tokens. Tokens by position: "
                     f"`{listed}`")
    return "  \n".join(parts)


class TextViews(NamedTuple):
    model: object
    layer: object
    head: object
    notice: str
    heatmap: object
    model_view: object
    grid_info: dict
    rollout: object
    token: object
    focus: object
    entropy: object
    ranking: str
    scores: object
    scores_note: str
    heads: object
    head_view: str
    head_view_note: str


@user_errors
@devices.gpu
def text_ui(text, text_pair, model, layer, head, hide_special, word, temperature, scale):
    """Everything for a new text, model or sink setting: the controls fitted to the model, and every view."""
    v = text_view(text, model, text_layer(model, layer).value, head, hide_special, text_pair)
    r, tm = v.run, v.run.model
    if v.note:
        gr.Warning(v.note)
    i = focus_index(r, word)
    grid = ar.model_view(r.attentions, r.special if v.hide_special else None)
    # gr.update, not gr.Slider(...): build() calls this inside the Blocks, where a constructor adds a component.
    return TextViews(gr.update(value=tm.name if v.note is None else "default"),
                     gr.update(maximum=tm.num_layers - 1, value=v.layer),
                     gr.update(choices=head_choices(tm.num_heads), value=v.head),
                     notice_markdown(v), heatmap_figure(v), grid.image, model_view_state(grid), rollout_figure(v),
                     gr.update(choices=token_choices(r.tokens), value=i),
                     ar.focus_figure(v.attention, r.tokens, i, v.where),
                     ar.entropy_figure(ta.head_entropies(r), len(r.tokens)), entropy_markdown(r),
                     *scores_outputs(text, model, v.layer, v.head, TEMPERATURE.read(temperature).value, scale,
                                     text_pair),
                     gr.update(choices=single_heads(tm.num_heads), value=list(range(tm.num_heads))),
                     *head_view_outputs(v, None))


def text_layer(model, layer):
    """The Layer box, read against the text model's own layers."""
    return LAYER.read(layer, hi=ta.resolve(model)[0].num_layers - 1)


SelectionViews = NamedTuple("SelectionViews", [("heatmap", object), ("focus", object), ("scores", object),
                                               ("scores_note", str), ("head_view", str), ("head_view_note", str),
                                               ("layer", object)])


@user_errors
@devices.gpu
def layer_ui(text, text_pair, model, layer, head, hide_special, token, temperature, scale,
             heads) -> SelectionViews:
    """A new layer or head: the heatmap, the token focus, the scores view and the head view, and the layer used
    in its box."""
    at = text_layer(model, layer)
    v = text_view(text, model, at.value, head, hide_special, text_pair)
    i = as_int(token, "token", 0, len(v.run.tokens) - 1) if token is not None else focus_index(v.run, None)
    return SelectionViews(heatmap_figure(v), ar.focus_figure(v.attention, v.run.tokens, i, v.where),
                          *scores_outputs(text, model, v.layer, v.head, TEMPERATURE.read(temperature).value, scale,
                                          text_pair), *head_view_outputs(v, heads), at.shown)


def selection_ui(*args):
    """A head opened from the model view, which has set the Layer box: layer_ui's views alone."""
    return layer_ui(*args)[:-1]


@user_errors
@devices.gpu
def focus_ui(text, text_pair, model, layer, head, hide_special, token):
    v = text_view(text, model, text_layer(model, layer).value, head, hide_special, text_pair)
    i = as_int(token, "token", 0, len(v.run.tokens) - 1)
    return ar.focus_figure(v.attention, v.run.tokens, i, v.where), v.run.tokens[i]


@user_errors
@devices.gpu
def scores_ui(text, text_pair, model, layer, head, temperature, scale):
    t = TEMPERATURE.read(temperature)
    return *scores_outputs(text, model, text_layer(model, layer).value, head, t.value, scale, text_pair), t.shown


@user_errors
@devices.gpu
def head_view_ui(text, text_pair, model, layer, hide_special, heads):
    v = text_view(text, model, text_layer(model, layer).value, AVERAGE, hide_special, text_pair)
    return head_view_outputs(v, heads)


def open_head(state, evt: gr.SelectData):
    """A click on a model-view thumbnail opens that layer and head in the heatmap."""
    if not state or not evt.index:
        return gr.skip(), gr.skip(), gr.skip()
    grid = render.Grid(None, list(range(state["count"])), state["columns"], state["cell"], state["top"], "", (0, 0))
    i = render.tile_at(grid, *evt.index[:2])
    if i is None:
        return gr.skip(), gr.skip(), gr.skip()
    layer, head = divmod(i, state["columns"])
    return layer, head, gr.update(selected="attn-view-heatmap")


def use_example(name):
    return EXAMPLES[as_choice(name, "example", list(EXAMPLES))]  # text, second sentence, focus word


# ---------------------------------------------------------------- image UI


def image_model_choices() -> list[tuple[str, str]]:
    return [(f"{name} ({ia.availability(name)})", name) for name in ia.NAMES]


class ImageViews(NamedTuple):
    image_model: object
    image_layer: object
    image_head: object
    image_note: str
    cls_image: object
    cls_note: str
    rollout_image: object
    rollout_note: str
    grid_image: object
    patch_grid: dict
    grid_note: str
    patch_image: object
    patch_note: str
    opacity: object
    patch: object


@user_errors
@devices.gpu
def image_ui(image, model, layer, head, opacity, patch):
    if image is None:
        return skipped(ImageViews)
    return image_views(open_image(uploaded_path(image)), model, layer, head, opacity, patch)


def image_views(img, model, layer, head, opacity, patch) -> ImageViews:
    return image_panels(picture_view(img, model, layer, head, IMAGE_LAYER), opacity, patch)


def image_panels(v: ImageView, opacity, patch) -> ImageViews:
    """Every image output for one view: the controls fitted to the model, the overlays, the grid and the notes."""
    r = v.run
    if v.note:
        gr.Warning(v.note)
    h, w = r.grid
    asked = OPACITY.read(opacity)
    picked, alpha = PATCH.read(patch, hi=h * w - 1).value, asked.value  # the Patch box is told always: a click sets it
    where = f"layer {v.layer}, {head_name(v.head, r.num_heads)}"
    top = int(np.argmax(r.probabilities))
    model_md = (f"{'⚠️ ' + v.note + '  ' + chr(10) if v.note else ''}**{r.vm.description}**. Prediction: "
                f"**{r.vm.labels[top]}** (p = {r.probabilities[top]:.3f}). What the model sees: {r.preprocessing}.")
    cls_md = (f"CLS → patches, {where}: the CLS token's weights on the {h * w} patches (its weight on itself, "
              f"{att.pick(r.attentions, v.layer, v.head)[0, 0]:.3f}, is left out). Jet: blue 0, red this map's "
              f"maximum ({v.cls.max():.3f}).")
    patch_md = (f"Patch {picked} (row {picked // w}, column {picked % w}) → patches, {where}; outlined in white. "
                "Jet: blue 0, red this map's maximum.")
    rollout_md = (f"Rollout through layers 0–{r.num_layers - 1} (heads averaged, identity added for the residual), "
                  f"CLS row over the patches: from {v.rollout.min():.3f} to {v.rollout.max():.3f}. Jet: blue 0, red "
                  "the maximum. It does not depend on the layer and head chosen above.")
    grid_picture = ar.patch_grid_picture(r.seen, r.grid, picked)
    return ImageViews(gr.update(choices=image_model_choices(), value=r.vm.name),
                      gr.update(maximum=r.num_layers - 1, value=v.layer),
                      gr.update(choices=head_choices(r.num_heads), value=v.head), model_md,
                      ar.heat_overlay(r.seen, v.cls, alpha, r.grid), cls_md,
                      ar.heat_overlay(r.seen, v.rollout, alpha, r.grid), rollout_md,
                      grid_picture, {"size": list(grid_picture.size), "grid": list(r.grid)}, ia.cost_note(r),
                      ar.heat_overlay(r.seen, ia.patch_map(r, v.layer, v.head, picked), alpha, r.grid, picked),
                      patch_md, asked.shown, picked)


@user_errors
@devices.gpu
def pick_patch(state, image, model, layer, head, opacity, evt: gr.SelectData):
    """A click on the patch grid picks the patch under it and redraws every image view for it."""
    patch = ia.patch_at(tuple(state["size"]), tuple(state["grid"]), *evt.index[:2]) if state and evt.index else None
    if patch is None or image is None:
        return skipped(ImageViews)
    return image_views(open_image(uploaded_path(image)), model, layer, head, opacity, patch)


# ---------------------------------------------------------------- layout

EXPLAIN = explain("attention")


def build(demo: gr.Blocks) -> None:
    """The Attention tab (text, then images) and its attention_* API endpoints.

    The text views are filled by `demo.load` rather than here: importing transformers and loading the text model
    take seconds, and the server should answer first (the page then fills in as soon as the model is ready)."""
    private = dict(api_visibility="private")
    first_text, first_pair, first_word = EXAMPLES[FIRST_EXAMPLE]
    num_layers, num_heads = ta.bundled_shape()

    gr.Markdown("## Text: attention in a pretrained transformer\nType a sentence and see, for every token, how much "
                "it takes from every other token, in every layer and head of a real model.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            example = gr.Dropdown(list(EXAMPLES), value=FIRST_EXAMPLE, label="Example prompts",
                                  elem_id="attn-example")
            # One line that grows to eight: Enter runs (a multi-line box would take it as a newline).
            text = gr.Textbox(first_text, lines=1, max_lines=8, label="Text", elem_id="attn-text")
            pair = gr.Textbox(first_pair, lines=1, label="Second sentence (optional; encoders only)",
                              elem_id="attn-pair")
        with gr.Column(scale=2, min_width=320):
            model = gr.Textbox(ta.BUNDLED_NAME, label="Model: a Hugging Face id, or default",
                               info=f"Bundled and offline: {ta.BUNDLED_NAME}. Others (bert-base-uncased, gpt2 ...) "
                                    "need a download and this server's permission.", elem_id="attn-model")
            run = gr.Button("Run", variant="primary", elem_id="attn-run")
            notice = gr.Markdown(f"Loading {ta.BUNDLED_NAME} ...", elem_id="attn-notice")
    with gr.Row():
        layer = LAYER.slider(hi=num_layers - 1, elem_id="attn-layer")
        head = gr.Dropdown(head_choices(num_heads), value=AVERAGE, label="Head", elem_id="attn-head")
        hide = gr.Checkbox(False, label="Hide [CLS] / [SEP] / BOS sinks and renormalise rows", elem_id="attn-hide")
    word = gr.State(first_word)
    grid_info = gr.State()
    with gr.Tabs(selected="attn-view-heatmap") as views:
        with gr.Tab("Heatmap", id="attn-view-heatmap"):
            heatmap = gr.Plot(label="Attention of one layer and head", elem_id="attn-heatmap")
        with gr.Tab("Model view", id="attn-view-model"):
            model_view = gr.Image(type="pil", format="png", interactive=False, show_label=False,
                                  label="Every layer × head (click one to open it)", elem_id="attn-model-view")
        with gr.Tab("Rollout", id="attn-view-rollout"):
            rollout = gr.Plot(label="Attention rollout", elem_id="attn-rollout")
        with gr.Tab("Token focus", id="attn-view-focus"):
            token = gr.Dropdown([], label="Token", elem_id="attn-token")
            focus = gr.Plot(label="What it attends to, and what attends to it", elem_id="attn-focus")
        with gr.Tab("Head entropy", id="attn-view-entropy"):
            entropy = gr.Plot(label="Head entropy", elem_id="attn-entropy")
            ranking = gr.Markdown(elem_id="attn-entropy-rank")
        with gr.Tab("Scores: Q·Kᵀ", id="attn-view-scores"):
            with gr.Row():
                temperature = TEMPERATURE.slider(step=0.05, elem_id="attn-temperature")
                scale = gr.Checkbox(True, label="Divide by √d_k", elem_id="attn-scale")
            scores = gr.Plot(label="Scores, weights, row sums", elem_id="attn-scores")
            scores_note = gr.Markdown(elem_id="attn-scores-note")
        with gr.Tab("Head view", id="attn-view-heads"):
            heads = gr.CheckboxGroup(single_heads(num_heads), value=list(range(num_heads)),
                                     label="Heads drawn (of the layer chosen above)", elem_id="attn-heads")
            head_view_note = gr.Markdown(elem_id="attn-head-view-note")
            head_view = gr.HTML("", js_on_load=ar.HEAD_VIEW_JS, css_template=ar.HEAD_VIEW_CSS,
                                elem_id="attn-head-view")

    gr.Markdown("## Images: attention in a vision transformer\nWhere the CLS token, which the classifier reads, "
                "and any patch you pick look in the image.")
    vit = ia.load(ia.BUNDLED)
    first_image = sample_image(gallery_indices()[0])
    start = image_panels(picture_view(first_image, ia.BUNDLED, -1, AVERAGE), 0.5, PATCH.default)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            column = input_column(first_image, "attn")
        with gr.Column(scale=1, min_width=300):
            image_model = gr.Dropdown(image_model_choices(), value=ia.BUNDLED, label="Model",
                                      elem_id="attn-image-model")
            image_layer = IMAGE_LAYER.slider(hi=vit.module.num_layers - 1, elem_id="attn-image-layer")
            image_head = gr.Dropdown(head_choices(vit.module.num_heads), value=AVERAGE, label="Head",
                                     elem_id="attn-image-head")
            opacity = OPACITY.slider(step=0.05, elem_id="attn-opacity")
            patch = PATCH.number(elem_id="attn-patch")
            image_note = gr.Markdown(start.image_note, elem_id="attn-image-note")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=240):
            cls_image = gr.Image(start.cls_image, type="pil", format="png", interactive=False,
                                 label="CLS → patches", elem_id="attn-cls")
            cls_note = gr.Markdown(start.cls_note, elem_id="attn-cls-note")
        with gr.Column(min_width=240):
            rollout_image = gr.Image(start.rollout_image, type="pil", format="png", interactive=False,
                                     label="Rollout: CLS row, all layers", elem_id="attn-image-rollout")
            rollout_note = gr.Markdown(start.rollout_note, elem_id="attn-image-rollout-note")
        with gr.Column(min_width=240):
            grid_image = gr.Image(start.grid_image, type="pil", format="png", interactive=False,
                                  label="Patch grid (click a patch)", elem_id="attn-patch-grid")
            grid_note = gr.Markdown(start.grid_note, elem_id="attn-grid-note")
        with gr.Column(min_width=240):
            patch_image = gr.Image(start.patch_image, type="pil", format="png", interactive=False,
                                   label="The picked patch → patches", elem_id="attn-patch-map")
            patch_note = gr.Markdown(start.patch_note, elem_id="attn-patch-note")
    patch_grid = gr.State(start.patch_grid)
    with gr.Accordion("Explain: Q, K, V and softmax, heads and W^O, √d_k, rollout, and why attention is not an "
                      "explanation", open=False, elem_id="attn-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="attn-explain-text")

    ui = dict(model=model, layer=layer, head=head, notice=notice, heatmap=heatmap, model_view=model_view,
              grid_info=grid_info, rollout=rollout, token=token, focus=focus, entropy=entropy, ranking=ranking,
              scores=scores, scores_note=scores_note, heads=heads, head_view=head_view,
              head_view_note=head_view_note, image_model=image_model, image_layer=image_layer,
              image_head=image_head, image_note=image_note, cls_image=cls_image, cls_note=cls_note,
              rollout_image=rollout_image, rollout_note=rollout_note, grid_image=grid_image, patch_grid=patch_grid,
              grid_note=grid_note, patch_image=patch_image, patch_note=patch_note, opacity=opacity, patch=patch)
    text_inputs = [text, pair, model, layer, head, hide, word, temperature, scale]
    selection_inputs = [text, pair, model, layer, head, hide, token, temperature, scale, heads]
    gr.on([demo.load, run.click, text.submit, pair.submit, model.submit, hide.input], text_ui, text_inputs,
          outputs(TextViews, ui), trigger_mode="always_last", **private)
    # An edited text is no longer the example, so the dropdown lets go of its choice.
    gr.on([text.input, pair.input], lambda: None, None, example, **private)
    example.input(use_example, example, [text, pair, word], **private).then(
        text_ui, text_inputs, outputs(TextViews, ui), **private)
    gr.on([layer.release, head.input], layer_ui, selection_inputs, outputs(SelectionViews, ui),
          trigger_mode="always_last", **private)
    model_view.select(open_head, grid_info, [layer, head, views], **private).then(
        selection_ui, selection_inputs, outputs(SelectionViews, ui)[:-1], **private)
    heads.input(head_view_ui, [text, pair, model, layer, hide, heads], [head_view, head_view_note],
                trigger_mode="always_last", **private)
    token.input(focus_ui, [text, pair, model, layer, head, hide, token], [focus, word], **private)
    gr.on([temperature.release, scale.input], scores_ui, [text, pair, model, layer, head, temperature, scale],
          [scores, scores_note, temperature], trigger_mode="always_last", **private)

    image, image_outputs = column.image, outputs(ImageViews, ui)
    settings = [image_model, image_layer, image_head, opacity, patch]
    column.on_new_image(devices.gpu(image_views), settings, image_outputs)
    gr.on([image_model.input, image_layer.release, image_head.input, opacity.release, patch.submit],
          image_ui, [image, *settings], image_outputs, trigger_mode="always_last", **private)
    grid_image.select(pick_patch, [patch_grid, image, *settings[:-1]], image_outputs, **private)
    api(attention_text, "attention_text")
    api(attention_scores, "attention_scores", nullable=("scores",))  # masked scores are null
    api(attention_image, "attention_image")
