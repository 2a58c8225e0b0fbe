"""Fairness in gradio's queue: one client may have at most `cap` requests queued or running at once, so a script
cannot fill the queue or the worker threads that a classroom's pages share.

A client is what the request can be told apart by:
- a REST call (POST /gradio_api/call/NAME, /call/v2/NAME: scripts, and the page's own widgets) by its address,
  since a caller picks its session name freely (or names none and is lent one, explorers.middleware.ApiSessions).
  uvicorn reads the address from X-Forwarded-For when the request comes through a proxy it trusts (127.0.0.1 and
  ::1 by default; FORWARDED_ALLOW_IPS names others), so behind a local proxy it is each visitor's own. The page's
  widgets name their page (glassbox.js sends a random id per page load in PAGE_HEADER), and a page is a client of
  its own: a classroom behind one router, or a Space whose proxy uvicorn does not trust, would otherwise share one
  cap between all its visitors. A script can name pages too, so an address as a whole is also capped, at
  PAGES_PER_ADDRESS caps (what a full classroom's pages hold at once is far below it);
- an event sent through /gradio_api/queue/join (the page's events, gradio_client) by its session, which gradio
  requires there: visitors on one address (a classroom behind one router) each have their own.
Within the cap, each kind of event still waits in one line (gradio's queue per concurrency id, first come first
served), so a visitor's request would wait behind all of a script's of that kind: `fair_order` puts it behind
only as many of each other client's as that client has ahead of it already (round robin over the clients).
Over the cap, the request is refused at once with HTTP 429 and a one-line "you already have N requests waiting or
running" ({"detail": ...}); the page shows that message in its error toast, as it shows a gr.Error's.

Why no rate-limiting library: `limits` (and `slowapi`, built on it for routes one declares) counts hits in a time
window; a cap on what is in flight is a different measure (a slow DDPM-1000 call holds its place for a minute, a
rate would admit a new one every window regardless). Nor a counter of our own, raised on entry and lowered on exit:
an event leaves the queue in several ways (finished, failed, cancelled, its client gone), and a missed decrement
would lock a client out for good. What a client holds is counted from gradio's own record of its events
(Queue.event_ids_to_events: each event from the moment it is queued until it has finished or been removed), so it
cannot drift; `entering` covers only the moment between the check and gradio's recording of the event.
"""
from __future__ import annotations

import collections
import re

from starlette.exceptions import HTTPException

REST = re.compile(r"/gradio_api/call/")
PAGE_HEADER = "x-glassbox-page"          # sent by glassbox.js's gb.post
PAGE_ID = re.compile(r"[0-9a-f-]{8,64}")  # crypto.randomUUID()'s form; anything else names no page
PAGES_PER_ADDRESS = 8                     # an address's REST calls, all pages together, hold at most 8 caps


def address_of(request) -> str:
    return request.client.host if request.client else "unknown"


def client_of(request, session_hash: str | None) -> tuple[str, ...]:
    """("page", host, id) for a REST call from a page's widget, ("address", host) for another REST call (or a
    request that names no session), else ("session", its hash)."""
    if session_hash is None or REST.search(request.url.path):
        page = request.headers.get(PAGE_HEADER, "")
        if PAGE_ID.fullmatch(page):
            return "page", address_of(request), page
        return "address", address_of(request)
    return "session", session_hash


def refusal(held: int) -> str:
    """The one-line answer to a client that holds `held` requests already."""
    requests = "1 request" if held == 1 else f"{held} requests"
    return f"You already have {requests} waiting or running; wait for one to finish before sending another."


def crowded() -> str:
    """The one-line answer to a page whose address holds PAGES_PER_ADDRESS caps of requests already."""
    return ("Too many requests from your network are waiting or running; wait a moment and try again (a proxy in "
            "front of this server may need FORWARDED_ALLOW_IPS set, so that each visitor's address is seen).")


class Fairness:
    """Installs itself on a gradio Queue (app.py: Fairness(demo._queue, cap)): each push from a client that already
    holds `cap` events is refused with HTTP 429 before gradio queues it."""

    def __init__(self, queue, cap: int):
        self.queue, self.cap = queue, cap
        self.push = queue.push
        self.entering: collections.Counter[tuple[str, str]] = collections.Counter()
        queue.push = self.checked_push

    def held(self, client: tuple[str, ...]) -> int:
        """The events `client` has queued or running (or being queued at this moment); for an address, every REST
        call from it, its pages' included."""
        def counted(other: tuple[str, ...]) -> bool:
            return other == client or (client[0] == "address" and other[0] == "page" and other[1] == client[1])
        events = list(self.queue.event_ids_to_events.values())  # a copy: no await here, but stay safe if one comes
        return (sum(n for other, n in self.entering.items() if counted(other))
                + sum(counted(client_of(e.request, e.session_hash)) for e in events))

    async def checked_push(self, body, request, username):
        client = client_of(request, body.session_hash)
        held = self.held(client)
        if held >= self.cap:
            raise HTTPException(429, detail=refusal(held))
        if client[0] == "page" and self.held(("address", client[1])) >= self.cap * PAGES_PER_ADDRESS:
            raise HTTPException(429, detail=crowded())
        self.entering[client] += 1
        try:
            pushed = await self.push(body=body, request=request, username=username)
        finally:
            self.entering[client] -= 1
            if not self.entering[client]:
                del self.entering[client]
        event = self.queue.event_ids_to_events.get(pushed[1]) if pushed[0] else None
        if event is not None:
            line = self.queue.event_queue_per_concurrency_id[event.concurrency_id].queue
            line[:] = fair_order(line, [client_of(e.request, e.session_hash) for e in line])
        return pushed


def fair_order(line: list, clients: list) -> list:
    """`line` (one kind's waiting events, oldest first) with each client's n-th event after every client's
    (n-1)-th: a sort, stable, by how many of its client's events wait ahead of it."""
    ahead: collections.Counter = collections.Counter()
    turns = []
    for client in clients:
        turns.append(ahead[client])
        ahead[client] += 1
    return [event for _, event in sorted(zip(turns, line, strict=True), key=lambda pair: pair[0])]
