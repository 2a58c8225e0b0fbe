"""The VAE tab in Chromium, as a learner uses it: open it and see every view drawn, pick both endpoints from the
galleries, switch the path to slerp, decode a typed point and a clicked point of the grid, switch the map to the
plain autoencoder, read the Explain panel and use its KL calculator, and sample from the prior."""
import re

from core.data import CLASSES
from tests.browser.test_cnn import img_src, wait_for_new_image
from tests.browser.test_convolution import wait_for_text
from tests.browser.test_number_boxes import settle, type_and_enter

TROUSER, BAG = CLASSES.index("Trouser"), CLASSES.index("Bag")
A_CLASS = "|".join(re.escape(c) for c in CLASSES)
VIEWS = ("#vae-strip img", "#vae-probabilities .js-plotly-plot", "#vae-map .js-plotly-plot", "#vae-manifold img",
         "#vae-samples img")


def open_vae(page):
    page.get_by_role("tab", name="VAE", exact=True).click()
    for selector in VIEWS:  # drawn when the tab is first opened (the test codes and grids are computed then)
        page.wait_for_selector(selector, state="attached", timeout=120_000)
    wait_for_text(page, "#vae-strip-note", "frames decoded by")
    wait_for_text(page, "#vae-map-note", "decoding a 20×20 grid")


def drawn(page, selector: str) -> bool:
    """The image has loaded (a lazily loaded image loads once it is scrolled to)."""
    page.locator(selector).scroll_into_view_if_needed()
    page.wait_for_function("(sel) => document.querySelector(sel + ' img')?.naturalWidth > 0", arg=selector)
    return True


def plot_data(page, selector: str) -> str:
    """What the plot draws: its traces' values, as text."""
    return page.locator(f"{selector} .js-plotly-plot").evaluate(
        "p => JSON.stringify((p.data ?? []).map(t => [t.name, t.x, t.y]))")


def wait_for_new_plot(page, selector: str, old: str):
    page.wait_for_function("([sel, old]) => { const p = document.querySelector(sel + ' .js-plotly-plot');"
                           " return p && JSON.stringify((p.data ?? []).map(t => [t.name, t.x, t.y])) !== old; }",
                           arg=[selector, old])


def plot_title(page, selector: str, pattern: str) -> str:
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel + ' .js-plotly-plot')"
                           "?.textContent ?? '')", arg=[selector, pattern])
    return page.locator(f"{selector} .js-plotly-plot").text_content()


def pick(page, radio_id: str, choice: str):
    """Click one choice of a radio group by its exact text ("ae2" is also part of "vae2")."""
    page.locator(f"#{radio_id}").get_by_test_id(f"{choice}-radio-label").click()


def box_value(page, elem_id: str) -> float:
    return float(page.locator(f"#{elem_id} input[type=number]").input_value())


def shoot(page, selector: str, path):
    page.locator(selector).scroll_into_view_if_needed()
    page.screenshot(path=str(path), full_page=False)


def test_endpoints_path_map_point_explain_and_samples(app_page, screenshot_dir):
    page = app_page
    open_vae(page)
    for selector in ("#vae-strip", "#vae-manifold", "#vae-samples", "#vae-recon-a", "#vae-traversal", "#vae-point"):
        assert drawn(page, selector)
    assert page.locator("#vae-a-input-note").inner_text().strip() == "Fashion-MNIST test sample: Sandal."
    assert page.locator("#vae-b-input-note").inner_text().strip() == "Fashion-MNIST test sample: Sneaker."
    wait_for_text(page, "#vae-point-note", re.escape("z = (0.00, 0.00) under vae2"))
    assert "vae16" in page.locator("#vae-strip-note").inner_text()
    assert "Sneaker" in plot_data(page, "#vae-probabilities")  # one line per class
    plot_title(page, "#vae-map", "vae2: 2,000 test codes")
    page.screenshot(path=str(screenshot_dir / "vae_open.png"), full_page=True)

    # Endpoint A and B from the galleries: the inputs, their notes and the strip follow.
    strip = img_src(page, "#vae-strip")
    page.locator("#vae-a-gallery").scroll_into_view_if_needed()
    page.locator("#vae-a-gallery .thumbnail-item").nth(TROUSER).click()
    wait_for_text(page, "#vae-a-input-note", "Fashion-MNIST test sample: Trouser")
    wait_for_new_image(page, "#vae-strip", strip)
    settle(page)
    strip = img_src(page, "#vae-strip")
    page.locator("#vae-b-gallery .thumbnail-item").nth(BAG).click()
    wait_for_text(page, "#vae-b-input-note", "Fashion-MNIST test sample: Bag")
    wait_for_new_image(page, "#vae-strip", strip)
    settle(page)
    page.screenshot(path=str(screenshot_dir / "vae_endpoints.png"), full_page=False)
    note = wait_for_text(page, "#vae-strip-note", "linear")
    assert "10 frames decoded by vae16" in note
    # The CNN reads the path's first frame as A's class and its last as B's.
    first, last = page.locator("#vae-probabilities .js-plotly-plot").evaluate(
        "p => { const ys = p.calcdata.map((c, k) => [p._fullData[k].name, c.map(pt => pt.y)]);"
        " const top = (i) => ys.reduce((b, t) => t[1].at(i) > b[1].at(i) ? t : b)[0]; return [top(0), top(-1)]; }")
    assert (first, last) == ("Trouser", "Bag")
    shoot(page, "#vae-strip", screenshot_dir / "vae_strip_linear.png")

    # The slerp path: another strip, other probabilities, and the note names it.
    strip, probabilities = img_src(page, "#vae-strip"), plot_data(page, "#vae-probabilities")
    pick(page, "vae-path", "spherical (slerp)")
    wait_for_text(page, "#vae-strip-note", "along the slerp path")
    wait_for_new_image(page, "#vae-strip", strip)
    wait_for_new_plot(page, "#vae-probabilities", probabilities)
    settle(page)
    shoot(page, "#vae-strip", screenshot_dir / "vae_strip_slerp.png")
    shoot(page, "#vae-plausibility", screenshot_dir / "vae_compare.png")

    # A typed point: z1 and z2 into their boxes, Enter, and the point is decoded and read.
    point = img_src(page, "#vae-point")
    type_and_enter(page, "vae-z1", "1.5")
    settle(page)
    type_and_enter(page, "vae-z2", "-1")
    note = wait_for_text(page, "#vae-point-note", re.escape("z = (1.50, -1.00) under vae2") + ".*the CNN reads ("
                         + A_CLASS + ")")
    assert re.search(r"\(\d+\.\d%\)", note)
    settle(page)
    wait_for_new_image(page, "#vae-point", point)
    plot_title(page, "#vae-map", "decoded point")  # the point is marked on the map
    shoot(page, "#vae-point", screenshot_dir / "vae_point_typed.png")

    # A click near the grid's top-left corner decodes a point with z1 low and z2 high; the boxes show it.
    point, manifold = img_src(page, "#vae-point"), img_src(page, "#vae-manifold")
    grid = page.locator("#vae-manifold img")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.12, box["y"] + box["height"] * 0.1)
    page.wait_for_function("() => !document.querySelector('#vae-point-note').innerText.includes('(1.50, -1.00)')")
    wait_for_new_image(page, "#vae-point", point)
    wait_for_new_image(page, "#vae-manifold", manifold)  # the grid marks the clicked point
    settle(page)
    z1, z2 = box_value(page, "vae-z1"), box_value(page, "vae-z2")
    assert z1 < 0 < z2, (z1, z2)
    note = page.locator("#vae-point-note").inner_text()
    assert f"z = ({z1:.2f}, {z2:.2f}) under vae2" in note and re.search(f"reads ({A_CLASS})", note), note
    shoot(page, "#vae-manifold", screenshot_dir / "vae_grid_click.png")

    # The plain autoencoder's map: another cloud, another grid, and the note names it.
    manifold, codes = img_src(page, "#vae-manifold"), plot_data(page, "#vae-map")
    pick(page, "vae-map-model", "ae2")
    plot_title(page, "#vae-map", "ae2: 2,000 test codes")
    wait_for_text(page, "#vae-map-note", "ae2 decoding a 20×20 grid")
    wait_for_text(page, "#vae-point-note", re.escape(f"z = ({z1:.2f}, {z2:.2f}) under ae2"))  # decoded again
    wait_for_new_image(page, "#vae-manifold", manifold)
    wait_for_new_plot(page, "#vae-map", codes)
    settle(page)
    shoot(page, "#vae-map", screenshot_dir / "vae_map_ae2.png")

    # Sampling: another seed, another sheet of samples.
    samples = img_src(page, "#vae-samples")
    type_and_enter(page, "vae-seed", "7")
    wait_for_text(page, "#vae-sample-note", "from seed 7")
    wait_for_new_image(page, "#vae-samples", samples)
    settle(page)
    samples = img_src(page, "#vae-samples")
    pick(page, "vae-sample-model", "vae2")
    wait_for_text(page, "#vae-sample-note", "decoded by vae2")
    wait_for_new_image(page, "#vae-samples", samples)
    samples = img_src(page, "#vae-samples")
    page.locator("#vae-sample").click()  # the same seed draws the same codes
    settle(page)
    assert img_src(page, "#vae-samples") == samples
    assert re.search(r"reads \d+% of them", page.locator("#vae-sample-note").inner_text())
    shoot(page, "#vae-samples", screenshot_dir / "vae_samples.png")

    # The Explain panel: its LaTeX is typeset, and the KL calculator gives 1/2 for mu = (0, 1), logvar = (0, 0).
    page.locator("#vae-explain").get_by_text("Explain:").click()
    page.wait_for_selector("#vae-explain-text .katex", state="visible")
    assert page.locator("#vae-explain-text .katex").count() >= 3
    assert not page.locator("#vae-explain-text .katex-error").count()
    shoot(page, "#vae-explain-text", screenshot_dir / "vae_explain.png")
    page.locator("#vae-kl-mu textarea, #vae-kl-mu input").first.fill("0, 1")
    page.locator("#vae-kl-logvar textarea, #vae-kl-logvar input").first.fill("0, 0")
    page.locator("#vae-kl-go").click()
    out = wait_for_text(page, "#vae-kl-out", "Total KL = ")
    assert "Total KL = 0.5000 nats" in out
    assert re.search(r"z2\s+1\s+0\s+0\.5000", out), out
    shoot(page, "#vae-kl-out", screenshot_dir / "vae_kl_calculator.png")
    page.screenshot(path=str(screenshot_dir / "vae_full.png"), full_page=True)
