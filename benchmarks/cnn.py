"""`python -m benchmarks.cnn [--seconds S]`: the CNN section's direct manipulation in Chromium (issue 26).

Drawing (cnn-draw): the pen is pressed on the pad and moved at 60 pointer events a second, as a hand would, for S
seconds. Every picture is the bundled cnn's answer through conv_draw (one request in flight, the newest drawing
wins); the pad notes when each request starts (data-asked) and when its picture is drawn (data-pixels), and a
listener notes each pointer move. Pictures/s is the pictures drawn while the pen moved divided by the stroke's
time; pointer → prediction is, for each move, the time until the first picture whose request started after it (so
it includes that move), median over the moves. Before issue 26 nothing followed the pen: the pad predicted only
after "Use the drawing" was pressed (0 pictures/s).

Hover (cnn-maps): the pointer crosses the feature-map grid's tiles at up to 60 moves a second for S seconds; redraws/s
counts the widget's 'cnn-maps:drawn' marks per second, with the moves per second the driver managed and the redraws
per move beside it, and every request the page makes meanwhile is counted (the target is none). Before issue 26 the
grid answered only clicks, each a round trip. Figures are a report, never a test assertion.
"""
from __future__ import annotations

import statistics
import time

from benchmarks.runner import chromium, new_page, open_tab, options, run_on_app

TIMEOUT_MS = 60_000
MOVE_S = 1 / 60  # a hand's pointer events come at the screen's refresh rate

# window.__draw: the times (performance.now()) of the pointer moves over the pad, and of each request's start and
# its picture, from the pad's data-asked and data-pixels attributes.
DRAW_WATCH = """() => {
  const pad = document.querySelector('#cnn-draw canvas.pad');
  const D = window.__draw = {moves: [], asked: [], drawn: []};
  pad.addEventListener('pointermove', () => D.moves.push(performance.now()));
  new MutationObserver(ms => {
    for (const m of ms) (m.attributeName === 'data-asked' ? D.asked : D.drawn).push(performance.now());
  }).observe(pad, {attributes: true, attributeFilter: ['data-asked', 'data-pixels']});
}"""


def centre(page, selector: str) -> tuple[float, float, float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"], box["y"], box["width"], box["height"]


def drawing(page, seconds: float) -> dict:
    page.get_by_role("tab", name="Draw", exact=True).locator("visible=true").first.click()
    page.locator("#cnn-draw canvas.pad").scroll_into_view_if_needed()
    page.evaluate(DRAW_WATCH)
    x, y, w, h = centre(page, "#cnn-draw canvas.pad")
    n = int(seconds / MOVE_S)
    page.mouse.move(x + 0.2 * w, y + 0.2 * h)
    page.mouse.down()
    for i in range(n):  # a zig-zag down the pad
        across = (i % 15) / 15 if (i // 15) % 2 == 0 else 1 - (i % 15) / 15
        page.mouse.move(x + w * (0.2 + 0.6 * across), y + h * (0.2 + 0.6 * i / n))
        time.sleep(MOVE_S)
    page.mouse.up()
    page.wait_for_function("() => { const p = document.querySelector('#cnn-draw canvas.pad');"
                           " return p.dataset.pixels === p.dataset.asked; }")
    d = page.evaluate("() => window.__draw")
    moves, asked, drawn = d["moves"], d["asked"], d["drawn"]
    stroke_ms = moves[-1] - moves[0]
    during = sum(1 for t in drawn if moves[0] <= t <= moves[-1])
    waits = []
    for m in moves:
        k = next((k for k, s in enumerate(asked) if s >= m), None)
        if k is not None and k < len(drawn):
            waits.append(drawn[k] - m)
    # Of that wait, the request itself: conv_draw through gradio's queue and the picture drawn.
    trips = [d - a for a, d in zip(asked, drawn, strict=False)]
    return {"pictures_per_s": round(during / (stroke_ms / 1000), 1), "pointer_to_picture_median_ms":
            round(statistics.median(waits), 1), "request_to_picture_median_ms": round(statistics.median(trips), 1),
            "moves": len(moves), "pictures": len(drawn), "stroke_s": round(stroke_ms / 1000, 2)}


def hover(page, seconds: float) -> dict:
    grid = page.locator("#cnn-feature-grid img")
    grid.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('#cnn-feature-grid img')?.naturalWidth > 0")
    x, y, w, h = centre(page, "#cnn-feature-grid img")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    before = page.evaluate("performance.getEntriesByName('cnn-maps:drawn').length")
    n = int(seconds / MOVE_S)
    start = time.perf_counter()
    for i in range(n):  # along the first row of tiles, back and forth
        t = (i % 60) / 60
        page.mouse.move(x + w * (0.05 + 0.9 * t), y + h * 0.45)
        time.sleep(MOVE_S)
    elapsed = time.perf_counter() - start
    marks = page.evaluate("performance.getEntriesByName('cnn-maps:drawn').length") - before
    # Each move is one redraw when the page keeps up, so the rate is the pointer's: "per move" says whether it did.
    return {"redraws_per_s": round(marks / elapsed, 1), "moves_per_s": round(n / elapsed, 1),
            "redraws_per_move": round(marks / n, 2), "requests": len(requests)}


def measure(url: str, seconds: float = 3.0) -> dict:
    with chromium("--disable-background-networking") as browser:
        page = new_page(browser, TIMEOUT_MS)
        open_tab(page, url, "Convolution")
        page.wait_for_selector("#cnn-prediction canvas", state="attached")
        page.locator("#cnn-gallery").scroll_into_view_if_needed()
        result = {"hover": hover(page, seconds), "drawing": drawing(page, seconds)}
    return result


def markdown_lines(r: dict) -> list[str]:
    d, h = r["drawing"], r["hover"]
    return [f"- CNN drawing, in Chromium (pen moved at 60 events/s for {d['stroke_s']} s): **{d['pictures_per_s']} "
            f"pictures/s** of the bundled cnn's probabilities and conv1 maps while drawing (target ≥ 15; before issue "
            f"26: 0, nothing followed the pen), pointer → picture **{d['pointer_to_picture_median_ms']} ms** median "
            f"(target ≤ 80; of which the request, conv_draw through gradio's queue, and the drawing: "
            f"{d['request_to_picture_median_ms']} ms)",
            f"- CNN feature maps hover, in Chromium: **{h['redraws_per_s']} redraws/s** with **{h['requests']} "
            f"requests** ({h['redraws_per_move']} redraws per pointer move, at the {h['moves_per_s']} moves/s the "
            "driver sent; target ≥ 30 and 0; before issue 26: no hover, a click was a round trip)"]


def main(argv=None) -> dict:
    args = options("cnn", __doc__, argv, seconds=(float, 3.0, "seconds of drawing and of hovering"))
    return run_on_app(lambda url: measure(url, args.seconds), markdown_lines)


if __name__ == "__main__":
    main()
