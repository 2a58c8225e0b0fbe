"""The trained-CNN section of the Convolution tab in Chromium: a gallery sample, a layer, the feature-map grid, the
prediction chart, a clicked channel, the temperature, and Grad-CAM."""
import re

import numpy as np
from PIL import Image

from core import probability, render
from core.convolution import features, vision_models
from core.convolution import network_figures as figures
from core.data import CLASSES, load_sample
from explorers.convolution import network as net
from tests.browser.test_convolution import NETWORK, choose, open_tab, set_slider, wait_for_text

SNEAKER = CLASSES.index("Sneaker")


def first_of_class(c: int) -> Image.Image:
    s = load_sample("test")
    return Image.fromarray(s.images[int(np.flatnonzero(s.labels == c)[0])])


def open_gallery(page):
    """The input's Gallery tab: the section opens on its drawing pad."""
    page.get_by_role("tab", name="Gallery", exact=True).locator("visible=true").first.click()
    page.wait_for_selector("#cnn-gallery .thumbnail-item", state="visible")


def img_src(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def wait_for_new_image(page, selector: str, old: str):
    page.wait_for_function("([sel, old]) => { const i = document.querySelector(sel + ' img');"
                           " return i && i.src !== old && i.naturalWidth > 0; }", arg=[selector, old])


def assert_reads(page, widget: str, i: int, values: np.ndarray, at: tuple[int, int], name: str) -> None:
    """The pointer over cell `at` of panel `i` (-1: the last) of a panels widget reads `values[at]`."""
    canvas = page.locator(f"{widget} .grid canvas").nth(i if i >= 0 else page.locator(f"{widget} .grid canvas")
                                                       .count() - 1)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    (h, w), (r, c) = values.shape, at
    page.mouse.move(box["x"] + (c + 0.5) / w * box["width"], box["y"] + (r + 0.5) / h * box["height"])
    text = wait_for_text(page, f"{widget} .readout", re.escape(f"({r}, {c}): {name} = "))
    match = re.search(rf"\({r}, {c}\): {name} = (\S+)$", text)
    assert match, text
    assert float(match[1]) == np.float64(f"{values[r, c]:.4g}")


def test_gallery_layer_prediction_gradcam(app_page, screenshot_dir):
    page = app_page
    open_tab(page, NETWORK)
    open_gallery(page)
    page.locator("#cnn-gallery").scroll_into_view_if_needed()
    # Every thumbnail inside the gallery's column, beside the overview (five to a row ran past it).
    assert page.evaluate("""() => { const g = document.querySelector('#cnn-gallery').getBoundingClientRect();
        const items = [...document.querySelectorAll('#cnn-gallery .thumbnail-item')];
        return items.length === 10 && items.every(t => t.getBoundingClientRect().right <= g.right + 1); }""")
    grid_before = img_src(page, "#cnn-feature-grid")

    # A gallery sample becomes the input; the prediction follows.
    page.locator("#cnn-gallery .thumbnail-item").nth(SNEAKER).click()
    note = wait_for_text(page, "#cnn-prediction-note", "Prediction: \\*?\\*?Sneaker|Prediction: Sneaker")
    wait_for_text(page, "#cnn-input-note", "Fashion-MNIST test sample: Sneaker")
    acts = features.run(vision_models.load("cnn"), first_of_class(SNEAKER))
    p = probability.softmax(acts.logits)
    assert f"p = {p[SNEAKER]:.3f} at T = 1" in note
    # The bars, drawn in the browser: the most probable first, at the probabilities the model gives.
    page.wait_for_function("() => JSON.parse(document.querySelector('#cnn-prediction canvas').dataset.labels"
                           " || '[]')[0] === 'Sneaker'")
    bars = page.evaluate("() => JSON.parse(document.querySelector('#cnn-prediction canvas').dataset.probabilities)")
    np.testing.assert_allclose(bars, np.sort(p)[::-1], atol=1e-9)
    wait_for_new_image(page, "#cnn-feature-grid", grid_before)

    # A deeper layer: the grid and its note change to that layer's shape and channels.
    grid_before = img_src(page, "#cnn-feature-grid")
    choose(page, "cnn-layer", "relu4")
    text = wait_for_text(page, "#cnn-feature-note", "relu4")
    assert "64×14×14" in text and "per map" in text
    wait_for_new_image(page, "#cnn-feature-grid", grid_before)
    size = page.locator("#cnn-feature-grid img").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size[0] >= 8 * 96 and size[1] > 2 * 96  # 16 maps in two rows of eight, under a header
    _, order = features.channel_ranking(acts.maps["relu4"])
    channel = wait_for_text(page, "#cnn-channel-note", f"Channel \\*?\\*?{order[0]}")
    assert "rank 1 of 64" in channel and "conv4" in channel

    # Clicking the second tile shows the channel ranked second.
    box = page.locator("#cnn-feature-grid img").bounding_box()
    scale = box["width"] / size[0]
    top = 4 + 2 * 18 + 30  # header: padding, two lines of text, the colour bar (core.feature_render.with_header)
    page.mouse.click(box["x"] + (4 + 96 + 4 + 48) * scale, box["y"] + (top + 4 + 48) * scale)
    channel = wait_for_text(page, "#cnn-channel-note", f"Channel \\*?\\*?{order[1]}\\b")
    assert "rank 2 of 64" in channel
    # The channel's panels, drawn in the browser: the input, its kernel's 8 first input channels, the map; the
    # pointer over a cell of the map reads the activation the model computed there.
    page.wait_for_function("c => document.querySelector('#cnn-channel-plot').glassboxView?.title"
                           ".startsWith(`relu4 channel ${c} `)", arg=int(order[1]))
    panels = page.evaluate("() => document.querySelector('#cnn-channel-plot').glassboxView.panels")
    assert panels == ["input", *[f"in {i}" for i in range(8)], f"relu4 #{order[1]}"]
    assert_reads(page, "#cnn-channel-plot", -1, acts.maps["relu4"][order[1]], (5, 9), "activation")
    page.locator("#cnn-feature-grid").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_feature_maps.png"), full_page=False)

    # Temperature 5 flattens the prediction and says so.
    set_slider(page, "cnn-temperature", 5)
    hot = probability.softmax(acts.logits, 5.0)
    wait_for_text(page, "#cnn-prediction-note", re.escape(f"p = {hot[SNEAKER]:.3f} at T = 5"))
    page.wait_for_function("() => JSON.parse(document.querySelector('#cnn-prediction canvas').dataset"
                           f".probabilities)[0].toFixed(3) === '{hot[SNEAKER]:.3f}'")
    page.locator("#cnn-prediction").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_prediction.png"), full_page=False)

    # Grad-CAM for the predicted class.
    page.locator("#cnn-gradcam-on input").check()
    cam = wait_for_text(page, "#cnn-gradcam-note", "Grad-CAM for")
    assert "Sneaker" in cam and "relu6: a 7×7 map" in cam
    # The colours are relative: the note says so and gives the raw maximum, computed here the same way.
    from core.convolution import gradcam
    peak = gradcam.for_model(vision_models.load("cnn"), acts.input, SNEAKER).peak
    assert "Colours are relative to this class's own maximum" in cam
    assert f"its raw maximum, ReLU(Σ α·A), is {peak:.4g}" in cam
    page.wait_for_function("() => document.querySelector('#cnn-gradcam img')?.naturalWidth >= 224")
    page.locator("#cnn-overview").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_overview.png"), full_page=False)
    page.locator("#cnn-gradcam").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_gradcam.png"), full_page=False)


def overview_point(page, vm, layer: str) -> tuple[float, float]:
    """Where on the page the centre of `layer`'s map in the overview picture is (figures.layer_strip's layout)."""
    i = [entry.name for entry in vm.layers].index(layer)
    r, c = divmod(i, figures.STRIP_COLUMNS)
    x = render.PAD + c * figures.STRIP_SLOT_W + figures.STRIP_PX // 2
    y = figures.STRIP_TOP + r * (figures.STRIP_PX + figures.STRIP_TEXT_H + render.PAD) + figures.STRIP_PX // 2
    assert figures.strip_at(len(vm.layers), x, y) == i
    img = page.locator("#cnn-overview img")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    scale = box["width"] / img.evaluate("i => i.naturalWidth")
    return box["x"] + x * scale, box["y"] + y * scale


def test_overview_click_opens_a_layer_and_a_map_click_shows_one_cells_arithmetic(app_page, screenshot_dir):
    page = app_page
    open_tab(page, NETWORK)
    vm = vision_models.load("cnn")
    img = first_of_class(SNEAKER)
    overview_before, grid_before = img_src(page, "#cnn-overview"), img_src(page, "#cnn-feature-grid")
    open_gallery(page)
    page.locator("#cnn-gallery .thumbnail-item").nth(SNEAKER).click()
    wait_for_text(page, "#cnn-input-note", "Fashion-MNIST test sample: Sneaker")
    wait_for_text(page, "#cnn-prediction-note", "Sneaker")
    # The overview is the last view to change: a click on the picture it replaces would be lost (CI saw it).
    page.locator("#cnn-overview").scroll_into_view_if_needed()
    wait_for_new_image(page, "#cnn-overview", overview_before)
    wait_for_new_image(page, "#cnn-feature-grid", grid_before)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"status-tracker\"]:not(.hide)')")

    # A click on conv3 in the overview opens conv3: the Layer dropdown, its maps and its top channel's peak cell.
    grid_before = img_src(page, "#cnn-feature-grid")
    page.mouse.click(*overview_point(page, vm, "conv3"))
    wait_for_text(page, "#cnn-feature-note", "conv3 \\(conv")
    wait_for_new_image(page, "#cnn-feature-grid", grid_before)
    assert page.locator("#cnn-layer input").input_value() == "conv3"
    # ... and leads to it: the page scrolls until the section's title is at the top of the window, its maps below.
    page.wait_for_function("() => Math.abs(document.getElementById('cnn-maps-title').getBoundingClientRect().top)"
                           " < 2 && document.getElementById('cnn-feature-grid').getBoundingClientRect().top"
                           " < window.innerHeight / 2")
    acts = features.run(vm, img)
    top = int(features.channel_ranking(acts.maps["conv3"])[1][0])
    row, col = features.peak_cell(acts.maps["conv3"], top)
    cell = features.cell(vm, acts, vm.layer("conv3"), top, row, col)
    note = wait_for_text(page, "#cnn-cell-note", re.escape(f"conv3[{top}, {row}, {col}]"))
    assert "Σ over 32 input channels of Σ kernel·window (3×3 each) + bias" in note
    assert f"The recorded forward pass has conv3[{top}, {row}, {col}] = {net.fmt(cell.recorded)}" in note
    assert f"= {net.fmt(cell.conv_sum)}" in note
    # The cell's panels: the six input channels that weigh most, their windows above their kernels, with numbers.
    page.wait_for_function("at => document.querySelector('#cnn-cell-plot').glassboxView?.title === at",
                           arg=f"conv3[{top}, {row}, {col}]")
    shown = sorted(np.argsort(-np.abs(cell.terms), kind="stable")[:figures.CELL_PANELS].tolist())
    assert_reads(page, "#cnn-cell-plot", len(shown), cell.kernel[shown[0]], (2, 1), "weight")

    # A click on one cell of the second map: that channel, that cell, recomputed.
    view = net.feature_view(img, "cnn", "conv3", 16, "map")
    grid, channel = view.grid, int(view.grid.channels[1])
    _, h, w = acts.maps["conv3"].shape
    row, col = 3, 10
    x = render.PAD + grid.cell + render.PAD + (col + 0.5) / w * grid.cell
    y = grid.top + render.PAD + (row + 0.5) / h * grid.cell
    assert render.tile_at(grid, x, y) == channel
    shown = page.locator("#cnn-feature-grid img")
    shown.scroll_into_view_if_needed()
    box = shown.bounding_box()
    scale = box["width"] / shown.evaluate("i => i.naturalWidth")
    page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
    cell = features.cell(vm, acts, vm.layer("conv3"), channel, row, col)
    note = wait_for_text(page, "#cnn-cell-note", re.escape(f"conv3[{channel}, {row}, {col}]"))
    assert f"recomputed here {net.fmt(cell.computed)}" in note
    wait_for_text(page, "#cnn-channel-note", f"Channel \\*?\\*?{channel}\\b")
    page.locator("#cnn-cell-plot").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_cell_arithmetic.png"), full_page=False)

    # A pooling layer from the overview: its cell is the largest of its window.
    page.locator("#cnn-overview").scroll_into_view_if_needed()
    page.mouse.click(*overview_point(page, vm, "pool1"))
    note = wait_for_text(page, "#cnn-cell-note", "pool1\\[")
    assert "is the largest of the 2×2 window" in note
    page.locator("#cnn-overview").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_overview_clicked.png"), full_page=False)


def toasts(page) -> list[str]:
    return page.locator(".toast-message-text").all_inner_texts()


def test_offline_models_say_so_and_pick_channels_waits_for_a_number(app_page, screenshot_dir):
    """Offline, the Model dropdown says which models cannot load here, and choosing one falls back to the cnn with
    one whole toast; "pick channels" with nothing typed asks for numbers in the note, not in an error."""
    page = app_page
    open_tab(page, NETWORK)
    page.locator("#cnn-model input").click()
    shown = page.get_by_role("option").locator("visible=true").all_inner_texts()
    options = [o.removeprefix("✓").strip() for o in shown]  # the chosen one carries a tick
    assert "resnet18 (not available here: ImageNet weights not cached, no download)" in options
    assert "cnn (bundled, Fashion-MNIST)" in options
    page.get_by_role("option", name="resnet18 (not available here", exact=False).locator("visible=true").click()
    page.wait_for_selector(".toast-message-text")
    note = wait_for_text(page, "#cnn-model-note", "Showing the bundled")
    page.wait_for_timeout(1500)  # a second toast, if one were coming, would be shown by now
    shown = toasts(page)
    assert len(shown) == 1, shown
    assert shown[0].rstrip().endswith("instead.") and "resnet18" in shown[0]
    assert "resnet18" in note and "bundled Fashion-MNIST cnn" in note
    page.locator("#cnn-model").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_offline_model.png"), full_page=False)

    page.locator("#cnn-show").get_by_label("pick channels").check()
    wait_for_text(page, "#cnn-feature-note", "Type channel numbers in 'Pick channels'")
    assert not page.locator(".toast-body.error").count()
    grid_before = img_src(page, "#cnn-feature-grid")
    page.locator("#cnn-picks textarea, #cnn-picks input").first.fill("0, 5, 12")
    page.locator("#cnn-picks textarea, #cnn-picks input").first.press("Enter")
    wait_for_new_image(page, "#cnn-feature-grid", grid_before)
    page.wait_for_function("() => !document.querySelector('#cnn-feature-note').innerText.includes('Type channel')")


DRAWN = "performance.getEntriesByName('cnn-prediction:drawn').length"


def narrow(page, selector: str, path):
    """A screenshot of `selector` on an 800 px wide page, then the test's own width again."""
    size = page.viewport_size
    page.set_viewport_size({"width": 800, "height": size["height"]})
    page.locator(selector).scroll_into_view_if_needed()
    page.locator(selector).screenshot(path=str(path))
    page.set_viewport_size(size)


def stroke_marks(page, pad, points) -> int:
    """Press, move through `points` (offsets from the pad's centre), and count the prediction's redraws while the
    button is still down; then let go."""
    box = pad.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = page.evaluate(DRAWN)
    page.mouse.move(cx + points[0][0], cy + points[0][1])
    page.mouse.down()
    for dx, dy in points[1:]:
        page.mouse.move(cx + dx, cy + dy, steps=3)
    page.wait_for_function(f"{DRAWN} >= {before + 2}")  # drawn at least twice with the pen still down
    during = page.evaluate(DRAWN) - before
    page.mouse.up()
    return during


def test_drawing_predicts_while_the_stroke_is_drawn(app_page, client, screenshot_dir, tmp_path):
    """Each move of the pen redraws the bundled cnn's probabilities (conv_draw); the last ones shown are
    conv_predict's on the same 28×28 drawing; lifting the pen makes it the section's input, and Clear empties it
    (then "Use the drawing" only warns)."""
    page = app_page
    open_tab(page, NETWORK)
    page.get_by_role("tab", name="Draw", exact=True).locator("visible=true").first.click()
    pad = page.locator("#cnn-draw canvas.pad")
    pad.scroll_into_view_if_needed()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/call/conv_draw" in r.url else None)
    # A T-shirt's outline: shoulders, then down one side and across the hem.
    points = [(-70, -80), (-20, -80), (20, -80), (70, -80), (70, -30), (40, -30), (40, 20), (40, 80), (0, 80),
              (-40, 80), (-40, 20), (-40, -30), (-70, -30)]
    input_before = img_src(page, "#cnn-input")
    during = stroke_marks(page, pad, points)
    assert during >= 2 and len(posts) >= during
    # The last answer is for the finished drawing: the pixels it was asked for are the pad's last ones.
    page.wait_for_function("() => { const p = document.querySelector('#cnn-draw canvas.pad');"
                           " return p.dataset.pixels && p.dataset.pixels === p.dataset.asked; }")
    grey = np.array(page.evaluate("JSON.parse(document.querySelector('#cnn-draw canvas.pad').dataset.pixels)"))
    shown = np.array(page.evaluate("JSON.parse(document.querySelector('#cnn-draw canvas.bars').dataset"
                                   ".probabilities)"))
    assert grey.shape == (28, 28) and grey.min() < 128 and grey.max() == 255
    path = tmp_path / "drawing.png"
    Image.fromarray(grey.astype(np.uint8)).save(path)
    from gradio_client import handle_file
    expected = client.predict(image=handle_file(str(path)), api_name="/conv_predict")
    np.testing.assert_allclose(shown, expected["probabilities"], atol=1e-6)
    label = expected["predicted_label"]
    assert label in page.locator("#cnn-draw .status").inner_text()
    page.screenshot(path=str(screenshot_dir / "cnn_draw.png"), full_page=False)
    narrow(page, "#cnn-draw", screenshot_dir / "cnn_draw_800.png")

    # The pen's lift made the drawing the section's input: the full views follow, with the same prediction.
    wait_for_text(page, "#cnn-input-note", "Your drawing")
    wait_for_new_image(page, "#cnn-input", input_before)
    p = expected["probabilities"][expected["predicted"]]
    wait_for_text(page, "#cnn-prediction-note", re.escape(f"{label}**, p = {p:.3f}") + "|" +
                  re.escape(f"{label}, p = {p:.3f}"))

    # Clear, by keyboard: the pad is empty again, and "Use the drawing" warns and keeps the input.
    page.locator("#cnn-draw button.clear").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#cnn-draw canvas.pad').dataset.pixels")
    input_before = img_src(page, "#cnn-input")
    page.locator("#cnn-use-drawing").click()
    page.wait_for_selector(".toast-message-text")
    assert "draw something first" in " ".join(toasts(page))
    assert img_src(page, "#cnn-input") == input_before and not page.locator(".toast-body.error").count()


HOVERS = "performance.getEntriesByName('cnn-maps:drawn').length"


def test_hovering_a_map_outlines_its_window_and_reads_its_value_with_no_request(app_page, screenshot_dir):
    """The grid opens on conv1 of the first gallery sample; hovering one cell of its second map names the cell,
    gives its value (the recorded forward pass's, 4 figures) and the 3×3 window, padding 1, of the input it reads,
    outlined in orange on the tile; moving across the tile redraws it each time, with no request."""
    page = app_page
    open_tab(page, NETWORK)
    img = first_of_class(0)
    view = net.feature_view(img, "cnn", "conv1", 16, "map")
    grid, maps = view.grid, view.acts.maps["conv1"]
    _, h, w = maps.shape
    shown = page.locator("#cnn-feature-grid img")
    shown.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('#cnn-feature-grid img')?.naturalWidth > 0")
    box = shown.bounding_box()
    scale = box["width"] / shown.evaluate("i => i.naturalWidth")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    before = page.evaluate(HOVERS)
    row = 5
    for col in range(0, 12):
        x = render.PAD + grid.cell + render.PAD + (col + 0.5) / w * grid.cell
        y = grid.top + render.PAD + (row + 0.5) / h * grid.cell
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
    page.wait_for_function(f"{HOVERS} >= {before + 12}")
    channel = int(grid.channels[1])
    text = wait_for_text(page, "#cnn-maps .readout", re.escape(f"conv1[{channel}, {row}, 11]"))
    assert f"= {float(maps[channel, row, 11]):.4g}" in text
    assert "rows 4–6, columns 10–12 of the layer's input (1×28×28), a 3×3 window, stride 1×1, padding 1×1" in text
    assert requests == []
    # The window's outline: orange on the overlay, around the input's rows 4–6 and columns 10–12 of that tile.
    x0 = (render.PAD + grid.cell + render.PAD + 10 / w * grid.cell) * scale
    y0 = (grid.top + render.PAD + 4 / h * grid.cell) * scale
    orange = page.evaluate("""([x, y]) => {
        const c = document.querySelector('#cnn-feature-grid canvas'), r = window.devicePixelRatio || 1;
        const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r) + 4, 1, 1).data;
        return [d[0], d[1], d[2], d[3]]; }""", [x0, y0])
    assert orange[3] > 0 and orange[0] > 200 and orange[2] < 100, orange
    page.screenshot(path=str(screenshot_dir / "cnn_maps_hover.png"), full_page=False)
    narrow(page, "#cnn-prediction", screenshot_dir / "cnn_prediction_800.png")

    # pool1: each cell reads a 2×2 window with stride 2 of relu2's 32×28×28 maps.
    grid_before = img_src(page, "#cnn-feature-grid")
    choose(page, "cnn-layer", "pool1")
    wait_for_new_image(page, "#cnn-feature-grid", grid_before)
    page.wait_for_function("() => document.querySelector('#cnn-feature-grid img')?.naturalWidth > 0")
    view = net.feature_view(img, "cnn", "pool1", 16, "map")
    grid, maps = view.grid, view.acts.maps["pool1"]
    _, h, w = maps.shape
    box = shown.bounding_box()
    scale = box["width"] / shown.evaluate("i => i.naturalWidth")
    requests.clear()  # the layer's own round trip is over
    page.mouse.move(box["x"] + (render.PAD + 2.5 / w * grid.cell) * scale,
                    box["y"] + (grid.top + render.PAD + 3.5 / h * grid.cell) * scale)
    channel = int(grid.channels[0])
    text = wait_for_text(page, "#cnn-maps .readout", re.escape(f"pool1[{channel}, 3, 2]"))
    assert f"= {float(maps[channel, 3, 2]):.4g}" in text
    assert "rows 6–7, columns 4–5 of the layer's input (32×28×28), a 2×2 window, stride 2×2, padding 0×0" in text
    assert requests == []
    page.locator("#cnn-feature-grid").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_maps_hover_pool1.png"), full_page=False)
    page.set_viewport_size({"width": 800, "height": 1000})
    shown.scroll_into_view_if_needed()
    box = shown.bounding_box()
    scale = box["width"] / shown.evaluate("i => i.naturalWidth")
    page.mouse.move(box["x"] + (render.PAD + 2.5 / w * grid.cell) * scale,
                    box["y"] + (grid.top + render.PAD + 6.5 / h * grid.cell) * scale)
    wait_for_text(page, "#cnn-maps .readout", re.escape(f"pool1[{channel}, 6, 2]"))
    page.screenshot(path=str(screenshot_dir / "cnn_maps_hover_800.png"), full_page=False)
