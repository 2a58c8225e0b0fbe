"""`python -m benchmarks.vae [--moves N] [--clicks N]`: the VAE tab's latent map in Chromium, as a hand uses it.

Pointer → picture: the pointer moves to a new place on the map (`vae-latent-map`) and stays; the time from that
pointermove to the widget's next `vae-latent-map:drawn` mark (the picture the live vae2 decoder made for that
place, through vae_decode_point; benchmarks.runner.frames), median of `moves` places. Pictures/s while the pointer
moves: the pointer sweeps the map with no button pressed at up to 60 moves a second for SWEEP_S seconds
(benchmarks.runner.drag); the pictures drawn (marks) over the time, with the moves that arrived and the requests
made. Beside them, the baseline: the page's own REST round trip to vae_decode (the decoder plus the
CNN's reading, a PNG) against vae_decode_point (the decoder only, packed pixels), median of `moves` calls each.
The gallery click → every view drawn is benchmarks/browser.py's VAE case, reported beside the figure measured at
BEFORE_COMMIT, before the tab sent only the views a click changes. Figures are a report, never a test assertion.
"""
from __future__ import annotations

import statistics

from benchmarks.browser import VAE, new_image
from benchmarks.runner import chromium, drag, frames, new_page, open_tab, options, run_on_app, spread

TIMEOUT_MS = 120_000
SWEEP_S = 5.0
BEFORE_COMMIT, BEFORE_CLICK_MS = "2645219", 1309.5  # the VAE click's median there (10 clicks, this machine)
MARK = "vae-latent-map:drawn"
MARKS = f"() => performance.getEntriesByName('{MARK}').length"

def open_map(page, url: str):
    open_tab(page, url, "VAE")
    page.get_by_role("tab", name="Latent map", exact=True).click()  # the map's inner tab
    page.wait_for_function(f"() => ({MARKS})() > 0", timeout=TIMEOUT_MS)
    canvas = page.locator("#vae-latent-map canvas.vlm-map")
    canvas.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('#vae-latent-map .vlm-z').dataset.z")
    return canvas.bounding_box()


def place(box: dict, i: int, n: int) -> tuple[float, float]:
    """The i-th of n places on a diagonal sweep across the plot area (inside the axes)."""
    f = 0.2 + 0.6 * (i % n) / max(1, n - 1)
    return box["x"] + box["width"] * f, box["y"] + box["height"] * (0.85 - 0.7 * f)


def latency(page, box: dict, moves: int) -> list[float]:
    """ms from a pointermove to the picture for that place, one place at a time."""
    out = []
    for i in range(moves):
        drawn = page.evaluate(MARKS)

        def move(i=i, drawn=drawn):
            page.mouse.move(*place(box, i, moves))
            page.wait_for_function(f"() => ({MARKS})() > {drawn}")
        out.append(frames(page, "vae-latent-map", move)["pointer_to_picture_ms"])
    return out


def sweep(page, box: dict, seconds: float) -> dict:
    """Pictures drawn per second while the pointer keeps moving over the map at up to 60 moves a second
    (runner.drag with no button pressed), and the moves a second that arrived (each playwright move waits for the
    page to take it: on a busy machine, fewer moves, so fewer places to decode)."""
    n = int(seconds * 60)
    return drag(page, "vae-latent-map", [place(box, i, n) for i in range(n)], press=False)


def round_trips(page, moves: int) -> dict:
    """Median ms of the page's own gb.call to vae_decode and to vae_decode_point at the same z."""
    timed = """async ([name, args, n]) => { const out = [];
      for (let i = 0; i < n; i++) { const t = performance.now(); await window.glassbox.call(name, args);
                                    out.push(performance.now() - t); } return out; }"""
    return {name: round(statistics.median(page.evaluate(timed, [name, args, moves])), 1)
            for name, args in (("vae_decode", [[0.5, -0.5], "vae2"]), ("vae_decode_point", [0.5, -0.5, "vae2"]))}


def measure(url: str, moves: int = 30, clicks: int = 10) -> dict:
    with chromium("--disable-background-networking") as browser:
        page = new_page(browser, TIMEOUT_MS)
        box = open_map(page, url)
        waits = latency(page, box, moves)
        moving = sweep(page, box, SWEEP_S)
        trips = round_trips(page, moves)
    click = new_image(url, VAE, clicks) if clicks else None  # python -m benchmarks measures the click itself
    return {"moves": moves, "pointer_to_picture_median_ms": round(statistics.median(waits), 1),
            "pointer_to_picture_ms": [round(w, 1) for w in waits],
            "pictures_per_s": moving["redraws_per_s"], "moves_per_s": moving["events_per_s"],
            "sweep_s": moving["seconds"], "sweep_requests": moving["requests"],
            "round_trip_median_ms": trips,
            "gallery_click": click, "before": {"commit": BEFORE_COMMIT, "gallery_click_median_ms": BEFORE_CLICK_MS}}


def markdown_lines(r: dict) -> list[str]:
    t, c = r["round_trip_median_ms"], r["gallery_click"]
    lines = [
        f"- VAE latent map, in Chromium: pointer → picture **{r['pointer_to_picture_median_ms']} ms** "
        f"({spread(r['pointer_to_picture_ms'], 'places')}; target ≤ 80), **{r['pictures_per_s']} pictures/s** while "
        f"the pointer moves for {r['sweep_s']:g} s ({r['moves_per_s']} moves/s, {r['sweep_requests']} requests; "
        f"target ≥ 15), each decoded by vae2 on the server; the page's round trip "
        f"to vae_decode_point {t['vae_decode_point']} ms against vae_decode (decoder + CNN, PNG) {t['vae_decode']} ms",
    ]
    if c:
        lines.append(f"- VAE tab, gallery click → every view drawn: **{c['median_ms']} ms** "
                     f"({spread(c['values_ms'], 'clicks')}) against {r['before']['gallery_click_median_ms']} ms "
                     f"at {r['before']['commit']} (target ≤ 500)")
    return lines


def main(argv=None) -> dict:
    args = options("vae", __doc__, argv, moves=(int, 30, "places the pointer stops at"),
                   clicks=(int, 10, "timed gallery clicks, after one warm-up"))
    return run_on_app(lambda url: measure(url, args.moves, args.clicks), markdown_lines)


if __name__ == "__main__":
    main()
