"""`python -m benchmarks.browser [--clicks N]`: in Chromium, the wait from clicking a Fashion-MNIST thumbnail until
every view of its section shows the new image's result: the Convolution tab's "Inside a trained CNN" section, and
the VAE tab (endpoint A's gallery; every view of the tab follows a new endpoint).

What a person feels is click → picture: not one endpoint's latency but the whole chain the click sets off (the input
box, then the feature maps, kernels and layer overview, then the chosen channel, then the prediction), each step a
round trip through gradio's queue and a redraw in the browser. So the timing happens inside the page: a capture-phase
click listener notes performance.now() at the click, and a MutationObserver plus the images' load events note when
each watched view last changed from its state just before the click. A view counts as changed only with its final
content, never gradio's pending overlay (its status tracker, whose spinner and "processing | 0.4s" are ignored): an
image when its src is new and the new picture has loaded (naturalWidth > 0); a plotly plot when its rendered SVG
(.main-svg) differs; a widget drawn in the browser when it marks one more '<elem_id>:drawn'; a markdown when its text
differs. Images below the fold are switched from lazy to eager loading, so the figure is the wait for the picture, not
for a scroll. A click's figure is the time until the last view changed; the next click comes once nothing is pending
and nothing has moved for SETTLE_MS after every view changed, or for IDLE_MS when one did not: a view whose new
content is identical to the old never changes (two garments can light up the same conv1 channels in the same order, so
the same kernels); it is counted under "unchanged" and left out of that click. Each click picks the next thumbnail, a
different class each time; the first click is a warm-up, since the one-channel plot is empty until the first new
image.
Figures are medians in ms; they are a report, never a test assertion.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from benchmarks.runner import chromium, new_page, open_tab, options, run_on_app

SETTLE_MS = 300
IDLE_MS = 3000
TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Section:
    tab: str                 # the tab's name on the page
    gallery: str             # the gallery whose thumbnails are clicked
    views: dict[str, str]    # name -> selector of every view a click changes
    ready: tuple[str, ...]   # selectors that exist once the tab's first views are drawn
    opens: tuple[str, ...] = ()  # inner tabs (their labels) to open, in order, before the gallery shows

    @property
    def thumbnails(self) -> str:
        return f"{self.gallery} .thumbnail-item"


CNN = Section("Convolution", "#cnn-gallery",
              {"input": "#cnn-input", "seen": "#cnn-seen", "feature_grid": "#cnn-feature-grid",
               "kernels": "#cnn-kernels", "overview": "#cnn-overview", "channel_plot": "#cnn-channel-plot",
               "prediction": "#cnn-prediction", "prediction_note": "#cnn-prediction-note"},
              ("#cnn-overview img", "#cnn-kernels canvas", "#cnn-prediction canvas"),
              ("Inside a trained CNN", "Gallery"))  # the section's input opens on its drawing pad
# The VAE tab opens on its Interpolation section: the click still computes the map, traversal and KL of its other
# inner tabs, which the page builds only once they are opened, so only this section's views are watched.
VAE = Section("VAE", "#vae-a-gallery",
              {"input": "#vae-a-input", "reconstruction": "#vae-recon-a", "code": "#vae-code-a",
               "strip": "#vae-strip", "probabilities": "#vae-probabilities", "ae_strip": "#vae-ae-strip",
               "plausibility": "#vae-plausibility"},
              ("#vae-strip img", "#vae-probabilities canvas"))

# window.__bench: `arm()` snapshots every view; the next thumbnail click starts the clock; `at[view]` is when the view
# last changed (ms since performance.timeOrigin), `moved` when any view last did. Only views that a mutation or an
# image load touched are read again, since serialising the plots' SVG on every change would load the page itself.
WATCH = """([views, clicked]) => {
  const read = sel => {
    const el = document.querySelector(sel);
    const plot = el?.querySelector('.js-plotly-plot');
    if (plot) return [...plot.querySelectorAll('.main-svg')].map(s => s.outerHTML).join('') || null;
    if (el?.querySelector('canvas') && !el.querySelector('img')) {  // a widget drawn in the browser: its redraws
      return String(performance.getEntriesByName(`${el.id}:drawn`).length);
    }
    const img = el?.querySelector('img');
    if (img) {
      if (img.loading === 'lazy') img.loading = 'eager';
      return img.complete && img.naturalWidth > 0 ? img.src : null;
    }
    const md = el?.querySelector('[data-testid="markdown"]');
    return md ? md.innerText : null;
  };
  const B = window.__bench = {t0: null, before: {}, last: {}, at: {}, moved: 0};
  const dirty = new Set();
  const touch = nodes => {
    for (const [name, sel] of Object.entries(views)) {
      const el = document.querySelector(sel);
      if (el && nodes.some(n => el.contains(n) || n.contains(el))) dirty.add(name);
    }
  };
  const check = () => {
    if (B.t0 === null) return;
    const now = performance.now();
    for (const name of dirty) {
      const sig = read(views[name]);
      if (sig === null || sig === B.last[name]) continue;
      B.last[name] = sig;
      B.moved = now;
      if (sig !== B.before[name]) B.at[name] = now;
    }
    dirty.clear();
  };
  B.arm = () => {
    B.t0 = null;
    B.at = {};
    for (const [name, sel] of Object.entries(views)) B.before[name] = B.last[name] = read(sel);
  };
  document.addEventListener('click', e => {
    if (B.t0 === null && e.target.closest(clicked)) B.t0 = performance.now();
  }, true);
  document.addEventListener('load', e => { touch([e.target]); check(); }, true);  // an <img> finished loading
  // A widget drawn in the browser changes no DOM when it redraws its canvas; its '<elem_id>:drawn' mark says so.
  new PerformanceObserver(list => {
    touch(list.getEntries().map(e => document.getElementById(e.name.replace(/:drawn$/, ''))).filter(Boolean));
    check();
  }).observe({type: 'mark'});
  new MutationObserver(ms => {
    const nodes = ms.map(m => m.target.nodeType === 1 ? m.target : m.target.parentElement);
    touch(nodes.filter(n => n && !n.closest('[data-testid="status-tracker"]')));  // gradio's pending overlay
    check();
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""

# Nothing pending, and quiet for SETTLE_MS once every view has changed, or for IDLE_MS if one never does.
DONE = """([names, settle, idle]) => {
  const B = window.__bench;
  if (B.t0 === null || document.querySelector('[data-testid="status-tracker"]:not(.hide)')) return false;
  return performance.now() - Math.max(B.moved, B.t0) >= (names.every(n => n in B.at) ? settle : idle);
}"""


def open_section(page, url: str, section: Section) -> None:
    open_tab(page, url, section.tab)
    for name in section.opens:
        page.get_by_role("tab", name=name, exact=True).locator("visible=true").first.click()
    for selector in section.ready:  # plotly draws a tab's first figures after the tab opens
        page.wait_for_selector(selector, state="attached")
    page.locator(section.gallery).scroll_into_view_if_needed()
    page.wait_for_selector(f"{section.thumbnails} img", state="visible")


def one_click(page, thumbnail, section: Section) -> dict[str, float]:
    """Click one thumbnail; ms from the click to the final change of each view that changed."""
    page.evaluate("() => window.__bench.arm()")
    thumbnail.click()
    page.wait_for_function(DONE, arg=[list(section.views), SETTLE_MS, IDLE_MS], timeout=TIMEOUT_MS)
    changed = page.evaluate("() => { const B = window.__bench; return Object.fromEntries("
                         "Object.entries(B.at).map(([n, t]) => [n, t - B.t0])); }")
    if not changed:
        raise RuntimeError("the click changed no view")
    return changed


def new_image(url: str, section: Section = CNN, clicks: int = 20) -> dict:
    """Median, values and per-view medians (ms) of `clicks` gallery clicks after one warm-up, on the app at `url`."""
    with chromium("--disable-background-networking") as browser:
        page = new_page(browser, TIMEOUT_MS)
        open_section(page, url, section)
        page.evaluate(WATCH, [section.views, section.thumbnails])
        thumbnails = page.locator(section.thumbnails)
        n = thumbnails.count()
        # Thumbnail 1 is the warm-up, then 2, 3, ... round again (the CNN section opens on thumbnail 0's sample).
        runs = [one_click(page, thumbnails.nth(i % n), section) for i in range(1, clicks + 2)][1:]
    totals = [max(r.values()) for r in runs]
    per_view = {v: [r[v] for r in runs if v in r] for v in section.views}
    return {"median_ms": round(statistics.median(totals), 1), "clicks": clicks,
            "values_ms": [round(t, 1) for t in totals],
            "per_view_median_ms": {v: round(statistics.median(ts), 1) if ts else None for v, ts in per_view.items()},
            "unchanged": {v: clicks - len(ts) for v, ts in per_view.items() if len(ts) < clicks}}


def main(argv=None) -> dict:
    args = options("browser", __doc__, argv, clicks=(int, 20, "timed gallery clicks, after one warm-up"))
    return run_on_app(lambda url: {name: new_image(url, section, args.clicks)
                                   for name, section in (("cnn", CNN), ("vae", VAE))})


if __name__ == "__main__":
    main()
