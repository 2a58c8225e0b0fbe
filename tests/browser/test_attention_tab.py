"""The Attention tab in Chromium: type a sentence and see its heatmap, switch layer and head, open a head from the
model view, re-run the scores view at another temperature, and run the image view on a gallery sample."""
import base64
import re

import numpy as np
from PIL import Image

from core.attention import image as ia
from core.data import CLASSES, load_sample
from tests.browser.test_convolution import choose, set_slider, wait_for_text
from tests.browser.test_vae_tab import covering

SENTENCE = "The river bank was flooded after the storm."
SNEAKER = CLASSES.index("Sneaker")
HEADER = 4 + 2 * 18 + 30  # the model view's header: padding, two lines, the colour bar (feature_render.with_header)
CELL, PAD, LABEL = 64, 4, 14  # thumbnails of a short sentence (attention_render.THUMBNAIL, render.grid)


def open_attention(page):
    page.get_by_role("tab", name="Attention", exact=True).click()
    page.wait_for_selector("#attn-heatmap .js-plotly-plot", state="visible")


def open_images(page):
    """The section tab of the vision transformers (the tab opens on the text section)."""
    page.get_by_role("tab", name="Images (ViT)", exact=True).click()
    page.wait_for_selector("#attn-cls img", state="visible")


# A step's view is shown and its top is on the screen (path.js scrolls to it, smoothly).
IN_VIEW = """(id) => { const el = document.getElementById(id); if (!el || el.offsetParent === null) return false;
    const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight - 40; }"""


def test_each_sections_path_leads_to_every_view_it_names(app_page):
    """Each section tab opens on its own path, and each numbered step, followed from the bottom of the page, opens
    the inner tab it names and scrolls its view onto the screen."""
    page = app_page
    open_attention(page)
    for section, count in (("Text", 6), ("GPT: next token", 6), ("Images (ViT)", 5)):
        page.get_by_role("tab", name=section, exact=True).click()
        links = page.locator(".gb-path:visible a")
        steps = links.evaluate_all("as => as.map(a => [a.dataset.target, a.dataset.tab ?? null])")
        assert len(steps) == count, (section, steps)
        for i, (target, tab) in enumerate(steps):
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            links.nth(i).click()
            page.wait_for_function(IN_VIEW, arg=target, timeout=60_000)
            if tab:
                assert page.get_by_role("tab", name=tab, exact=True).get_attribute("aria-selected") == "true"


def plot_text(page, selector: str, pattern: str) -> str:
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel + ' .js-plotly-plot')"
                           "?.textContent ?? '')", arg=[selector, pattern])
    return page.locator(f"{selector} .js-plotly-plot").text_content()


def test_text_heatmap_layers_heads_model_view_and_scores(app_page, screenshot_dir):
    page = app_page
    open_attention(page)
    plot_text(page, "#attn-heatmap", "layer 3, head 1")   # text.DEFAULT_LAYER and DEFAULT_HEAD

    page.locator("#attn-text textarea").fill(SENTENCE)
    page.locator("#attn-run").click()
    text = plot_text(page, "#attn-heatmap", "flooded")
    assert "storm" in text and "river" in text
    wait_for_text(page, "#attn-notice", "11 tokens")

    set_slider(page, "attn-layer", 2)
    plot_text(page, "#attn-heatmap", "layer 2, head 1")
    choose(page, "attn-head", "head 3")
    plot_text(page, "#attn-heatmap", "layer 2, head 3")
    page.locator("#attn-heatmap").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_text_heatmap.png"), full_page=False)

    page.get_by_role("tab", name="Model view").click()
    page.wait_for_function("() => document.querySelector('#attn-model-view img')?.naturalWidth > 0")
    size = page.locator("#attn-model-view img").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [PAD + 12 * (CELL + PAD), HEADER + PAD + 6 * (CELL + PAD + LABEL)]
    page.locator("#attn-model-view").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_model_view.png"), full_page=False)
    # Click the thumbnail of layer 1, head 4: the heatmap opens on it.
    box = page.locator("#attn-model-view img").bounding_box()
    scale = box["width"] / size[0]
    x = PAD + 4 * (CELL + PAD) + CELL / 2
    y = HEADER + PAD + 1 * (CELL + PAD + LABEL) + CELL / 2
    page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
    plot_text(page, "#attn-heatmap", "layer 1, head 4")
    assert page.locator("#attn-head input").input_value() == "head 4"

    page.get_by_role("tab", name="Q·Kᵀ", exact=True).click()
    note = wait_for_text(page, "#attn-scores-note", "d_k = 32")
    assert re.search(r"own attention weights to \*?\*?\d\.\de-0[6-9]", note)
    page.locator("#attn-scores input.scores-t").fill("3")
    page.locator("#attn-scores input.scores-t").press("Enter")
    wait_for_text(page, "#attn-scores .scores-title", "weights at T = 3")
    page.locator("#attn-scores").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_scores.png"), full_page=False)

    page.get_by_role("tab", name="Token focus").click()
    choose(page, "attn-token", "3: bank")
    plot_text(page, "#attn-focus", "what 'bank' attends to")
    page.screenshot(path=str(screenshot_dir / "attention_token_focus.png"), full_page=False)

    page.get_by_role("tab", name="Rollout").click()
    plot_text(page, "#attn-rollout", "Attention rollout through layers 0–5")
    page.screenshot(path=str(screenshot_dir / "attention_rollout.png"), full_page=False)

    page.get_by_role("tab", name="Entropy", exact=True).click()
    ranking = wait_for_text(page, "#attn-entropy-rank", "Most focused")
    assert re.search(r"Most focused:\*?\*? L\d H\d+ \(\d\.\d\d bits\)", ranking)
    page.screenshot(path=str(screenshot_dir / "attention_head_entropy.png"), full_page=False)

    page.get_by_role("tab", name="Heatmap").click()
    page.locator("#attn-hide input").check()
    plot_text(page, "#attn-heatmap", "Special tokens hidden")
    page.locator("#attn-heatmap").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_sinks_hidden.png"), full_page=False)


def test_image_view_on_a_gallery_sample(app_page, screenshot_dir):
    page = app_page
    open_attention(page)
    open_images(page)
    page.locator("#attn-gallery").scroll_into_view_if_needed()
    page.locator("#attn-gallery .thumbnail-item").nth(SNEAKER).click()
    wait_for_text(page, "#attn-input-note", "Fashion-MNIST test sample: Sneaker")
    s = load_sample("test")
    run = ia.run(ia.load("vit"), Image.fromarray(s.images[int(np.flatnonzero(s.labels == SNEAKER)[0])]))
    top = int(np.argmax(run.probabilities))
    note = wait_for_text(page, "#attn-image-note", re.escape(f"p = {run.probabilities[top]:.3f}"))
    assert CLASSES[top] in note
    cls_note = wait_for_text(page, "#attn-cls-note", re.escape(f"maximum ({ia.cls_map(run, 5, -1).max():.3f})"))
    assert "layer 5, average of 4 heads" in cls_note
    assert "17 tokens" in page.locator("#attn-grid-note").inner_text()
    assert "O(N²)" in page.locator("#attn-grid-note").inner_text()

    # Click patch 10 (row 2, column 2) of the 4x4 grid: the patch map follows it.
    grid = page.locator("#attn-patch-grid img")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 2.5 / 4, box["y"] + box["height"] * 2.5 / 4)
    wait_for_text(page, "#attn-patch-note", "Patch 10 \\(row 2, column 2\\)")
    assert page.locator("#attn-patch input").input_value() == "10"

    choose(page, "attn-image-head", "head 1")
    wait_for_text(page, "#attn-cls-note", re.escape(f"maximum ({ia.cls_map(run, 5, 1).max():.3f})"))
    roll = ia.rollout_map(run)
    assert f"from {roll.min():.3f} to {roll.max():.3f}" in page.locator("#attn-image-rollout-note").inner_text()
    page.locator("#attn-grid-note").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_image.png"), full_page=False)

    page.locator("#attn-explain").get_by_text("Explain:").click()
    page.wait_for_selector("#attn-explain-text .katex", state="visible")
    caveat = page.locator("#attn-explain-text").get_by_text("Attention is not an explanation by itself")
    caveat.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_explain.png"), full_page=False)


def test_head_view_enter_runs_and_hover_isolates(app_page, screenshot_dir):
    """Enter in the Text box runs; editing lets go of the Example; the head view draws the real weights of the
    chosen layer as line opacities, and pointing at a token leaves only its lines."""
    from core.attention import figures as ar
    from core.attention import text as ta
    from explorers.attention import text
    page = app_page
    open_attention(page)
    page.locator("#attn-text textarea").fill(SENTENCE)
    page.locator("#attn-text textarea").press("Enter")
    plot_text(page, "#attn-heatmap", "flooded")
    assert "\n" not in page.locator("#attn-text textarea").input_value()
    assert page.locator("#attn-example input").input_value() == ""
    page.get_by_role("tab", name="Head view").click()
    page.wait_for_selector("#attn-head-view svg.hv line", state="attached")
    lines = page.locator("#attn-head-view line.hv-edge").evaluate_all(
        "ls => ls.map(l => [+l.dataset.h, +l.dataset.q, +l.dataset.k, +l.getAttribute('stroke-opacity')])")
    weights = ta.run(ta.load("default"), SENTENCE).attentions[text.DEFAULT_LAYER]
    drawn_heads = list(text.DEFAULT_HEADS)   # the page opens on two heads, not all 12
    assert page.locator("#attn-heads input:checked").count() == len(drawn_heads)
    expected = int((weights[drawn_heads] >= ar.HEAD_VIEW_MIN_WEIGHT).sum())
    assert len(lines) == expected
    for h, q, k, opacity in lines:
        assert abs(opacity - weights[h, q, k]) < 1e-4
    bank = 3  # [CLS] the river bank
    page.locator(f'#attn-head-view text.hv-token[data-side="q"][data-i="{bank}"]').hover()
    shown = page.locator("#attn-head-view line.hv-edge").evaluate_all(
        "ls => ls.filter(l => getComputedStyle(l).visibility !== 'hidden').map(l => +l.dataset.q)")
    assert shown and set(shown) == {bank}
    assert len(shown) == int((weights[drawn_heads, bank] >= ar.HEAD_VIEW_MIN_WEIGHT).sum())
    page.locator("#attn-head-view").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_head_view_hover.png"), full_page=False)
    page.set_viewport_size({"width": 800, "height": 1000})
    page.wait_for_function("() => document.querySelector('#attn-head-view').getBoundingClientRect().width <= 800")
    page.locator("#attn-head-view").screenshot(path=str(screenshot_dir / "attention_head_view_800.png"))


LONG_TEXT = " ".join(["The river bank was flooded after the storm, and the town's people moved their boats up."] * 6)


def test_an_unknown_model_falls_back_in_one_line_and_a_long_text_stays_readable(app_page, screenshot_dir):
    """Offline, an id that is not cached falls back to the bundled model with one line (core.hub.local_only: no
    retries); above 48 tokens the axes count positions, a cell's hover names its tokens, and the notice lists the
    tokens by position."""
    from core.attention import figures as ar
    from core.attention import text as ta
    page = app_page
    open_attention(page)
    page.locator("#attn-model input, #attn-model textarea").first.fill("nobody/no-such-model")
    page.locator("#attn-text textarea").fill(LONG_TEXT)
    page.locator("#attn-run").click()
    notice = wait_for_text(page, "#attn-notice", "nobody/no-such-model")
    tokens = ta.run(ta.load("default"), LONG_TEXT).tokens
    assert len(tokens) > ar.LABELS_UP_TO
    assert ("nobody/no-such-model is not in this machine's Hugging Face cache and GLASSBOX_OFFLINE=1 forbids "
            "downloading it. Showing the bundled") in notice
    assert f"{len(tokens)} tokens" in notice
    assert f"Tokens by position: 0 {tokens[0]} · 1 {tokens[1]} · 2 {tokens[2]}" in notice
    assert f"{len(tokens) - 1} {tokens[-1]}" in notice
    # The heatmap: numbered ticks every 10th position, and every cell's hover label "i: token".
    page.wait_for_function("(n) => (document.querySelector('#attn-heatmap .js-plotly-plot')?.data?.[0]?.x ?? [])"
                           ".length === n", arg=len(tokens))
    ticks = page.locator("#attn-heatmap .xtick text").evaluate_all("ts => ts.map(t => t.textContent)")
    assert ticks[:3] == ["0", "10", "20"]
    labels = page.locator("#attn-heatmap .js-plotly-plot").evaluate("p => p.data[0].y")
    assert labels[:2] == [f"0: {tokens[0]}", f"1: {tokens[1]}"] and labels[-1] == f"{len(tokens) - 1}: {tokens[-1]}"
    page.locator("#attn-heatmap").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_long_text.png"), full_page=False)
    # The bundled ViT names its patches without contradiction: 16 patches, each 7×7 pixels, in a 4×4 grid.
    open_images(page)
    page.locator("#attn-image-note").scroll_into_view_if_needed()
    assert "16 patches of 7×7 pixels (4×4)" in wait_for_text(page, "#attn-image-note", "patches of")


def drawn(page, elem_id: str) -> int:
    """How many times the widget `elem_id` has redrawn (its "<elem_id>:drawn" User Timing marks)."""
    return page.evaluate("(id) => performance.getEntriesByName(id + ':drawn').length", elem_id)


def test_scores_temperature_drag_redraws_in_the_browser_with_the_apis_weights(app_page, screenshot_dir):
    """Dragging the temperature track redraws the scores view at every step with no request to the server, and the
    weights drawn are attention_scores' at the temperature and √d_k setting shown, to 1e-6."""
    page = app_page
    open_attention(page)
    page.get_by_role("tab", name="Q·Kᵀ", exact=True).click()
    # the page opens on a real head (layer 3, head 1), not on the average, which has no Q and K to show
    page.wait_for_function("() => { const v = document.querySelector('#attn-scores')?.glassboxView;"
                           " return v?.layer === 3 && v?.head === 1; }")
    assert page.locator("#attn-scores .scores-message").filter(has_text="Pick one head").count() == 0
    choose(page, "attn-head", "head 3")
    page.wait_for_function("() => document.querySelector('#attn-scores')?.glassboxView?.head === 3")
    page.locator("#attn-scores-temperature").scroll_into_view_if_needed()
    track = page.locator("#attn-scores-temperature").bounding_box()
    before = drawn(page, "attn-scores")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + 2, y)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(track["x"] + track["width"] * i / 40, y)
    page.mouse.up()
    assert drawn(page, "attn-scores") - before >= 10
    assert requests == []
    page.locator("#attn-scores-scale").uncheck()
    view = page.evaluate("""() => { const v = document.querySelector('#attn-scores').glassboxView;
                                    return {...v, scores: Array.from(v.scores), weights: Array.from(v.weights)}; }""")
    assert 0.05 < view["T"] < 10 and not view["scale"]
    text = page.locator("#attn-text textarea").input_value()
    api = page.evaluate("(args) => window.glassbox.call('attention_scores', args)",
                        [text, view["layer"], view["head"], view["T"], False, "default", ""])
    n = view["n"]
    assert api["tokens"] == view["tokens"]
    np.testing.assert_allclose(np.reshape(view["weights"], (n, n)), api["weights"], atol=1e-6, rtol=0)
    page.locator("#attn-scores").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "attention_scores_dragged.png"), full_page=False)
    box = page.locator("#attn-scores input.scores-t")
    box.fill("99")
    box.press("Enter")
    wait_for_text(page, "#attn-scores .scores-message", "from 0.05 to 10: used 10")
    assert page.locator("#attn-scores-temperature").input_value() == "10"
    box.fill("")
    box.press("Enter")
    wait_for_text(page, "#attn-scores .scores-message", "takes a number from 0.05 to 10: kept T = 10")
    page.set_viewport_size({"width": 800, "height": 1000})
    page.wait_for_function("() => document.querySelector('#attn-scores canvas').clientWidth <= 800")
    page.locator("#attn-scores").screenshot(path=str(screenshot_dir / "attention_scores_800.png"))


# How many of the plot's key labels overlap its title or subtitle.
LABELS_ON_TITLE = """sel => { const plot = document.querySelector(sel + ' .js-plotly-plot');
  const boxes = q => [...plot.querySelectorAll(q)].map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
  const titles = boxes('.gtitle');
  return boxes('.xtick text').filter(a => titles.some(b => a.left < b.right && b.left < a.right
                                                        && a.top < b.bottom && b.top < a.bottom)).length; }"""


def rollout_drawn(page) -> np.ndarray:
    """The rollout heatmap's values as plotly holds them (float64 bytes, base64)."""
    x, z = page.locator("#attn-rollout .js-plotly-plot").evaluate("p => [p.data[0].x, p.data[0].z]")
    return np.frombuffer(base64.b64decode(z["bdata"]), "<f8").reshape(len(x), len(x))


def test_at_800_px_key_labels_clear_the_titles_rollout_drops_the_sinks_and_vit_maps_are_uncovered(
        app_page, screenshot_dir):
    """At 800 px the slanted key labels ran into the subtitle; rollout put ~0.6 of every row on [CLS]; the ViT
    maps' floating labels were cut and covered the top patches' numbers."""
    page = app_page
    page.set_viewport_size({"width": 800, "height": 1000})
    open_attention(page)
    plot_text(page, "#attn-heatmap", "layer 3, head 1")
    assert page.evaluate(LABELS_ON_TITLE, "#attn-heatmap") == 0
    page.locator("#attn-heatmap").screenshot(path=str(screenshot_dir / "attention_heatmap_800.png"))
    page.locator("#attn-hide input").check()  # a longer subtitle, wrapped
    plot_text(page, "#attn-heatmap", "Special tokens hidden")
    assert page.evaluate(LABELS_ON_TITLE, "#attn-heatmap") == 0

    page.get_by_role("tab", name="Rollout").click()
    assert page.locator("#attn-rollout-hide input").is_checked()  # the view opens without the sinks
    plot_text(page, "#attn-rollout", "columns dropped")
    note = wait_for_text(page, "#attn-rollout-note", "Shown without \\[CLS\\] and \\[SEP\\]")
    share = float(re.search(r"on average \*?\*?(0\.\d\d)", note).group(1))
    assert share > 0.5
    z = rollout_drawn(page)
    assert (z[:, 0] == 0).all() and (z[:, -1] == 0).all()  # the [CLS] and [SEP] columns
    np.testing.assert_allclose(z.sum(-1), 1.0, atol=1e-9)
    assert page.evaluate(LABELS_ON_TITLE, "#attn-rollout") == 0
    page.locator("#attn-rollout").screenshot(path=str(screenshot_dir / "attention_rollout_800.png"))
    page.locator("#attn-rollout-hide input").uncheck()
    wait_for_text(page, "#attn-rollout-note", f"On average \\*?\\*?{share:.2f}")
    page.wait_for_function("() => !document.querySelector('#attn-rollout .js-plotly-plot').textContent"
                           ".includes('columns dropped')")
    assert (rollout_drawn(page)[:, 0] > 0.5).all()

    open_images(page)
    for width in (800, 1400):
        page.set_viewport_size({"width": width, "height": 1000})
        for elem_id in ("attn-cls", "attn-image-rollout", "attn-patch-grid", "attn-patch-map"):
            page.locator(f"#{elem_id}").scroll_into_view_if_needed()
            assert not covering(page, f"#{elem_id}"), (width, elem_id)
            caption = page.locator(f"#{elem_id}-caption")
            assert caption.evaluate("e => e.scrollWidth <= e.clientWidth"), (width, elem_id)  # the title whole
        page.locator("#attn-cls").locator("xpath=../..").screenshot(
            path=str(screenshot_dir / f"attention_vit_maps_{width}.png"))
