"""The trained-CNN section of the Convolution tab in Chromium: a gallery sample, a layer, the feature-map grid, the
prediction chart, a clicked channel, the temperature, and Grad-CAM."""
import re

import numpy as np
from PIL import Image

from core import probability
from core.convolution import features, vision_models
from core.data import CLASSES, load_sample
from tests.browser.test_convolution import choose, open_tab, set_slider, wait_for_text

SNEAKER = CLASSES.index("Sneaker")


def first_of_class(c: int) -> Image.Image:
    s = load_sample("test")
    return Image.fromarray(s.images[int(np.flatnonzero(s.labels == c)[0])])


def img_src(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def wait_for_new_image(page, selector: str, old: str):
    page.wait_for_function("([sel, old]) => { const i = document.querySelector(sel + ' img');"
                           " return i && i.src !== old && i.naturalWidth > 0; }", arg=[selector, old])


def test_gallery_layer_prediction_gradcam(app_page, screenshot_dir):
    page = app_page
    open_tab(page)
    page.locator("#cnn-gallery").scroll_into_view_if_needed()
    grid_before = img_src(page, "#cnn-feature-grid")

    # A gallery sample becomes the input; the prediction follows.
    page.locator("#cnn-gallery .thumbnail-item").nth(SNEAKER).click()
    note = wait_for_text(page, "#cnn-prediction-note", "Prediction: \\*?\\*?Sneaker|Prediction: Sneaker")
    wait_for_text(page, "#cnn-input-note", "Fashion-MNIST test sample: Sneaker")
    acts = features.run(vision_models.load("cnn"), first_of_class(SNEAKER))
    p = probability.softmax(acts.logits)
    assert f"p = {p[SNEAKER]:.3f} at T = 1" in note
    assert page.locator("#cnn-prediction .js-plotly-plot").count() == 1
    assert "Sneaker" in page.locator("#cnn-prediction").inner_text()
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
    assert page.locator("#cnn-channel-plot .js-plotly-plot").count() == 1
    page.locator("#cnn-feature-grid").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_feature_maps.png"), full_page=False)

    # Temperature 5 flattens the prediction and says so.
    set_slider(page, "cnn-temperature", 5)
    hot = probability.softmax(acts.logits, 5.0)
    wait_for_text(page, "#cnn-prediction-note", re.escape(f"p = {hot[SNEAKER]:.3f} at T = 5"))
    page.locator("#cnn-prediction").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_prediction.png"), full_page=False)

    # Grad-CAM for the predicted class.
    page.locator("#cnn-gradcam-on input").check()
    cam = wait_for_text(page, "#cnn-gradcam-note", "Grad-CAM for")
    assert "Sneaker" in cam and "relu6: a 7×7 map" in cam
    page.wait_for_function("() => document.querySelector('#cnn-gradcam img')?.naturalWidth >= 224")
    page.locator("#cnn-overview").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_overview.png"), full_page=False)
    page.locator("#cnn-gradcam").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "cnn_gradcam.png"), full_page=False)
