"""What every in-app benchmark does around its own measurements: start app.py, open Chromium on one of its tabs,
stop both even when a measurement fails, and print the result. Each `benchmarks/<name>.py` keeps only what it
measures; its `python -m benchmarks.<name>` entry point is `run_on_app` with its own options."""
from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import statistics
import time
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


def machine() -> dict:
    """What a report's figures were measured on: CPUs, torch and its intra-op threads, Python."""
    import torch
    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__}


def machine_line(m: dict) -> str:
    """A report's line for `machine()`'s figures."""
    return f"{m['cpus']} CPUs, torch {m['torch']} ({m['torch_threads']} threads), Python {m['python']}"


def spread(values: list[float], what: str = "") -> str:
    """A report line's "median of N <what>, min–max ms" for `values` in ms (the median itself is shown in bold
    before it)."""
    return f"median of {len(values)}{' ' + what if what else ''}, {min(values)}–{max(values)} ms"


# window.__frames: the times of the events of type `event` (none if null) that reach the page (listened for on the
# document in the capture phase, so events the page dispatches itself count too). Installed once per event type and
# emptied at each arm, so repeated measurements on one page neither stack listeners nor mix their events.
ARM = """(event) => {
  const F = window.__frames ??= {types: new Set(), events: []};
  F.event = event;
  F.events = [];
  if (event && !F.types.has(event)) {
    F.types.add(event);
    document.addEventListener(event, (e) => { if (e.type === F.event) F.events.push(performance.now()); }, true);
  }
  return performance.now();
}"""
READ = """([id, begin]) => ({end: performance.now(), events: window.__frames.events,
  drawn: performance.getEntriesByName(id + ':drawn').map((m) => m.startTime).filter((t) => t >= begin)})"""


def frames(page: Page, elem_id: str, act: Callable[[], object], event: str | None = "pointermove") -> dict:
    """Run `act()` and report what the widget `elem_id` drew meanwhile: its redraws a second (its
    "<elem_id>:drawn" marks over the time act took, in the page's clock), the `event`s a second that reached the
    page and the redraws per event, the median time from the latest event to each redraw (these three None when
    `event` is None: a widget that plays by itself), and the requests the page made (playwright sees every one,
    streams included)."""
    requests = []

    def note(request):
        requests.append(request.url)
    begin = page.evaluate(ARM, event)
    page.on("request", note)
    try:
        act()
    finally:
        page.remove_listener("request", note)
    d = page.evaluate(READ, [elem_id, begin])
    seconds = (d["end"] - begin) / 1e3
    events, drawn = d["events"], d["drawn"]
    lags = [t - events[k - 1] for t in drawn if (k := bisect.bisect_right(events, t)) > 0]
    return {"redraws_per_s": round(len(drawn) / seconds, 1),
            "events_per_s": round(len(events) / seconds, 1) if event else None,
            "redraws_per_event": round(len(drawn) / len(events), 2) if events else None,
            "pointer_to_picture_ms": round(statistics.median(lags), 1) if lags else None,
            "seconds": round(seconds, 2), "redraws": len(drawn), "events": len(events), "requests": len(requests)}


def drag(page: Page, elem_id: str, points: list[tuple[float, float]], rate: float = 60.0,
         press: bool = True) -> dict:
    """Press at the first of `points` (page pixels; with `press` False, a hover: no button down), move through the
    others at `rate` pointer events a second (a person's hand: the screen's frame rate), release; `frames` of the
    widget `elem_id` meanwhile. Each playwright move waits for the page to take it, so a busy page or machine gets
    fewer: events_per_s says how many came."""
    def move():
        page.mouse.move(*points[0])
        if press:
            page.mouse.down()
        began = time.perf_counter()
        for i, point in enumerate(points[1:], 1):
            page.mouse.move(*point)
            time.sleep(max(0.0, began + i / rate - time.perf_counter()))  # paced like a hand, not as fast as possible
        if press:
            page.mouse.up()
    return frames(page, elem_id, move)


# The page drives itself: one event per animation frame, at most `rate` a second, at each of `path`'s places (fractions
# of the target's box): a pointermove there, or, on a range input, its value set to that fraction of its range and an
# input event (what Chromium does as a range's thumb is dragged). Resolves once the path is done.
SYNTHETIC = """([selector, kind, path, rate]) => new Promise((done) => {
  const el = document.querySelector(selector);
  let i = 0, last = -Infinity;
  const step = (now) => {
    if (now - last >= 750 / rate) {   // a frame's jitter is no reason to skip it
      last = now;
      const [fx, fy] = path[i++];
      if (kind === 'range') {
        const lo = Number(el.min), hi = Number(el.max);
        el.value = String(lo + fx * (hi - lo));
        el.dispatchEvent(new Event('input', {bubbles: true}));
      } else {
        const box = el.getBoundingClientRect();
        el.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, cancelable: true, composed: true,
          pointerId: 1, pointerType: 'mouse', isPrimary: true,
          clientX: box.left + fx * box.width, clientY: box.top + fy * box.height}));
      }
    }
    if (i < path.length) requestAnimationFrame(step); else done(i);
  };
  requestAnimationFrame(step);
})"""


def synthetic(page: Page, elem_id: str, selector: str, path: list[tuple[float, float]], kind: str = "pointer",
              rate: float = 60.0) -> dict:
    """`frames` of the widget `elem_id` while the page itself sends the events of a drag to `selector` from an
    animation-frame loop (SYNTHETIC: `kind` "pointer" or "range"), at most `rate` a second: a playwright drag is
    bound by its driver (each move is a round trip from this process, under 30 a second on a busy machine), so it
    cannot say whether the widget keeps up with a hand at the screen's frame rate."""
    event = "input" if kind == "range" else "pointermove"
    return frames(page, elem_id, lambda: page.evaluate(SYNTHETIC, [selector, kind, path, rate]), event)
