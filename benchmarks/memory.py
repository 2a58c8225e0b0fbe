"""`python -m benchmarks.memory [--idle S]`: what the server's memory does after the heaviest legal requests.

The server's RSS after a warm-up (one small call of each endpoint below), after a sweep of the heaviest legal
request of each (two at once, as the queue's concurrency allows: a 39.7 MP upload encoded by the VAE, its feature
maps and Grad-CAM, the longest text the attention model reads, DDPM-1000 keeping every frame), and after `--idle`
seconds with nothing asked. A server that gives back what the sweep took ends near its warm-up figure. Figures
are a report, never a test assertion.
"""
from __future__ import annotations

import io
import threading
import time

import httpx
import numpy as np
from PIL import Image

from benchmarks.runner import options
from benchmarks.server import start_app

BIG_SIDE = (7280, 5456)   # 39.7 MP, under the 40 MP cap; smooth, so its PNG stays under the 20 MB upload cap
TEXT = " ".join(["the cat sat on the mat and looked at the dog"] * 60)   # cut to the model's 512 tokens


def big_png() -> bytes:
    w, h = BIG_SIDE
    ramp = np.add.outer(np.linspace(0, 127, h), np.linspace(0, 127, w)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(ramp).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def upload(http: httpx.Client, url: str, data: bytes) -> dict:
    reply = http.post(f"{url}/gradio_api/upload", files={"files": ("big.png", data, "image/png")})
    reply.raise_for_status()
    return {"path": reply.json()[0], "meta": {"_type": "gradio.FileData"}}


def call(http: httpx.Client, url: str, name: str, args: list) -> None:
    """One call through gradio's queue over REST, read to its end; raises unless it completed."""
    reply = http.post(f"{url}/gradio_api/call/{name}", json={"data": args})
    reply.raise_for_status()
    stream = http.get(f"{url}/gradio_api/call/{name}/{reply.json()['event_id']}").text
    if "event: complete" not in stream:
        raise RuntimeError(f"{name} did not complete: {stream[-300:]}")


def requests(image: dict) -> dict[str, list]:
    return {"vae_encode": [image, "vae16"], "conv_features": [image, "cnn", "conv6", 1024, "map"],
            "conv_gradcam": [image, "cnn", None], "attention_text": [TEXT, "default", -1, -1, False, ""],
            "diffusion_sample": [1, 3.0, "ddpm", 1000, 0, 1, 0.0, False, 0.0, "default"]}


def measure(app, idle_s: float) -> dict:
    with httpx.Client(timeout=900) as http:
        small = upload(http, app.url, _png(Image.new("RGB", (28, 28))))
        warm = {**requests(small), "attention_text": ["a cat", "default", -1, -1, False, ""],
                "diffusion_sample": [1, 3.0, "ddim", 10, 0, 1, 0.0, False, 0.0, "default"]}
        for name, args in warm.items():
            call(http, app.url, name, args)
        rss = {"after_warm_up": app.rss_mb()}
        heavy, seconds = requests(upload(http, app.url, big_png())), {}
        for name, args in heavy.items():
            t0 = time.perf_counter()
            both = [threading.Thread(target=call, args=(http, app.url, name, args)) for _ in range(2)]
            for t in both:
                t.start()
            for t in both:
                t.join()
            seconds[name] = round(time.perf_counter() - t0, 1)
        rss["after_sweep"] = app.rss_mb()
        time.sleep(idle_s)
        rss["after_idle"] = app.rss_mb()
    return {"rss_mb": {k: round(v, 1) for k, v in rss.items()}, "idle_s": idle_s, "sweep_s": seconds,
            "ratio_after_idle": round(rss["after_idle"] / rss["after_warm_up"], 2)}


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def main(argv=None) -> dict:
    args = options("memory", __doc__, argv, idle=(float, 120.0, "seconds of quiet before the last reading"))
    app = start_app()
    try:
        result = measure(app, args.idle)
    finally:
        app.stop()
    print(result)
    return result


if __name__ == "__main__":
    main()
