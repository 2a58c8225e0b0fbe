"""No client can lock the others out (explorers.fairness): one that floods a slow endpoint gets a one-line 429 past
GLASSBOX_MAX_WAITING requests queued or running, while another client's calls are accepted and answered, the slow
endpoint's included. Clients are told apart as the server tells them: REST callers by address (X-Forwarded-For,
which uvicorn trusts from 127.0.0.1, as from a proxy on the same machine), the queue's joiners by session."""
import httpx
import pytest

from core import settings

SLOW = [1, 3.0, "ddpm", 250, 0, 1000]  # diffusion_sample: label, guidance, scheduler, steps, seed, record_every
JOIN = [*SLOW, 0.0, False, 0.0, "default"]  # every parameter: /queue/join fills none in
ARITHMETIC = [[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, -1]]]
FLOOD_POSTS = 40  # more than any cap this test runs under


def index_of(url: str, api_name: str) -> int:
    return next(d["id"] for d in httpx.get(f"{url}/config", timeout=30).json()["dependencies"]
                if d["api_name"] == api_name)


def rest(url: str, address: str, session: str):
    """Post SLOW over REST from `address`, naming `session` (so that the test can cancel it)."""
    return httpx.post(f"{url}/gradio_api/call/diffusion_sample", json={"data": SLOW, "session_hash": session},
                      headers={"x-forwarded-for": address}, timeout=60)


def join(url: str, address: str, session: str):
    """Post SLOW as a page does: /gradio_api/queue/join with its session."""
    return httpx.post(f"{url}/gradio_api/queue/join", json={"data": JOIN, "fn_index": index_of(url, "diffusion_sample"),
                                                             "session_hash": session},
                      headers={"x-forwarded-for": address}, timeout=60)


def result(url: str, name: str, reply: httpx.Response, address: str) -> str:
    """The REST call's result stream, read to its end."""
    event = reply.json()["event_id"]
    return httpx.get(f"{url}/gradio_api/call/{name}/{event}", headers={"x-forwarded-for": address}, timeout=600).text


@pytest.mark.parametrize("route", [rest, join], ids=["REST, by address", "queue/join, by session"])
def test_a_flooding_client_is_refused_and_another_is_served(server_url, route):
    cap = settings.MAX_WAITING.get()
    session = f"flood-{route.__name__}"
    accepted, refused = [], None
    try:
        for _ in range(FLOOD_POSTS):
            reply = route(server_url, "10.66.0.1", session)
            if reply.status_code != 200:
                refused = reply
                break
            accepted.append((session, reply.json()["event_id"]))
        assert refused is not None and refused.status_code == 429
        assert refused.json()["detail"] == (f"You already have {cap} requests waiting or running; wait for one to "
                                            "finish before sending another.")
        assert len(accepted) == cap

        # Another client, while the flood holds its places: its trivial call is answered, and its slow one accepted.
        other = httpx.post(f"{server_url}/gradio_api/call/conv_arithmetic", json={"data": ARITHMETIC},
                           headers={"x-forwarded-for": "10.77.0.1"}, timeout=60)
        assert '"output": [[-4.0, -4.0], [-4.0, -4.0]]' in result(server_url, "conv_arithmetic", other, "10.77.0.1")
        slow = route(server_url, "10.77.0.1", "another-visitor")
        assert slow.status_code == 200
        accepted.append(("another-visitor", slow.json()["event_id"]))
        # The flood was still holding every place meanwhile: the other client did not wait for it to drain.
        assert route(server_url, "10.66.0.1", session).status_code == 429
        if route is rest:  # the other client's slow call runs to its end (so it needs no cancelling)
            accepted.pop()
            assert '"timesteps"' in result(server_url, "diffusion_sample", slow, "10.77.0.1")
    finally:
        fn_index = index_of(server_url, "diffusion_sample")
        for owner, event in accepted:  # the waiting ones leave the queue; at most two run on to their end
            httpx.post(f"{server_url}/gradio_api/cancel", timeout=30,
                       json={"session_hash": owner, "fn_index": fn_index, "event_id": event})
