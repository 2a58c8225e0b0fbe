"""The VAE tab's interpolation views: each endpoint's reconstruction and code, the decoded path from A's code to
B's with the CNN's reading of every frame (and its PNG and GIF downloads), and AE vs VAE on the same path."""
import hashlib
import io
from typing import NamedTuple

import gradio as gr
import numpy as np
from PIL import Image

from core.data import CLASSES
from core.vae import figures
from core.vae import latent as L
from explorers.common import Box, Reading, saved_download
from explorers.vae.charts import code_chart, plausibility_chart, probability_chart
from explorers.vae.endpoints import interpolation

STEPS = Box("Steps", L.MIN_STEPS, L.MAX_STEPS, L.DEFAULT_STEPS)
PATH_CHOICES = [("linear", "linear"), ("spherical (slerp)", "slerp")]


class EndpointViews(NamedTuple):
    recon_a: Image.Image
    code_a: dict
    recon_b: Image.Image
    code_b: dict


class PathViews(NamedTuple):
    strip: Image.Image
    strip_note: str
    probabilities: dict
    png: str
    gif: str
    steps: object


class CompareViews(NamedTuple):
    ae_strip: Image.Image
    vae_strip: Image.Image
    plausibility: dict
    compare_note: str


def saved(data: bytes, suffix: str) -> str:
    """A download file named by its content, so repeating a strip does not pile up copies."""
    return saved_download("glassbox-vae", f"glassbox-vae-{hashlib.sha1(data).hexdigest()[:16]}{suffix}", data)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def endpoint_views(x_a, x_b, model: str, which: str = "AB") -> EndpointViews:
    """The reconstruction and code of the endpoints in `which`; the other's views are left as they are."""
    views = []
    for name, x in (("A", x_a), ("B", x_b)):
        if name not in which:
            views += [gr.skip(), gr.skip()]
            continue
        code = L.encode(model, x)
        kl = "" if code.kl is None else f", KL {code.kl:.2f} nats"
        views += [figures.frame_image(code.reconstruction).resize((112, 112), Image.Resampling.NEAREST),
                  code_chart(code.mu, code.sigma, f"{name}'s code under {model}{kl}")]
    return EndpointViews(*views)


def path_views(x_a, x_b, steps: Reading, path: str, model: str) -> PathViews:
    """The decoded path and the CNN's reading of it; `steps` is the steps box as read (STEPS.read)."""
    run = interpolation(x_a, x_b, steps.value, path, model)
    labels = [(CLASSES[i], f"{p:.2f}")
              for i, p in zip(run.probabilities.argmax(1), run.probabilities.max(1), strict=True)]
    strip = figures.strip(run.frames, labels)
    changes = int((np.diff(run.probabilities.argmax(1)) != 0).sum())
    note = (f"{steps.value} frames decoded by **{model}** along the **{path}** path from A's μ to B's μ; under "
            f"each, the CNN's top class and its probability. The top class changes {changes} time(s) on the way.")
    return PathViews(strip, note, probability_chart(run.probabilities, "CNN class probabilities along the path"),
                     saved(png_bytes(strip), ".png"), saved(figures.gif(run.frames), ".gif"), steps.shown)


def compare_views(x_a, x_b, steps: int, path: str) -> CompareViews:
    rows, strips = {}, {}
    for name in ("ae2", "vae2"):
        run = interpolation(x_a, x_b, steps, path, name)
        strips[name] = figures.strip(run.frames, cell=56)
        rows[name] = {"top_probability": run.probabilities.max(1), "nearest_distance": run.nearest_distance}
    means = {n: (r["top_probability"].mean(), r["nearest_distance"].mean()) for n, r in rows.items()}
    note = "Mean over the path: " + "; ".join(f"**{n}** top probability {p:.2f}, distance to the nearest real "
                                                f"test image {d:.2f}" for n, (p, d) in means.items()) + "."
    return CompareViews(strips["ae2"], strips["vae2"], plausibility_chart(rows), note)
