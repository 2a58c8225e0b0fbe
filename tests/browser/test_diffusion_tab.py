"""The Diffusion tab in Chromium, as a learner uses it: open it and see the forward process drawn, drag t and watch
x_t and the schedule's marker follow in the browser with no server request (x_t's grey levels are
diffusion_forward's), reach t by keyboard (t = 0 is the image itself), switch on the T mismatch; sample with
DDIM-50 and watch x_t, ε̂ and x̂₀ arrive step by step, then play and scrub the run in the browser's player, see the
GIF button and the trajectories; stop a DDPM-1000 run early; compare two schedulers from the same seed; read the
Explain panel."""
import re
import time

import numpy as np
from gradio_client import handle_file

from core.render import from_data_url
from explorers.inputs import gallery_indices, sample_image
from tests.browser.test_convolution import choose, wait_for_text
from tests.browser.test_number_boxes import settle, type_and_enter
from tests.browser.test_vae_tab import drawn, shoot

COEFS = r"x_t = (\d\.\d{4})·x₀ \+ (\d\.\d{4})·ε"
RUN = 600_000  # ms: a run on a busy 2-core machine (DDIM-50 takes about 10-20 s, DDPM-1000 minutes)
VIEW, PLAYER = "#diff-forward-view", "#diff-reverse-player"
READOUT = f"{VIEW} .dfv-readout"


def marks(page, elem_id: str) -> int:
    return page.evaluate("(name) => performance.getEntriesByName(name).length", f"{elem_id}:drawn")


def requests_to(page, server_url: str) -> list:
    """Every request the page makes to the app from now on (the list fills as they are made)."""
    seen = []
    page.on("request", lambda r: seen.append(r.url) if r.url.startswith(server_url) else None)
    return seen


def open_diffusion(page):
    page.get_by_role("tab", name="Diffusion", exact=True).click()
    # drawn when the tab is first opened
    page.wait_for_function("() => performance.getEntriesByName('diff-forward-view:drawn').length > 0",
                           timeout=180_000)
    page.wait_for_selector("#diff-schedules .js-plotly-plot", state="attached", timeout=60_000)
    wait_for_text(page, READOUT, re.escape("t = 250 of T = 1000"))


def coefficients(page) -> tuple[float, float]:
    m = re.search(COEFS, page.locator(READOUT).inner_text())
    assert m, page.locator(READOUT).inner_text()
    return float(m.group(1)), float(m.group(2))


def set_t(page, t: int):
    """t set on the range as a script would (the keyboard reaches only its ends and steps of 1)."""
    page.locator("#diff-forward-t").evaluate(
        "(r, t) => { r.value = String(t); r.dispatchEvent(new Event('input', {bubbles: true})); }", t)
    wait_for_text(page, READOUT, re.escape(f"t = {t} of T"))


def drawn_levels(page, width: int, height: int) -> np.ndarray:
    """x_t's grey levels as the canvas shows them: the centre of each enlarged pixel, read back with getImageData."""
    return np.array(page.locator(f"{VIEW} .dfv-picture").evaluate("""(c, [W, H]) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = [];
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
          const px = Math.floor((x + 0.5) * c.width / W), py = Math.floor((y + 0.5) * c.height / H);
          out.push(data[4 * (py * c.width + px)]);
        }
        return out; }""", [width, height])).reshape(height, width)


# Inside one block: the visible labels and corner buttons whose boxes overlap a picture (img or canvas) of it that
# they do not hold (gradio wraps an image in a button).
COVERED = """(sel) => {
  const block = document.querySelector(sel), seen = (e) => e.offsetParent !== null;
  const boxes = (q) => [...block.querySelectorAll(q)].filter(seen).map((e) => [e, e.getBoundingClientRect()]);
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const pictures = boxes('img, canvas'), out = [];
  for (const [e, r] of boxes('label, button, [data-testid=block-label]'))
    if (pictures.some(([pic, p]) => !e.contains(pic) && meet(r, p)))
      out.push(e.innerText.trim() || e.getAttribute('aria-label') || e.tagName);
  return out; }"""


def covered(page, selector: str) -> list:
    page.locator(selector).scroll_into_view_if_needed()
    return page.evaluate(COVERED, selector)


def past_the_edge(page, selector: str) -> list:
    """The thumbnails of a gallery whose boxes reach past its grid's sides, or below the gallery's own bottom (a
    fixed height that hides a row; seen when scrolled to)."""
    return page.locator(selector).evaluate("""(g) => {
      const grid = g.querySelector('.grid-container'), edge = grid.getBoundingClientRect();
      const bottom = g.getBoundingClientRect().bottom;
      return [...grid.querySelectorAll('.gallery-item')].map((b) => b.getBoundingClientRect())
        .filter((r) => r.left < edge.left - 0.5 || r.right > edge.right + 0.5 || r.bottom > bottom + 0.5)
        .map((r) => [r.left, r.right, r.bottom]); }""")


def status(page) -> str:
    return page.locator("#diff-status").inner_text()


def test_forward_process(app_page, screenshot_dir):
    page = app_page
    open_diffusion(page)
    assert drawn(page, "#diff-strip")
    signal, noise = coefficients(page)
    assert 0 < signal < 1 and 0 < noise < 1 and abs(signal ** 2 + noise ** 2 - 1) < 1e-3
    assert "SNR falls below 1 at t = " in page.locator("#diff-coefs").inner_text()
    # The gallery's thumbnails fit in it, and nothing covers the strip of x_t, at 1400 and 800 px.
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        settle(page)
        assert past_the_edge(page, "#diff-gallery") == [], width
        assert covered(page, "#diff-gallery") == [], width   # its caption is above it, not over its first row
        assert covered(page, "#diff-strip") == [], width
        assert page.locator("#diff-strip img").bounding_box()["width"] >= 6 * 96, width   # not shrunk
    page.set_viewport_size({"width": 1440, "height": 1000})
    settle(page)
    assert "linear T = 100" not in page.locator("#diff-schedules .js-plotly-plot").text_content()

    # t = 0 by keyboard (Home on the focused range): x_t is the image itself, with coefficient 1.
    page.locator("#diff-forward-t").focus()
    page.keyboard.press("Home")
    text = wait_for_text(page, READOUT, re.escape("t = 0 of T = 1000"))
    assert "1.0000·x₀ + 0.0000·ε" in text and "∞ (the image itself)" in text
    page.keyboard.press("ArrowRight")
    wait_for_text(page, READOUT, re.escape("t = 1 of T = 1000"))

    # t = 600: more noise than signal.
    set_t(page, 600)
    signal, noise = coefficients(page)
    assert signal < noise, (signal, noise)
    shoot(page, VIEW, screenshot_dir / "diffusion_forward.png")

    # The T mismatch: T = 100, t carried over proportionally, and the text says what x_T keeps.
    page.locator("#diff-mismatch input[type=checkbox]").check()
    wait_for_text(page, READOUT, re.escape("t = 60 of T = 100"))
    text = wait_for_text(page, "#diff-coefs", re.escape("With T = 100"))
    assert "√ᾱ_T = " in text, text
    page.wait_for_function("() => document.querySelector('#diff-schedules .js-plotly-plot')?.textContent"
                           ".includes('linear T = 100')")
    settle(page)
    assert page.locator("#diff-forward-t").input_value() == "60"
    assert page.locator("#diff-forward-t").get_attribute("max") == "100"
    shoot(page, "#diff-schedules", screenshot_dir / "diffusion_mismatch.png")
    page.screenshot(path=str(screenshot_dir / "diffusion_forward_full.png"), full_page=True)

    # The Explain panel: its LaTeX is typeset.
    explain = page.locator(".block", has=page.get_by_text("Explain: what the code computes", exact=True)).last
    page.get_by_text("Explain: what the code computes", exact=True).locator("visible=true").click()
    page.wait_for_function("() => [...document.querySelectorAll('.katex')].some(k => k.offsetParent !== null)")
    assert explain.locator(".katex").count() >= 3
    assert not explain.locator(".katex-error").count()
    explain.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(screenshot_dir / "diffusion_explain.png"), full_page=False)
    explain.screenshot(path=str(screenshot_dir / "diffusion_explain_full.png"))


def test_dragging_t_draws_x_t_in_the_browser(app_page, server_url, client, tmp_path, screenshot_dir):
    """A pointer drag along t redraws x_t and the charts many times with no request to the server, and the x_t
    drawn is diffusion_forward's at the t the view shows, to within one grey level."""
    page = app_page
    open_diffusion(page)
    track = page.locator("#diff-forward-t")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    before = marks(page, "diff-forward-view")
    seen = requests_to(page, server_url)
    page.mouse.move(box["x"] + 0.1 * box["width"], y)
    page.mouse.down()
    for k in range(1, 31):
        page.mouse.move(box["x"] + (0.1 + 0.025 * k) * box["width"], y)
    page.mouse.up()
    t = int(page.locator(f"{VIEW} .dfv-picture").get_attribute("data-t"))
    redraws = marks(page, "diff-forward-view") - before
    assert redraws >= 10, redraws
    assert seen == [], seen
    assert t == int(track.input_value()) and 700 <= t <= 900, t
    wait_for_text(page, READOUT, re.escape(f"t = {t} of T = 1000"))

    path = tmp_path / "input.png"
    sample_image(gallery_indices()[0]).save(path)   # the image the tab opens with
    answer = client.predict(handle_file(str(path)), t, 0, "linear", api_name="/diffusion_forward")
    expected = np.asarray(from_data_url(answer["image"]).convert("L"), dtype=int)
    got = drawn_levels(page, expected.shape[1], expected.shape[0])
    assert np.abs(got - expected).max() <= 1, np.abs(got - expected).max()
    assert coefficients(page) == (round(answer["signal_coef"], 4), round(answer["noise_coef"], 4))
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        settle(page)
        shoot(page, VIEW, screenshot_dir / f"diffusion_forward_view_{width}.png")


LIVE_STEPS = 200   # DDIM steps of the live run: a second or more, five pictures a second


def test_reverse_process_live_and_stop(app_page, screenshot_dir):
    page = app_page
    open_diffusion(page)
    page.get_by_role("tab", name="Reverse process", exact=True).click()
    page.wait_for_selector("#diff-run", state="visible")
    assert not page.locator("#diff-gif").is_visible()
    assert not page.locator(f"{PLAYER} .drp").is_visible()   # the player has no run yet

    # DDIM-200: frames arrive while it runs, the step rising. A MutationObserver records every frame the page shows
    # (its step, the time since Sample and whether the status said "running"). Not the default 50 steps: pictures
    # go out 5 a second, and on a quiet machine DDIM-50 ended within 0.66 s, after two of them.
    type_and_enter(page, "diff-steps", str(LIVE_STEPS))
    settle(page)
    page.evaluate("""() => { window.diffSeen = []; const t0 = performance.now();
        new MutationObserver(() => { const d = document.querySelector('#diff-live-frames');
            const s = document.querySelector('#diff-status')?.innerText ?? '';
            if (d) window.diffSeen.push({step: Number(d.dataset.step), src: d.querySelector('img').src.length,
                                          ms: Math.round(performance.now() - t0), running: s.includes('running')}); })
        .observe(document.querySelector('#diff-live').parentElement, {subtree: true, childList: true,
                                                                      attributes: true, characterData: true}); }""")
    page.locator("#diff-run").click()
    shot = False
    end = time.monotonic() + RUN / 1000
    while "done" not in status(page):
        assert time.monotonic() < end, f"no run ended in {RUN / 1000:.0f} s: {status(page)!r}"
        if not shot and len({f["step"] for f in page.evaluate("() => window.diffSeen")}) >= 3:
            page.screenshot(path=str(screenshot_dir / "diffusion_running.png"), full_page=False)
            shot = True
        page.wait_for_timeout(100)
    seen = page.evaluate("() => window.diffSeen")
    before_done = sorted({f["step"] for f in seen if f["running"]})
    print("frames seen (step, ms):", sorted({(f["step"], f["ms"]) for f in seen})[:80])
    assert len(before_done) >= 3, f"frames shown while running: {before_done}; all seen: {seen[-5:]}"
    assert before_done == sorted(before_done) and before_done[-1] > before_done[0]
    assert re.search(rf"Step {LIVE_STEPS} of {LIVE_STEPS}\*?\*? \(diffusers timestep t = \d+\), done: ddim",
                     status(page)), status(page)
    assert "stopped" not in status(page)
    # The player takes the live view's place, replays the run and stays on the last step.
    page.wait_for_selector(f"{PLAYER} .drp", state="visible")
    assert not page.locator("#diff-live").is_visible()
    replayed(page, LIVE_STEPS)
    for name in ("x_t", "ε̂", "x̂₀"):
        assert page.locator(f"{PLAYER} .drp-captions b", has_text=name).count() == 1
    settle(page)

    # After the run: the GIF button, the filmstrip, the trajectories, the verdict and the scrubber.
    assert page.locator("#diff-gif").is_visible()
    assert drawn(page, "#diff-film")
    page.wait_for_selector("#diff-trajectory .js-plotly-plot", state="attached")
    assert page.locator("#diff-trajectory .js-plotly-plot").evaluate("p => (p.data ?? []).length") >= 1
    assert "The CNN reads the final image as" in page.locator("#diff-verdict").inner_text()
    assert covered(page, "#diff-film") == []
    page.locator(PLAYER).scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_done.png"), full_page=False)
    page.screenshot(path=str(screenshot_dir / "diffusion_done_full.png"), full_page=True)

    # DDPM-1000, stopped after a few frames: the status says so well before step 1000.
    choose(page, "diff-scheduler", "DDPM (ancestral, Ho et al. 2020)")
    type_and_enter(page, "diff-steps", "1000")
    settle(page)
    page.locator("#diff-run").click()
    wait_for_text(page, "#diff-status", r"of 1000\*?\*? .*running")
    page.wait_for_selector("#diff-live", state="visible")   # the live view is back while the run goes
    page.wait_for_function("() => Number(document.querySelector('#diff-live-frames')?.dataset.step) >= 3",
                           timeout=RUN)
    page.locator("#diff-stop").click()
    text = wait_for_text(page, "#diff-status", r"\), stopped: ddpm")
    step = int(re.search(r"Step (\d+) of 1000", text).group(1))
    assert step < 1000 and "done" not in text, text
    settle(page)
    assert page.locator("#diff-gif").is_visible()
    assert "the run was stopped" in page.locator("#diff-verdict").inner_text()
    replayed(page, step)   # the player ends where the run stopped
    page.locator(PLAYER).scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_stopped.png"), full_page=False)



def player_step(page) -> int:
    return int(page.locator(f"{PLAYER} canvas").get_attribute("data-step"))


def replayed(page, last: int) -> None:
    """Wait until the player's replay of a run that has just ended is over: it rests on step `last`, not playing."""
    page.wait_for_function("([sel, last]) => { const c = document.querySelector(sel + ' canvas');"
                           " return Number(c?.dataset.step) === last"
                           " && document.querySelector(sel + ' .drp-play').getAttribute('aria-pressed') === 'false'; }",
                           arg=[PLAYER, last], timeout=60_000)


def test_reverse_player_plays_and_scrubs(app_page, server_url, screenshot_dir):
    """After a DDIM-50 run the player replays it once by itself, then plays the 50 steps (every one drawn, at least
    15 a second is the benchmark's), loops, and scrubs by pointer and keyboard, all in the browser with no request to
    the server."""
    page = app_page
    open_diffusion(page)
    page.get_by_role("tab", name="Reverse process", exact=True).click()
    page.locator("#diff-run").click()
    wait_for_text(page, "#diff-status", r"Step 50 of 50\*?\*? .*done")
    page.wait_for_selector(f"{PLAYER} .drp", state="visible")
    # Issue 27: the run replays by itself once it has ended, every step drawn (the player drew nothing before the
    # run: it had no steps), and stops on the last one.
    page.wait_for_function("() => performance.getEntriesByName('diff-reverse-player:drawn').length >= 50",
                           timeout=60_000)
    replayed(page, 50)
    settle(page)
    page.locator(PLAYER).scroll_into_view_if_needed()
    seen = requests_to(page, server_url)
    play = page.locator(f"{PLAYER} .drp-play")

    # Play from the last step starts again at step 1 and stops at step 50: 50 frames drawn.
    before = marks(page, "diff-reverse-player")
    play.click()
    page.wait_for_function("(b) => b.getAttribute('aria-pressed') === 'false'", arg=play.element_handle(),
                           timeout=60_000)
    assert marks(page, "diff-reverse-player") - before == 50
    assert player_step(page) == 50

    # Looping: past step 50 it goes on from step 1 until Pause.
    page.locator(f"{PLAYER} .drp-loop").check()
    before = marks(page, "diff-reverse-player")
    play.click()
    page.wait_for_function("(n) => performance.getEntriesByName('diff-reverse-player:drawn').length > n",
                           arg=before + 60, timeout=60_000)
    play.click()
    assert play.get_attribute("aria-pressed") == "false"
    paused = player_step(page)
    assert 1 <= paused <= 50

    # Scrub with the pointer: a drag along the range shows the steps under it.
    track = page.locator("#diff-scrub")
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    before = marks(page, "diff-reverse-player")
    page.mouse.move(box["x"] + 0.05 * box["width"], y)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(box["x"] + (0.05 + 0.02 * k) * box["width"], y)
    page.mouse.up()
    assert marks(page, "diff-reverse-player") - before >= 5
    assert 5 <= player_step(page) <= 30, player_step(page)

    # And with the keyboard: Home is step 1, nine steps on step 10; the range's value is the step's number, as the
    # status line counts it (it was the recorded index: "scrub 10 shows Step 11 of 50").
    track.focus()
    page.keyboard.press("Home")
    assert player_step(page) == 1 and track.input_value() == "1"
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    assert player_step(page) == 10 and track.input_value() == "10"
    assert re.match(r"Step 10 of 50 \(diffusers timestep t = \d+\)",
                    page.locator(f"{PLAYER} .drp-step").inner_text())
    track.evaluate("(r) => { r.value = '25'; r.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert player_step(page) == 25
    assert seen == [], seen
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        settle(page)
        shoot(page, PLAYER, screenshot_dir / f"diffusion_player_{width}.png")


def closed_lists(page):
    """Click away from the dropdowns and wait until no option list is open."""
    page.mouse.click(5, 5)
    page.wait_for_function("() => ![...document.querySelectorAll('[role=option]')]"
                           ".some(o => o.offsetParent !== null)", timeout=10_000)


def test_compare_two_schedulers(app_page, screenshot_dir):
    page = app_page
    open_diffusion(page)
    page.get_by_role("tab", name="Compare", exact=True).click()
    page.wait_for_selector("#diff-compare", state="visible")
    choose(page, "diff-a-sched", "DDIM (η = 0 is deterministic)")
    page.locator("#diff-a-steps input[type=number]").fill("50")
    closed_lists(page)  # A's list must be gone, or B's option is found twice
    choose(page, "diff-b-sched", "DPM-Solver++ (2M)")
    page.locator("#diff-b-steps input[type=number]").fill("20")
    page.locator("#diff-compare").click()
    a = wait_for_text(page, "#diff-a-note", r"\d+\.\d\d s of sampling")
    b = wait_for_text(page, "#diff-b-note", r"\d+\.\d\d s of sampling")
    assert re.search(r"ddim, 50 steps, w = 3, seed 0: ", a) and "T-shirt/top" in a, a
    assert re.search(r"dpm\+\+, 20 steps, w = 3, seed 0: ", b) and "T-shirt/top" in b, b
    assert drawn(page, "#diff-a-image") and drawn(page, "#diff-b-image")
    assert covered(page, "#diff-a-image") == [] and covered(page, "#diff-b-image") == []
    settle(page)
    page.locator("#diff-a-image").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_compare.png"), full_page=False)

    # A long comparison (DDPM-1000, about 16 s) says its progress step by step, and Stop ends it where it is.
    choose(page, "diff-a-sched", "DDPM (ancestral, Ho et al. 2020)")
    page.locator("#diff-a-steps input[type=number]").fill("1000")
    closed_lists(page)
    page.locator("#diff-compare").click()
    wait_for_text(page, "#diff-b-note", re.escape("B samples once A is done."))
    wait_for_text(page, "#diff-a-note", r"A is sampling \(ddpm, 1000 steps\): step \d+ of 1000")
    page.locator("#diff-cmp-stop").click()
    text = wait_for_text(page, "#diff-a-note", r"A was stopped at step \d+ of 1000\.")
    assert int(re.search(r"step (\d+) of", text).group(1)) < 1000, text
    # B never ran, and its note says so (it said it would sample once A was done)
    wait_for_text(page, "#diff-b-note", re.escape("B was not sampled: A was stopped."))


def test_two_d_toy_trains_and_draws(app_page, screenshot_dir):
    page = app_page
    open_diffusion(page)
    page.get_by_role("tab", name="2-D toy", exact=True).click()
    page.wait_for_selector("#dtoy-run", state="visible")
    page.locator("#dtoy-seconds input[type=number]").fill("1")
    page.locator("#dtoy-run").click()
    note = wait_for_text(page, "#dtoy-status", r"Trained [\d,]+ steps in \d+\.\d s")
    assert re.search(r"DDIM \d+%, DDPM \d+%", note), note
    for plot in ("#dtoy-particles-plot", "#dtoy-loss", "#dtoy-density"):
        page.wait_for_selector(f"{plot} .js-plotly-plot", state="attached")
        assert page.locator(f"{plot} .js-plotly-plot").evaluate("p => (p.data ?? []).length") >= 1, plot
    # The densities have ticks: -2, 0, 2 under each of the six panels and beside the first.
    ticks = page.locator("#dtoy-density").evaluate(
        "d => ['.xaxislayer-above', '.yaxislayer-above']"
        ".map((q) => [...d.querySelectorAll(q)].reduce((n, layer) => n + layer.querySelectorAll('text').length, 0))")
    assert ticks[0] >= 6 * 3 and ticks[1] >= 3, ticks
    # The sketch pad's caption is above it, where the pad's toolbar cannot cut it.
    caption = page.locator("#dtoy-sketch-caption").bounding_box()
    assert caption["y"] + caption["height"] <= page.locator("#dtoy-sketch").bounding_box()["y"] + 1
    assert not page.locator("#dtoy-sketch [data-testid=block-label]").locator("visible=true").count()
    settle(page)
    page.locator("#dtoy-particles-plot").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_toy.png"), full_page=False)
    page.locator("#dtoy-density").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_toy_density.png"), full_page=False)
