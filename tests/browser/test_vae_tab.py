"""The VAE tab in Chromium, as a learner uses it: open it and see every view drawn, pick both endpoints from the
galleries, switch the path to slerp, decode a typed point and a clicked point of the grid, switch the map to the
plain autoencoder, read the Explain panel and use its KL calculator, and sample from the prior. And the latent map
drawn in the browser: move the pointer over it and see the live decoder's picture follow, then click to pin."""
import base64
import io
import json
import re

import numpy as np
from PIL import Image

from core.data import CLASSES
from core.vae import figures
from tests.browser.test_cnn import img_src, wait_for_new_image
from tests.browser.test_convolution import wait_for_text
from tests.browser.test_number_boxes import settle, type_and_enter

TROUSER, BAG = CLASSES.index("Trouser"), CLASSES.index("Bag")
A_CLASS = "|".join(re.escape(c) for c in CLASSES)
MAP = "#vae-latent-map"
# Each inner tab's views, filled when the VAE tab is first opened (the test codes and grids are computed then); gradio
# builds an inner tab's components only once it is opened.
SECTION_VIEWS = {"Interpolation": ("#vae-strip img", "#vae-probabilities canvas"),
                 "Latent map": ("#vae-latent-map canvas", "#vae-manifold img"),
                 "Prior and dimensions": ("#vae-samples img", "#vae-traversal img")}


def open_vae(page):
    page.get_by_role("tab", name="VAE", exact=True).click()
    open_section(page, "Interpolation")
    wait_for_text(page, "#vae-strip-note", "frames decoded by")


def open_section(page, name: str):
    """Open the VAE tab's inner tab `name` and wait for its views."""
    page.get_by_role("tab", name=name, exact=True).click()
    for selector in SECTION_VIEWS[name]:
        page.wait_for_selector(selector, state="attached", timeout=120_000)
    if name == "Latent map":
        wait_for_text(page, "#vae-map-note", "decoding a 20×20 grid")
        page.wait_for_function("performance.getEntriesByName('vae-latent-map:drawn').length > 0")


def drawn(page, selector: str) -> bool:
    """The image has loaded (a lazily loaded image loads once it is scrolled to)."""
    page.locator(selector).scroll_into_view_if_needed()
    page.wait_for_function("(sel) => document.querySelector(sel + ' img')?.naturalWidth > 0", arg=selector)
    return True


# What a chart drawn in the browser (chart.js) draws: its x values and each series' name and values, as text.
CHART = "(sel) => JSON.stringify(document.querySelector(sel)?.glassboxView ?? null)"


def plot_data(page, selector: str) -> str:
    page.wait_for_function(f"({CHART})({selector!r}) !== 'null'")
    return page.evaluate(CHART, selector)


def wait_for_new_plot(page, selector: str, old: str):
    page.wait_for_function(f"([sel, old]) => ({CHART})(sel) !== old", arg=[selector, old])


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
    page.screenshot(path=str(screenshot_dir / "vae_open.png"), full_page=True)
    for section, views in (("Prior and dimensions", ("#vae-samples", "#vae-traversal")),
                           ("Latent map", ("#vae-manifold", "#vae-point")),
                           ("Interpolation", ("#vae-strip", "#vae-recon-a"))):
        open_section(page, section)
        for selector in views:
            assert drawn(page, selector)
        assert not missing_targets(page), (section, missing_targets(page))
        if section == "Latent map":
            wait_for_text(page, "#vae-point-note", re.escape("z = (0.00, 0.00) under vae2"))
            wait_for_text(page, f"{MAP} .vlm-title", "vae2: 2,000 test codes")
    assert page.locator("#vae-a-input-note").inner_text().strip() == "Fashion-MNIST test sample: Sandal."
    assert page.locator("#vae-b-input-note").inner_text().strip() == "Fashion-MNIST test sample: Sneaker."
    assert "vae16" in page.locator("#vae-strip-note").inner_text()
    assert "Sneaker" in plot_data(page, "#vae-probabilities")  # one line per class

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
    lines = json.loads(plot_data(page, "#vae-probabilities"))["series"]
    first, last = (max(lines, key=lambda t: t["y"][i])["name"] for i in (0, -1))
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
    check_chart_hover(page, "#vae-probabilities", screenshot_dir)

    # A typed point: z1 and z2 into their boxes, Enter, and the point is decoded and read.
    open_section(page, "Latent map")
    point = img_src(page, "#vae-point")
    type_and_enter(page, "vae-z1", "1.5")
    settle(page)
    type_and_enter(page, "vae-z2", "-1")
    note = wait_for_text(page, "#vae-point-note", re.escape("z = (1.50, -1.00) under vae2") + ".*the CNN reads ("
                         + A_CLASS + ")")
    assert re.search(r"\(\d+\.\d%\)", note)
    settle(page)
    wait_for_new_image(page, "#vae-point", point)
    wait_for_text(page, f"{MAP} .vlm-pin", re.escape("Pinned: z = (1.500, -1.000)"))  # marked on the map
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
    manifold, drawn_before = img_src(page, "#vae-manifold"), map_draws(page)
    pick(page, "vae-map-model", "ae2")
    wait_for_text(page, f"{MAP} .vlm-title", "ae2: 2,000 test codes")
    wait_for_text(page, "#vae-map-note", "ae2 decoding a 20×20 grid")
    wait_for_text(page, "#vae-point-note", re.escape(f"z = ({z1:.2f}, {z2:.2f}) under ae2"))  # decoded again
    wait_for_new_image(page, "#vae-manifold", manifold)
    page.wait_for_function("(n) => performance.getEntriesByName('vae-latent-map:drawn').length > n",
                           arg=drawn_before)
    settle(page)
    shoot(page, "#vae-map", screenshot_dir / "vae_map_ae2.png")

    # Sampling: another seed, another sheet of samples.
    open_section(page, "Prior and dimensions")
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
    # A bad input replaces the table with its reason: never the last table beside an error.
    page.locator("#vae-kl-mu textarea, #vae-kl-mu input").first.fill("0, one")
    page.locator("#vae-kl-go").click()
    out = wait_for_text(page, "#vae-kl-out", "Not computed")
    assert "'one' is not a number" in out and "Total KL" not in out and "0.5000" not in out
    page.screenshot(path=str(screenshot_dir / "vae_full.png"), full_page=True)


# The numbered steps of the shown path whose view is not on the page (each section's steps lead to its own views).
MISSING_TARGETS = """() => [...document.querySelectorAll('.gb-path')].filter(p => p.offsetParent !== null)
    .flatMap(p => [...p.querySelectorAll('a[data-target]')]).map(a => a.dataset.target)
    .filter(id => !document.getElementById(id) || document.getElementById(id).offsetParent === null)"""


def missing_targets(page) -> list[str]:
    return page.evaluate(MISSING_TARGETS)


def map_draws(page) -> int:
    return page.evaluate("performance.getEntriesByName('vae-latent-map:drawn').length")


def shown(page) -> tuple[list[float], str, np.ndarray]:
    """The z and model the widget shows beside the map (z as it was sent, to 3 decimals) and its decoded picture,
    read back from its canvas (the centre of each of the 28 x 28 squares), in one go: no answer lands between."""
    z, model, values = page.locator(f"{MAP} .vlm-side").evaluate(
        "side => { const c = side.querySelector('canvas'), out = side.querySelector('output');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, k = c.width / 28, px = [];"
        " for (let r = 0; r < 28; r++) for (let q = 0; q < 28; q++)"
        "   px.push(d[4 * (Math.floor((r + 0.5) * k) * c.width + Math.floor((q + 0.5) * k))]);"
        " return [JSON.parse(out.dataset.z), out.dataset.model, px]; }")
    return z, model, np.array(values, dtype=np.uint8).reshape(28, 28)


def decoded_pixels(page, z, model) -> np.ndarray:
    """vae_decode's picture at z (the endpoint that also lets the CNN read it), through the page's own REST call."""
    url = page.evaluate("([z, m]) => window.glassbox.call('vae_decode', [z, m]).then(r => r.image)", [z, model])
    return np.array(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L"))


def test_latent_map_follows_the_pointer_and_pins(app_page, screenshot_dir):
    page = app_page
    open_vae(page)
    open_section(page, "Latent map")
    canvas = page.locator(f"{MAP} canvas.vlm-map")
    canvas.scroll_into_view_if_needed()
    wait_for_text(page, f"{MAP} .vlm-z", re.escape("z = (0.000, 0.000)"))  # the pinned point, decoded on opening
    legend = page.locator(f"{MAP} .vlm-legend").inner_text()
    assert all(name in legend for name in CLASSES) and "path A → B" in legend
    calls = []
    page.on("request", lambda r: calls.append(r.url) if "/gradio_api/call/" in r.url and r.method == "POST" else None)

    # A sweep across the map, as a hand moves: pictures follow while it moves, one request at a time at most.
    box = canvas.bounding_box()
    before = map_draws(page)
    moves = 40
    for i in range(moves):
        page.mouse.move(box["x"] + box["width"] * (0.2 + 0.015 * i), box["y"] + box["height"] * (0.3 + 0.01 * i))
    page.wait_for_function("() => !/\\(0\\.000, 0\\.000\\)/.test(document.querySelector('#vae-latent-map .vlm-z')"
                           ".textContent)")
    page.wait_for_function("(n) => performance.getEntriesByName('vae-latent-map:drawn').length > n", arg=before + 1)
    decodes = [u for u in calls if u.endswith("/vae_decode_point")]
    assert 1 <= len(decodes) <= moves and len(decodes) == len(calls), calls  # no other request while moving
    # The picture shown is the live decoder's at the z shown beside it, pixel for pixel.
    z, model, pixels = shown(page)
    assert model == "vae2" and all(np.isfinite(z)), z
    assert (pixels == decoded_pixels(page, z, model)).all()
    page.locator(MAP).screenshot(path=str(screenshot_dir / "vae_latent_map_hover_1440.png"))

    # A click pins the point: ringed on the map, named under the picture, and the z boxes and the decoded point follow.
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.25)
    pin = wait_for_text(page, f"{MAP} .vlm-pin", r"Pinned: z = \(")
    z1, z2 = (float(v) for v in re.findall(r"-?\d+\.\d+", pin))
    wait_for_text(page, "#vae-point-note", re.escape(f"z = ({z1:.2f}, {z2:.2f}) under vae2"))
    assert abs(box_value(page, "vae-z1") - z1) < 1e-3 and abs(box_value(page, "vae-z2") - z2) < 1e-3
    page.mouse.move(box["x"] - 20, box["y"] - 20)  # off the map: the picture returns to the pinned point
    wait_for_text(page, f"{MAP} .vlm-caption", "pinned point")
    page.wait_for_function("(z) => { const shown = JSON.parse(document.querySelector('#vae-latent-map .vlm-z')"
                           ".dataset.z); return shown[0] === z[0] && shown[1] === z[1]; }", arg=[z1, z2])
    z, model, pixels = shown(page)
    assert z == [z1, z2] and (pixels == decoded_pixels(page, z, model)).all()
    page.locator(MAP).screenshot(path=str(screenshot_dir / "vae_latent_map_pinned_1440.png"))
    page.set_viewport_size({"width": 800, "height": 1000})
    page.locator(MAP).scroll_into_view_if_needed()
    page.locator(MAP).screenshot(path=str(screenshot_dir / "vae_latent_map_800.png"))


# The buttons of the component that overlap its image, other than an element holding the image itself.
COVERING = """sel => { const img = document.querySelector(sel + ' img'), a = img.getBoundingClientRect();
  return [...document.querySelectorAll(sel + ' button')].filter(b => !b.contains(img)).filter(b => {
    const r = b.getBoundingClientRect();
    return r.width > 0 && r.left < a.right && a.left < r.right && r.top < a.bottom && a.top < r.bottom;
  }).map(b => b.getAttribute('aria-label') || b.textContent); }"""


def covering(page, selector: str) -> list[str]:
    return page.evaluate(COVERING, selector)


def shown_scale(page, selector: str) -> float:
    """How large the page draws the image of `selector`: its displayed width over its own."""
    drawn(page, selector)
    return page.locator(f"{selector} img").evaluate("i => i.getBoundingClientRect().width / i.naturalWidth")


def test_the_strip_at_16_steps_and_the_traversal_are_readable_at_1400_and_800_px(app_page, screenshot_dir):
    """16 frames in one row were drawn half size with ~6 px captions; the traversal was 16 x 7 thumbnails of ~30 px
    under two corner buttons. Now every caption is drawn at least 9 px high and every traversal frame at least
    48 px, with nothing over either picture."""
    page = app_page
    open_vae(page)
    strip = img_src(page, "#vae-strip")
    type_and_enter(page, "vae-steps", "16")
    wait_for_text(page, "#vae-strip-note", "16 frames decoded")
    wait_for_new_image(page, "#vae-strip", strip)
    settle(page)
    natural = page.locator("#vae-strip img").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert natural[0] < natural[1] * 4  # wrapped into rows, not one row of 16
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        open_section(page, "Interpolation")
        assert shown_scale(page, "#vae-strip") * figures.LABEL_FONT >= 9, width
        shoot(page, "#vae-strip", screenshot_dir / f"vae_strip_16_{width}.png")
        open_section(page, "Prior and dimensions")
        assert "the 8 dimensions with the largest KL" in page.locator("#vae-traversal-note").inner_text()
        assert shown_scale(page, "#vae-traversal") * figures.TRAVERSAL_CELL >= 48, width
        assert not covering(page, "#vae-traversal"), width  # no corner buttons over the frames
        page.locator("#vae-traversal-caption").scroll_into_view_if_needed()
        page.locator("#vae-traversal").locator("xpath=../..").screenshot(
            path=str(screenshot_dir / f"vae_traversal_{width}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})
    open_section(page, "Interpolation")


def check_chart_hover(page, selector: str, screenshot_dir):
    """A chart drawn in the browser shows the values of the frame under the pointer, as it drew them, and its
    legend names every line; screenshots of the charts at 1400 and 800 px wide."""
    view = json.loads(plot_data(page, selector))
    canvas = page.locator(f"{selector} canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 58 + (box["width"] - 70) * 0.99, box["y"] + box["height"] / 2)  # the last frame
    tip = wait_for_text(page, f"{selector} .vch-tip", f"frame {len(view['x']) - 1}")
    for line in view["series"]:
        assert f"{line['name']}: {line['y'][-1]:.3f}" in tip, (line["name"], tip)
    assert all(line["name"] in page.locator(f"{selector} .vch-legend").inner_text() for line in view["series"])
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        for chart, section in (("#vae-code-a", "Interpolation"), ("#vae-probabilities", "Interpolation"),
                               ("#vae-plausibility", "Interpolation"), ("#vae-kl", "Prior and dimensions")):
            open_section(page, section)
            page.locator(chart).scroll_into_view_if_needed()
            page.locator(chart).screenshot(path=str(screenshot_dir / f"vae_chart_{chart[5:]}_{width}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})
    open_section(page, "Interpolation")


def test_the_pickers_thumbnails_fit_their_column_at_800_px(app_page, screenshot_dir):
    """At 800 px gradio's gallery kept each of its five thumbnails a row 100 px wide and ran them past its column
    (the last ones hidden behind a sideways scroll of its own). Now every thumbnail of both pickers lies whole inside
    its picker, no smaller than a target must be, with A and B side by side over the strip; and a drawing there
    feeds the strip."""
    page = app_page
    page.set_viewport_size({"width": 800, "height": 900})
    open_vae(page)
    boxes = {}
    for name in ("a", "b"):
        gallery = page.locator(f"#vae-{name}-gallery")
        page.wait_for_selector(f"#vae-{name}-gallery .thumbnail-item img", state="visible")
        box = boxes[name] = gallery.bounding_box()
        thumbnails = gallery.locator(".thumbnail-item")
        assert thumbnails.count() == len(CLASSES)
        for i in range(len(CLASSES)):
            t = thumbnails.nth(i).bounding_box()
            assert box["x"] <= t["x"] and t["x"] + t["width"] <= box["x"] + box["width"] + 0.5, (name, i, t, box)
            assert t["width"] >= 24, (name, i, t)  # WCAG 2.2's least target size (AA)
        assert gallery.evaluate("g => g.scrollWidth <= g.clientWidth + 1")  # no sideways scroll of its own
    assert boxes["a"]["x"] + boxes["a"]["width"] <= boxes["b"]["x"] and abs(boxes["a"]["y"] - boxes["b"]["y"]) < 2
    page.locator("#vae-pickers").screenshot(path=str(screenshot_dir / "vae_pickers_800.png"))

    # A's drawing in its narrow column: a stroke, then "Use the drawing" (which the pad once covered), and the strip
    # starts from it.
    strip = img_src(page, "#vae-strip")
    page.locator("#vae-a-picker").get_by_role("tab", name="Draw").click()
    pad = page.locator("#vae-a-sketch canvas").first
    pad.wait_for(state="visible")
    box = pad.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2  # inside the drawing area, wherever it sits
    page.mouse.move(cx - 30, cy - 40)
    page.mouse.down()
    page.mouse.move(cx + 30, cy + 40, steps=10)
    page.mouse.up()
    page.locator("#vae-a-use-drawing").click()
    wait_for_text(page, "#vae-a-input-note", "Your drawing")
    wait_for_new_image(page, "#vae-strip", strip)
    page.locator("#vae-pickers").screenshot(path=str(screenshot_dir / "vae_pickers_drawing_800.png"))
