"""Live views shared by the tabs that train or sample while a person watches: a stream of pictures of a background
computation (a core.live.Runner: the GAN tab's runs, the diffusion tab's sampling and 2-D toy) at a steady pace, and
the per-visitor state that holds it.

Pace: Chromium draws about 6 plotly updates a second and falls behind, with a growing lag, when sent more; so
pictures go out every REFRESH seconds whatever the step rate, and the model works between them. A view the browser
draws itself from arrays (a widget) streams faster, 15 a second for the GAN tab's 2-D view, when each message
carries that one output: for every message gradio's page refreshes the loading status of every component an event
has updated and searches its component tree for each output, which bounds the rate more than the drawing does."""
from __future__ import annotations

import time
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
    and the runner stops itself for want of a watcher."""
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
