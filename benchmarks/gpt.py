"""`python -m benchmarks.gpt [--runs N] [--tokens N]`: the Attention tab's GPT section in Chromium, on the bundled
GPT. Prompt → next-token view: click Run with a new prompt (its first word differs each run, so no forward pass
comes from the cache) until the next-token widget's "lm-next:drawn" mark; one warm-up, then the median of N.
Generation: click Generate for `tokens` tokens until the widget has drawn after each (the prompt box grown by that
many characters), as tokens a second in the app, against a bare loop of core.attention.causal.generate on the same
prompt in this process (the model's forward passes and the draws alone, no views). Figures are a report, never a
test assertion.
"""
from __future__ import annotations

import statistics
import time

from benchmarks.runner import chromium, new_page, open_tab, options, run_on_app, spread

TIMEOUT_MS = 120_000
PROMPT = "said, Let there be light: and there was "
WORDS = ["And God", "Then God", "So God", "Now God", "Thus God", "Yea God", "And he", "And they", "Then he", "And she",
         "So he"]

# window.__lm: the time of the last click on a button of the section, and when the widget drew after it.
WATCH = """() => {
  const L = window.__lm = {t0: null, marks: []};
  document.addEventListener('click', (e) => {
    if (e.target.closest('#lm-run, #lm-generate')) { L.t0 = performance.now(); L.marks = []; }
  }, true);
  new PerformanceObserver((list) => {
    for (const m of list.getEntries()) if (m.name === 'lm-next:drawn' && L.t0 !== null) L.marks.push(m.startTime);
  }).observe({type: 'mark'});
}"""


def run_once(page, prompt: str) -> float:
    page.locator("#lm-prompt textarea").fill(prompt)
    page.click("#lm-run")
    page.wait_for_function("() => window.__lm.marks.length > 0 && "
                           "document.querySelector('#lm-next').glassboxView?.kept > 0", timeout=TIMEOUT_MS)
    return page.evaluate("() => window.__lm.marks[0] - window.__lm.t0")


def generate_once(page, prompt: str, tokens: int) -> float:
    """Seconds from the click on Generate to the widget's drawing after the last of `tokens` tokens."""
    run_once(page, prompt)
    page.locator("#lm-steps input").fill(str(tokens))
    page.click("#lm-generate")
    page.wait_for_function("([n, len]) => window.__lm.marks.length >= n && "
                           "document.querySelector('#lm-prompt textarea').value.length === len",
                           arg=[tokens, len(prompt) + tokens], timeout=TIMEOUT_MS)
    return page.evaluate("(n) => window.__lm.marks[n - 1] - window.__lm.t0", tokens) / 1e3


def bare_seconds(prompt: str, tokens: int) -> float:
    from core.attention import causal
    lm, _ = causal.resolve("default")
    ids = causal.check_prompt(lm, prompt)
    t0 = time.perf_counter()
    for _ in causal.generate(lm, ids, tokens, 0):
        pass
    return time.perf_counter() - t0


def measure(url: str, runs: int = 5, tokens: int = 20) -> dict:
    prompts = [f"{WORDS[i % len(WORDS)]} {PROMPT}" for i in range(runs + 1)]
    with chromium() as browser:
        page = new_page(browser, TIMEOUT_MS)
        open_tab(page, url, "Attention")
        page.get_by_role("tab", name="GPT: next token", exact=True).click()
        page.locator("#lm-run").scroll_into_view_if_needed()
        page.evaluate(WATCH)
        shown = [run_once(page, p) for p in prompts][1:]  # one warm-up: the model's load
        app = [generate_once(page, p, tokens) for p in prompts[:2]]
    bare_seconds(prompts[0], tokens)  # warm-up: the model's load in this process
    bare = [bare_seconds(f"{p} ", tokens) for p in prompts[:2]]  # a new prompt: nothing from the forward cache
    return {"next_view_median_ms": round(statistics.median(shown), 1), "next_view_ms": [round(t, 1) for t in shown],
            "tokens": tokens, "app_tokens_per_s": round(tokens / statistics.median(app), 1),
            "bare_tokens_per_s": round(tokens / statistics.median(bare), 1)}


def markdown_lines(r: dict) -> list[str]:
    return [f"- GPT section, in Chromium (bundled GPT, 41-character prompts): click Run → the next-token bars drawn, "
            f"**{r['next_view_median_ms']} ms** ({spread(r['next_view_ms'])})",
            f"- GPT section, Generate {r['tokens']} tokens streamed (bars, attention map and entropy redrawn after "
            f"each): **{r['app_tokens_per_s']} tokens/s** in the app, against {r['bare_tokens_per_s']} tokens/s for "
            "a bare loop of causal.generate in process (forward passes and draws only)"]


def main(argv=None) -> dict:
    args = options("gpt", __doc__, argv, runs=(int, 5, "timed Run clicks, after one warm-up"),
                   tokens=(int, 20, "tokens one Generate adds"))
    return run_on_app(lambda url: measure(url, args.runs, args.tokens), markdown_lines)


if __name__ == "__main__":
    main()
