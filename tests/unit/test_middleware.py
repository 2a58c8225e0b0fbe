"""explorers.middleware's refusals and quiet errors, on bare ASGI scopes: what reaches the app, what is refused, and
what is still raised whole."""
import asyncio
import concurrent.futures
import json
import logging
import traceback
import types

import pytest
from starlette.exceptions import HTTPException

from explorers import middleware as mw
from explorers.fairness import Fairness

OWN = (mw.__file__.rsplit("/", 1)[0] + "/",)  # the explorers package: the app's own code, not this test


def scope(path="/gradio_api/call/x", headers=(), root_path=""):
    return {"type": "http", "method": "POST", "path": path, "root_path": root_path,
            "headers": [(k.encode(), v.encode()) for k, v in headers]}


def served(layer, s) -> tuple[int, dict | None]:
    """The status a request gets through `layer` (200 when it reached the app) and the body of a refusal."""
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    # In a thread of its own: playwright's sync API (the browser tests, earlier in the same run) leaves an event
    # loop running in this one, where asyncio.run refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, layer(s, receive, send)).result()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, (json.loads(body) if status != 200 else None)


async def ok_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def failing(error):
    async def app(scope, receive, send):
        raise error
    return app


@pytest.mark.parametrize("headers", [
    [("host", "glassbox.example"), ("origin", "https://glassbox.example")],
    [("host", "GlassBox.Example:443"), ("origin", "https://glassbox.example")],
    [("host", "127.0.0.1:7860"), ("x-forwarded-host", "glassbox.example, proxy.internal"),
     ("origin", "https://glassbox.example")],
    [("host", "127.0.0.1:7860"), ("forwarded", 'for=1.2.3.4;host="glassbox.example";proto=https'),
     ("origin", "https://glassbox.example")],
    [("host", "127.0.0.1:7860")],  # no Origin: not a browser page's request (curl, gradio_client)
])
def test_the_pages_own_origin_passes_behind_a_proxy(headers):
    assert served(mw.Closed(ok_app), scope(headers=headers)) == (200, None)


def test_another_origin_is_refused_unless_listed():
    headers = [("host", "127.0.0.1:7860"), ("origin", "https://elsewhere.example")]
    status, body = served(mw.Closed(ok_app), scope(headers=headers))
    assert status == 403 and "elsewhere.example" in body["detail"]
    assert served(mw.Closed(ok_app, frozenset({"https://elsewhere.example"})), scope(headers=headers))[0] == 200
    assert served(mw.Closed(ok_app, frozenset({"*"})), scope(headers=headers))[0] == 200


def test_the_non_queued_route_is_refused_under_a_sub_path_too():
    for s in (scope("/gradio_api/run/predict"), scope("/tools/app/gradio_api/run/predict", root_path="/tools/app")):
        status, body = served(mw.Closed(ok_app), s)
        assert status == 404 and "/gradio_api/call/predict" in body["detail"]
    assert served(mw.Closed(ok_app), scope("/tools/app/gradio_api/call/predict", root_path="/tools/app"))[0] == 200


def test_a_malformed_request_gets_one_line_and_a_fault_of_the_server_is_raised_whole(caplog):
    with caplog.at_level(logging.WARNING, logger=mw.log.name):
        assert served(mw.QuietErrors(failing(KeyError("no event 'abc'")), OWN), scope())[0] == 404
        assert served(mw.QuietErrors(failing(ValueError("bad body")), OWN), scope())[0] == 400
        wrapped = RuntimeError("Caught handled exception, but response already started.")
        wrapped.__cause__ = HTTPException(404)  # how starlette reports a refusal once a stream has begun
        assert served(mw.QuietErrors(failing(wrapped), OWN), scope())[0] == 400
    assert len(caplog.records) == 3 and all("\n" not in r.getMessage() for r in caplog.records)
    with pytest.raises(OSError):  # a full disk is not the caller's fault
        served(mw.QuietErrors(failing(OSError("No space left on device")), OWN), scope())
    with pytest.raises(ValueError):  # raised in the app's own code (this test stands in for it): whole
        served(mw.QuietErrors(failing(ValueError("a bug of ours")), (__file__,)), scope())


def test_the_queue_prints_a_fault_of_the_server_whole_and_a_refused_call_in_one_line(capsys, caplog):
    quiet = mw.QuietTracebacks(traceback, OWN)
    for error in (ValueError("Cannot move /etc/passwd to the cache"), RuntimeError("a gradio bug")):
        try:
            raise error
        except Exception:
            quiet.print_exc()
    printed = capsys.readouterr().err
    assert "RuntimeError: a gradio bug" in printed and "Traceback" in printed
    assert "/etc/passwd" not in printed and any("/etc/passwd" in r.getMessage() for r in caplog.records)


def test_what_gradio_raises_below_the_fairness_check_is_still_a_malformed_request():
    """explorers.fairness wraps the queue's push, so its frame is on the stack of an unknown event index's error:
    it only passes the request on, and must not make that error the app's own (a 500 and a whole traceback)."""
    class Queue:
        def __init__(self):
            self.event_ids_to_events = {}

        async def push(self, body, request, username):
            raise KeyError("no event 99999")  # as gradio's get_fn does, outside the app's code

    fair = Fairness(Queue(), cap=4)
    request = types.SimpleNamespace(url=types.SimpleNamespace(path="/gradio_api/queue/join"), client=None)

    async def joining(scope, receive, send):
        await fair.checked_push(types.SimpleNamespace(session_hash="s"), request, None)

    assert served(mw.QuietErrors(joining, OWN), scope())[0] == 404
