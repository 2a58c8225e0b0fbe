"""Live views shared by the tabs that train or sample while a person watches: a stream of pictures of a background
computation (a core.live.Runner: the GAN tab's image runs, the diffusion tab's sampling and 2-D toy) at a steady
pace, the per-visitor state that holds it, and the tokens through which a widget streams its own frames instead.

Pace: Chromium draws about 6 plotly updates a second and falls behind, with a growing lag, when sent more; so
pictures go out every REFRESH seconds whatever the step rate, and the model works between them. A gradio stream
cannot carry much more than that to this page, even of one small output: for every message gradio's page refreshes
the loading status of every component an event has updated and searches its ~700-component tree for each output.
So a view the browser draws itself from arrays (a widget: the GAN tab's 2-D view) reads its frames from a generator
gr.api endpoint instead, up to 16 a second over one request (gb.stream): the play event gives it an unguessable
token (Tokens) that names the visitor's run and nothing else, being read keeps the run watched (as stream() does),
and the page's other components are written only when the run stops."""
from __future__ import annotations

import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

import gradio as gr

REFRESH = 0.2          # seconds between pictures: 5 a second
STATE_SECONDS = 1800   # a visitor's run is dropped this long after their last action (gr.State's time_to_live)


def stop_all(visitor) -> None:
    """gr.State's delete_callback: the visitor left (or their state expired); stop what trains for them."""
    if visitor is not None:
        visitor.close()


def visitor_state() -> gr.State:
    """A gr.State for a Visitor-like object (with close()), created on first use and freed when the visitor leaves:
    gradio calls delete_callback when the page has been closed for an hour, or STATE_SECONDS after the last event
    that returned it, whichever comes first."""
    return gr.State(None, time_to_live=STATE_SECONDS, delete_callback=stop_all)


def stream(runner, capture: Callable, draw: Callable, refresh: float = REFRESH):
    """While `runner` runs, yield draw(capture()) every `refresh` seconds, then once more when it has stopped.

    `capture` copies what a picture needs under the runner's lock (`Runner.reading`: a few milliseconds of
    arrays); `draw` builds the figures outside it, so the training thread waits only for the copy. Each picture
    tells the runner that someone is watching; when the page is closed, gradio stops iterating this generator
    and the runner stops itself for want of a watcher. While the runner waits in its slots' line, a picture goes
    out each time its place changes (and once at first), and the stream's wait keeps it watched."""
    sent = None
    while (place := runner.place()) is not None:
        runner.touch()
        if place != sent:
            with runner.reading():
                captured = capture()
            yield draw(captured)
            sent = place
        runner.slots.moved(runner, place, refresh)
    due = time.monotonic()
    while runner.running:
        with runner.reading():
            captured = capture()
        yield draw(captured)
        due = max(due + refresh, time.monotonic())   # a slow picture does not make the next ones bunch up
        while runner.running and time.monotonic() < due:
            time.sleep(min(0.02, refresh))
    with runner.reading():
        captured = capture()
    yield draw(captured)


class Tokens:
    """Unguessable tokens (secrets.token_urlsafe), each naming one thing a visitor's page may read over a gr.api
    endpoint (the GAN 2-D view's frames of one run) and nothing else of theirs. Bounded: at most `capacity` tokens,
    the oldest forgotten first; each holds its owner and its thing weakly, so a visitor freed with their gr.State
    (stop_all) leaves no way in even before forget(owner) drops their tokens."""

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self._tokens: OrderedDict[str, tuple[weakref.ref, weakref.ref]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, owner, thing) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (weakref.ref(owner), weakref.ref(thing))
            while len(self._tokens) > self.capacity:
                self._tokens.popitem(last=False)
        return token

    def get(self, token) -> tuple | None:
        """(owner, thing) for a live token, else None (unknown, forgotten, or its owner or thing freed)."""
        with self._lock:
            refs = self._tokens.get(token) if isinstance(token, str) else None
        if refs is None:
            return None
        owner, thing = refs[0](), refs[1]()
        return None if owner is None or thing is None else (owner, thing)

    def forget(self, owner) -> None:
        with self._lock:
            for token in [t for t, (o, _) in self._tokens.items() if o() is owner or o() is None]:
                del self._tokens[token]
