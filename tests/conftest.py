"""Session fixtures shared by the api, browser and deploy tests: one real app.py server on a free port, a client,
and one Chromium."""
from pathlib import Path

import pytest

from benchmarks.server import start_app
from core import settings

START_TIMEOUT = 120  # seconds; a cold start on a busy 2-core machine imports torch, gradio and plotly
CHROMIUM = Path("/usr/bin/chromium")


def required(tool: Path, install: str) -> None:
    """Skip the test when the Debian program `tool` it drives is missing, or fail with GLASSBOX_REQUIRE_BROWSER=1
    (CI, whose .ci/run installs them)."""
    if tool.exists():
        return
    message = f"{tool.name} is not installed at {tool} ({install})."
    if settings.REQUIRE_BROWSER.get():
        pytest.fail(message + " GLASSBOX_REQUIRE_BROWSER=1, so this is a failure.")
    pytest.skip(message)


@pytest.fixture(scope="session")
def server():
    """`python app.py --port N` offline, as a person would run it; yields it (url, log) once it answers HTTP 200."""
    try:
        app = start_app(START_TIMEOUT)
    except RuntimeError as e:
        pytest.fail(str(e))
    yield app
    app.stop()


@pytest.fixture(scope="session")
def server_url(server):
    return server.url


@pytest.fixture(scope="session")
def client(server_url):
    from gradio_client import Client
    return Client(server_url, verbose=False)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through playwright, one for the session (playwright's sync API runs one at a time)."""
    required(CHROMIUM, "apt-get install chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()
