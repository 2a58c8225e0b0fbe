"""What every in-app benchmark does around its own measurements: start app.py, open Chromium on one of its tabs,
stop both even when a measurement fails, and print the result. Each `benchmarks/<name>.py` keeps only what it
measures; its `python -m benchmarks.<name>` entry point is `run_on_app` with its own options."""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from benchmarks.server import start_app

if TYPE_CHECKING:  # playwright is imported only when a browser is launched
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"  # Debian's, as the browser tests drive it
VIEWPORT = {"width": 1440, "height": 1000}
APP_TIMEOUT_MS = 60_000  # a cold page on a busy machine: gradio's bundle, then the tab's first figures

Result = TypeVar("Result")


@contextmanager
def chromium(*args: str) -> Iterator[Browser]:
    """Headless Chromium through playwright (extra command-line `args` after the ones every benchmark needs); closed
    on leaving, even on an error."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", *args])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, timeout_ms: float) -> Page:
    """A page of its own context (so its own gradio session, as another visitor's), at the benchmarks' size."""
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(timeout_ms)
    return page


def open_tab(page: Page, url: str, tab: str) -> None:
    """Load the app at `url`, wait until it has drawn (the device line shows), and open the top-level tab `tab`."""
    page.goto(url)
    page.wait_for_selector("#gb-device", state="visible", timeout=APP_TIMEOUT_MS)
    page.get_by_role("tab", name=tab, exact=True).click()


def options(module: str, doc: str | None, argv: list[str] | None,
            **declared: tuple[type, object, str]) -> argparse.Namespace:
    """The command line of `python -m benchmarks.<module>` (its help the module's docstring), parsed. Each option
    `name=(type, default, help)` is `--name` with dashes for underscores; a bool one is a flag that sets True."""
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}", description=doc)
    for name, (kind, default, help_) in declared.items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            p.add_argument(flag, action="store_true", help=help_)
        else:
            p.add_argument(flag, type=kind, default=default, help=help_)
    return p.parse_args(argv)


def run_on_app(measure: Callable[[str], Result],
               markdown_lines: Callable[[Result], list[str]] | None = None) -> Result:
    """Start app.py, call `measure(url)` on it, stop the app even if that fails; print the result as JSON and, with
    `markdown_lines`, the report's lines for it. Returns the result."""
    app = start_app()
    try:
        result = measure(app.url)
    finally:
        app.stop()
    print(json.dumps(result, indent=2))
    if markdown_lines is not None:
        print("\n".join(markdown_lines(result)))
    return result


# window.__drag: every pointer event's time, every "<id>:drawn" mark's, and every request the page starts, so that
# a drag's redraws per second, pointer → picture times and server requests can be read after it.
WATCH_DRAG = """(id) => {
  const D = window.__drag = {pointer: 0, drawn: [], requests: 0, last: null};
  document.addEventListener('pointermove', () => { D.last = performance.now(); D.pointer++; }, true);
  new PerformanceObserver((list) => {
    for (const m of list.getEntries()) if (m.name === id + ':drawn') D.drawn.push([m.startTime, D.last]);
  }).observe({type: 'mark'});
  new PerformanceObserver((list) => { D.requests += list.getEntries().length; }).observe({type: 'resource'});
}"""


def drag(page: Page, elem_id: str, start: tuple[float, float], end: tuple[float, float], seconds: float = 2.0,
         rate: float = 60.0) -> dict:
    """Press at `start`, move to `end` over `seconds` at `rate` pointer events a second (a person's hand: the
    screen's frame rate; playwright on a busy machine may deliver fewer, so the page counts them), release; then
    report the widget's redraws a second during the drag, the median time from the last pointer event to each
    redraw, and the requests the page made meanwhile."""
    import time
    page.evaluate(WATCH_DRAG, elem_id)
    page.mouse.move(*start)
    page.mouse.down()
    began, steps = time.perf_counter(), max(1, round(seconds * rate))
    for i in range(1, steps + 1):
        f = i / steps
        page.mouse.move(start[0] + f * (end[0] - start[0]), start[1] + f * (end[1] - start[1]))
        time.sleep(max(0.0, began + i / rate - time.perf_counter()))  # paced like a hand, not as fast as possible
    elapsed = time.perf_counter() - began
    page.mouse.up()
    d = page.evaluate("() => window.__drag")
    lags = sorted(t - p for t, p in d["drawn"] if p is not None)
    middle = lags[len(lags) // 2] if lags else None
    return {"redraws_per_s": round(len(d["drawn"]) / elapsed, 1), "seconds": round(elapsed, 2),
            "pointer_events_per_s": round(d["pointer"] / elapsed, 1),
            "pointer_to_picture_ms": None if middle is None else round(middle, 1), "requests": d["requests"]}
