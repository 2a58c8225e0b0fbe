"""The Diffusion tab in Chromium, as a learner uses it: open it and see the forward process drawn, move t and read
x_t and its coefficients change (t = 0 is the image itself), switch on the T mismatch; sample with DDIM-50 and
watch x_t, ε̂ and x̂₀ arrive step by step, scrub the recorded steps, see the GIF button and the trajectories; stop a
DDPM-1000 run early; compare two schedulers from the same seed; read the Explain panel."""
import re
import time

from tests.browser.test_cnn import img_src, wait_for_new_image
from tests.browser.test_convolution import choose, wait_for_text
from tests.browser.test_number_boxes import settle, type_and_enter
from tests.browser.test_vae_tab import drawn, shoot

COEFS = r"x_t = (\d\.\d{4})·x₀ \+ (\d\.\d{4})·ε"
RUN = 600_000  # ms: a run on a busy 2-core machine (DDIM-50 takes about 10-20 s, DDPM-1000 minutes)


def open_diffusion(page):
    page.get_by_role("tab", name="Diffusion", exact=True).click()
    page.wait_for_selector("#diff-xt img", state="visible", timeout=180_000)  # drawn when the tab is first opened
    page.wait_for_selector("#diff-schedules .js-plotly-plot", state="attached", timeout=60_000)
    wait_for_text(page, "#diff-coefs", re.escape("t = 250 of T = 1000"))


def coefficients(page) -> tuple[float, float]:
    m = re.search(COEFS, page.locator("#diff-coefs").inner_text())
    assert m, page.locator("#diff-coefs").inner_text()
    return float(m.group(1)), float(m.group(2))


def set_t(page, t: int):
    type_and_enter(page, "diff-t", str(t))


def live(page) -> dict:
    """The live view's step, t and the x_t picture (None before a run)."""
    return page.evaluate("() => { const d = document.querySelector('#diff-live-frames');"
                         " return d && {step: Number(d.dataset.step), t: Number(d.dataset.t),"
                         " src: d.querySelector('img').src}; }")


def status(page) -> str:
    return page.locator("#diff-status").inner_text()


def test_forward_process(app_page, screenshot_dir):
    page = app_page
    open_diffusion(page)
    assert drawn(page, "#diff-xt") and drawn(page, "#diff-strip")
    signal, noise = coefficients(page)
    assert 0 < signal < 1 and 0 < noise < 1 and abs(signal ** 2 + noise ** 2 - 1) < 1e-3
    assert "SNR falls below 1 at t = " in page.locator("#diff-coefs").inner_text()
    assert "linear T = 100" not in page.locator("#diff-schedules .js-plotly-plot").text_content()

    # t = 0: x_t is the image itself, with coefficient 1.
    x_t = img_src(page, "#diff-xt")
    set_t(page, 0)
    text = wait_for_text(page, "#diff-coefs", re.escape("t = 0 of T = 1000"))
    assert "1.0000·x₀ + 0.0000·ε" in text and "∞ (the image itself)" in text
    wait_for_new_image(page, "#diff-xt", x_t)
    settle(page)

    # t = 600: more noise than signal, another picture.
    x_t = img_src(page, "#diff-xt")
    set_t(page, 600)
    wait_for_text(page, "#diff-coefs", re.escape("t = 600 of T = 1000"))
    wait_for_new_image(page, "#diff-xt", x_t)
    settle(page)
    signal, noise = coefficients(page)
    assert signal < noise, (signal, noise)
    shoot(page, "#diff-coefs", screenshot_dir / "diffusion_forward.png")

    # The T mismatch: T = 100, t carried over proportionally, and the text says what x_T keeps.
    x_t = img_src(page, "#diff-xt")
    page.locator("#diff-mismatch input[type=checkbox]").check()
    text = wait_for_text(page, "#diff-coefs", re.escape("t = 60 of T = 100"))
    assert "With T = 100" in text and "√ᾱ_T = " in text, text
    wait_for_new_image(page, "#diff-xt", x_t)
    page.wait_for_function("() => document.querySelector('#diff-schedules .js-plotly-plot')?.textContent"
                           ".includes('linear T = 100')")
    settle(page)
    assert page.locator("#diff-t input[type=number]").input_value() == "60"
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


def test_reverse_process_live_and_stop(app_page, screenshot_dir):
    page = app_page
    open_diffusion(page)
    page.get_by_role("tab", name="Reverse process", exact=True).click()
    page.wait_for_selector("#diff-run", state="visible")
    assert not page.locator("#diff-gif").is_visible()
    assert page.locator("#diff-scrub input[type=range]").is_disabled()

    # DDIM-50 (the defaults): frames arrive while it runs, the step rising. A MutationObserver records every
    # frame the page shows (its step, the time since Sample and whether the status said "running").
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
    assert re.search(r"Step 50 of 50\*?\*? \(diffusers timestep t = \d+\), done: ddim", status(page)), status(page)
    assert live(page)["step"] == 49
    assert "stopped" not in status(page)
    for name in ("x_t", "ε̂", "x̂₀"):
        assert page.locator(f"#diff-live-frames img[alt='{name}']").count() == 1
    settle(page)

    # After the run: the GIF button, the filmstrip, the trajectories, the verdict and the scrubber.
    assert page.locator("#diff-gif").is_visible()
    assert drawn(page, "#diff-film")
    page.wait_for_selector("#diff-trajectory .js-plotly-plot", state="attached")
    assert page.locator("#diff-trajectory .js-plotly-plot").evaluate("p => (p.data ?? []).length") >= 1
    assert "The CNN reads the final image as" in page.locator("#diff-verdict").inner_text()
    assert not page.locator("#diff-scrub input[type=range]").is_disabled()
    page.locator("#diff-live").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_done.png"), full_page=False)
    page.screenshot(path=str(screenshot_dir / "diffusion_done_full.png"), full_page=True)

    # DDPM-1000, stopped after a few frames: the status says so well before step 1000.
    choose(page, "diff-scheduler", "DDPM (ancestral, Ho et al. 2020)")
    type_and_enter(page, "diff-steps", "1000")
    settle(page)
    page.locator("#diff-run").click()
    wait_for_text(page, "#diff-status", r"of 1000\*?\*? .*running")
    page.wait_for_function("() => Number(document.querySelector('#diff-live-frames')?.dataset.step) >= 3",
                           timeout=RUN)
    page.locator("#diff-stop").click()
    text = wait_for_text(page, "#diff-status", r"\), stopped: ddpm")
    step = int(re.search(r"Step (\d+) of 1000", text).group(1))
    assert step < 1000 and "done" not in text, text
    settle(page)
    assert page.locator("#diff-gif").is_visible()
    assert "the run was stopped" in page.locator("#diff-verdict").inner_text()
    page.locator("#diff-live").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_stopped.png"), full_page=False)



def test_scrub_the_recorded_steps(app_page, screenshot_dir):
    """After a DDIM-50 run the scrubber shows any recorded step: its x_t, ε̂, x̂₀ and the status."""
    page = app_page
    open_diffusion(page)
    page.get_by_role("tab", name="Reverse process", exact=True).click()
    page.locator("#diff-run").click()
    wait_for_text(page, "#diff-status", r"Step 50 of 50\*?\*? .*done")
    page.wait_for_function("() => !document.querySelector('#diff-scrub input[type=range]').disabled")
    settle(page)
    page.locator("#diff-live").scroll_into_view_if_needed()
    # Scrub back to step 10: the live view shows that step's pictures.
    before = live(page)
    track = page.locator("#diff-scrub input[type=range]")
    track.focus()
    page.keyboard.press("Home")  # step 0, then ten steps on: step 10
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    track.dispatch_event("pointerup")
    page.wait_for_function("() => document.querySelector('#diff-live-frames')?.dataset.step === '10'")
    wait_for_text(page, "#diff-status", r"Step 11 of 50")
    after = live(page)
    assert after["src"] != before["src"] and after["t"] > before["t"], (before["t"], after["t"])
    settle(page)
    shoot(page, "#diff-live", screenshot_dir / "diffusion_scrubbed.png")
    # The box beside the track: step 20 typed, and Enter.
    type_and_enter(page, "diff-scrub", "20")
    page.wait_for_function("() => document.querySelector('#diff-live-frames')?.dataset.step === '20'",
                           timeout=15_000)
    wait_for_text(page, "#diff-status", r"Step 21 of 50")
    settle(page)


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
    assert re.search(r"ddim, 50 steps, w = 3", a) and "T-shirt/top" in a, a
    assert re.search(r"dpm\+\+, 20 steps, w = 3", b) and "T-shirt/top" in b, b
    assert drawn(page, "#diff-a-image") and drawn(page, "#diff-b-image")
    settle(page)
    page.locator("#diff-a-image").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_compare.png"), full_page=False)


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
    settle(page)
    page.locator("#dtoy-particles-plot").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_toy.png"), full_page=False)
    page.locator("#dtoy-density").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "diffusion_toy_density.png"), full_page=False)
