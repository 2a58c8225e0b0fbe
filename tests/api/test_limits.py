"""Request bodies larger than the upload limit are refused with 413 before the server reads them, whether they
say their length or stream it, and the server keeps answering."""
import time
from pathlib import Path

import httpx

import app
from explorers import middleware

BIG = app.MAX_BODY_BYTES + 2**20


def test_a_body_over_the_limit_is_refused_by_its_length(server_url):
    t0 = time.monotonic()
    r = httpx.post(f"{server_url}/gradio_api/call/conv_pool", content=b"[" + b"1," * (BIG // 2) + b"1]",
                   headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 413 and "Request body too large" in r.text
    assert time.monotonic() - t0 < 30  # refused up front (it took 6 s to read and refuse 40 MB before)


def test_a_streamed_body_over_the_limit_is_refused(server_url):
    def chunks():  # no Content-Length: httpx sends a generator chunked
        yield b"["
        for _ in range(BIG // 2**16 + 1):
            yield b"1," * 2**15
        yield b"1]"
    r = httpx.post(f"{server_url}/gradio_api/call/conv_pool", content=chunks(), timeout=60,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_the_server_still_answers(client):
    r = client.predict(matrix=[[1, 2], [3, 4]], kind="max", size=2, stride=2, api_name="/conv_pool")
    assert r["output"] == [[4.0]]


def test_the_limit_alone():
    """BodyLimit on a tiny ASGI app: under the limit the app reads the body; over it, 413 and the app never
    sees the excess."""
    import asyncio

    seen = []

    async def inner(scope, receive, send):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # as starlette does: stop, and reply nothing that counts
                break
            seen.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def call(headers, bodies):
        sent, queue = [], list(bodies)

        async def receive():
            body = queue.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(queue)}

        async def send(message):
            sent.append(message)
        asyncio.run(middleware.BodyLimit(inner, limit=10)({"type": "http", "headers": headers}, receive, send))
        return sent[0]["status"]

    assert call([(b"content-length", b"8")], [b"12345678"]) == 200
    assert call([(b"content-length", b"11")], [b"12345678901"]) == 413
    assert call([(b"content-length", b"many")], [b"1"]) == 413
    assert call([], [b"123456", b"123456"]) == 413  # no length given: refused once the stream passes 10 bytes
    assert seen == [8, 6]  # the app saw only what was under the limit


def test_rest_calls_without_a_session_share_a_few_and_leave_none_behind():
    """gradio builds a session (a copy of every component's config) for each REST call that names none, and keeps
    it. Through the middleware such calls run in sessions lent from a pool (ApiSessions): one session serves calls
    one after another; calls in flight together each get their own session and their own answer; no more than
    `idle` sessions are kept; a call gradio named its session for (the v2 route) leaves none behind, nor does one
    that failed. Checked on real gradio, so a gradio that names or reads sessions differently fails here."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import gradio as gr
    from starlette.middleware import Middleware

    from benchmarks.server import free_port

    together = threading.Barrier(4, timeout=30)

    def double(x: int, meet: bool = False) -> int:
        if x < 0:
            raise gr.Error("no negative numbers")
        if meet:  # four calls in flight at once
            together.wait()
        return 2 * x

    with gr.Blocks() as demo:
        gr.Textbox()
        gr.api(double, api_name="double")
    demo.queue(default_concurrency_limit=4)
    sessions = middleware.ApiSessions(demo, idle=2)
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True,
                app_kwargs={"middleware": [Middleware(middleware.RestArguments, blocks=demo, sessions=sessions),
                                           Middleware(middleware.ForgetApiSessions, sessions=sessions)]})
    held = demo.state_holder.session_data
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/call/double"

        def call(x: int, meet: bool = False) -> str:
            event = httpx.post(url, json={"data": [x, meet]}, timeout=30).json()["event_id"]
            return httpx.get(f"{url}/{event}", timeout=30).text

        kept = httpx.post(url, json={"data": [1], "session_hash": "mine"})
        httpx.get(f"{url}/{kept.json()['event_id']}", timeout=30)
        for i in range(5):
            assert f"data: [{2 * i}]" in call(i)
        assert len(held) == 2 and "mine" in held  # a session its caller named is kept, and one served all five
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda i: call(i, True), range(10, 14)))
        assert [f"data: [{2 * i}]" in a for i, a in zip(range(10, 14), answers, strict=True)] == [True] * 4
        assert len(held) == 3  # four were lent at once; two wait in the pool, the others were dropped
        assert "no negative numbers" in call(-1)
        v2 = httpx.post(f"{url.replace('/call/', '/call/v2/')}", json={"x": 3}).json()["event_id"]
        assert "data: [6]" in httpx.get(f"{url.replace('/call/', '/call/v2/')}/{v2}", timeout=30).text
        assert len(held) == 3 and v2 not in held and not sessions.lent
    finally:
        demo.close()


def rest(url: str, name: str, body) -> httpx.Response:
    return httpx.post(f"{url}/gradio_api/call/{name}", json=body, timeout=60)


def result(url: str, name: str, response: httpx.Response) -> str:
    return httpx.get(f"{url}/gradio_api/call/{name}/{response.json()['event_id']}", timeout=60).text


def test_rest_values_left_out_take_their_defaults(server_url):
    """conv_pool's kind, size and stride default to max, 2 and 2, as gradio_client would fill them."""
    r = rest(server_url, "conv_pool", {"data": [[[1, 2], [3, 4]]]})
    assert r.status_code == 200
    assert '"output": [[4.0]]' in result(server_url, "conv_pool", r)


def test_rest_bodies_of_the_wrong_shape_get_one_short_line(server):
    """Too many values, a required one missing or `data` not a list: 422 with a short message naming the
    parameters, and no traceback in the log (gradio's own answer repeated every value sent, 100,000 characters
    of them, in the reply and in a 20-line log entry)."""
    long = "L" * 100_000
    log_before = Path(server.log_path).read_text()
    cases = [("conv_pool", {"data": [[[1]], "max", 2, 2, long]}, "takes at most 4 values"),
             ("conv_features", {"data": []}, "needs a value for image"),
             ("attention_text", {"data": long}, "one value per parameter: text, model, layer"),
             ("attention_text", [long], "one value per parameter")]
    for name, body, expected in cases:
        r = rest(server.url, name, body)
        assert r.status_code == 422 and expected in r.json()["detail"] and len(r.text) < 300, (name, r.text[:300])
    new_log = Path(server.log_path).read_text()[len(log_before):]
    assert "Traceback" not in new_log and long[:200] not in new_log



def test_a_rest_stream_left_early_does_not_lend_its_session_again():
    """gradio's result route streams every message of the call's session, and a stream its caller left (gradio
    then returns from it, as after the result) can leave its event's messages queued in the session: lent again,
    the next call would read them (a vae_decode_point call once got a GAN run's frames). So only a stream that
    carried its event's end gives its session back; the session of one that did not is dropped."""
    import asyncio
    import threading
    from types import SimpleNamespace

    held = {"rest-a": 1, "rest-b": 2}  # what ApiSessions reads of gradio's Blocks
    blocks = SimpleNamespace(state_session_capacity=10, state_holder=SimpleNamespace(
        lock=threading.Lock(), session_data=held, time_last_used={}))
    sessions = middleware.ApiSessions(blocks, idle=2)

    def stream(event: str, session: str, chunks: list[bytes]) -> None:
        sessions.started(event, session)

        async def result(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def ignore(message):
            pass
        scope = {"type": "http", "method": "GET", "path": f"/gradio_api/call/gan_2d_frames/{event}"}
        asyncio.run(middleware.ForgetApiSessions(result, sessions=sessions)(scope, None, ignore))

    stream("e1", "rest-a", [b"event: generating\ndata: [1]\n\n"])  # left after a frame
    assert sessions.waiting == [] and "rest-a" not in held and not sessions.lent
    stream("e2", "rest-b", [b"event: generating\ndata: [1]\n\n", b"event: complete\ndata: [2]\n\n"])
    assert sessions.waiting == ["rest-b"] and not sessions.lent
