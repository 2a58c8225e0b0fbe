"""The Attention tab's GPT section: a causal language model predicting the next token, the cuts a sampler makes
(temperature, top-k, top-p), one token at a time or a stream of them, the causal attention behind each step, the
entropy of every prediction, the logit lens and the heads that copy.

The next-token widget (language.html/.js/.css) gets the full logits once per prompt and applies temperature, top-k
and top-p itself, in the browser, as transformers' warpers do, so dragging a control asks the server nothing. It
keeps those settings in its value, which the step and generate handlers read. Nothing runs until Run (or a step):
the model loads on first use, so the page loads no slower for this section. core.attention.causal does the work.
"""
from pathlib import Path
from typing import NamedTuple

import gradio as gr

from core import device as devices
from core import models
from core.attention import causal, language
from core.attention import figures as ar
from core.attention import lm_figures as lf
from core.attention.maths import causal_mask
from explorers.attention.heads import single_heads
from explorers.common import LATEX, Box, explain, message_figure, outputs, skipped
from explorers.path import Step, path
from explorers.widgets import packed, widget

PROMPT = "And God said, Let there be light: and there was "  # Genesis 1:3, stopped before its last word
# The head the causal view opens on: on PROMPT, the bundled GPT's layer 2, head 0 puts 0.34 of each character's row,
# on average, on the character just before it, the most of its 16 heads (layer 0's heads: 0.07-0.10, near uniform),
# so the view opens on a visible pattern, the diagonal of a head that reads the previous character.
OPEN_LAYER, OPEN_HEAD = 2, 0
NEXT_WIDGET = Path(__file__).with_name("language")  # language.html, .js, .css: the next-token bars
CANDIDATES = 20        # bars drawn: the most likely tokens by the model's own probability
ATTENDED = 3           # earlier tokens named in the line under the attention map
SETTINGS = {"temperature": 1.0, "top_k": 0, "top_p": 1.0}  # the widget's controls before anyone moves them
LAYER = Box("GPT layer", 0, None, None, label="Layer")
SEED = Box("Seed", 0, 2**31 - 1, 0)
STEPS = Box("Tokens to generate", 1, causal.MAX_STEPS, 20)
HEADS_LENGTH = 20      # tokens in one copy of the heads test's random sequence


def settings(value) -> dict:
    """The sampling settings the widget holds in its value (its defaults before it has any); checked where used."""
    kept = value.get("settings") if isinstance(value, dict) else None
    return {**SETTINGS, **(kept if isinstance(kept, dict) else {})}


def next_value(lm: causal.LanguageModel, run: causal.Pass, kept: dict) -> dict:
    """The widget's data: the last position's full logits (float64, so the browser's softmax is the server's), the
    CANDIDATES most likely tokens' ids and text, and the settings to keep."""
    logits = run.logits[-1].numpy()
    best = causal.top(logits, CANDIDATES)
    return {"logits": packed(logits, "float64"), "vocab_size": lm.vocab_size, "model": lm.name,
            "candidates": [{"id": int(i), "token": lf.visible(lm.token_text(i))} for i in best],
            "after": lf.visible(run.tokens[-1]), "settings": kept}


class Views(NamedTuple):
    """What a new prompt (Run, a step, a streamed token) shows."""
    prompt: object
    next: object
    notice: str
    layer: object
    head: object
    attention: object
    attended: str
    entropy: object
    seed: object = gr.skip()   # the value used, where a step read a box (explorers.common.Reading.shown)
    steps: object = gr.skip()


def attention_views(lm, run: causal.Pass, layer: int, head: int) -> tuple:
    """The chosen head's causal attention over the prompt, and which earlier tokens the newest token read most."""
    a = run.attentions[layer, head].numpy()
    tokens = [lf.visible(t) for t in run.tokens]
    fig = ar.token_heatmap(a, tokens, f"{lm.name}: layer {layer}, head {head}", causal_mask(len(tokens)))
    n = len(tokens) - 1
    most = ", ".join(f"**{tokens[j]}** (position {j}, {a[n, j]:.3f})" for j in causal.top(a[n], ATTENDED))
    return fig, f"The newest token, **{tokens[n]}** (position {n}), attended most to {most}."


def views(prompt: str, model, value, layer, head, note: str = "") -> Views:
    """Every view of `prompt`; a ValueError (bad prompt, unknown model ...) is the caller's to show."""
    lm, fallback = causal.resolve(model)
    ids = causal.check_prompt(lm, prompt)
    run = causal.forward(lm, ids)
    layer = LAYER.read(layer, hi=lm.num_layers - 1).value
    head = head if isinstance(head, int) and 0 <= head < lm.num_heads else 0
    entropy = lf.entropy_bars(language.entropies(run.logits), run.tokens, lm.vocab_size)
    parts = [f"⚠️ {fallback}" if fallback else "", f"**{lm.description}**; {len(ids)} of {lm.max_tokens} tokens "
             "of context.", note]
    return Views(prompt, next_value(lm, run, settings(value)), " ".join(p for p in parts if p),
                 gr.update(maximum=lm.num_layers - 1, value=layer),
                 gr.update(choices=single_heads(lm.num_heads), value=head),
                 *attention_views(lm, run, layer, head), entropy)


def failed(e: ValueError, value) -> Views:
    """A bad input's message in the section; the widget shows it too and keeps its settings."""
    return skipped(Views)._replace(notice=f"⚠️ {e}", next={"message": str(e), "settings": settings(value)})


@devices.gpu
def run_ui(prompt, model, value, layer, head) -> Views:
    try:
        return views(prompt, model, value, layer, head)
    except ValueError as e:
        return failed(e, value)


def extended(lm, ids: list[int], prompt: str, token: int) -> tuple[list[int], str, str]:
    """The ids and the prompt with `token` appended; past the context the oldest tokens go, and the note says so."""
    ids = [*ids, token]
    if len(ids) <= lm.max_tokens:
        return ids, prompt + lm.token_text(token), ""
    ids = ids[-lm.max_tokens:]
    return ids, lm.decode(ids), f"The oldest tokens were dropped to stay within the context of {lm.max_tokens}."


def step_note(lm, step: causal.Step, greedy: bool, seed: int) -> str:
    how = "the most likely token" if greedy else f"drawn with seed {seed}"
    return (f"Added **{lf.visible(lm.token_text(step.token))}** ({how}: p = {step.raw:.4f} before the cuts, "
            f"{step.filtered:.4f} after).")


def steps(prompt, model, value, layer, head, seed: int, count: int, greedy: bool):
    """Appends `count` tokens one at a time, with the widget's settings, yielding the views after each."""
    lm, _ = causal.resolve(model)
    ids = causal.check_prompt(lm, prompt)
    s = settings(value)
    for step in causal.generate(lm, ids, count, seed, s["temperature"], s["top_k"], s["top_p"], greedy):
        ids, prompt, dropped = extended(lm, ids, prompt, step.token)
        yield views(prompt, model, value, layer, head, f"{step_note(lm, step, greedy, seed)} {dropped}")


@devices.gpu
def step_ui(prompt, model, value, layer, head, seed, greedy: bool) -> Views:
    """One token: drawn (seeded: the same prompt, seed and settings give the same token) or the most likely."""
    used = SEED.read(seed)
    try:
        return next(steps(prompt, model, value, layer, head, used.value, 1, greedy))._replace(seed=used.shown)
    except ValueError as e:
        return failed(e, value)


@devices.gpu
def generate_ui(prompt, model, value, layer, head, seed, count):
    """`count` drawn tokens streamed one at a time: the same text lm_generate gives for this seed and settings."""
    used, count = SEED.read(seed), STEPS.read(count)
    try:
        for shown in steps(prompt, model, value, layer, head, used.value, count.value, False):
            yield shown._replace(seed=used.shown, steps=count.shown)
    except ValueError as e:
        yield failed(e, value)


@devices.gpu
def selection_ui(prompt, model, layer, head):
    """A new layer or head: the attention map and its line, and the layer used (for its box)."""
    try:
        lm, _ = causal.resolve(model)
        run = causal.forward(lm, causal.check_prompt(lm, prompt))
        at = LAYER.read(layer, hi=lm.num_layers - 1)
        return *attention_views(lm, run, at.value, int(head or 0)), at.shown
    except ValueError as e:
        return message_figure(str(e)), f"⚠️ {e}", gr.skip()


@devices.gpu
def lens_ui(prompt, model):
    try:
        lm, _ = causal.resolve(model)
        run = causal.forward(lm, causal.check_prompt(lm, prompt))
        if run.lens is None:
            raise ValueError(f"{lm.name} has no final LayerNorm this explorer can find.")
        layers = ["embedding", *(f"block {i}" for i in range(1, lm.num_layers + 1))]
        return lf.logit_lens_figure(language.logit_lens(run.lens), run.tokens, lm.token_text, layers)
    except ValueError as e:
        return message_figure(str(e))


@devices.gpu
def heads_ui(model):
    try:
        lm, _ = causal.resolve(model)
        run, induction, previous = causal.heads(lm, HEADS_LENGTH)
    except ValueError as e:
        return message_figure(str(e)), message_figure(str(e)), f"⚠️ {e}"
    layer, head = divmod(int(induction.argmax()), lm.num_heads)
    pattern = ar.token_heatmap(run.attentions[layer, head].numpy(), [lf.visible(t) for t in run.tokens],
                               f"The top induction head, layer {layer}, head {head}", causal_mask(len(run.tokens)))
    return lf.heads_maps(induction, previous), pattern, (
        f"{HEADS_LENGTH} random tokens, then the same {HEADS_LENGTH} again. The top induction head, **layer {layer}, "
        f"head {head}**, puts {induction[layer, head]:.3f} of its weight, on average, on the token that followed "
        f"each token's first copy (a stripe {HEADS_LENGTH - 1} below the diagonal); its previous-token score is "
        f"{previous[layer, head]:.3f}. A head that copies would score near 1 (GPT-2 small has several).")


# ---------------------------------------------------------------- layout and wiring


class Controls(NamedTuple):
    prompt: gr.Textbox
    model: gr.Textbox
    run: gr.Button
    notice: gr.Markdown
    next: gr.HTML
    seed: gr.Number
    sample: gr.Button
    greedy: gr.Button
    steps: gr.Number
    generate: gr.Button
    stop: gr.Button


class Panels(NamedTuple):
    views: gr.Tabs
    layer: gr.Slider
    head: gr.Dropdown
    attention: gr.Plot
    attended: gr.Markdown
    entropy: gr.Plot
    lens: gr.Plot
    heads_map: gr.Plot
    heads_pattern: gr.Plot
    heads_note: gr.Markdown
    open: gr.State       # the sub-tab open: the logit lens follows a new prompt only while it is shown
    tabs: dict           # the sub-tabs by name, for their select events


def controls() -> Controls:
    path("attn-path-gpt", "The bars are a GPT's probabilities for the token after your prompt; temperature, "
         "top-k and top-p cut them before one is taken.",
         [Step("Run a prompt", "lm-prompt"), Step("Drag temperature, top-k, top-p", "lm-next"),
          Step("Sample or generate", "lm-generate"),
          Step("What each token read", "lm-attention", "Causal attention"),
          Step("The guess at every layer", "lm-lens", "Logit lens"),
          Step("Heads that copy", "lm-heads-map", "Heads that copy")],
         picture="lm-next", control="lm-run", action="lm-run")
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(PROMPT, label="Prompt", lines=2, scale=4, min_width=280, elem_id="lm-prompt")
        model = gr.Textbox(causal.BUNDLED, label="Model: default, or a causal Hugging Face id", scale=2,
                           min_width=200, elem_id="lm-model")
        run = gr.Button("Run", variant="primary", scale=0, min_width=90, elem_id="lm-run")
    notice = gr.Markdown(f"Press **Run**: the model loads on first use. default is the {causal.BUNDLED_NAME}, "
                         "offline; others (gpt2 ...) need a download and this server's permission.",
                         elem_id="lm-notice")
    nxt = widget(NEXT_WIDGET, "lm-next", {"settings": SETTINGS}, colormaps=("Viridis",))
    with gr.Row(equal_height=True):
        seed = SEED.number(elem_id="lm-seed", min_width=120)
        sample = gr.Button("Sample next", elem_id="lm-sample")
        greedy = gr.Button("Most likely next", elem_id="lm-greedy")
        count = STEPS.number(elem_id="lm-steps", min_width=120)
        generate = gr.Button("Generate", variant="primary", elem_id="lm-generate")
        stop = gr.Button("Stop", variant="stop", elem_id="lm-stop")
    return Controls(prompt, model, run, notice, nxt, seed, sample, greedy, count, generate, stop)


def panels() -> Panels:
    config = models.gpt_config()  # the bundled GPT's shape, read without loading it
    with gr.Tabs(selected="lm-view-attention") as tabs:
        with gr.Tab("Causal attention", id="lm-view-attention") as attention_tab:
            with gr.Row():
                layer = LAYER.slider(hi=config["layers"] - 1, value=OPEN_LAYER, elem_id="lm-layer")
                head = gr.Dropdown(single_heads(config["heads"]), value=OPEN_HEAD, label="Head", elem_id="lm-head")
            attended = gr.Markdown(elem_id="lm-attended")
            attention = gr.Plot(label="Causal attention of one layer and head", elem_id="lm-attention")
        with gr.Tab("Entropy", id="lm-view-entropy") as entropy_tab:
            entropy = gr.Plot(label="Entropy of the prediction at every position", elem_id="lm-entropy")
        with gr.Tab("Logit lens", id="lm-view-lens") as lens_tab:
            lens = gr.Plot(label="Logit lens", elem_id="lm-lens")
        with gr.Tab("Heads that copy", id="lm-view-heads") as heads_tab:
            heads_note = gr.Markdown(elem_id="lm-heads-note")
            heads_map = gr.Plot(label="Induction and previous-token scores", elem_id="lm-heads-map")
            heads_pattern = gr.Plot(label="The top induction head's pattern", elem_id="lm-heads-pattern")
    with gr.Accordion("Explain: causal masking, the softmax over the vocabulary, temperature, top-k and top-p, greedy "
                      "and sampled decoding, the logit lens, induction heads", open=False, elem_id="lm-explain"):
        gr.Markdown(explain("gpt"), latex_delimiters=LATEX, elem_id="lm-explain-text")
    return Panels(tabs, layer, head, attention, attended, entropy, lens, heads_map, heads_pattern, heads_note,
                  gr.State(""), {"attention": attention_tab, "entropy": entropy_tab, "lens": lens_tab,
                                 "heads": heads_tab})


def wire(c: Controls, p: Panels) -> None:
    """Run, Enter, a step or a streamed token redraw the views of the prompt; the logit lens and the heads test are
    computed when their sub-tab opens (and the lens again after a new prompt while it is open)."""
    private = {"api_visibility": "private"}
    ui = {**c._asdict(), **p._asdict()}
    base = [c.prompt, c.model, c.next, p.layer, p.head]
    out = outputs(Views, ui)

    def lens_if_open(prompt, model, shown):
        return lens_ui(prompt, model) if shown == "lens" else gr.skip()

    events = [gr.on([c.run.click, c.prompt.submit, c.model.submit], run_ui, base, out, **private),
              c.sample.click(lambda *a: step_ui(*a, False), [*base, c.seed], out, **private),
              c.greedy.click(lambda *a: step_ui(*a, True), [*base, c.seed], out, **private)]
    generating = c.generate.click(generate_ui, [*base, c.seed, c.steps], out, **private)
    c.stop.click(None, cancels=[generating], **private)
    for event in [*events, generating]:
        event.then(lens_if_open, [c.prompt, c.model, p.open], p.lens, **private)
    gr.on([p.layer.release, p.head.input], selection_ui, [c.prompt, c.model, p.layer, p.head],
          [p.attention, p.attended, p.layer], trigger_mode="always_last", **private)
    for name, tab in p.tabs.items():
        tab.select(lambda name=name: name, None, p.open, **private)
    p.tabs["lens"].select(lens_ui, [c.prompt, c.model], p.lens, **private)
    p.tabs["heads"].select(heads_ui, c.model, [p.heads_map, p.heads_pattern, p.heads_note], **private)


def build() -> None:
    """The GPT section: nothing is computed until Run or a step, so the page's first paint does not wait for it."""
    wire(controls(), panels())
