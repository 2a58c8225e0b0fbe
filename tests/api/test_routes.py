"""Every call goes through the queue: gradio's non-queued routes, deep links, the monitoring pages and other
origins' pages are refused in one line; gradio's failures on malformed requests are one short log line each, and
an over-long number in a body is named in a 422."""
from pathlib import Path

import httpx
import pytest

MAX_LINE = 240  # characters: one short line, with at most ~80 of what the caller sent


def post(url: str, path: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}{path}", timeout=30, **kwargs)


@pytest.mark.parametrize("route", ["run", "api"])
def test_the_non_queued_routes_are_refused_and_name_the_queued_one(server_url, route):
    r = post(server_url, f"/gradio_api/{route}/conv_pool", json={"data": [[[1, 2], [3, 4]], "max", 2, 2]})
    assert r.status_code == 404
    assert "/gradio_api/call/conv_pool" in r.json()["detail"] and "\n" not in r.text
    r = post(server_url, f"/gradio_api/{route}/predict", json={"data": [], "fn_index": 0})  # any event, by index
    assert r.status_code == 404


def test_the_page_sends_nothing_to_the_non_queued_route(server_url):
    """The page posts an event to /run/ only when it is not queued: every event with a backend is."""
    dependencies = httpx.get(f"{server_url}/config", timeout=30).json()["dependencies"]
    assert [d["api_name"] for d in dependencies if d["backend_fn"] and d["queue"] is False] == []


def test_deep_links_and_monitoring_are_closed(server_url):
    r = httpx.get(f"{server_url}/gradio_api/deep_link", params={"session_hash": "x"}, timeout=30)
    assert r.status_code == 404 and "Deep links" in r.json()["detail"]
    assert httpx.get(f"{server_url}/monitoring/summary", timeout=30).status_code == 403
    assert httpx.get(f"{server_url}/monitoring", timeout=30).status_code == 403


def test_only_the_pages_own_origin_may_call(server_url):
    own = httpx.get(f"{server_url}/config", headers={"origin": server_url}, timeout=30)
    assert own.status_code == 200
    for origin in ("http://localhost:9999", "https://evil.example", "null"):
        r = httpx.get(f"{server_url}/config", headers={"origin": origin}, timeout=30)
        assert r.status_code == 403 and "GLASSBOX_ORIGINS" in r.json()["detail"], origin


def test_the_health_route_says_ok_to_a_check_and_the_pages_origin(server_url):
    """GET /healthz, which the image's HEALTHCHECK and HAProxy's checks ask (no Origin header), and a page of the
    server's own; another origin's page is refused, as on every route."""
    for headers in ({}, {"origin": server_url}):
        r = httpx.get(f"{server_url}/healthz", headers=headers, timeout=30)
        assert (r.status_code, r.text) == (200, "ok"), headers
    assert httpx.get(f"{server_url}/healthz", headers={"origin": "https://evil.example"}, timeout=30).status_code == 403


def test_a_number_of_5001_digits_is_named_in_a_422(server_url):
    body = b'{"data": [1, 3.0, "ddim", 5, ' + b"9" * 5001 + b"]}"
    r = post(server_url, "/gradio_api/call/diffusion_sample", content=body,
             headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"] == ("diffusion_sample: seed holds a whole number of 5,001 digits; numbers of more "
                                  "than 4,300 digits cannot be read.")


def test_v2_with_bad_arguments_gets_a_short_4xx(server_url):
    r = post(server_url, "/gradio_api/call/v2/conv_pool", json={"bogus": "x" * 10_000})
    assert r.status_code == 400 and len(r.text) < 300
    r = post(server_url, "/gradio_api/call/v2/no_such_endpoint", json={})
    assert r.status_code == 404 and len(r.text) < 300


MALFORMED = {
    "a stray queue/data GET": lambda u: httpx.get(f"{u}/gradio_api/queue/data", params={"session_hash": "x"},
                                                  timeout=30),
    "a result of no event": lambda u: httpx.get(f"{u}/gradio_api/call/conv_pool/deadbeef", timeout=30),
    "v2 of an unknown endpoint": lambda u: post(u, "/gradio_api/call/v2/unknown", json={}),
    "v2 with an unknown argument": lambda u: post(u, "/gradio_api/call/v2/conv_pool", json={"y" * 500: 1}),
    "an unknown endpoint": lambda u: post(u, "/gradio_api/call/unknown", json={"data": []}),
    "an unknown event index": lambda u: post(u, "/gradio_api/queue/join",
                                             json={"data": [], "fn_index": 99999, "session_hash": "abc"}),
    "/run/ with too many values": lambda u: post(u, "/gradio_api/run/conv_pool", json={"data": ["x" * 100_000] * 9}),
    "a server path for an upload": lambda u: httpx.get(f"{u}/gradio_api/call/conv_predict/" + post(
        u, "/gradio_api/call/conv_predict", json={"data": [{"path": "/etc/hostname",
                                                            "meta": {"_type": "gradio.FileData"}}]}
    ).json()["event_id"], timeout=30),
}


def test_100_malformed_requests_write_at_most_100_short_lines(server):
    """Each kind above, in turn, 100 requests in all: gradio used to log 24-84 traceback lines for one, and
    /run/ with the wrong number of values echoed every value."""
    log = Path(server.log_path)
    before = log.read_text(errors="replace")
    kinds = list(MALFORMED.values())
    for i in range(100):
        assert kinds[i % len(kinds)](server.url).status_code < 500
    httpx.get(server.url, timeout=30)  # one ordinary request after them, so their lines are all written
    lines = log.read_text(errors="replace")[len(before):].splitlines()
    assert len(lines) <= 100, "\n".join(lines[:40])
    assert max(map(len, lines), default=0) <= MAX_LINE, max(lines, key=len)
