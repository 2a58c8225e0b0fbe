"""`python -m benchmarks.cnn [--seconds S]`: the CNN section's direct manipulation in Chromium (issue 26).

Drawing (cnn-draw): the pen is pressed on the pad and moved at 60 pointer events a second, as a hand would, for S
seconds (benchmarks.runner.drag). Every picture is the bundled cnn's answer through conv_draw (one request in
flight, the newest drawing wins), marked 'cnn-prediction:drawn'; the pad notes when each request starts
(data-asked) and when its picture is drawn (data-pixels), and a listener notes each pointer move. Pictures/s is the
marks made during the stroke over the stroke's time; pointer → prediction is, for each move, the time until the
first picture whose request started after it (so it includes that move), median over the moves. Before issue 26
nothing followed the pen: the pad predicted only after "Use the drawing" was pressed (0 pictures/s).

Hover (cnn-maps): the page itself sends pointermove events to the feature-map grid's picture (the events the widget
listens to; it has no mousemove listener) from an animation-frame loop, up to 60 a second for S seconds, back and
forth across both rows of tiles (benchmarks.runner.synthetic: a playwright-driven pointer sends fewer than 30 moves
a second on a busy machine, so it measured the driver, not the widget). Redraws/s counts the widget's
'cnn-maps:drawn' marks per second, beside the events per second sent and the redraws per event (below 1 where the
pointer crosses the gaps between tiles: leaving a tile clears the outline once), and every request the page makes
meanwhile is counted (the target is none). Before issue 26 the grid answered only clicks, each a round trip.
Figures are a report, never a test assertion.
"""
from __future__ import annotations

import statistics

from benchmarks.runner import chromium, drag, new_page, open_tab, options, run_on_app, synthetic

TIMEOUT_MS = 60_000
RATE = 60  # a hand's pointer events come at the screen's refresh rate
# The grid's picture (core.render's layout, top 16 maps): a title and colour bar, then two rows of eight tiles, each
# over its label (tiles at 0.25–0.56 and 0.63–0.95 of its height). The hover crosses each row of tiles twice, at these
# heights.
TILE_ROWS = (0.32, 0.48, 0.70, 0.86)

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


def drawing(page, seconds: float) -> dict:
    page.get_by_role("tab", name="Draw", exact=True).locator("visible=true").first.click()
    pad = page.locator("#cnn-draw canvas.pad")
    pad.scroll_into_view_if_needed()
    page.evaluate(DRAW_WATCH)
    box = pad.bounding_box()
    n = int(seconds * RATE)
    zigzag = [(box["x"] + box["width"] * (0.2 + 0.6 * ((i % 15) / 15 if (i // 15) % 2 == 0 else 1 - (i % 15) / 15)),
               box["y"] + box["height"] * (0.2 + 0.6 * i / n)) for i in range(n)]  # a zig-zag down the pad
    stroke = drag(page, "cnn-prediction", zigzag, RATE)
    page.wait_for_function("() => { const p = document.querySelector('#cnn-draw canvas.pad');"
                           " return p.dataset.pixels === p.dataset.asked; }")
    d = page.evaluate("() => window.__draw")
    moves, asked, drawn = d["moves"], d["asked"], d["drawn"]
    waits = []
    for m in moves:
        k = next((k for k, s in enumerate(asked) if s >= m), None)
        if k is not None and k < len(drawn):
            waits.append(drawn[k] - m)
    # Of that wait, the request itself: conv_draw through gradio's queue and the picture drawn.
    trips = [d - a for a, d in zip(asked, drawn, strict=False)]
    return {"pictures_per_s": stroke["redraws_per_s"], "moves_per_s": stroke["events_per_s"],
            "pointer_to_picture_median_ms": round(statistics.median(waits), 1),
            "request_to_picture_median_ms": round(statistics.median(trips), 1),
            "moves": len(moves), "pictures": len(drawn), "stroke_s": stroke["seconds"], "requests": stroke["requests"]}


def hover(page, seconds: float) -> dict:
    grid = page.locator("#cnn-feature-grid img")
    grid.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('#cnn-feature-grid img')?.naturalWidth > 0")
    across = int(seconds * RATE) // len(TILE_ROWS)
    path = [(0.01 + 0.98 * (i if k % 2 == 0 else across - 1 - i) / (across - 1), y)
            for k, y in enumerate(TILE_ROWS) for i in range(across)]  # back and forth, one tile row after another
    return synthetic(page, "cnn-maps", "#cnn-feature-grid img", path, rate=RATE)


def measure(url: str, seconds: float = 3.0) -> dict:
    with chromium("--disable-background-networking") as browser:
        page = new_page(browser, TIMEOUT_MS)
        open_tab(page, url, "Convolution")
        page.wait_for_selector("#cnn-prediction canvas", state="attached")
        result = {"hover": hover(page, seconds), "drawing": drawing(page, seconds)}
    return result


def markdown_lines(r: dict) -> list[str]:
    d, h = r["drawing"], r["hover"]
    return [f"- CNN drawing, in Chromium (pen moved for {d['stroke_s']} s, {d['moves_per_s']} of {RATE} pointer "
            f"events/s arriving): **{d['pictures_per_s']} pictures/s** of the bundled cnn's probabilities and conv1 "
            f"maps while drawing (target ≥ 15; before issue 26: 0, nothing followed the pen; {d['requests']} "
            f"requests), pointer → picture **{d['pointer_to_picture_median_ms']} ms** median (target ≤ 80; of which "
            f"the request, conv_draw through gradio's queue, and the drawing: {d['request_to_picture_median_ms']} ms)",
            f"- CNN feature maps hover, in Chromium (pointermove events sent by the page itself across the grid's "
            f"tiles for {h['seconds']} s): **{h['redraws_per_s']} redraws/s** with **{h['requests']} requests** "
            f"({h['redraws_per_event']} redraws per event, at {h['events_per_s']} events/s sent; target ≥ 30 and 0; "
            "before issue 26: no hover, a click was a round trip)"]


def main(argv=None) -> dict:
    args = options("cnn", __doc__, argv, seconds=(float, 3.0, "seconds of drawing and of hovering"))
    return run_on_app(lambda url: measure(url, args.seconds), markdown_lines)


if __name__ == "__main__":
    main()
