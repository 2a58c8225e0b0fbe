"""The Attention tab's GPT section in Chromium: type a prompt, drag the temperature and see the next-token bars
redrawn with no request and lm_next's numbers, cut with top-k and top-p, take steps, generate five tokens (lm_generate's
text for that seed), open the logit lens and the heads map, and a bad prompt's message; screenshots at 1400 and
800 px."""
import numpy as np
import pytest

from tests.browser.test_attention_tab import drawn
from tests.browser.test_convolution import wait_for_text

PROMPT = "And God said, Let there be light: and there was "
VIEW = """() => { const v = document.querySelector('#lm-next')?.glassboxView; return v ? {...v} : null; }"""


def open_section(page, width: int = 1440):
    page.set_viewport_size({"width": width, "height": 1000})
    page.get_by_role("tab", name="Attention", exact=True).click()
    page.get_by_role("tab", name="GPT: next token", exact=True).click()
    page.locator("#lm-run").scroll_into_view_if_needed()


def run_prompt(page, prompt: str):
    before = drawn(page, "lm-next")
    page.locator("#lm-prompt textarea").fill(prompt)
    page.locator("#lm-run").click()
    page.wait_for_function("(n) => performance.getEntriesByName('lm-next:drawn').length > n && "
                           "document.querySelector('#lm-next').glassboxView?.kept > 0", arg=before)


def call(page, name: str, args: list):
    return page.evaluate("([name, args]) => window.glassbox.call(name, args)", [name, args])


def drag(page, selector: str, fraction: float):
    """Press on the track's left end and move right to `fraction` of its width in small steps, as a hand does."""
    track = page.locator(selector).bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + 2, y)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(track["x"] + track["width"] * fraction * i / 20, y)
    page.mouse.up()


def assert_matches_lm_next(page, view: dict):
    s = view["settings"]
    api = call(page, "lm_next", [PROMPT, "default", s["temperature"], s["top_k"], s["top_p"], 20])
    assert [c["id"] for c in api["candidates"]] == view["ids"]
    np.testing.assert_allclose(view["raw"], [c["probability"] for c in api["candidates"]], atol=1e-6, rtol=0)
    np.testing.assert_allclose(view["filtered"], [c["filtered"] for c in api["candidates"]], atol=1e-6, rtol=0)
    assert [r == "" for r in view["removed"]] == [c["kept"] for c in api["candidates"]]
    assert view["kept"] == api["kept"]


def test_temperature_drag_cuts_steps_generation_lens_and_heads(app_page, screenshot_dir):
    page = app_page
    open_section(page)
    run_prompt(page, PROMPT)
    assert "48 of 128 tokens" in page.locator("#lm-notice").inner_text()
    wait_for_text(page, "#lm-attended", "The newest token")

    # Drag the temperature: the bars follow in the browser, with no request to the server.
    page.locator("#lm-temperature").scroll_into_view_if_needed()
    before, first = drawn(page, "lm-next"), page.evaluate(VIEW)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    drag(page, "#lm-temperature", 0.8)
    assert drawn(page, "lm-next") - before >= 10
    assert requests == []
    view = page.evaluate(VIEW)
    assert view["settings"]["temperature"] > 1.5 and view["filtered"] != first["filtered"]
    assert_matches_lm_next(page, view)

    # Top-k and top-p typed into their boxes: the cut tokens are marked with the cut that removed them.
    requests.clear()
    for name, value in (("top_k", "5"), ("top_p", "0.8")):
        box = page.locator(f"#lm-next .lm-box[data-name={name}]")
        box.fill(value)
        box.press("Enter")
    page.wait_for_function("() => document.querySelector('#lm-next').glassboxView.settings.top_p === 0.8")
    assert requests == []
    view = page.evaluate(VIEW)
    assert "top-k" in view["removed"] and view["kept"] <= 5
    assert_matches_lm_next(page, view)
    page.locator("#lm-next").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "gpt_next_token_1400.png"), full_page=False)

    # Most likely next: the argmax of the cut distribution is appended; the settings stay.
    s = view["settings"]
    best = call(page, "lm_generate", [PROMPT, 1, 0, s["temperature"], s["top_k"], s["top_p"], True, "default"])
    page.locator("#lm-greedy").click()
    page.wait_for_function("(t) => document.querySelector('#lm-prompt textarea').value === t", arg=best["text"])
    page.wait_for_function("(t) => document.querySelector('#lm-next').glassboxView?.settings.top_k === 5")
    wait_for_text(page, "#lm-notice", "the most likely token")

    # Generate five tokens with seed 7: the prompt grows one token at a time to lm_generate's text.
    start = page.locator("#lm-prompt textarea").input_value()
    page.locator("#lm-seed input").fill("7")
    page.locator("#lm-steps input").fill("5")
    expected = call(page, "lm_generate", [start, 5, 7, s["temperature"], s["top_k"], s["top_p"], False, "default"])
    marks = drawn(page, "lm-next")
    page.locator("#lm-generate").click()
    page.wait_for_function("(t) => document.querySelector('#lm-prompt textarea').value === t",
                           arg=expected["text"], timeout=60_000)
    page.wait_for_function("(n) => performance.getEntriesByName('lm-next:drawn').length >= n + 5", arg=marks)
    wait_for_text(page, "#lm-notice", "drawn with seed 7")
    page.locator("#lm-attention").scroll_into_view_if_needed()
    page.wait_for_selector("#lm-attention .js-plotly-plot")
    page.screenshot(path=str(screenshot_dir / "gpt_attention_1400.png"), full_page=False)

    # The logit lens: its last row is lm_logit_lens's prediction.
    text = page.locator("#lm-prompt textarea").input_value()
    lens = call(page, "lm_logit_lens", [text, "default"])
    page.get_by_role("tab", name="Logit lens").click()
    page.wait_for_function("() => document.querySelector('#lm-lens .js-plotly-plot')?.textContent"
                           ".includes('Logit lens')")
    cells = page.evaluate("() => document.querySelector('#lm-lens .js-plotly-plot').data[0].text")
    assert len(cells) == len(lens["layers"]) == 5
    shown = {" ": "␣", "\n": "↵"}
    assert cells[-1] == [shown.get(t, t) for t in lens["next_tokens"][-len(cells[-1]):]]
    page.screenshot(path=str(screenshot_dir / "gpt_logit_lens_1400.png"), full_page=False)

    # The heads that copy: the note names lm_heads' top induction head.
    heads = call(page, "lm_heads", ["default", 20, 0])
    page.get_by_role("tab", name="Heads that copy").click()
    top = heads["top_head"]
    wait_for_text(page, "#lm-heads-note", f"layer {top['layer']}, head {top['head']}")
    page.wait_for_selector("#lm-heads-map .js-plotly-plot")
    page.wait_for_selector("#lm-heads-pattern .js-plotly-plot")
    page.locator("#lm-heads-map").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "gpt_heads_1400.png"), full_page=False)


@pytest.mark.parametrize("prompt, message", [("", "The prompt is empty"), ("Glassbox ✓ €", "do not include"),
                                             ("x" * 200, "at most 128")])
def test_a_bad_prompt_says_why_in_the_section(app_page, prompt, message):
    page = app_page
    open_section(page)
    page.locator("#lm-prompt textarea").fill(prompt)
    page.locator("#lm-run").click()
    wait_for_text(page, "#lm-notice", message)
    wait_for_text(page, "#lm-next .lm-message", message)
    run_prompt(page, PROMPT)  # and the section still works


def test_narrow_page(app_page, screenshot_dir):
    page = app_page
    open_section(page, 800)
    run_prompt(page, PROMPT)
    page.locator("#lm-next").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "gpt_next_token_800.png"), full_page=False)
    page.locator("#lm-attention").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "gpt_attention_800.png"), full_page=False)
    page.get_by_role("tab", name="Logit lens").click()
    page.wait_for_selector("#lm-lens .js-plotly-plot")
    page.screenshot(path=str(screenshot_dir / "gpt_logit_lens_800.png"), full_page=False)
    page.get_by_role("tab", name="Heads that copy").click()
    page.wait_for_selector("#lm-heads-pattern .js-plotly-plot")
    page.locator("#lm-heads-map").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "gpt_heads_800.png"), full_page=False)
