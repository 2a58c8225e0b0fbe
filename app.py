"""Glassbox: look inside neural networks while they run. `python app.py --help` lists the launch flags."""
from __future__ import annotations

import argparse
import logging
import os

import gradio as gr
from starlette.middleware import Middleware

from core import device as devices
from explorers import attention, convolution, convolution_network

TITLE = "Glassbox"
PURPOSE = "Open up real, trained neural networks and watch them work: every number here is computed live."
# At most this many events of each kind run at once; a classroom's other requests queue instead of thrashing
# a 2-core machine.
CONCURRENCY = int(os.environ.get("GLASSBOX_CONCURRENCY", "2"))
MAX_FILE_MB = 20
# A request body may hold one upload of that size and its multipart framing; anything larger is refused before
# it is read (a 40 MB JSON body used to take 6 s to be refused and leave the server 441 MiB larger).
MAX_BODY_BYTES = MAX_FILE_MB * 2**20 + 2**16
CSS = """
.gb-header h1 {margin-bottom: 0}
.gb-device {color: #6b7280; font-size: 0.9em}
/* A 28x28 input is the real input: show it large with square pixels instead of as a speck or a blur. */
#cnn-input img, #attn-input img {width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated}
"""


class BodyLimit:
    """ASGI middleware: a request whose body is larger than `limit` bytes gets HTTP 413 before it is read into
    memory, by its Content-Length when it sends one, else as soon as the streamed body passes the limit."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def refuse(self, send) -> None:
        body = f"Request body too large: the limit is {self.limit:,} bytes.".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.limit):
            return await self.refuse(send)
        received, started, refused = 0, False, False

        async def counted_receive():
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit and not refused:
                refused = True
                if not started:
                    await self.refuse(send)
                return {"type": "http.disconnect"}  # the app stops reading; its own reply is dropped below
            return message

        async def watched_send(message):
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, watched_send)


def build() -> gr.Blocks:
    with gr.Blocks(title=TITLE) as demo:
        with gr.Column(elem_classes="gb-header"):
            gr.Markdown(f"# {TITLE}\n{PURPOSE}")
            gr.Markdown(f"<span class='gb-device' id='gb-device'>Models are {devices.describe()}.</span>")
        with gr.Tabs():
            with gr.Tab("Convolution", id="convolution"):
                convolution.build()
                convolution_network.build()
            with gr.Tab("Attention", id="attention"):
                attention.build(demo)
    return demo


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    # A Hugging Face Space (SPACE_ID set) must listen on all interfaces; anywhere else stay local by default.
    default_host = os.environ.get("GLASSBOX_HOST") or os.environ.get("GRADIO_SERVER_NAME") or (
        "0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1")
    p.add_argument("--host", default=default_host,
                   help="address to bind (default 127.0.0.1; 0.0.0.0 serves a classroom on the LAN)")
    # A string default goes through type=int too, so a bad GLASSBOX_PORT gets argparse's one-line error.
    p.add_argument("--port", type=int, default=os.environ.get("GLASSBOX_PORT", "7860"))
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    p.add_argument("--device", default=os.environ.get("GLASSBOX_DEVICE", "auto"), choices=devices.CHOICES)
    return p.parse_args(argv)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        devices.set_device(args.device)
    except ValueError as e:
        raise SystemExit(str(e))
    demo = build()
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=f"{MAX_FILE_MB}mb",
                show_error=True, css=CSS, theme=gr.themes.Soft(),
                app_kwargs={"middleware": [Middleware(BodyLimit, limit=MAX_BODY_BYTES)]})


if __name__ == "__main__":
    main()
