"""A restart is visible: a page whose server went away while a GAN 2-D run played says so on the view and its
status line, and what to press, instead of "Training…" for ever; so does a page whose diffusion run was streaming its
steps through a gradio event ("Step 9 of 1000 … running"). The server is this test's own (stopping it must not stop
the shared one)."""
import pytest

from benchmarks.server import start_app
from tests.browser.test_convolution import wait_for_text
from tests.browser.test_gan_tab import VIEW
from tests.browser.test_number_boxes import settle

GONE = "The server stopped or restarted: reload the page to go on."   # glassbox.js's gb.GONE
STATUS = f"{VIEW} .gan-view-status"


@pytest.fixture
def own_server():
    try:
        app = start_app(120)
    except RuntimeError as e:
        pytest.fail(str(e))
    yield app
    app.stop()


def test_a_playing_view_says_the_server_went_away(browser, own_server, screenshot_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(own_server.url)
    page.wait_for_selector("#gb-device", state="visible", timeout=120_000)
    page.get_by_role("tab", name="GAN", exact=True).click()
    page.wait_for_selector(f"{VIEW} canvas.gan-view-plane", state="visible")
    settle(page)   # the tab's opening event has drawn the picture: its answer would overwrite a play's
    page.locator("#gan-play").click()
    wait_for_text(page, STATUS, "Training…")
    # the stream is open: a frame beyond the play's first has been drawn (the play's worker process may still be
    # importing torch: beside a second copy of the suite, that took over a minute)
    page.wait_for_function("() => performance.getEntriesByName('gan-2d-view:drawn').length > 3", timeout=240_000)

    # a second visitor's DDIM-1000 run, its steps streamed by gradio's own event into the status line
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.set_default_timeout(180_000)   # its first run loads the UNet
    other.goto(own_server.url)
    other.wait_for_selector("#gb-device", state="visible", timeout=120_000)
    other.get_by_role("tab", name="Diffusion", exact=True).click()
    other.get_by_role("tab", name="Reverse process", exact=True).click()
    steps = other.locator("#diff-steps input[type=number]")
    steps.fill("1000")
    steps.press("Enter")
    other.locator("#diff-run").click()
    wait_for_text(other, "#diff-status", "of 1000 .* running")

    own_server.stop()
    wait_for_text(page, STATUS, GONE)
    assert "gb-alarm" in page.locator(STATUS).get_attribute("class")
    assert "Training" not in page.locator(STATUS).inner_text()
    # gradio's own status lines, which it never clears, once gradio's page has seen its connection go
    wait_for_text(page, "#gan-status", GONE)
    assert wait_for_text(other, "#diff-status", GONE) == GONE
    other.screenshot(path=str(screenshot_dir / "diffusion_server_gone_1400.png"))
    other.close()
    for width in (1400, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        page.locator(VIEW).scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"gan_server_gone_{width}.png"))
    page.close()
