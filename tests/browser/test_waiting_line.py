"""The GAN tab's waiting line for training, in Chromium, as a classroom meets it: on a server with two training
slots, five visitors (five browser contexts) press play in turn; the first two train, the other three read their
place in line, in the status line and in the 2-D view; when the first two pause, the third and fourth start by
themselves and the fifth moves up to first in line."""
import pytest

from benchmarks.server import start_app
from tests.browser.test_convolution import wait_for_text
from tests.browser.test_gan_tab import VIEW, press, screenshots, wait_for_counts

VIEW_STATUS = f"{VIEW} .gan-view-status"
WAITING = "Waiting for a training slot: you are number {} in line"
TRAINING = "^Training…"


@pytest.fixture(scope="module")
def two_slots_url():
    """A server of its own with two training slots, whatever the machine's default: the session's server is shared
    with tests whose runs would take slots."""
    app = start_app(120, env={"GLASSBOX_MAX_TRAINING": "2"})
    yield app.url
    app.stop()


def visitor(browser, url):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)   # five pages and two training runs share a busy 2-core machine
    page.goto(url)
    page.wait_for_selector("#gb-device", state="visible")
    page.get_by_role("tab", name="GAN", exact=True).click()
    wait_for_counts(page, (0, 0, 0))
    return context, page


def test_five_visitors_beyond_two_slots_wait_in_line_and_start_by_themselves(browser, two_slots_url, screenshot_dir):
    visitors = [visitor(browser, two_slots_url) for _ in range(5)]
    pages = [page for _, page in visitors]
    try:
        for n, page in enumerate(pages, 1):   # one after another, so the line's order is theirs
            page.locator("#gan-play").click()
            if n <= 2:
                wait_for_text(page, VIEW_STATUS, TRAINING)
            else:
                wait_for_text(page, "#gan-status", WAITING.format(n - 2))
                wait_for_text(page, VIEW_STATUS, WAITING.format(n - 2))
        screenshots(pages[4], screenshot_dir, "gan_waiting_line")
        for page in pages[:2]:
            press(page, "#gan-pause")
            wait_for_text(page, VIEW_STATUS, "^Paused\\.")
        for page in pages[2:4]:   # their turn came: they start with nobody pressing anything
            wait_for_text(page, VIEW_STATUS, TRAINING)
        wait_for_text(pages[4], VIEW_STATUS, WAITING.format(1))
        press(pages[4], "#gan-pause")   # pause leaves the line
        wait_for_text(pages[4], VIEW_STATUS, "^Paused\\.")
        wait_for_text(pages[4], "#gan-status", "^Paused\\.")
        for page in pages[2:4]:
            press(page, "#gan-pause")
            wait_for_text(page, "#gan-status", "^Paused\\.")
    finally:
        for context, _ in visitors:
            context.close()
