"""Session fixtures shared by the api and browser tests: one real app.py server on a free port, and a client."""
import pytest

from benchmarks.server import start_app

START_TIMEOUT = 120  # seconds; a cold start on a busy 2-core machine imports torch, gradio and plotly


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
