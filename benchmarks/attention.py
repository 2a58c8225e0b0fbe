"""`python -m benchmarks.attention [--runs N]`: the Attention tab in Chromium. The head view, on a text of about 100
tokens with all 12 heads drawn: click → the new SVG painted. The scores view: its temperature track moved from end
to end for DRAG_S seconds, redrawn in the browser, against the server round trip of attention_scores (which each
temperature change cost before the scores were drawn in the browser, before its plotly redraw). The page moves the
track itself (benchmarks.runner.synthetic: the track's value set and an input event, what Chromium does as its thumb
is dragged, once an animation frame up to 60 a second), since a playwright drag sent under 30 pointer events a
second: the figure was the driver's, not the widget's.

With the "Head view" sub-tab open, each run types a new text (its first word differs, so every run draws a new
figure), and a capture-phase listener notes the click on #attn-run. A MutationObserver notes when #attn-head-view
holds a new SVG (its first query token's text differs from before the click); two animation frames after that,
the browser has laid it out and painted it, which is the figure. The SVG's line count and size are read from the
page. One warm-up run, then the median of N. Figures are a report, never a test assertion.
"""
from __future__ import annotations

import statistics

from benchmarks.runner import chromium, new_page, open_tab, options, run_on_app, spread, synthetic

TIMEOUT_MS = 60_000
DRAG_S, RATE = 2.0, 60  # one slide of the temperature track, at the screen's refresh rate
# About 100 tokens of MiniLM's tokenizer: "<word> river bank ..." repeated, a new first word each run.
TEXT = " ".join(["The river bank was flooded after the storm, and the people of the town moved their boats."] * 5)
WORDS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliet", "Kilo"]

# window.__hv: `arm()` forgets the last figure; the next click on #attn-run starts the clock; `at` is ms from the
# click until two frames after a new SVG arrived (laid out and painted).
WATCH = """() => {
  const H = window.__hv = {t0: null, at: null, before: null};
  const sig = () => document.querySelector('#attn-head-view svg.hv')?.outerHTML.length + ' ' +
                    (document.querySelector('#attn-head-view text.hv-token')?.textContent ?? '');
  H.arm = () => { H.t0 = null; H.at = null; H.before = sig(); };
  document.addEventListener('click', e => {
    if (H.t0 === null && e.target.closest('#attn-run')) H.t0 = performance.now();
  }, true);
  new MutationObserver(() => {
    if (H.t0 === null || H.at !== null || H.pending || sig() === H.before) return;
    H.pending = true;
    requestAnimationFrame(() => requestAnimationFrame(() => { H.at = performance.now() - H.t0; H.pending = false; }));
  }).observe(document.body, {subtree: true, childList: true});
}"""


def one_run(page, word: str) -> dict:
    page.locator("#attn-text textarea").fill(f"{word} {TEXT}")
    page.evaluate("() => window.__hv.arm()")
    page.click("#attn-run")
    page.wait_for_function("() => window.__hv.at !== null", timeout=TIMEOUT_MS)
    return page.evaluate("() => ({ms: window.__hv.at, lines: document.querySelectorAll('#attn-head-view "
                         "line.hv-edge').length, bytes: document.querySelector('#attn-head-view svg.hv')"
                         ".outerHTML.length, tokens: document.querySelectorAll('#attn-head-view "
                         "text.hv-token[data-side=\"q\"]').length})")


def measure(url: str, runs: int = 5) -> dict:
    with chromium() as browser:
        page = new_page(browser, TIMEOUT_MS)
        open_tab(page, url, "Attention")
        page.wait_for_selector("#attn-heatmap .js-plotly-plot", state="visible")
        page.get_by_role("tab", name="Head view").click()
        page.wait_for_selector("#attn-head-view svg.hv", state="attached")
        page.evaluate(WATCH)
        results = [one_run(page, WORDS[i % len(WORDS)]) for i in range(runs + 1)][1:]  # one warm-up
        scores = scores_drag(page, runs)
    return {"median_ms": round(statistics.median(r["ms"] for r in results), 1),
            "values_ms": [round(r["ms"], 1) for r in results], "tokens": results[-1]["tokens"],
            "lines": results[-1]["lines"], "svg_bytes": results[-1]["bytes"], "scores": scores}


def scores_drag(page, runs: int) -> dict:
    """Head 3 of the same text in the scores view: one slide of the temperature track from end to end, and `runs`
    round trips of attention_scores from the page (gb.call: POST /gradio_api/call, then its stream)."""
    page.get_by_role("tab", name="Q·Kᵀ", exact=True).click()
    page.locator("#attn-head input").fill("head 3")
    page.locator("#attn-head input").press("Enter")
    page.wait_for_function("() => document.querySelector('#attn-scores')?.glassboxView?.head === 3")
    page.locator("#attn-scores-temperature").scroll_into_view_if_needed()
    n = int(DRAG_S * RATE)
    result = synthetic(page, "attn-scores", "#attn-scores-temperature", [(i / (n - 1), 0.5) for i in range(n)],
                       kind="range", rate=RATE)
    view = page.evaluate("() => document.querySelector('#attn-scores').glassboxView")
    trips = page.evaluate("""async ([text, n]) => {
      const times = [];
      for (let i = 0; i <= n; i++) {
        const t0 = performance.now();
        await window.glassbox.call('attention_scores', [text, 5, 3, 1 + i / 10, true, 'default', '']);
        times.push(performance.now() - t0);
      }
      return times.slice(1);
    }""", [page.locator("#attn-text textarea").input_value(), runs])
    return {**result, "tokens": view["n"], "server_round_trip_ms": round(statistics.median(trips), 1)}


def markdown_lines(r: dict) -> list[str]:
    return [f"- Attention head view, in Chromium ({r['tokens']} tokens, all 12 heads of layer 5: {r['lines']:,} lines, "
            f"{r['svg_bytes'] / 1e6:.2f} MB of SVG): click Run → the new figure painted, **{r['median_ms']} ms** "
            f"({spread(r['values_ms'])})",
            f"- Attention scores view, in Chromium ({r['scores']['tokens']} tokens): sliding the temperature (input "
            f"events sent by the page itself) redraws **{r['scores']['redraws_per_s']}/s** in the browser "
            f"({r['scores']['redraws_per_event']} per event, at {r['scores']['events_per_s']} events/s; event → "
            f"picture "
            f"{r['scores']['pointer_to_picture_ms']} ms median, {r['scores']['requests']} requests to the server); "
            f"before, each temperature was a server event: attention_scores' round trip alone is "
            f"{r['scores']['server_round_trip_ms']} ms median, before any plotly redraw, and only on release"]


def main(argv=None) -> dict:
    args = options("attention", __doc__, argv, runs=(int, 5, "timed runs, after one warm-up"))
    return run_on_app(lambda url: measure(url, args.runs), markdown_lines)


if __name__ == "__main__":
    main()
