"""explorers.fairness on a stand-in for gradio's Queue that keeps its events as gradio does: the cap per client
(session, or address for REST calls), its one-line refusal, and the round-robin order of each kind's line."""
import asyncio
import concurrent.futures
import types
import uuid

import pytest
from starlette.exceptions import HTTPException

from explorers import fairness
from explorers.fairness import Fairness, fair_order


class Queue:
    """What Fairness reads of gradio's Queue: event_ids_to_events (queued and running events) and one line per
    concurrency id; push records an event as gradio's does."""

    def __init__(self):
        self.event_ids_to_events, self.event_queue_per_concurrency_id = {}, {}

    async def push(self, body, request, username):
        event = types.SimpleNamespace(_id=uuid.uuid4().hex, request=request, concurrency_id=body.kind,
                                      session_hash=body.session_hash or "its-own-id")
        self.event_ids_to_events[event._id] = event
        self.event_queue_per_concurrency_id.setdefault(body.kind, types.SimpleNamespace(queue=[])).queue.append(event)
        return True, event._id, "success"

    def finish(self, event_id):
        event = self.event_ids_to_events.pop(event_id)
        self.event_queue_per_concurrency_id[event.concurrency_id].queue.remove(event)


def page(session, kind="ddpm"):
    """A page's event (POST /gradio_api/queue/join) from a shared address."""
    return (types.SimpleNamespace(session_hash=session, kind=kind),
            types.SimpleNamespace(url=types.SimpleNamespace(path="/gradio_api/queue/join"),
                                  client=types.SimpleNamespace(host="10.0.0.1"), headers={}))


def rest(address, session=None, kind="ddpm", page_id=None):
    """A REST call (POST /gradio_api/call/NAME) from `address`, naming `session` or none, and from a page's widget
    when `page_id` is given (glassbox.js's X-Glassbox-Page)."""
    return (types.SimpleNamespace(session_hash=session, kind=kind),
            types.SimpleNamespace(url=types.SimpleNamespace(path="/gradio_api/call/diffusion_sample"),
                                  client=types.SimpleNamespace(host=address),
                                  headers={} if page_id is None else {"x-glassbox-page": page_id}))


def push(fair, call):
    """The event id the call is queued as, or the HTTPException it is refused with."""
    body, request = call
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # asyncio.run refuses where playwright left a loop
        try:
            return pool.submit(asyncio.run, fair.checked_push(body, request, None)).result()[1]
        except HTTPException as refused:
            return refused


def test_a_session_past_the_cap_is_refused_and_others_are_not():
    queue = Queue()
    fair = Fairness(queue, cap=3)
    held = [push(fair, page("a")) for _ in range(3)]
    refused = push(fair, page("a"))
    assert isinstance(refused, HTTPException) and refused.status_code == 429
    assert refused.detail == ("You already have 3 requests waiting or running; wait for one to finish before "
                              "sending another.")
    assert isinstance(push(fair, page("b")), str)  # another visitor on the same address (one classroom router)
    queue.finish(held[0])  # one of a's finished: a may send one more, not two
    assert isinstance(push(fair, page("a")), str)
    assert isinstance(push(fair, page("a")), HTTPException)


def test_rest_calls_are_counted_by_address_whatever_session_they_name():
    queue = Queue()
    fair = Fairness(queue, cap=2)
    assert all(isinstance(push(fair, rest("10.0.0.9", session=f"s{i}")), str) for i in range(2))
    assert push(fair, rest("10.0.0.9")).status_code == 429  # a new name, or none, is the same caller
    assert push(fair, rest("10.0.0.9", kind="conv_arithmetic")).status_code == 429  # whatever it calls
    assert isinstance(push(fair, rest("10.0.0.10")), str)


def test_a_later_client_waits_behind_one_of_each_other_client_not_all_of_them():
    queue = Queue()
    fair = Fairness(queue, cap=8)
    script = [push(fair, rest("10.0.0.9")) for _ in range(5)]
    visitor = push(fair, page("visitor"))
    line = [e._id for e in queue.event_queue_per_concurrency_id["ddpm"].queue]
    assert line == [script[0], visitor, *script[1:]]


@pytest.mark.parametrize(("clients", "order"), [
    ("aaab", "0312"), ("abab", "0123"), ("aabbc", "02413"), ("", ""),
])
def test_fair_order_is_round_robin_and_stable(clients, order):
    line = list(range(len(clients)))
    assert fair_order(line, list(clients)) == [int(i) for i in order]


def test_pages_behind_one_address_each_have_their_own_cap_and_the_address_a_larger_one():
    queue = Queue()
    fair = Fairness(queue, cap=2)
    pages = [str(uuid.uuid4()) for _ in range(fairness.PAGES_PER_ADDRESS + 1)]
    # two pages of one classroom's router: each page's widgets hold their own cap
    assert all(isinstance(push(fair, rest("10.0.0.9", page_id=pages[i])), str) for i in (0, 0, 1, 1))
    refused = push(fair, rest("10.0.0.9", page_id=pages[0]))
    assert isinstance(refused, HTTPException) and refused.status_code == 429
    assert refused.detail.startswith("You already have 2 requests waiting or running")
    # a caller naming no page counts every REST call from its address, its pages' included
    assert isinstance(push(fair, rest("10.0.0.9")), HTTPException)
    assert isinstance(push(fair, rest("10.0.0.8")), str)   # another address is its own
    # a script naming new pages is stopped at PAGES_PER_ADDRESS caps for its address as a whole
    for p in pages[2:-1]:
        assert all(isinstance(push(fair, rest("10.0.0.9", page_id=p)), str) for _ in range(2))
    crowded = push(fair, rest("10.0.0.9", page_id=pages[-1]))
    assert isinstance(crowded, HTTPException) and "Too many requests from your network" in crowded.detail
    assert isinstance(push(fair, rest("10.0.0.9", page_id="not a page id")), HTTPException)   # counted as the address
