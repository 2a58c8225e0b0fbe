"""explorers/widgets/glassbox.js in Chromium, on a small app of its own served under a sub-path (as behind a proxy
or on a Space): a widget's first drawing uses core.render's colours, gb.call reaches the app's gr.api endpoint
through the page's own root and brings back gr.Error's message, and gb.latest keeps one request in flight, the
newest winning."""
import socket
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from core import render
from explorers.widgets import packed, widget

PROBE = Path(__file__).with_name("widget_probe") / "probe"


class Calls:
    """What the endpoint saw: the arguments in order and the most calls it had at once."""
    def __init__(self):
        self.lock, self.args, self.running, self.most = threading.Lock(), [], 0, 0


def probe_app(calls: Calls) -> gr.Blocks:
    def slow_echo(x: float) -> float:
        """Echoes x after a short wait, so that pointer moves arrive while it works.

        Parameters:
            x: a number; a negative one is refused with a message

        Returns:
            x"""
        with calls.lock:
            calls.args.append(x)
            calls.running += 1
            calls.most = max(calls.most, calls.running)
        try:
            time.sleep(0.2)  # stands in for a model's work: the moves sent meanwhile must not pile up
            if x < 0:
                raise gr.Error(f"x must be at least 0, not {x}.")
            return x
        finally:
            with calls.lock:
                calls.running -= 1

    with gr.Blocks() as demo:
        widget(PROBE, "probe", {"grid": packed(np.array([[0.0, 1.0]]))}, colormaps=("Viridis",))
        gr.api(slow_echo, api_name="slow_echo")
    return demo


@pytest.fixture(scope="module")
def sub_path_url():
    """The probe app mounted at /tools/probe of a FastAPI app on a free port; its URL."""
    calls = Calls()
    app = gr.mount_gradio_app(FastAPI(), probe_app(calls).queue(default_concurrency_limit=4), path="/tools/probe")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the probe app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/tools/probe", calls
    server.should_exit = True
    thread.join(timeout=10)


def test_widget_draws_and_calls_endpoints_under_a_sub_path(browser, sub_path_url):
    url, calls = sub_path_url
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_function("() => document.querySelector('#probe')?.glassboxView")
    assert page.evaluate("() => performance.getEntriesByName('probe:drawn').length") == 1
    first = page.evaluate("() => document.querySelector('#probe').glassboxView.first")
    assert first == render.colormap("Viridis")[0].tolist()  # the value 0 in the server's own colour map

    # Twenty moves while the first answer is being computed: one request runs at a time, and of the moves sent
    # meanwhile only the newest is asked next.
    page.evaluate("() => { for (let i = 1; i <= 20; i++) window.probeAsk(i); }")
    page.wait_for_function("() => document.querySelector('#probe').glassboxView.answers.length === 2")
    assert page.evaluate("() => document.querySelector('#probe').glassboxView.answers") == [1, 20]
    assert calls.args == [1, 20] and calls.most == 1

    page.evaluate("() => window.probeAsk(-3)")
    page.wait_for_function("() => document.querySelector('#probe .error').textContent !== ''")
    assert page.locator("#probe .error").text_content() == "x must be at least 0, not -3."
    page.close()
