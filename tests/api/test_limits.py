"""Request bodies larger than the upload limit are refused with 413 before the server reads them, whether they
say their length or stream it, and the server keeps answering."""
import time

import httpx

import app

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
        asyncio.run(app.BodyLimit(inner, limit=10)({"type": "http", "headers": headers}, receive, send))
        return sent[0]["status"]

    assert call([(b"content-length", b"8")], [b"12345678"]) == 200
    assert call([(b"content-length", b"11")], [b"12345678901"]) == 413
    assert call([(b"content-length", b"many")], [b"1"]) == 413
    assert call([], [b"123456", b"123456"]) == 413  # no length given: refused once the stream passes 10 bytes
    assert seen == [8, 6]  # the app saw only what was under the limit
