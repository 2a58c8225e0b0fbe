"""The GAN tab in Chromium, as a learner uses it: open it and see the 2-D picture at iteration 0, play and watch the
picture redrawn in the browser and the counter rise, pause (the same view, the same size), step D and G alone, reset,
start from a pretrained run and read D under the pointer against the run's own arrays, change the data while paused,
draw data with the mouse and train on it; in image mode play, watch the grid change, pause, scrub the history and walk
the latent space; in the D* playground move the Gaussians and read the game's value (−2 log 2 when they are equal)."""
import re

import numpy as np
import pytest

from tests.browser.test_attention_tab import plot_text
from tests.browser.test_cnn import img_src
from tests.browser.test_convolution import wait_for_text
from tests.browser.test_number_boxes import settle, type_and_enter
from tests.browser.test_vae_tab import shoot

VIEW = "#gan-2d-view"
PLANE = f"{VIEW} canvas.gan-view-plane"   # the picture (the losses' trail is a canvas of its own)
VIEW_COUNT = f"{VIEW} .gan-view-count"   # the view's own count, the one that rises while a run plays
COUNTER = r"Iteration ([\d,]+) · D updates ([\d,]+) · G updates ([\d,]+)"
VALUE = r"V\(D\*, G\) = (-?\d+\.\d{4}) nats"


def counts(page, counter: str = "#gan-counter") -> tuple[int, int, int]:
    """The 2-D counter (beside the buttons, or the view's own) as (iterations, D updates, G updates)."""
    text = page.evaluate("(sel) => document.querySelector(sel).textContent", counter)
    m = re.search(COUNTER, text)
    assert m, text
    return tuple(int(g.replace(",", "")) for g in m.groups())


def wait_for_counts(page, expected: tuple[int, int, int]):
    i, d, g = (f"{n:,}" for n in expected)
    wait_for_text(page, "#gan-counter", f"Iteration {i} · D updates {d} · G updates {g}(?![\\d,])")


def image_step(page) -> int:
    text = page.locator("#gan-img-counter").inner_text()
    m = re.search(r"Step ([\d,]+)", text)
    assert m, text
    return int(m.group(1).replace(",", ""))


def game_value(page) -> float:
    return float(re.search(VALUE, plot_text(page, "#gan-dstar-plot", VALUE)).group(1))


def wait_for_value_change(page, old: float) -> float:
    page.wait_for_function("([pat, old]) => { const p = document.querySelector('#gan-dstar-plot .js-plotly-plot');"
                           " const m = new RegExp(pat).exec(p?.textContent ?? ''); return m && Number(m[1]) !== old; }",
                           arg=[VALUE, old])
    return game_value(page)


def drawn(page) -> int:
    """How many times the 2-D view has been drawn in the browser."""
    return page.evaluate("() => performance.getEntriesByName('gan-2d-view:drawn').length")


def wait_for_drawn(page, more_than: int, timeout: int = 30_000) -> int:
    page.wait_for_function("(n) => performance.getEntriesByName('gan-2d-view:drawn').length > n", arg=more_than,
                           timeout=timeout)
    return drawn(page)


def canvas_box(page) -> dict:
    """The canvas's place on the page, read in the page (a locator's checks wait for idle frames, which a page
    drawing 15 pictures a second on a busy machine may not have)."""
    return page.evaluate(f"() => {{ const r = document.querySelector('{PLANE}').getBoundingClientRect();"
                         " return {x: r.x, y: r.y, width: r.width, height: r.height}; }")


def view_size(page) -> tuple[float, float]:
    box = canvas_box(page)
    return box["width"], box["height"]


def press(page, selector: str) -> None:
    """A click where the button is now, as a person's: a locator's click waits for idle frames, which a page that
    draws 15 pictures a second on a busy machine may not have."""
    page.evaluate("(sel) => document.querySelector(sel).scrollIntoView({block: 'center'})", selector)
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def pixels(page) -> str:
    return page.locator(f"{PLANE}").evaluate("c => c.toDataURL()")


def bilinear(heat: np.ndarray, box: float, x: float, y: float) -> float:
    """D between the grid's values (grid points from -box to box, rows are y), as the widget reads it."""
    n = len(heat)

    def cell(t):
        f = min(max((t + box) / (2 * box) * (n - 1), 0), n - 1)
        i = min(int(f), n - 2)
        return i, f - i
    (j, tx), (i, ty) = cell(x), cell(y)
    bottom = heat[i, j] * (1 - tx) + heat[i, j + 1] * tx
    top = heat[i + 1, j] * (1 - tx) + heat[i + 1, j + 1] * tx
    return bottom * (1 - ty) + top * ty


def hover(page, fx: float, fy: float) -> dict:
    """Move the pointer to the fraction (fx, fy) of the canvas and read the widget's readout (its text and exact
    numbers), once it names the point under the pointer."""
    page.evaluate(f"() => document.querySelector('{PLANE}').scrollIntoView({{block: 'center'}})")
    box = canvas_box(page)
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=4)
    page.wait_for_function("() => /= -?[0-9.]+ at/.test(document.querySelector('#gan-2d-view output').textContent)")
    read = page.evaluate("() => { const o = document.querySelector('#gan-2d-view output');"
                         " return {text: o.textContent, x: o.dataset.x, y: o.dataset.y, d: o.dataset.d}; }")
    return {"text": read["text"], **{k: float(read[k]) for k in "xyd"}}


def screenshots(page, screenshot_dir, name: str) -> None:
    """The view at 1400 and 800 px wide (the page then goes back to the fixture's width)."""
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        before = drawn(page)
        page.locator(VIEW).scroll_into_view_if_needed()
        page.wait_for_function("(n) => performance.getEntriesByName('gan-2d-view:drawn').length > n || "
                               f"document.querySelector('{VIEW}').clientWidth > 0", arg=before)
        settle(page)
        page.locator(VIEW).screenshot(path=str(screenshot_dir / f"{name}_{width}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_two_d_mode(app_page, screenshot_dir):
    page = app_page
    page.get_by_role("tab", name="GAN", exact=True).click()
    # The picture is drawn when the tab is first opened: a run at iteration 0.
    wait_for_counts(page, (0, 0, 0))
    page.wait_for_selector(f"{PLANE}", state="visible")
    wait_for_drawn(page, 0)
    page.wait_for_selector("#gan-curves .js-plotly-plot", state="attached")
    size = view_size(page)
    assert size[0] > 300 and size[1] > 300, size
    assert page.locator("#gan-dataset input[type=radio]:checked").evaluate("i => i.closest('label').innerText") \
        .strip() == "ring of 8"
    page.screenshot(path=str(screenshot_dir / "gan_open.png"), full_page=False)

    # The view shows the run's count and status itself, the same as the counter and status beside the buttons.
    assert counts(page, VIEW_COUNT) == counts(page) == (0, 0, 0)

    # Play: the same view is redrawn in the browser from the frames of one stream it reads from gan_2d_frames (one
    # request per play, not one per frame), and the view's own count rises (the counter beside the buttons keeps the
    # count at play until the run stops). While it plays, the pointer clicks where the pause button is, as a person
    # does (press).
    asked = []   # the view's requests for a stream of frames
    page.on("request", lambda r: asked.append(r.url) if r.method == "POST" and r.url.endswith("/gan_2d_frames")
            else None)
    page.locator("#gan-counter").scroll_into_view_if_needed()
    page.locator("#gan-play").click()
    wait_for_text(page, "#gan-status", "Training…")
    wait_for_text(page, "#gan-counter", "when play was pressed")
    wait_for_text(page, f"{VIEW} .gan-view-status", "Training…")
    first, frames = counts(page, VIEW_COUNT)[0], drawn(page)
    wait_for_drawn(page, frames + 30)   # 30 pictures drawn while it plays, each a frame of the one stream
    assert len(asked) == 1
    page.wait_for_function("([sel, n]) => Number((/Iteration ([\\d,]+)/.exec(document.querySelector(sel)"
                           ".textContent) ?? [0, '0'])[1].replace(/,/g, '')) > n", arg=[VIEW_COUNT, first])
    second = counts(page, VIEW_COUNT)[0]
    assert view_size(page) == size   # playing keeps the view's size
    assert re.search(r"\d+ iterations/s", page.evaluate(f"() => document.querySelector('{VIEW_COUNT}').textContent"))
    # the losses' trail under the picture has grown a line while it plays
    page.wait_for_function("() => document.querySelector('#gan-2d-view .gan-view-trail').dataset.points >= 2")
    playing = hover(page, 0.5, 0.5)   # hover works while it plays
    assert playing["text"].startswith("D(x) = ")

    # Pause: the stream sends the run's last frame and ends, the status says so, the same view stays (same size)
    # and the counter stands still; the counter beside the buttons and the view's own say the same again.
    with page.expect_request_finished(lambda r: "/gan_2d_frames/" in r.url, timeout=60_000):
        press(page, "#gan-pause")
    wait_for_text(page, "#gan-status", "^Paused\\.")
    wait_for_text(page, f"{VIEW} .gan-view-status", "^Paused\\.")
    settle(page)
    assert view_size(page) == size
    paused, asking = counts(page), len(asked)
    assert counts(page, VIEW_COUNT) == paused
    page.wait_for_timeout(1000)
    assert counts(page) == paused and len(asked) == asking == 1   # the view asked for no other stream
    i, d, g = paused
    assert i >= second and d == g == i  # k = 1: one D and one G update per iteration

    # Step D: one iteration, one D update, G stays put; Step G the reverse; Step both.
    page.locator("#gan-step-d").click()
    wait_for_counts(page, (i + 1, d + 1, g))
    wait_for_text(page, "#gan-status", "One D step: G stays put.")
    settle(page)
    page.locator("#gan-step-g").click()
    wait_for_counts(page, (i + 2, d + 1, g + 1))
    wait_for_text(page, "#gan-status", "One G step: D stays put.")
    settle(page)
    page.locator("#gan-step").click()
    wait_for_counts(page, (i + 3, d + 2, g + 2))
    wait_for_text(page, "#gan-status", "One iteration: k D steps, then one G step.")
    settle(page)

    # k = 3 applies to the run as it goes: one Step is then three D updates.
    type_and_enter(page, "gan-k", "3")
    wait_for_text(page, "#gan-status", "Applied to the run as it goes.")
    settle(page)
    page.locator("#gan-step").click()
    wait_for_counts(page, (i + 4, d + 5, g + 3))
    settle(page)
    type_and_enter(page, "gan-k", "1")
    settle(page)

    # Reset: back to iteration 0.
    page.locator("#gan-reset").click()
    wait_for_counts(page, (0, 0, 0))
    settle(page)

    # The pretrained run: the status names its iteration and the counter shows it.
    page.locator("#gan-warm").click()
    status = wait_for_text(page, "#gan-status", "Loaded the pretrained run for “ring” at iteration [\\d,]+")
    warm = int(re.search(r"at iteration ([\d,]+)", status).group(1).replace(",", ""))
    assert warm > 0
    assert counts(page)[0] == warm
    settle(page)
    screenshots(page, screenshot_dir, "gan_2d_view")

    # Hover: D under the pointer is the bilinear reading of the run's own heatmap (the pretrained run's, recomputed
    # here by core.gan.toy at the point the readout names), which is close to D itself there.
    import torch

    from core.gan import losses, toy
    run = toy.warm_start("ring")
    heat = toy.view(run, 40).heat
    for fx, fy in ((0.3, 0.4), (0.55, 0.62)):
        read = hover(page, fx, fy)
        assert read["d"] == pytest.approx(bilinear(heat, 1.5, read["x"], read["y"]), abs=1e-5)
        assert read["text"].startswith(f"D(x) = {read['d']:.3f} at (")
        with torch.no_grad():
            exact = float(losses.probability("nonsaturating", run.d(torch.tensor([[read["x"], read["y"]]]))))
        assert read["d"] == pytest.approx(exact, abs=0.05)

    # New data while paused: a new run on it starts at once and the view shows it.
    before, frames = pixels(page), drawn(page)
    page.locator("#gan-dataset").get_by_text("grid of 25").click()
    wait_for_text(page, "#gan-status", "The data changed, so a new run started")
    wait_for_counts(page, (0, 0, 0))
    wait_for_drawn(page, frames)
    settle(page)
    assert pixels(page) != before

    # Draw data with the mouse: a diagonal stroke and a short horizontal one on the pad.
    page.locator("#gan-draw").get_by_text("Draw your own data").click()
    # No click on the brush: the pad opens with it chosen (common.sketchpad), so a drag draws at once.
    page.wait_for_selector("#gan-sketch[data-brush-picked]")
    canvas = page.locator("#gan-sketch canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for (x0, y0), (x1, y1) in (((-70, -70), (70, 70)), ((-60, 50), (20, 50))):
        page.mouse.move(cx + x0, cy + y0)
        page.mouse.down()
        page.mouse.move(cx + x1, cy + y1, steps=15)
        page.mouse.up()
    page.wait_for_timeout(300)
    page.locator("#gan-use-drawing").click()
    status = wait_for_text(page, "#gan-status", r"Your drawing: [\d,]+ points, so a new run started on them\.")
    points = int(re.search(r"Your drawing: ([\d,]+) points", status).group(1).replace(",", ""))
    assert 50 <= points <= 2000, status
    page.wait_for_function("() => document.querySelector('#gan-dataset input[type=radio]:checked')"
                           "?.closest('label')?.innerText.trim() === 'my drawing'")
    settle(page)
    shoot(page, "#gan-sketch", screenshot_dir / "gan_drawing.png")
    wait_for_counts(page, (0, 0, 0))   # the data changed: a new run on the drawing, shown at once
    page.locator("#gan-step").click()
    wait_for_counts(page, (1, 1, 1))
    settle(page)
    shoot(page, VIEW, screenshot_dir / "gan_drawn_data.png")

    # The Explain panel: typeset LaTeX, no errors.
    page.locator("#gan-explain").get_by_text("Explain:").click()
    page.wait_for_selector("#gan-explain-text .katex", state="visible")
    assert page.locator("#gan-explain-text .katex").count() >= 3
    assert not page.locator("#gan-explain-text .katex-error").count()
    shoot(page, "#gan-explain-text", screenshot_dir / "gan_explain.png")


def test_two_d_view_playing(app_page, screenshot_dir):
    """The view while a run plays, at 1400 and 800 px wide: the width is set while paused (a page that relays out
    ~700 components while 15 pictures a second arrive falls behind on a busy machine), then play, a few pictures
    drawn, the screenshot cut from the page by the view's place (a locator's screenshot waits for idle frames), and
    pause."""
    page = app_page
    page.get_by_role("tab", name="GAN", exact=True).click()
    wait_for_counts(page, (0, 0, 0))
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        settle(page)
        page.locator("#gan-play").click()
        wait_for_text(page, f"{VIEW} .gan-view-status", "Training…")
        wait_for_drawn(page, drawn(page) + 20)
        page.wait_for_function("() => document.querySelector('#gan-2d-view .gan-view-trail').dataset.points >= 10")
        # the play button's click scrolled the page to it: the view back in sight, whole
        page.evaluate(f"() => document.querySelector('{VIEW}').scrollIntoView({{block: 'start'}})")
        box = page.evaluate(f"() => {{ const r = document.querySelector('{VIEW}').getBoundingClientRect();"
                            " return {x: r.x, y: r.y, width: r.width, height: r.height}; }")
        page.screenshot(path=str(screenshot_dir / f"gan_2d_playing_{width}.png"), clip=box)
        press(page, "#gan-pause")
        wait_for_text(page, "#gan-status", "^Paused\\.")
        settle(page)


def test_image_mode_and_d_star(app_page, screenshot_dir):
    page = app_page
    page.get_by_role("tab", name="GAN", exact=True).click()
    wait_for_counts(page, (0, 0, 0))
    page.get_by_role("tab", name="Images (Fashion-MNIST)", exact=True).click()
    page.wait_for_selector("#gan-img-play", state="visible")
    assert page.locator("#gan-img-scrubber input[type=range]").is_disabled()

    # Play: the grid keeps changing and the step counter rises.
    page.locator("#gan-img-play").click()
    page.wait_for_function("() => document.querySelector('#gan-img-grid img')?.naturalWidth > 0", timeout=60_000)
    wait_for_text(page, "#gan-img-status", "Training…")
    grid = img_src(page, "#gan-img-grid")
    page.wait_for_function("(old) => { const i = document.querySelector('#gan-img-grid img');"
                           " return i && i.src !== old; }", arg=grid, timeout=30_000)
    first = image_step(page)
    page.wait_for_function("(n) => Number((/Step ([\\d,]+)/.exec(document.querySelector('#gan-img-counter')"
                           ".innerText) ?? [0, '0'])[1].replace(/,/g, '')) > n", arg=first, timeout=30_000)
    assert re.search(r"steps/s", page.locator("#gan-img-counter").inner_text())
    page.locator("#gan-img-grid").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "gan_images_playing.png"), full_page=False)

    # Pause: the scrubber becomes usable and the latest snapshot is shown.
    page.locator("#gan-img-pause").click()
    wait_for_text(page, "#gan-img-status", "^Paused\\.")
    settle(page)
    steps = image_step(page)
    assert steps > first
    page.wait_for_function("() => !document.querySelector('#gan-img-scrubber input[type=range]').disabled")
    page.wait_for_function("() => document.querySelector('#gan-img-snapshot img')?.naturalWidth > 0")
    note = wait_for_text(page, "#gan-img-snapshot-note", "Snapshot at step [\\d,]+ of " + f"{steps:,}")
    assert re.search(r"\((\d+) kept, evenly spaced\)", note)
    page.wait_for_timeout(1000)
    assert image_step(page) == steps
    page.wait_for_selector("#gan-img-curves .js-plotly-plot", state="visible")
    page.wait_for_selector("#gan-img-meter .js-plotly-plot", state="visible")
    page.screenshot(path=str(screenshot_dir / "gan_images_paused.png"), full_page=True)

    # The scrubber's first snapshot: an earlier step than the latest.
    scrubber = page.locator("#gan-img-scrubber input[type=number]")
    if int(page.locator("#gan-img-scrubber input[type=range]").get_attribute("max")) > 0 and \
            int(scrubber.input_value()) > 0:
        type_and_enter(page, "gan-img-scrubber", "0")
        wait_for_text(page, "#gan-img-snapshot-note", "Snapshot at step 0 of")
        settle(page)

    # The latent walk: 5 frames with the current G.
    page.locator("#gan-img-walk-steps input[type=number]").fill("5")
    page.locator("#gan-img-walk").click()
    note = wait_for_text(page, "#gan-img-walk-note", f"G at step {steps:,} .* 5 frames")
    assert "from seed 1" in note
    page.wait_for_function("() => document.querySelector('#gan-img-walk-strip img')?.naturalWidth > 0")
    width, height = page.locator("#gan-img-walk-strip img").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert width > 4 * height, (width, height)  # one row of 5 tiles
    settle(page)
    shoot(page, "#gan-img-walk-strip", screenshot_dir / "gan_images_walk.png")

    # The D* playground: the game's value follows the Gaussians, −2 log 2 when they are equal.
    page.get_by_role("tab", name="D* playground", exact=True).click()
    start = game_value(page)
    type_and_enter(page, "gan-mu-g", "0")
    moved = wait_for_value_change(page, start)
    assert -1.3863 < moved < start, (start, moved)  # closer Gaussians: the value falls towards −2 log 2
    settle(page)
    type_and_enter(page, "gan-sd-g", "1")
    assert wait_for_value_change(page, moved) == -1.3863
    settle(page)
    shoot(page, "#gan-dstar-plot", screenshot_dir / "gan_dstar.png")
