"""Session fixtures shared by the api and browser tests: one real app.py server on a free port, and a client."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120  # seconds; a cold start on a busy 2-core machine imports torch, gradio and plotly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def server_url():
    """`python app.py --port N` offline, as a person would run it; yields its URL once it answers HTTP 200."""
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="glassbox-app-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env=os.environ | {"GLASSBOX_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"app.py did not answer on {url} within {START_TIMEOUT} s; its log:\n{log.read()[-4000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def client(server_url):
    from gradio_client import Client
    return Client(server_url, verbose=False)
