"""explorers/widgets/glassbox.js in Chromium, on a small app of its own served under a sub-path (as behind a proxy
or on a Space): a widget's first drawing uses core.render's colours, gb.call reaches the app's gr.api endpoint
through the page's own root and brings back gr.Error's message, gb.latest keeps one request in flight, the
newest winning, and gb.stream reads a generator endpoint's messages as they come, brings back gr.Error's message
and, aborted, closes the stream so that the server stops the generator."""
import itertools
import socket
import threading
import time
from collections.abc import Iterator
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
    """What the endpoint saw: the arguments in order and the most calls it had at once; and when the endless
    generator was stopped."""
    def __init__(self):
        self.lock, self.args, self.running, self.most = threading.Lock(), [], 0, 0
        self.stopped = threading.Event()


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

    def count_to(n: int) -> Iterator[int]:
        """1, 2 ... n, one message each; a negative n is refused after the first.

        Parameters:
            n: how far to count

        Returns:
            each number"""
        for i in range(1, max(n, 1) + 1):
            yield i
            if n < 0:
                raise gr.Error(f"n must be at least 0, not {n}.")

    def endless() -> Iterator[int]:
        """0, 1, 2 ... every 20 ms until the reader goes away.

        Returns:
            each number"""
        try:
            for i in itertools.count():
                yield i
                time.sleep(0.02)
        finally:
            calls.stopped.set()

    with gr.Blocks() as demo:
        widget(PROBE, "probe", {"grid": packed(np.array([[0.0, 1.0]]))}, colormaps=("Viridis",))
        gr.api(slow_echo, api_name="slow_echo")
        gr.api(count_to, api_name="count_to")
        gr.api(endless, api_name="endless")
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



def test_a_refused_call_brings_back_the_servers_one_line_answer(browser, sub_path_url):
    """A POST the server refuses (explorers.fairness: HTTP 429 with {"detail": ...}) rejects gb.call and gb.stream
    with that line, which a widget shows; an answer without one still names the endpoint and the status."""
    url, _ = sub_path_url
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_function("() => window.glassbox?.call")
    refusal = "You already have 16 requests waiting or running; wait for one to finish before sending another."
    page.route("**/gradio_api/call/slow_echo", lambda route: route.fulfill(status=429, json={"detail": refusal}))
    page.route("**/gradio_api/call/count_to", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    caught = "([name, args]) => window.glassbox.call(name, args).then(() => null, (e) => e.message)"
    assert page.evaluate(caught, ["slow_echo", [1]]) == refusal
    assert page.evaluate(caught, ["count_to", [1]]) == "count_to: HTTP 502"
    streamed = "() => window.glassbox.stream('slow_echo', [1], () => {}).done.then(() => null, (e) => e.message)"
    assert page.evaluate(streamed) == refusal
    page.close()

# A gb.stream of NAME(...args) kept in window.probeStreams[KEY]: its messages, its end or error, and its abort.
STREAM = """([key, name, args]) => {
  const got = {messages: [], ended: false, error: null};
  const stream = window.glassbox.stream(name, args, (m) => got.messages.push(m));
  stream.done.then(() => { got.ended = true; }, (e) => { got.error = e.message; });
  (window.probeStreams ??= {})[key] = {got, abort: stream.abort};
}"""


def test_stream_reads_a_generators_messages_and_closes_it(browser, sub_path_url):
    url, calls = sub_path_url
    page = browser.new_page()
    page.set_default_timeout(30_000)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/gradio_api/call/" in r.url else None)
    page.goto(url)
    page.wait_for_function("() => window.glassbox?.stream")
    got = "(key) => window.probeStreams[key].got"

    # Each message as it comes, and the final one (gradio repeats the last value there); one POST and one GET.
    page.evaluate(STREAM, ["three", "count_to", [3]])
    page.wait_for_function(f"() => ({got})('three').ended")
    assert page.evaluate(got, "three") == {"messages": [1, 2, 3, 3], "ended": True, "error": None}
    assert len(requests) == 2

    # gr.Error's message after the first message.
    page.evaluate(STREAM, ["refused", "count_to", [-2]])
    page.wait_for_function(f"() => ({got})('refused').error")
    assert page.evaluate(got, "refused") == {"messages": [1], "ended": False,
                                               "error": "n must be at least 0, not -2."}

    # Aborted, the stream ends quietly and the server stops the endless generator.
    page.evaluate(STREAM, ["endless", "endless", []])
    page.wait_for_function(f"() => ({got})('endless').messages.length >= 5")
    assert not calls.stopped.is_set()
    page.evaluate("() => window.probeStreams.endless.abort()")
    page.wait_for_function(f"() => ({got})('endless').ended")
    assert calls.stopped.wait(60), "the server kept iterating a generator nobody read"
    assert page.evaluate(got, "endless")["error"] is None
    page.close()


# Every label gb.axis writes, with where it starts and ends along its axis (x for a bottom axis, y for a left one).
AXIS_LABELS = """([side, lo, hi, count, log]) => {
  const gb = window.glassbox, ctx = document.createElement('canvas').getContext('2d'), drawn = [];
  const fillText = ctx.fillText.bind(ctx);
  ctx.fillText = (text, x, y) => {
    const m = ctx.getTransform(), w = ctx.measureText(text).width;
    const at = side === 'bottom' ? m.e : m.f;
    drawn.push({text, from: side === 'bottom' ? at - w / 2 : at - 5, to: side === 'bottom' ? at + w / 2 : at + 5});
    fillText(text, x, y);
  };
  const scale = gb.axis(ctx, {side, x: 10, y: 10, length: 200, lo, hi, count, log, font: '10px sans-serif'});
  return {drawn, ends: [scale(lo), scale(hi)]};
}"""


def test_axis_ticks_are_round_and_labels_never_overlap(browser, sub_path_url):
    """gb.ticks picks round values (1, 2 or 5 times a power of ten apart; decades on a log scale); gb.axis maps lo
    and hi to the axis's ends (hi at the top of a vertical one) and leaves out labels that would overlap."""
    url, _ = sub_path_url
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_function("() => window.glassbox?.axis")
    ticks = page.evaluate("""() => [window.glassbox.ticks(0, 1), window.glassbox.ticks(-2.7, 3.1),
                                    window.glassbox.ticks(0, 1000), window.glassbox.ticks(1e-8, 1e4, 3, true),
                                    window.glassbox.ticks(0.1, 0.3, 4)]""")
    assert ticks == [[0, 0.2, 0.4, 0.6, 0.8, 1], [-2, -1, 0, 1, 2, 3], [0, 200, 400, 600, 800, 1000],
                     [1e-8, 1e-4, 1, 1e4], [0.1, 0.15, 0.2, 0.25, 0.3]]

    bottom = page.evaluate(AXIS_LABELS, ["bottom", 0, 1, 5, False])
    assert bottom["ends"] == [10, 210]
    assert [d["text"] for d in bottom["drawn"]] == ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    left = page.evaluate(AXIS_LABELS, ["left", 1e-8, 1e4, 3, True])
    assert left["ends"] == [210, 10]  # hi at the top, so the labels are written from the top down
    assert [d["text"] for d in left["drawn"]] == ["1e4", "1", "1e-4", "1e-8"]

    # 100 ticks on 200 px: only labels that fit are written, and none overlaps the next.
    crowded = page.evaluate(AXIS_LABELS, ["bottom", 0, 100000, 100, False])
    spans = sorted((d["from"], d["to"]) for d in crowded["drawn"])
    assert 2 <= len(spans) < 100
    assert all(a_to <= b_from for (_, a_to), (b_from, _) in itertools.pairwise(spans))
    page.close()
