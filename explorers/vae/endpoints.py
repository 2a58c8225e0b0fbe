"""The VAE tab's gr.api endpoints: vae_encode, vae_interpolate, vae_decode, vae_decode_point, vae_kl and
vae_latent_map return what the UI draws (vae_decode_point is the latent map widget's call per pointer move);
core.vae does the work. image_input and interpolation are shared with the UI's views.

No `from __future__ import annotations` here: gr.api reads the return annotation without resolving strings, and
real types give the API page a real schema.
"""
from typing import NamedTuple

import numpy as np
from gradio.data_classes import FileData
from PIL import Image

from core.data import CLASSES
from core.render import to_data_url
from core.uploads import open_image
from core.vae import figures
from core.vae import latent as L
from core.validate import as_float32, as_int
from core.vision import fashion_preprocess
from explorers.common import api, uploaded_path, user_errors
from explorers.widgets import packed


def image_input(image) -> np.ndarray:
    """An upload (or a PIL image from the input column) as the models' 28x28 input, [1, 1, 28, 28] in [0, 1]."""
    img = image if isinstance(image, Image.Image) else open_image(uploaded_path(image))
    return fashion_preprocess(img)[0]


def probabilities_json(probabilities: np.ndarray) -> list[list[float]]:
    return np.round(probabilities, 6).tolist()


@user_errors
def vae_encode(image: FileData, model: str = "vae16") -> dict:
    """Encode one image: q(z|x) = N(mu, exp(logvar)) and its KL to the prior N(0, I), by the closed form.

    Parameters:
        image: the image (any size or format; made to look like Fashion-MNIST: grey, light on black, 28x28)
        model: vae16 (16-D latent), vae2 (2-D) or ae2 (the plain autoencoder: one point, no logvar or KL)

    Returns:
        mu and logvar per dimension (logvar, kl_per_dim and kl are null for ae2), kl_per_dim and kl in nats, and
        the reconstruction (the decoder at z = mu) as a PNG data URL.
    """
    code = L.encode(L.check_model(model), image_input(image))
    return {"model": model, "mu": code.mu.tolist(),
            "logvar": None if code.logvar is None else code.logvar.tolist(),
            "kl_per_dim": None if code.kl_per_dim is None else code.kl_per_dim.tolist(), "kl": code.kl,
            "reconstruction": to_data_url(figures.frame_image(code.reconstruction))}


class Interpolation(NamedTuple):
    codes: np.ndarray
    frames: np.ndarray
    probabilities: np.ndarray
    nearest_distance: np.ndarray


def interpolation(x_a, x_b, steps: int, path: str, model: str) -> Interpolation:
    """The path's codes, its decoded frames and the CNN's reading of them (one pass for both numbers)."""
    a, b = L.encode(model, x_a).mu, L.encode(model, x_b).mu
    codes = L.path(a, b, steps, path)
    frames = L.decode(model, codes)
    return Interpolation(codes, frames, *L.read_frames(frames))


@user_errors
def vae_interpolate(image_a: FileData, image_b: FileData, steps: int = L.DEFAULT_STEPS, path: str = "linear",
                    model: str = "vae16") -> dict:
    """Decode the path from image A's code to image B's, and let the bundled CNN read every frame.

    Parameters:
        image_a: the first endpoint image
        image_b: the last endpoint image
        steps: frames on the path, 2 to 32, both endpoints included
        path: linear ((1-t) a + t b) or slerp (the direction on the great circle, the length linear)
        model: vae16, vae2 or ae2; the endpoints are the images' mu

    Returns:
        path_kind and model as used, codes (steps x d; the first and last are the endpoints' mu), frames (one PNG
        data URL strip: the frames left to right in rows of at most 10, A first), class_probabilities (steps x 10,
        the CNN's softmax), predicted (the top class per frame), top_probability and nearest_distance (per frame,
        the CNN-feature distance to the nearest of 2,000 test images).
    """
    model = L.check_model(model)
    steps = as_int(steps, "steps", L.MIN_STEPS, L.MAX_STEPS)
    run = interpolation(image_input(image_a), image_input(image_b), steps, path, model)
    # "path_kind", not "path": gradio_client takes any dict with a "path" string for a file and downloads it
    return {"model": model, "path_kind": path, "codes": run.codes.tolist(),
            "frames": to_data_url(figures.strip(run.frames)),
            "class_probabilities": probabilities_json(run.probabilities),
            "predicted": [CLASSES[i] for i in run.probabilities.argmax(1)],
            "top_probability": run.probabilities.max(1).round(6).tolist(),
            "nearest_distance": run.nearest_distance.round(6).tolist()}


@user_errors
def vae_decode(z: list[float], model: str = "vae2") -> dict:
    """Decode one latent code, and let the bundled CNN read the image.

    Parameters:
        z: the code, one number per latent dimension (2 for vae2 and ae2, 16 for vae16)
        model: vae2, ae2 or vae16

    Returns:
        the decoded image (PNG data URL), the CNN's top class and its probability, and all 10 probabilities.
    """
    model = L.check_model(model)
    frame = L.decode(model, L.check_code(model, z))
    probabilities = L.classify(frame)[0]
    label, p = L.top_class(probabilities)
    return {"model": model, "image": to_data_url(figures.frame_image(frame[0])), "top_class": label,
            "probability": round(p, 6),
            "probabilities": dict(zip(CLASSES, probabilities.round(6).tolist(), strict=True))}


@user_errors
def vae_decode_point(z1: float, z2: float, model: str = "vae2") -> dict:
    """Decode one point of a 2-D latent, and nothing else: the latent map's call while the pointer moves over it
    (vae_decode also lets the CNN read the picture, which costs more than the decoding).

    Parameters:
        z1: the code's first coordinate
        z2: the code's second coordinate
        model: vae2 or ae2 (the models with a 2-D latent)

    Returns:
        model and z as used, and picture: the decoded 28x28 image as grey levels 0-255 (the pixels of vae_decode's
        PNG at the same z), packed: {dtype: "uint8", shape: [28, 28], data: the row-major bytes in base64}.
    """
    model = L.check_model(model, L.MAP_MODELS)
    z = np.array([as_float32(z1, "z1"), as_float32(z2, "z2")])
    frame = L.decode(model, z)[0]
    return {"model": model, "z": z.tolist(), "picture": packed(np.asarray(figures.frame_image(frame)), "uint8")}


@user_errors
def vae_kl(mu: list[float], logvar: list[float]) -> dict:
    """KL(N(mu, exp(logvar)) || N(0, I)) by the closed form -1/2 sum(1 + logvar - mu^2 - exp(logvar)).

    Parameters:
        mu: the posterior mean, one number per dimension
        logvar: log sigma^2, one number per dimension (as many as mu)

    Returns:
        kl_per_dim and their sum kl, in nats.
    """
    kl = L.kl_closed_form(mu, logvar)
    return {"kl_per_dim": kl.tolist(), "kl": float(kl.sum())}


@user_errors
def vae_latent_map(model: str = "vae2", points: int = 2000) -> dict:
    """The codes (mu) of Fashion-MNIST test images, computed once per model, and their classes.

    Parameters:
        model: vae2 or ae2 (2-D codes, the map the tab draws) or vae16 (16-D codes)
        points: how many test images, 1 to 10,000 (all 1,000 where only the bundled sample is installed)

    Returns:
        codes (points x d), labels (class indices), classes (their names), low and high (the 0.5th and 99.5th
        percentiles of each dimension over the test set), and for a 2-D model the share of a 20x20 grid over that
        range that the CNN reads with top probability >= 0.9 (confident_share).
    """
    model = L.check_model(model)
    codes, labels = L.test_codes(model, points)
    low, high = L.code_range(model)
    share = L.manifold(model).confident_share if model in L.MAP_MODELS else None
    return {"model": model, "codes": codes.round(5).tolist(), "labels": labels.tolist(), "classes": list(CLASSES),
            "low": low.tolist(), "high": high.tolist(), "confident_share": share}


def register() -> None:
    """Publish the six endpoints on the API page, in this order."""
    api(vae_encode, "vae_encode")
    api(vae_interpolate, "vae_interpolate")
    api(vae_decode, "vae_decode", example={"z": [0.5, -1.0]})
    api(vae_decode_point, "vae_decode_point", example={"z1": 0.5, "z2": -1.0})
    api(vae_kl, "vae_kl", example={"mu": [0.5, -1.0], "logvar": [0.0, -0.5]})
    api(vae_latent_map, "vae_latent_map")
