"""Glassbox: look inside neural networks while they run. `python app.py --help` lists the launch flags."""
from __future__ import annotations

import argparse
import logging
import os
import traceback
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core import device as devices
from core import settings
from explorers import attention, convolution, diffusion, gan, vae
from explorers import middleware as mw
from explorers.common import downloads_pruned, progress_on_one
from explorers.fairness import Fairness

TITLE = "Glassbox"
# One package per tab, each built the same way: build(demo, tab) inside its own gr.Tab.
TABS = (("Convolution", "convolution", convolution), ("Attention", "attention", attention), ("VAE", "vae", vae),
        ("GAN", "gan", gan), ("Diffusion", "diffusion", diffusion))
PURPOSE = "Open up real, trained neural networks and watch them work: every number here is computed live."
# At most this many events of each kind run at once; a classroom's other requests queue instead of thrashing
# a 2-core machine.
CONCURRENCY = settings.CONCURRENCY.get()
MAX_FILE_MB = 20
# A request body may hold one upload of that size and its multipart framing; anything larger is refused before
# it is read (a 40 MB JSON body used to take 6 s to be refused and leave the server 441 MiB larger).
MAX_BODY_BYTES = MAX_FILE_MB * 2**20 + 2**16
# gradio keeps a session (a copy of every component's config, about 0.4 MB for this app) for each page load and
# each API caller until this many exist; its default of 10,000 would let one script grow the server by gigabytes.
SESSIONS = settings.SESSIONS.get()
# What one client (a page's session, a REST caller's address) may have queued or running at once
# (explorers.fairness); the queue as a whole is bounded only far above what a classroom holds, so that a visitor's
# page is refused for its own requests, never because a script filled a shared queue: a script holds MAX_WAITING
# places at most. (None would not do: gradio makes an unbounded queue hold 1 on a ZeroGPU Space.)
MAX_WAITING = settings.MAX_WAITING.get()
QUEUE_SIZE = 1000
# The app's own code: an error raised through it is logged whole, where gradio's failures on malformed requests
# get one line (explorers.middleware: QuietErrors, QuietTracebacks).
ROOT = Path(__file__).resolve().parent
OWN_CODE = (str(ROOT / "app.py"), str(ROOT / "core") + os.sep, str(ROOT / "explorers") + os.sep)
CSS = """
.gb-header {display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 16px}
.gb-header h1 {margin: 0; font-size: 1.6em}
.gb-device {color: #6b7280; font-size: 0.9em}
/* A numbered step's view, for a moment after its link is followed (explorers/widgets/path.js). */
.gb-flash {outline: 3px solid #818cf8; outline-offset: 2px; transition: outline-color 1s}
/* A 28x28 input is the real input: show it large with square pixels instead of as a speck or a blur. */
#cnn-input img, #attn-input img, #diff-input img, #vae-a-input img, #vae-b-input img {
  width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated}
.gb-alarm {color: #b91c1c; font-weight: 600}
/* Gradio floats a picture's label over the picture's top-left corner; above it, it covers nothing. */
label.float[data-testid="block-label"] {position: static; margin: 0 0 4px; width: fit-content}
/* gradio's gallery keeps `columns` thumbnails of at least 100 px a row whatever its column's width: at 800 px the
   attention input's fifth ran past its 388-px column. As many a row as the column holds. */
.gb-gallery .grid-container {grid-template-columns: repeat(auto-fill, minmax(100px, 1fr)) !important}
/* A component shown with buttons=[] still gets an empty, shadowed toolbar box: a speck over its picture's corner
   (it holds whitespace and comments, so :empty does not match it). */
.icon-button-wrapper:not(:has(*)) {display: none}
"""


def cleanup() -> tuple[int, int]:
    """gradio's delete_cache (how often, what age, in seconds) for uploads and its cached outputs; the app's own
    downloads are pruned on the same schedule (main). A minute between passes, or the age when it is shorter, so
    that a file outlives its age by at most that."""
    age = settings.CLEANUP_AGE.get()
    return min(60, age), age


def build() -> gr.Blocks:
    with gr.Blocks(title=TITLE, delete_cache=cleanup()) as demo:
        # One line, so that each tab's first screen keeps the height for its picture.
        gr.HTML(f"<header class='gb-header'><h1>{TITLE}</h1><span>{PURPOSE}</span>"
                f"<span class='gb-device' id='gb-device'>Models are {devices.describe()}.</span></header>",
                padding=False)
        with gr.Tabs():
            for title, tab_id, package in TABS:
                with gr.Tab(title, id=tab_id) as tab:
                    package.build(demo, tab)
    progress_on_one(demo)
    return demo


async def healthy(_request) -> PlainTextResponse:
    """GET /healthz: "ok" as soon as the server answers, which is once every tab is built (the route is served
    with them), for the container's HEALTHCHECK and the load balancer's checks (deploy/haproxy.cfg); gradio 6 has
    no route of its kind."""
    return PlainTextResponse("ok")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    # A Hugging Face Space (SPACE_ID set) must listen on all interfaces; anywhere else stay local by default.
    default_host = settings.HOST.raw() or os.environ.get("GRADIO_SERVER_NAME") or (
        "0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1")
    p.add_argument("--host", default=default_host,
                   help="address to bind (default 127.0.0.1; 0.0.0.0 serves a classroom on the LAN)")
    # A string default goes through type=int too, so a bad GLASSBOX_PORT gets argparse's one-line error.
    p.add_argument("--port", type=int, default=settings.PORT.get())
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    p.add_argument("--device", default=settings.DEVICE.get(), choices=devices.CHOICES)
    return p.parse_args(argv)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        devices.set_device(args.device)
    except ValueError as e:
        raise SystemExit(str(e)) from None  # the message says it all; a chained traceback would bury it
    demo = build()
    # gradio recomputes its monitoring summary (a pandas DataFrame of the last 10,000 events, grouped, percentiles)
    # after every event by default, holding the GIL for milliseconds that a live run's trainer then waits for; at a
    # 2-D GAN view's 15-20 frame requests a second that was 9 % of a core (py-spy). Only the monitoring dashboard,
    # which is off, reads the summary.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
    # gradio prints a traceback to stderr for each queued call it refuses itself (a server path for an upload)
    gr.queueing.traceback = mw.QuietTracebacks(traceback, OWN_CODE)
    # api_open=False: gradio's own refusal of its non-queued routes for queued events, behind Closed's
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE, api_open=False)
    Fairness(demo._queue, MAX_WAITING)
    sessions = mw.ApiSessions(demo)
    # Outermost first: QuietErrors sees what every other one raises; Closed refuses before any body is read.
    layers = [Middleware(mw.QuietErrors, own=OWN_CODE), Middleware(mw.Closed, origins=settings.ORIGINS.get()),
              Middleware(mw.BodyLimit, limit=MAX_BODY_BYTES),
              Middleware(mw.RestArguments, blocks=demo, sessions=sessions),
              Middleware(mw.ForgetApiSessions, sessions=sessions)]
    # the app's own downloads are pruned as gradio prunes its cache (explorers.common.downloads_pruned)
    server = {"middleware": layers, "lifespan": downloads_pruned(*demo.delete_cache),
              "routes": [Route("/healthz", healthy)]}
    # enable_monitoring=False: gradio's /monitoring pages (per-function usage counts for anyone) answer 403.
    # quiet=True: gradio's start-up lines tell a person to "set `share=True` in `launch()`", which this app's users
    # do with --share; started() says the same things in the app's own words. (gradio still prints a public link,
    # and why one could not be made.)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=f"{MAX_FILE_MB}mb",
                show_error=True, css=CSS, theme=gr.themes.Soft(), state_session_capacity=SESSIONS,
                enable_monitoring=False, app_kwargs=server, quiet=True,
                prevent_thread_lock=True)
    print(started(demo.local_url, args.share), flush=True)
    demo.block_thread()


def started(local_url: str, shared: bool) -> str:
    """What the app prints once it listens: where, and how to share it (with the app's own switch)."""
    lines = [f"* Running on local URL:  {local_url}"]
    if not shared:
        lines.append("* To create a public link, run `python app.py --share`.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
