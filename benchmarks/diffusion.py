"""`python -m benchmarks.diffusion [--runs N]`: the Diffusion tab's reverse process, bare and in Chromium.

Bare: one image (the bundled UNet, class 7, w = 3, seed 0) through core.diffusion.sampling.steps with nothing
recorded, for DDIM-50 and DDPM-1000; then the same through core.diffusion.record.SamplingRun, the loop the tab runs
(every step's x_t, ε̂ and x̂₀ copied to the CPU as float16), which is the app's per-step overhead without the UI.
In Chromium: the Diffusion tab → "Reverse process" on DDIM with 50 steps; a capture-phase click listener notes the
click on #diff-run, and a MutationObserver notes every #diff-live-frames block that arrives (each streamed picture
is a new one; its data-step says which step it shows) and when the status first says "done" (the final update,
which also carries the filmstrip, GIF and trajectories). The streaming overhead is the run's own sampling time in
the server (the status's "s of sampling", the loop's wall time with every picture it sent) over the bare DDIM-50
loop, minus 1 (target ≤ 15%); click → done is reported beside it. The first frame's target is 0.5 s. One warm-up
run, then the median of N. Forward tab: t's track (#diff-forward-t) moved from end to end in DRAG_MOVES steps,
redraws a second from the "diff-forward-view:drawn" marks and the requests the page made meanwhile (the view draws in
the browser). The page moves the track itself (benchmarks.runner.synthetic: the track's value set and an input event,
what Chromium does as its thumb is dragged, once an animation frame up to 60 a second), since a playwright drag
delivers 30–50 pointer events a second on a busy machine, so it measured the driver, not the view. Before issue 26
each t was a server round trip, OLD_T_MS (t typed and Enter → the new picture, the report at a27d08f). Reverse
tab, after the runs: Play on the player (#diff-reverse-player), frames a second from its marks between the click and
the end of the play (benchmarks.runner.frames), and the requests meanwhile; then its step slider (#diff-scrub) slid
from the first step to the last by the page itself, as t's track (before, the recorded steps were scrubbed through the
server, one round trip per step).
Figures are a report, never a test assertion.
"""
from __future__ import annotations

import re
import statistics
import time

from benchmarks.runner import chromium, frames, new_page, open_tab, options, run_on_app, synthetic

LABEL, GUIDANCE, SEED = 7, 3.0, 0
TIMEOUT_MS = 180_000

# window.__diff: `arm()` forgets the last run; the next click on #diff-run starts the clock; `frames` holds
# [ms since the click, data-step] of every new #diff-live-frames block; `done` (set by one_run): ms to "done".
WATCH = """() => {
  const D = window.__diff = {t0: null, frames: [], done: null, seen: null};
  // gradio may patch the block in place, so a frame is a new (data-step, first picture) pair, not a new node
  const sig = () => { const el = document.querySelector('#diff-live-frames');
                      return el ? el.dataset.step + ' ' + (el.querySelector('img')?.src || '') : null; };
  D.arm = () => { D.t0 = null; D.frames = []; D.done = null; D.seen = sig(); };
  document.addEventListener('click', e => {
    if (D.t0 === null && e.target.closest('#diff-run')) D.t0 = performance.now();
  }, true);
  new MutationObserver(() => {
    if (D.t0 === null || D.done !== null) return;
    const now = performance.now() - D.t0;
    const s = sig();
    if (s && s !== D.seen) { D.seen = s; D.frames.push([now, Number(s.split(' ')[0])]); }
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""

DRAG_MOVES = 60      # steps of one slide along t, at up to 60 a second
OLD_T_MS = 289.3     # per t before issue 26: t typed and Enter → the new x_t picture (report at a27d08f; issue: ~0.5 s)

def forward_drag(page) -> dict:
    """One slide of t from end to end: redraws a second and requests to the server during it."""
    page.locator("#diff-forward-t").scroll_into_view_if_needed()
    return synthetic(page, "diff-forward-view", "#diff-forward-t",
                     [(k / DRAG_MOVES, 0.5) for k in range(DRAG_MOVES + 1)], kind="range")


def player(page) -> dict:
    """Play the finished run from its first step to its last: frames a second and requests during the play."""
    play = page.locator("#diff-reverse-player .drp-play")
    play.scroll_into_view_if_needed()
    # the player replays a run that has just ended by itself: a click during that replay would pause it
    page.wait_for_function("() => document.querySelector('#diff-reverse-player .drp-play')"
                           ".getAttribute('aria-pressed') === 'false'", timeout=TIMEOUT_MS)

    def run():
        play.click()
        page.wait_for_function("() => document.querySelector('#diff-reverse-player .drp-play')"
                               ".getAttribute('aria-pressed') === 'false'", timeout=TIMEOUT_MS)
    return frames(page, "diff-reverse-player", run, event=None)


def scrub(page) -> dict:
    """The player's step slider slid from the first recorded step to the last: redraws a second and requests."""
    page.locator("#diff-scrub").scroll_into_view_if_needed()
    return synthetic(page, "diff-reverse-player", "#diff-scrub",
                     [(k / DRAG_MOVES, 0.5) for k in range(DRAG_MOVES + 1)], kind="range")


def settings(scheduler: str, steps: int):
    from core.diffusion import sampling
    from core.diffusion.denoisers import bundled
    return bundled(), sampling.check(bundled(), LABEL, GUIDANCE, scheduler, steps, SEED)


def bare_seconds(scheduler: str, steps: int, recorded: bool) -> float:
    """Wall time of one image: the bare sampling loop, or the tab's recording loop."""
    from core.diffusion import record, sampling
    denoiser, s = settings(scheduler, steps)
    t0 = time.perf_counter()
    if recorded:
        record.recorded(denoiser, s)
    else:
        for _ in sampling.steps(denoiser, s):
            pass
    return time.perf_counter() - t0


def bare(runs: int, ddpm: bool = True) -> dict:
    """Median seconds of DDIM-50 (runs times, after a warm-up) and of one DDPM-1000, bare and recorded."""
    bare_seconds("ddim", 10, False)   # warm-up: the UNet's weights, diffusers' import, the CNN
    bare_seconds("ddim", 10, True)
    out = {}
    for scheduler, steps, n in (("ddim", 50, runs), *((("ddpm", 1000, 1),) if ddpm else ())):
        plain = [bare_seconds(scheduler, steps, False) for _ in range(n)]
        recorded = [bare_seconds(scheduler, steps, True) for _ in range(n)]
        p, r = statistics.median(plain), statistics.median(recorded)
        out[f"{scheduler}{steps}"] = {"runs": n, "bare_s": round(p, 3), "recorded_s": round(r, 3),
                                      "recording_overhead_percent": round(100 * (r / p - 1), 1)}
        print(f"{scheduler.upper()}-{steps}: bare {p:.2f} s, through record.recorded {r:.2f} s", flush=True)
    return out


def open_diffusion(page, url: str) -> None:
    open_tab(page, url, "Diffusion")
    page.wait_for_function("() => performance.getEntriesByName('diff-forward-view:drawn').length > 0",
                           timeout=TIMEOUT_MS)   # the forward view, drawn when the tab is first opened


def one_run(page) -> dict:
    page.evaluate("() => window.__diff.arm()")
    page.click("#diff-run")
    # polled on every animation frame (~16 ms): the status of the finished run, read from the page itself
    page.wait_for_function("() => { const D = window.__diff; const text = document.querySelector('#diff-status')"
                           "?.innerText || ''; if (D.frames.length && /Step 50 of 50/.test(text) && /done/.test(text)"
                           ") D.done = performance.now() - D.t0; return D.done !== null; }", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)   # let the last picture's block arrive in the observer before reading
    d = page.evaluate("() => ({frames: window.__diff.frames, done: window.__diff.done})")
    frames = d["frames"]
    # the run's own clock: the wall time of its sampling loop in the server, pictures sent included
    sampling = re.search(r"([\d.]+) s of sampling", page.locator("#diff-status").inner_text())
    return {"first_frame_ms": round(frames[0][0], 1) if frames else None, "done_ms": round(d["done"], 1),
            "sampling_ms": round(float(sampling.group(1)) * 1e3, 1), "frames": len(frames),
            "steps_shown": [s for _, s in frames]}


def browser(url: str, runs: int) -> dict:
    with chromium() as b:
        page = new_page(b, TIMEOUT_MS)
        open_diffusion(page, url)
        drags = [forward_drag(page) for _ in range(runs + 1)][1:]   # the first drag is a warm-up
        page.get_by_role("tab", name="Reverse process").click()
        page.wait_for_selector("#diff-run", state="visible")
        page.evaluate(WATCH)
        results = [one_run(page) for _ in range(runs + 1)][1:]   # the first run is a warm-up
        plays = [player(page) for _ in range(runs)]
        scrubs = [scrub(page) for _ in range(runs)]
        status = page.locator("#diff-status").inner_text()
    if "Step 50 of 50" not in status or "ddim" not in status:   # DDIM-50 are the tab's defaults
        raise RuntimeError(f"the run was not DDIM-50: {status}")
    return {"runs": results, "drags": drags, "plays": plays, "scrubs": scrubs}


def measure(url: str, runs: int = 3, ddpm: bool = True) -> dict:
    """The browser first (the server alone on the CPU), then the bare loops in this process."""
    app = browser(url, runs)
    loops = bare(runs, ddpm)
    def median(key):
        values = [r[key] for r in app["runs"] if r[key] is not None]
        return round(statistics.median(values), 1) if values else None

    done_ms, first_ms, sampling_ms = median("done_ms"), median("first_frame_ms"), median("sampling_ms")
    bare_ms = loops["ddim50"]["bare_s"] * 1e3
    return {"loops": loops, "app": {"first_frame_ms": first_ms, "done_ms": done_ms, "sampling_ms": sampling_ms,
                                    "frames": statistics.median(r["frames"] for r in app["runs"]),
                                    "streaming_overhead_percent": round(100 * (sampling_ms / bare_ms - 1), 1),
                                    "click_to_done_over_bare_percent": round(100 * (done_ms / bare_ms - 1), 1),
                                    "runs": app["runs"]},
            "forward_drag": middle(app["drags"]), "player": middle(app["plays"]), "scrub": middle(app["scrubs"])}


def middle(measured: list[dict]) -> dict:
    """The median redraws a second over the measurements, the most requests any of them made, and all of them."""
    return {"redraws_per_s": statistics.median(m["redraws_per_s"] for m in measured),
            "requests": max(m["requests"] for m in measured), "values": measured}


def markdown_lines(r: dict) -> list[str]:
    no = {"bare_s": "–", "recorded_s": "–", "recording_overhead_percent": 0}   # a run with --skip-ddpm1000
    d, p, a = r["loops"]["ddim50"], r["loops"].get("ddpm1000", no), r["app"]
    f, play, scrubbed = r["forward_drag"], r["player"], r.get("scrub")
    return [
        f"- Diffusion, bare loop (one image, class {LABEL}, w = {GUIDANCE:g}): DDIM-50 **{d['bare_s']} s**, "
        f"DDPM-1000 **{p['bare_s']} s** (core.diffusion.sampling.steps, nothing recorded)",
        f"- Diffusion, the tab's recording loop (core.diffusion.record.SamplingRun, no UI): "
        f"DDIM-50 {d['recorded_s']} s "
        f"({d['recording_overhead_percent']:+}%), DDPM-1000 {p['recorded_s']} s "
        f"({p['recording_overhead_percent']:+}%)",
        f"- Diffusion, in Chromium (Reverse process, DDIM-50, median of {len(a['runs'])} runs after a warm-up): "
        f"click → first frame **{a['first_frame_ms']} ms** (target ≤ 500), click → done **{a['done_ms']} ms** "
        f"({a['click_to_done_over_bare_percent']:+}% over the bare loop: gradio's round trips, the pictures, and "
        f"the filmstrip, GIF and trajectories after the last step), {a['frames']:g} frames drawn; the sampling "
        f"loop in the server, pictures sent included, {a['sampling_ms']} ms: streaming overhead (in-app / bare − 1) "
        f"**{a['streaming_overhead_percent']:+}%** (target ≤ 15%)",
        f"- Diffusion, forward process: t's track slid from end to end ({DRAG_MOVES} input events sent by the page "
        f"itself, {statistics.median(v['events_per_s'] for v in f['values']):g}/s), x_t and the charts drawn in the "
        f"browser, **{f['redraws_per_s']:g} redraws/s** with **{f['requests']} requests** (median of "
        f"{len(f['values'])} drags; target ≥ 30/s, 0 requests); before: one server round trip per t, "
        f"{OLD_T_MS} ms (≈ {1000 / OLD_T_MS:.1f} pictures/s, only on release)",
        f"- Diffusion, reverse player: Play over the DDIM-50 run, **{play['redraws_per_s']:g} frames/s** with "
        f"**{play['requests']} requests** (median of {len(play['values'])} plays; target ≥ 15/s, 0 requests); "
        f"before: no replay, one server round trip per scrubbed step",
        *([f"- Diffusion, reverse player: its step slider slid from the first step to the last ({DRAG_MOVES} input "
           f"events sent by the page itself, {statistics.median(v['events_per_s'] for v in scrubbed['values']):g}/s), "
           f"**{scrubbed['redraws_per_s']:g} redraws/s** with **{scrubbed['requests']} requests** (median of "
           f"{len(scrubbed['values'])} slides; target ≥ 30/s, 0 requests); before: one server round trip per step"]
          if scrubbed else []),
    ]


def main(argv=None) -> dict:
    args = options("diffusion", __doc__, argv, runs=(int, 3, "timed runs of each case, after one warm-up"),
                   skip_ddpm1000=(bool, False, "leave out the DDPM-1000 loops (minutes on a CPU)"))
    return run_on_app(lambda url: measure(url, args.runs, not args.skip_ddpm1000), markdown_lines)


if __name__ == "__main__":
    main()
