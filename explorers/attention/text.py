"""The Attention tab's text section: what each token attends to in a real pretrained text transformer, and the
Q·Kᵀ softmax behind one head.

Text runs through the bundled all-MiniLM-L6-v2, or a Hugging Face id the server allows; core.attention.text runs the
model and reads its attention, Q and K. text_view and scores_view are also what the attention_text and
attention_scores endpoints (endpoints.py) answer from.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import numpy as np

from core import device as devices
from core import render
from core.attention import figures as ar
from core.attention import maths as att
from core.attention import text as ta
from core.validate import as_bool, as_choice, as_int
from explorers.attention.heads import AVERAGE, head_choices, head_name, single_heads
from explorers.common import Box, outputs, user_errors
from explorers.path import Step, path
from explorers.widgets import packed, widget

EXAMPLES = {  # name: (text, second sentence, the token whose focus to show)
    "Coreference: what does “it” attend to?": ("The animal didn't cross the street because it was too tired", "", "it"),
    "“bank” in two senses":
        ("She sat on the bank of the river, then walked into town to pay a cheque into the bank.", "", "bank"),
    "Subject–verb agreement across a phrase":
        ("The keys to the old wooden cabinet in the hall are on the kitchen table.", "", "are"),
    "A sentence pair (encoders only)": ("The trophy doesn't fit into the brown suitcase.", "It is too large.", "it"),
}
FIRST_EXAMPLE = next(iter(EXAMPLES))
HIDE_NOTE = "Special tokens hidden: their columns set to 0, each row renormalised over the rest. "
ROLLOUT_HIDDEN = "Special tokens' columns dropped from the result, each row renormalised over the text's own tokens. "
# The number boxes (explorers.common.Box). Layers depend on the model; an empty Layer box is the last.
LAYER = Box("Layer", 0, None, None)
SCORES_WIDGET = Path(__file__).with_name("scores")  # scores.html, .js, .css: the scores drawn in the browser
HEAD_VIEW_WIDGET = Path(__file__).with_name("head_view")  # head_view.html, .js, .css: the lines drawn as SVG
TEMPERATURES = {"lo": 0.05, "hi": 10.0}  # the scores widget's temperature track (the API takes 0.01 to 100)
# The head the page opens on, and the head view's heads: on the first example with the bundled model, layer 3's
# head 1 sends 0.64 of "it"'s row to "animal" (the first example's question; the largest it -> animal weight of
# layers 0-4) at 1.89 bits of mean row entropy (uniform: 3.91), so the heatmap, the scores view and the head view
# open on a head reading meaning. Head 5 of the same layer is its most focused head (1.21 bits), with 0.83 of every
# ordinary token's row on [CLS] / [SEP]: drawn beside head 1, the head view shows a sink against a pattern.
# (The average of the heads has no Q and K, and all 12 heads drawn at once are a grey tangle.)
DEFAULT_LAYER, DEFAULT_HEAD = 3, 1
HEATMAP_CAPTION = (
    "**How to read it.** A row is one token as it looks (the query); a column, a token it reads (the key). Each "
    "row's weights add up to 1, coloured from dark purple (0) to yellow (the largest weight shown); grey cells are "
    "masked, in a causal model, where a key comes after its query.\n\nA bright [CLS] or [SEP] column is a *sink*: a "
    "head with nothing to find parks its weight there (the switch above hides them).\n\nOn the first example, the "
    "row of “it” in layer 3, head 1 puts 0.64 on “animal”, the word “it” stands for.")
DEFAULT_HEADS = (1, 5)


# ---------------------------------------------------------------- computing: the API and the UI share these


@dataclass(frozen=True)
class TextView:
    run: ta.TextRun
    note: str | None        # why another model than the one asked for is shown
    layer: int
    head: int                  # -1: the average of the heads
    hide_special: bool
    attention: np.ndarray      # [n, n] the selection, special columns hidden when asked
    rollout: np.ndarray        # [n, n] likewise

    @property
    def where(self) -> str:
        return f"layer {self.layer}, {head_name(self.head, self.run.model.num_heads)}"


def text_view(text, model, layer, head, hide_special, text_pair) -> TextView:
    tm, note = ta.resolve(model)
    r = ta.run(tm, text, text_pair)
    layer, head = att.layer_index(layer, tm.num_layers), att.head_index(head, tm.num_heads)
    hide = as_bool(hide_special, "hide_special")
    return TextView(r, note, layer, head, hide, ta.for_display(att.pick(r.attentions, layer, head), r, hide),
                    ta.rollout(r, hide))


def scores_view(text, model, layer, head, temperature, scale, text_pair):
    tm, note = ta.resolve(model)
    r = ta.run(tm, text, text_pair)
    layer, head = att.layer_index(layer, tm.num_layers), att.head_index(head, tm.num_heads, allow_average=False)
    return r, note, layer, head, ta.scores(r, layer, head, temperature, as_bool(scale, "scale"))


# ---------------------------------------------------------------- the views and their handlers


def token_choices(tokens: list[str]) -> list[tuple[str, int]]:
    return [(f"{i}: {t}", i) for i, t in enumerate(tokens)]


def focus_index(r: ta.TextRun, word: str | None) -> int:
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


def rollout_views(r: ta.TextRun, hide) -> tuple[object, str]:
    """The rollout heatmap, without the special tokens' columns when `hide` (the Rollout view's own switch), and
    its note: how much of every row the special tokens take, which is why the switch exists."""
    hide = as_bool(hide, "hide_rollout") and bool(r.special.any())
    rollout = ta.rollout(r)
    share = ta.special_share(rollout, r)
    figure = ar.token_heatmap(ta.for_display(rollout, r, hide), r.tokens,
                              f"Attention rollout through layers 0–{r.model.num_layers - 1}",
                              att.causal_mask(len(r.tokens)) if r.causal else None,
                              "Heads averaged, identity added for the residual, layers multiplied. "
                              + (ROLLOUT_HIDDEN if hide else ""))
    specials = " and ".join(dict.fromkeys(t for t, s in zip(r.tokens, r.special, strict=True) if s))
    if not r.special.any():
        note = "This tokenizer added no special tokens, so every column is one of the text's own tokens."
    elif hide:
        note = (f"Shown without {specials}: their columns are dropped and each row is divided by what is left, so "
                f"row i is how the part of position i that comes from the text's own tokens splits among them. With "
                f"them, on average **{share:.2f}** of every row lands on {specials}.")
    else:
        note = (f"On average **{share:.2f}** of every row lands on {specials}, which leaves the text's own tokens a "
                "few hundredths each. Tick the switch to drop those columns and renormalise each row.")
    return figure, note


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


def scores_outputs(text, model, layer, head, text_pair):
    """The scores widget's data for one head, Q·Kᵀ with −∞ where masked (the widget divides by √d_k and takes the
    softmax at the temperature it shows), and the note of what was checked on the server."""
    if head == AVERAGE:
        return ({"message": "Pick one head (not the average): the scores view needs that head's own Q and K."},
                "The average of the heads has no Q and K of its own.")
    try:
        r, _, layer, head, s = scores_view(text, model, layer, head, 1.0, False, text_pair)
    except ValueError as e:  # e.g. a rotary model: the other views still work, so only this one says why not
        return {"message": str(e)}, f"The scores view is not available here: {e}"
    md = (f"d_k = {s.d_k}: Q and K are [{len(r.tokens)} × {s.d_k}], recorded from the model's own projections. "
          f"At T = 1 with √d_k on, softmax(QKᵀ/√d_k) matches the model's own attention weights to "
          f"**{s.max_difference:.1e}** (largest difference). Without √d_k the scores are √{s.d_k} ≈ "
          f"{np.sqrt(s.d_k):.1f}× larger, so softmax saturates.")
    if r.causal:
        md += " Grey cells are masked (−∞ before the softmax): a token cannot see the tokens after it."
    return {"title": f"{r.model.name}, layer {layer}, head {head}", "layer": layer, "head": head,
            "tokens": r.tokens, "d_k": s.d_k,
            "causal": r.causal, "raw": packed(s.scores, "float64")}, md


def head_view_outputs(v: TextView, heads) -> tuple[dict, str]:
    """The head view's value for the view's layer and the chosen heads: the tokens, each
    chosen head's colour, and the lines core.attention.figures.head_view keeps as (head, query, key) with their
    weights, which head_view.js draws; and its note."""
    r, num_heads = v.run, v.run.model.num_heads
    chosen = sorted({as_int(h, "head", 0, num_heads - 1) for h in heads or ()})
    if not chosen:
        return {}, "Tick at least one head to draw its lines."
    weights = np.stack([ta.for_display(r.attentions[v.layer, h], r, v.hide_special) for h in range(num_heads)])
    n = len(r.tokens)
    hv = ar.head_view(weights, chosen, att.causal_mask(n) if r.causal else None)
    value = {"tokens": r.tokens, "heads": chosen, "colours": [ar.head_colour(h) for h in chosen],
             "lines": packed(hv.lines, "int32"), "weights": packed(hv.weights, "float32")}
    return value, (
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
    rollout_note: str
    token: object
    focus: object
    entropy: object
    ranking: str
    scores: object
    scores_note: str
    heads: object
    head_view: dict
    head_view_note: str


@user_errors
@devices.gpu
def text_ui(text, text_pair, model, layer, head, hide_special, word, hide_rollout):
    """Everything for a new text, model or sink setting: the controls fitted to the model, and every view."""
    v = text_view(text, model, text_layer(model, layer).value, head, hide_special, text_pair)
    r, tm = v.run, v.run.model
    if v.note:
        gr.Warning(v.note)
    i = focus_index(r, word)
    shown = [h for h in DEFAULT_HEADS if h < tm.num_heads] or [0]   # a model with fewer heads: its first
    grid = ar.model_view(r.attentions, r.special if v.hide_special else None)
    # gr.update, not gr.Slider(...): build() calls this inside the Blocks, where a constructor adds a component.
    return TextViews(gr.update(value=tm.name if v.note is None else "default"),
                     gr.update(maximum=tm.num_layers - 1, value=v.layer),
                     gr.update(choices=head_choices(tm.num_heads), value=v.head),
                     notice_markdown(v), heatmap_figure(v), grid.image, model_view_state(grid),
                     *rollout_views(r, hide_rollout),
                     gr.update(choices=token_choices(r.tokens), value=i),
                     ar.focus_figure(v.attention, r.tokens, i, v.where),
                     ar.entropy_figure(ta.head_entropies(r), len(r.tokens)), entropy_markdown(r),
                     *scores_outputs(text, model, v.layer, v.head, text_pair),
                     gr.update(choices=single_heads(tm.num_heads), value=shown),
                     *head_view_outputs(v, shown))


def text_layer(model, layer):
    """The Layer box, read against the text model's own layers."""
    return LAYER.read(layer, hi=ta.resolve(model)[0].num_layers - 1)


class SelectionViews(NamedTuple):
    heatmap: object
    focus: object
    scores: object
    scores_note: str
    head_view: dict
    head_view_note: str
    layer: object


@user_errors
@devices.gpu
def layer_ui(text, text_pair, model, layer, head, hide_special, token, heads) -> SelectionViews:
    """A new layer or head: the heatmap, the token focus, the scores view and the head view, and the layer used
    in its box."""
    at = text_layer(model, layer)
    v = text_view(text, model, at.value, head, hide_special, text_pair)
    i = as_int(token, "token", 0, len(v.run.tokens) - 1) if token is not None else focus_index(v.run, None)
    return SelectionViews(heatmap_figure(v), ar.focus_figure(v.attention, v.run.tokens, i, v.where),
                          *scores_outputs(text, model, v.layer, v.head, text_pair), *head_view_outputs(v, heads),
                          at.shown)


def selection_ui(*args):
    """A head opened from the model view, which has set the Layer box: layer_ui's views alone."""
    return layer_ui(*args)[:-1]


@user_errors
@devices.gpu
def rollout_ui(text, text_pair, model, hide_rollout):
    """The Rollout view's switch: its heatmap and note again."""
    return rollout_views(ta.run(ta.resolve(model)[0], text, text_pair), hide_rollout)


@user_errors
@devices.gpu
def focus_ui(text, text_pair, model, layer, head, hide_special, token):
    v = text_view(text, model, text_layer(model, layer).value, head, hide_special, text_pair)
    i = as_int(token, "token", 0, len(v.run.tokens) - 1)
    return ar.focus_figure(v.attention, v.run.tokens, i, v.where), v.run.tokens[i]


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


# ---------------------------------------------------------------- layout and wiring


class TextControls(NamedTuple):
    """What the section's views are asked for: the text, the model, the layer, head and sink setting."""
    example: gr.Dropdown
    text: gr.Textbox
    pair: gr.Textbox
    model: gr.Textbox
    run: gr.Button
    notice: gr.Markdown
    layer: gr.Slider
    head: gr.Dropdown
    hide: gr.Checkbox
    word: gr.State             # the focus word of the example last chosen


class TextPanels(NamedTuple):
    """The views, one sub-tab each, with the settings that belong to one view alone."""
    views: gr.Tabs
    grid_info: gr.State        # where the model view's thumbnails are, to find the one clicked
    heatmap: gr.Plot
    model_view: gr.Image
    rollout_hide: gr.Checkbox
    rollout: gr.Plot
    rollout_note: gr.Markdown
    token: gr.Dropdown
    focus: gr.Plot
    entropy: gr.Plot
    ranking: gr.Markdown
    scores: gr.Plot
    scores_note: gr.Markdown
    heads: gr.CheckboxGroup
    head_view_note: gr.Markdown
    head_view: gr.HTML


def controls(num_layers: int, num_heads: int) -> TextControls:
    """Two compact rows, so that the heatmap under them is on the first screen: what to read (example, text, model,
    Run), then what to look at (layer, head, the sink switch) beside the second sentence."""
    path("attn-path-text", "Each row: how one token of your text spreads its attention over the tokens it reads, in "
         "one layer and head of a real pretrained transformer.",
         [Step("Type a sentence, Run", "attn-text"), Step("Pick a layer and head", "attn-layer"),
          Step("See every head at once", "attn-model-view", "Model view"),
          Step("Follow one token", "attn-focus", "Token focus"),
          Step("Inside one head: Q·Kᵀ", "attn-scores", "Q·Kᵀ"),
          Step("Through all layers: rollout", "attn-rollout", "Rollout")],
         picture="attn-heatmap", control="attn-run")
    first_text, first_pair, first_word = EXAMPLES[FIRST_EXAMPLE]
    with gr.Row(equal_height=True):
        example = gr.Dropdown(list(EXAMPLES), value=FIRST_EXAMPLE, label="Example prompts", scale=3, min_width=220,
                              elem_id="attn-example")
        # One line that grows to eight: Enter runs (a multi-line box would take it as a newline).
        text = gr.Textbox(first_text, lines=1, max_lines=8, label="Text", scale=5, min_width=280, elem_id="attn-text")
        # Where to say it without a second line of help under the box: shown once the box is emptied to type an id.
        model = gr.Textbox(ta.BUNDLED_NAME, label="Model: default, or a Hugging Face id", scale=3, min_width=200,
                           placeholder="bert-base-uncased, gpt2 ... (a download: needs this server's permission)",
                           elem_id="attn-model")
        run = gr.Button("Run", variant="primary", scale=0, min_width=90, elem_id="attn-run")
    with gr.Row(equal_height=False):
        layer = LAYER.slider(value=min(DEFAULT_LAYER, num_layers - 1), hi=num_layers - 1, scale=2, min_width=200,
                             elem_id="attn-layer")
        head = gr.Dropdown(head_choices(num_heads), value=min(DEFAULT_HEAD, num_heads - 1), label="Head", scale=1,
                           min_width=160, elem_id="attn-head")
        with gr.Column(scale=3, min_width=200):  # a column keeps the width a checkbox's own min_width does not
            hide = gr.Checkbox(False, label="Hide [CLS] / [SEP] / BOS sinks and renormalise rows",
                               elem_id="attn-hide")
        pair = gr.Textbox(first_pair, lines=1, label="Second sentence (optional; encoders only)", scale=3,
                          min_width=240, elem_id="attn-pair")
    notice = gr.Markdown(f"Loading {ta.BUNDLED_NAME} ...", elem_id="attn-notice")
    return TextControls(example, text, pair, model, run, notice, layer, head, hide, gr.State(first_word))


def panels(num_heads: int) -> TextPanels:
    grid_info = gr.State()
    with gr.Tabs(selected="attn-view-heatmap") as views:
        with gr.Tab("Heatmap", id="attn-view-heatmap"), gr.Row(equal_height=False):
            # No label above it: the figure's own title names the model, layer and head. The caption sits beside
            # the heatmap at 1400 px and under it at 800 px, where beside it squeezed the cells.
            with gr.Column(scale=3, min_width=480):
                heatmap = gr.Plot(label="Attention of one layer and head", show_label=False, elem_id="attn-heatmap")
            with gr.Column(scale=1, min_width=260):
                gr.Markdown(HEATMAP_CAPTION, elem_id="attn-heatmap-caption")
        with gr.Tab("Model view", id="attn-view-model"):
            model_view = gr.Image(type="pil", format="png", interactive=False, show_label=False,
                                  label="Every layer × head (click one to open it)", elem_id="attn-model-view")
        with gr.Tab("Rollout", id="attn-view-rollout"):
            # on from the start: with the sinks, ~0.6 of every row is on [CLS] and [SEP], the rest a flat purple
            rollout_hide = gr.Checkbox(True, label="Without [CLS] / [SEP]: drop their columns and renormalise each "
                                       "row", elem_id="attn-rollout-hide")
            rollout = gr.Plot(label="Attention rollout", elem_id="attn-rollout")
            rollout_note = gr.Markdown(elem_id="attn-rollout-note")
        with gr.Tab("Token focus", id="attn-view-focus"):
            token = gr.Dropdown([], label="Token", elem_id="attn-token")
            focus = gr.Plot(label="What it attends to, and what attends to it", elem_id="attn-focus")
        # Short labels: at 800 px the seven must fit in one line, or gradio folds the last behind "⋯".
        with gr.Tab("Entropy", id="attn-view-entropy"):
            entropy = gr.Plot(label="Head entropy", elem_id="attn-entropy")
            ranking = gr.Markdown(elem_id="attn-entropy-rank")
        with gr.Tab("Q·Kᵀ", id="attn-view-scores"):
            scores = widget(SCORES_WIDGET, "attn-scores", colormaps=("RdBu_r", "Viridis"), limits=TEMPERATURES)
            scores_note = gr.Markdown(elem_id="attn-scores-note")
        with gr.Tab("Head view", id="attn-view-heads"):
            heads = gr.CheckboxGroup(single_heads(num_heads), value=[h for h in DEFAULT_HEADS if h < num_heads],
                                     label="Heads drawn (of the layer chosen above)", elem_id="attn-heads")
            head_view_note = gr.Markdown(elem_id="attn-head-view-note")
            head_view = widget(HEAD_VIEW_WIDGET, "attn-head-view")
    return TextPanels(views, grid_info, heatmap, model_view, rollout_hide, rollout, rollout_note, token, focus,
                      entropy, ranking, scores, scores_note, heads, head_view_note, head_view)


def wire(demo: gr.Blocks, c: TextControls, p: TextPanels) -> None:
    """A new text, model or sink setting redraws everything; a layer, head, token or view setting its views."""
    private = {"api_visibility": "private"}
    ui = {**c._asdict(), **p._asdict()}
    text_inputs = [c.text, c.pair, c.model, c.layer, c.head, c.hide, c.word, p.rollout_hide]
    selection_inputs = [c.text, c.pair, c.model, c.layer, c.head, c.hide, p.token, p.heads]
    gr.on([demo.load, c.run.click, c.text.submit, c.pair.submit, c.model.submit, c.hide.input], text_ui, text_inputs,
          outputs(TextViews, ui), trigger_mode="always_last", **private)
    # An edited text is no longer the example, so the dropdown lets go of its choice.
    gr.on([c.text.input, c.pair.input], lambda: None, None, c.example, **private)
    c.example.input(use_example, c.example, [c.text, c.pair, c.word], **private).then(
        text_ui, text_inputs, outputs(TextViews, ui), **private)
    gr.on([c.layer.release, c.head.input], layer_ui, selection_inputs, outputs(SelectionViews, ui),
          trigger_mode="always_last", **private)
    p.model_view.select(open_head, p.grid_info, [c.layer, c.head, p.views], **private).then(
        selection_ui, selection_inputs, outputs(SelectionViews, ui)[:-1], **private)
    p.heads.input(head_view_ui, [c.text, c.pair, c.model, c.layer, c.hide, p.heads], [p.head_view, p.head_view_note],
                  trigger_mode="always_last", **private)
    p.rollout_hide.input(rollout_ui, [c.text, c.pair, c.model, p.rollout_hide], [p.rollout, p.rollout_note],
                         trigger_mode="always_last", **private)
    p.token.input(focus_ui, [c.text, c.pair, c.model, c.layer, c.head, c.hide, p.token], [p.focus, c.word],
                  **private)


def build(demo: gr.Blocks) -> None:
    """The text section. Its views are filled by `demo.load` rather than here: importing transformers and loading
    the text model take seconds, and the server should answer first (the page then fills in as soon as the model
    is ready)."""
    num_layers, num_heads = ta.bundled_shape()
    wire(demo, controls(num_layers, num_heads), panels(num_heads))
