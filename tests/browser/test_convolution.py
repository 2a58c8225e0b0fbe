"""The Convolution tab in Chromium: a preset kernel on a photo, the step-through sum, the play control, pooling."""
import re

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.convolution import conv
from core.convolution.kernel_figures import fmt
from core.data import load_sample
from explorers.convolution.playground import DEFAULT_FASHION_INDEX, PHOTOS, SOURCES

LAPLACIAN = conv.preset("Laplacian 3x3")


KERNEL, NETWORK = "A kernel on an image", "Inside a trained CNN"  # the tab's inner tabs


def open_tab(page, section: str = KERNEL):
    """The Convolution tab's inner tab `section`, once its main picture is shown (gradio builds an inner tab's
    views when it is first opened)."""
    page.get_by_role("tab", name="Convolution").click()
    page.get_by_role("tab", name=section, exact=True).click()
    page.wait_for_selector("#conv-output-image img" if section == KERNEL else "#cnn-overview img", state="visible")


# An option is shown when it has a box and is not hidden (Playwright's own test; the lists are position: fixed, so
# offsetParent says nothing).
OPEN_LIST = ("() => [...document.querySelectorAll('[role=option]')]"
             ".some(o => o.getClientRects().length > 0 && getComputedStyle(o).visibility !== 'hidden')")


def choose(page, dropdown_id: str, option: str):
    """Open the dropdown and click the option in its list. Another dropdown's list can stay open after its choice
    (two lists then hold the same option), so any open list is closed first by a click away from it."""
    if page.evaluate(OPEN_LIST):
        page.mouse.click(5, 5)
        page.wait_for_function(f"() => !({OPEN_LIST})()", timeout=10_000)
    page.locator(f"#{dropdown_id} input").click()
    page.get_by_role("option", name=option, exact=True).locator("visible=true").click()


def set_slider(page, slider_id: str, value: int):
    """Type into the slider's number box and leave it, which is how a person commits a value (a release)."""
    box = page.locator(f"#{slider_id} input[type=number]")
    box.fill(str(value))
    box.press("Tab")


def wait_for_text(page, selector: str, pattern: str):
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel)?.innerText ?? '')",
                           arg=[selector, pattern])
    return page.locator(selector).inner_text()


def expected_laplacian_range():
    """The default photo in grayscale, zero padding 1, through F.conv2d directly (independent of the app)."""
    gray = np.asarray(Image.open(PHOTOS[SOURCES[0]]).convert("L"), dtype=np.float32) / 255.0
    out = F.conv2d(torch.from_numpy(gray)[None, None], torch.tensor(LAPLACIAN, dtype=torch.float32)[None, None],
                   padding=1)
    return float(out.min()), float(out.max())


def test_preset_kernel_on_the_photo(app_page, screenshot_dir):
    page = app_page
    open_tab(page)
    before = page.locator("#conv-output-image img").get_attribute("src")
    # No Run button: a preset's new grid runs the kernel, as every other setting does.
    assert page.locator("#conv-run, #conv-pool-run").count() == 0
    choose(page, "conv-preset", "Laplacian 3x3")
    page.wait_for_function("() => document.querySelector('#conv-kernel-grid').innerText.includes('4')")
    page.wait_for_function("(old) => document.querySelector('#conv-output-image img')?.src !== old", arg=before)
    lo, hi = expected_laplacian_range()
    info = wait_for_text(page, "#conv-output-info", re.escape(f"min {fmt(lo)}, max {fmt(hi)}"))
    assert "Output 512 × 512" in info and "floor((512 + 2·1 − 1·(3 − 1) − 1) / 1) + 1 = 512" in info
    page.wait_for_function("() => document.querySelector('#conv-output-image img')?.naturalWidth > 0")
    size = page.locator("#conv-output-image img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [512, 512]
    assert page.locator("#conv-histogram .js-plotly-plot").count() == 1
    page.locator("#conv-output-image").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "convolution_kernel.png"), full_page=False)


def test_a_blur_is_shown_min_max_not_washed_out(app_page, screenshot_dir):
    """Box blur has no negative weight: its preset sets the display to min-max (0 black, max white), where the signed
    display drew the blurred photo as pale grey around its white 0; Sobel x brings the signed display back."""
    page = app_page
    open_tab(page)
    assert page.locator("#conv-display input[value=signed]").is_checked()
    choose(page, "conv-preset", "box blur 3x3")
    info = wait_for_text(page, "#conv-output-info", "min-max")
    assert "Colours: min-max (over all pixels)" in info
    assert page.locator("#conv-display input[value=minmax]").is_checked()
    page.locator("#conv-output-image").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "convolution_blur.png"), full_page=False)
    choose(page, "conv-preset", "Sobel x 3x3")
    wait_for_text(page, "#conv-output-info", "signed diverging")
    assert page.locator("#conv-display input[value=signed]").is_checked()


def expected_cell(row: int, col: int) -> float:
    """Output (row, col) of the default step-through: the Laplacian, zero padding 1, on the default patch."""
    patch, _, _ = conv.contrast_patch(load_sample("test").images[DEFAULT_FASHION_INDEX], 7)
    out = F.conv2d(torch.tensor(patch)[None, None], torch.tensor(LAPLACIAN)[None, None], padding=1)
    return float(out[0, 0, row, col])


def test_step_through_shows_the_sum(app_page, screenshot_dir):
    page = app_page
    open_tab(page)
    set_slider(page, "conv-arith-row", 3)
    wait_for_text(page, "#conv-arith-sum", re.escape("output[3, "))
    set_slider(page, "conv-arith-col", 2)
    text = wait_for_text(page, "#conv-arith-sum", re.escape("output[3, 2] = "))
    value = fmt(expected_cell(3, 2))
    assert f"output[3, 2] = {value}" in text
    assert f"computed output[3, 2] = {value}" in text
    # The written-out sum has the nine products, and it ends in the same value.
    assert text.count(")(") == 9 and f"= {value}\n" in text + "\n"
    page.locator("#conv-arith-figure").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "convolution_step_through.png"), full_page=False)


def test_play_walks_the_positions(app_page):
    page = app_page
    open_tab(page)
    set_slider(page, "conv-arith-row", 0)
    wait_for_text(page, "#conv-arith-sum", re.escape("output[0, "))
    set_slider(page, "conv-arith-col", 0)
    wait_for_text(page, "#conv-arith-sum", re.escape("output[0, 0] = "))
    page.locator("#conv-arith-play").click()
    text = wait_for_text(page, "#conv-arith-sum", re.escape("output[0, 2] = "))
    page.locator("#conv-arith-stop").click()
    assert f"output[0, 2] = {fmt(expected_cell(0, 2))}" in text


def test_the_step_through_opens_on_the_first_cell_and_says_one_stride_range(app_page, screenshot_dir):
    """It opens on output (0, 0), where Play's walk starts; the stride box's range is the one the convolution
    checks (1 to conv.MAX_STRIDE), so a 0 is clamped with that range named, and a combination that makes no
    output (a dilated kernel wider than the padded matrix) is flagged in place of the sum."""
    page = app_page
    open_tab(page)
    assert wait_for_text(page, "#conv-arith-sum", re.escape("output[0, 0] = ")).startswith("output[0, 0] = ")
    box = page.locator("#conv-arith-stride input[type=number]")
    assert (box.get_attribute("min"), box.get_attribute("max")) == ("1", str(conv.MAX_STRIDE))
    set_slider(page, "conv-arith-stride", 0)
    toast = wait_for_text(page, ".toast-message-text", "Stride")
    assert f"Stride (step-through) takes whole numbers from 1 to {conv.MAX_STRIDE}: 0 is too small" in toast
    set_slider(page, "conv-arith-padding", 0)
    wait_for_text(page, "#conv-arith-sum", re.escape("floor((7 + 2·0 − 1·(3 − 1) − 1) / 1) + 1 = 5"))
    set_slider(page, "conv-arith-dilation", 4)
    text = wait_for_text(page, "#conv-arith-sum", "Invalid combination")
    assert "The kernel does not fit: a 3x3 kernel at dilation 4 spans 9x9" in text
    set_slider(page, "conv-arith-dilation", 1)
    wait_for_text(page, "#conv-arith-sum", re.escape("computed output["))


def test_pooling_and_explain(app_page, screenshot_dir):
    page = app_page
    open_tab(page)
    page.get_by_label("avg").check()
    info = wait_for_text(page, "#conv-pool-info", "avg pooling")
    assert "floor((7 + 2·0 − 1·(2 − 1) − 1) / 2) + 1 = 3" in info
    page.get_by_label("the image").check()
    page.wait_for_selector("#conv-pool-image img", state="visible")
    assert "floor((512 + 2·0 − 1·(2 − 1) − 1) / 2) + 1 = 256" in wait_for_text(page, "#conv-pool-info", "512×512")
    page.wait_for_function("() => document.querySelector('#conv-pool-image img')?.naturalWidth === 256")
    page.locator("#conv-pool-image").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "convolution_pool.png"), full_page=False)
    page.locator("#conv-explain").get_by_text("Explain").click()
    explain = wait_for_text(page, "#conv-explain-text", "flat region")
    assert "F.max_pool2d" in explain and "zero-crossing" in explain
    assert page.locator("#conv-explain-text .katex").count() > 3
    page.locator("#conv-explain").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "convolution_explain.png"), full_page=False)


def edit_cell(page, grid_id: str, row: int, col: int, text: str):
    """Type into one cell of a gr.Dataframe and press Enter, as a person does."""
    page.locator(f"#{grid_id} [data-row='{row}'][data-col='{col}']").first.dblclick()
    page.locator(f"#{grid_id}").get_by_label("Edit cell").fill(text)
    page.keyboard.press("Enter")


def test_an_upload_and_an_edited_kernel_say_what_they_are(app_page, screenshot_dir, tmp_path):
    """An upload clears the Input choice and the note describes it; an edited kernel's note says it is your own
    (its size and weight sum); a cell that is not a number is said once, under the grid, and the output stays."""
    page = app_page
    open_tab(page)
    photo = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (300, 451, 3), dtype=np.uint8)).save(photo)
    before = page.locator("#conv-output-image img").get_attribute("src")
    page.locator("#conv-input-image input[type=file]").set_input_files(str(photo))
    wait_for_text(page, "#conv-source-note", re.escape("Your image, 300 × 451 (height × width, as the output counts)"))
    assert page.locator("#conv-source input[type=radio]:checked").count() == 0
    info = wait_for_text(page, "#conv-output-info", "Output 300 × 451")
    assert "from an input of 300 × 451" in info
    page.wait_for_function("(old) => document.querySelector('#conv-output-image img')?.src !== old", arg=before)

    # Sobel x, the default, with its centre-right 2 made 3: the note names it as edited, with its sum.
    assert "col 0" in page.locator("#conv-kernel-grid").inner_text()
    before = page.locator("#conv-output-image img").get_attribute("src")
    edit_cell(page, "conv-kernel-grid", 1, 2, "3")
    note = wait_for_text(page, "#conv-preset-note", "Your own kernel")
    assert "3×3, edited from Sobel x 3x3: its weights sum to 1" in note
    page.wait_for_function("(old) => document.querySelector('#conv-output-image img')?.src !== old", arg=before)

    # A cell that is not a number: the note under the grid says so, the output stays, no toast, no Error badge.
    before = page.locator("#conv-output-image img").get_attribute("src")
    edit_cell(page, "conv-kernel-grid", 0, 0, "abc")
    note = wait_for_text(page, "#conv-preset-note", "is 'abc'")
    assert "kernel row 0, column 0 is 'abc': type a number such as 2, -0.5 or 1/9." in note
    assert "The output keeps the last kernel that worked." in note
    page.wait_for_timeout(1500)  # the kernel's own run has answered by now
    assert not page.locator(".toast-message-text").all_inner_texts()
    assert page.locator("#conv-output-image img").get_attribute("src") == before
    assert not page.locator("#conv-output-image .error, #conv-output-info .error").count()
    assert "Error" not in page.locator("#conv-output-image").inner_text()
    page.locator("#conv-kernel-grid").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "convolution_edited_kernel.png"), full_page=False)
