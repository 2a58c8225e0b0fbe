"""The VAE tab: interpolation between two images of a person's choosing, AE vs VAE on the same path, the whole 2-D
latent map with live decoding, per-dimension traversals and KL, and sampling from the prior. The gr.api endpoints
vae_encode, vae_interpolate, vae_decode, vae_kl and vae_latent_map return what the UI draws; core.vae does the
work.

No `from __future__ import annotations` here, for the reason given in explorers/convolution.py.
"""
import hashlib
import io
import tempfile
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import numpy as np
from gradio.data_classes import FileData
from PIL import Image

from core.data import CLASSES
from core.images import open_image, to_data_url
from core.vae import figures
from core.vae import latent as L
from core.validate import as_int
from core.vision import fashion_preprocess
from explorers.common import LATEX, Box, api, combined, explain, outputs, uploaded_path, user_errors
from explorers.inputs import PRIVATE, gallery_pick, input_column

STEPS = Box("Steps", L.MIN_STEPS, L.MAX_STEPS, L.DEFAULT_STEPS)
Z1 = Box("z1", -12, 12, 0.0, whole=False)
Z2 = Box("z2", -12, 12, 0.0, whole=False)
TAU = Box("Temperature τ", L.MIN_TAU, L.MAX_TAU, 1.0, whole=False)
SEED = Box("Seed", 0, 2**31 - 1, 0)
PATH_CHOICES = [("linear", "linear"), ("spherical (slerp)", "slerp")]
SAMPLES = 16
DOWNLOADS = Path(tempfile.gettempdir()) / "glassbox-vae"


# ---------------------------------------------------------------- computing: the API and the UI share these


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


def interpolation(x_a, x_b, steps: int, path: str, model: str) -> Interpolation:
    a, b = L.encode(model, x_a).mu, L.encode(model, x_b).mu
    codes = L.path(a, b, steps, path)
    frames = L.decode(model, codes)
    return Interpolation(codes, frames, L.classify(frames))


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
        data URL strip, A on the left), class_probabilities (steps x 10, the CNN's softmax), predicted (the top
        class per frame), top_probability and nearest_distance (per frame, the CNN-feature distance to the nearest
        of 2,000 test images).
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
            "nearest_distance": L.nearest_distance(run.frames).round(6).tolist()}


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
            "probability": round(p, 6), "probabilities": dict(zip(CLASSES, probabilities.round(6).tolist()))}


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


# ---------------------------------------------------------------- the UI's handlers


def saved(data: bytes, suffix: str) -> str:
    """A download file named by its content, so repeating a strip does not pile up copies."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    path = DOWNLOADS / f"glassbox-vae-{hashlib.sha1(data).hexdigest()[:16]}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class EndpointViews(NamedTuple):
    recon_a: Image.Image
    code_a: object
    recon_b: Image.Image
    code_b: object


class PathViews(NamedTuple):
    strip: Image.Image
    strip_note: str
    probabilities: object
    png: str
    gif: str
    steps: object


class CompareViews(NamedTuple):
    ae_strip: Image.Image
    vae_strip: Image.Image
    plausibility: object
    compare_note: str


class MapViews(NamedTuple):
    map_plot: object
    manifold: Image.Image
    map_note: str


class DimensionViews(NamedTuple):
    traversal: Image.Image
    kl: object


# A new endpoint shows FirstViews in one event and LaterViews in the next: the strip comes without waiting for
# the five other figures and the map's 2,000 points.
FirstViews = combined("FirstViews", EndpointViews, PathViews)
LaterViews = combined("LaterViews", CompareViews, MapViews, DimensionViews)
AllViews = combined("AllViews", FirstViews, LaterViews)


def endpoint_views(x_a, x_b, model: str) -> EndpointViews:
    views = []
    for name, x in (("A", x_a), ("B", x_b)):
        code = L.encode(model, x)
        kl = "" if code.kl is None else f", KL {code.kl:.2f} nats"
        views += [figures.frame_image(code.reconstruction).resize((112, 112), Image.Resampling.NEAREST),
                  figures.code_figure(code.mu, code.sigma, f"{name}'s code under {model}{kl}")]
    return EndpointViews(*views)


def path_views(x_a, x_b, steps_box, path: str, model: str) -> PathViews:
    steps = STEPS.read(steps_box)
    run = interpolation(x_a, x_b, steps.value, path, model)
    labels = [f"{CLASSES[i]} {p:.2f}" for i, p in zip(run.probabilities.argmax(1), run.probabilities.max(1))]
    strip = figures.strip(run.frames, labels)
    changes = int((np.diff(run.probabilities.argmax(1)) != 0).sum())
    note = (f"{steps.value} frames decoded by **{model}** along the **{path}** path from A's μ to B's μ; under "
            f"each, the CNN's top class and its probability. The top class changes {changes} time(s) on the way.")
    return PathViews(strip, note, figures.class_probability_figure(run.probabilities, "CNN class probabilities "
                                                                    "along the path"),
                     saved(png_bytes(strip), ".png"), saved(figures.gif(run.frames), ".gif"), steps.shown)


def compare_views(x_a, x_b, steps: int, path: str) -> CompareViews:
    rows, strips = {}, {}
    for name in ("ae2", "vae2"):
        run = interpolation(x_a, x_b, steps, path, name)
        strips[name] = figures.strip(run.frames, cell=56)
        rows[name] = {"top_probability": run.probabilities.max(1), "nearest_distance": L.nearest_distance(run.frames)}
    means = {n: (r["top_probability"].mean(), r["nearest_distance"].mean()) for n, r in rows.items()}
    note = "Mean over the path: " + "; ".join(f"**{n}** top probability {p:.2f}, distance to the nearest real "
                                                f"test image {d:.2f}" for n, (p, d) in means.items()) + "."
    return CompareViews(strips["ae2"], strips["vae2"], figures.plausibility_figure(rows), note)


def map_views(x_a, x_b, steps: int, path: str, model: str, point=None) -> MapViews:
    codes, labels = L.test_codes(model, 2000)
    a, b = L.encode(model, x_a).mu, L.encode(model, x_b).mu
    route = L.path(a, b, steps, path)
    title = f"{model}: {len(codes):,} test codes (μ) by class, and the path A → B"
    m = L.manifold(model)
    sheet = figures.manifold_sheet(m.frames, L.GRID)
    if point is not None:
        x, y = to_pixel(model, point, sheet.width)
        sheet = figures.mark(sheet, x, y)
    shares = {name: L.manifold(name).confident_share for name in L.MAP_MODELS}
    note = (f"The grid: {model} decoding a {L.GRID}×{L.GRID} grid over z1 ∈ [{m.z1[0]:.2f}, {m.z1[-1]:.2f}], "
            f"z2 ∈ [{m.z2[-1]:.2f}, {m.z2[0]:.2f}] (the 0.5th to 99.5th percentile of the test codes); click it to "
            "decode that point. Share of grid points the CNN reads with top probability ≥ 0.9: "
            + ", ".join(f"**{n} {round(s * L.GRID ** 2)} of {L.GRID ** 2} ({s:.2%})**" for n, s in shares.items())
            + ".")
    return MapViews(figures.latent_map_figure(codes, labels, title, route, point), sheet, note)


def to_pixel(model: str, z, side: int) -> tuple[float, float]:
    m = L.manifold(model)
    cell = side / L.GRID
    x = (z[0] - m.z1[0]) / (m.z1[-1] - m.z1[0]) * (L.GRID - 1) * cell + cell / 2
    y = (m.z2[0] - z[1]) / (m.z2[0] - m.z2[-1]) * (L.GRID - 1) * cell + cell / 2
    return x, y


def from_pixel(model: str, x: float, y: float, side: int) -> np.ndarray:
    m = L.manifold(model)
    cell = side / L.GRID
    z1 = m.z1[0] + (x - cell / 2) / ((L.GRID - 1) * cell) * (m.z1[-1] - m.z1[0])
    z2 = m.z2[0] - (y - cell / 2) / ((L.GRID - 1) * cell) * (m.z2[0] - m.z2[-1])
    return np.round(np.array([z1, z2]), 3)


def dimension_views(x_a) -> DimensionViews:
    code = L.encode("vae16", x_a)
    grid = L.traversal("vae16", code.mu)
    sheet = figures.sheet(grid.reshape(-1, 28, 28), len(L.TRAVERSAL), cell=40)
    return DimensionViews(sheet, figures.kl_figure(code.kl_per_dim, f"KL per dimension for A (vae16), total "
                                                                     f"{code.kl:.2f} nats"))


def first_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> FirstViews:
    """What a new endpoint or path setting shows first: the endpoints' codes and the decoded path."""
    return FirstViews(*endpoint_views(x_a, x_b, model), *path_views(x_a, x_b, steps_box, path, model))


def later_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> LaterViews:
    """The rest, in an event chained after first_views: AE vs VAE, the map, the dimensions. The steps box already
    shows the value first_views used, so reading it again warns no second time."""
    steps = STEPS.read(steps_box).value
    return LaterViews(*compare_views(x_a, x_b, steps, path), *map_views(x_a, x_b, steps, path, map_model),
                      *dimension_views(x_a))


def all_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> AllViews:
    return AllViews(*first_views(x_a, x_b, steps_box, path, model, map_model),
                    *later_views(x_a, x_b, steps_box, path, model, map_model))


def decode_views(model: str, z1, z2) -> tuple:
    a, b = Z1.read(z1), Z2.read(z2)
    z = np.array([a.value, b.value])
    frame = L.decode(model, z)
    label, p = L.top_class(L.classify(frame)[0])
    img = figures.frame_image(frame[0]).resize((168, 168), Image.Resampling.NEAREST)
    note = f"z = ({z[0]:.2f}, {z[1]:.2f}) under **{model}**: the CNN reads **{label}** ({p:.1%})."
    return img, note, a.shown, b.shown, z


def sample_views(model: str, tau_box, seed_box) -> tuple:
    tau, seed = TAU.read(tau_box), SEED.read(seed_box)
    _, frames = L.sample(model, SAMPLES, tau.value, seed.value)
    probabilities = L.classify(frames)
    labels = [f"{CLASSES[i]} {p:.2f}" for i, p in zip(probabilities.argmax(1), probabilities.max(1))]
    confident = float((probabilities.max(1) >= L.CONFIDENT).mean())
    note = (f"{SAMPLES} codes z ~ N(0, {tau.value:g}² I) from seed {seed.value}, decoded by **{model}**; the CNN "
            f"reads {confident:.0%} of them with top probability ≥ 0.9.")
    # 96-pixel cells: render.grid keeps cell // 6 characters of a label, enough for "T-shirt/top 0.99"
    return figures.sheet(frames, 8, cell=96, labels=labels), note, tau.shown, seed.shown


EXPLAIN = explain("vae")


def build(tab: gr.Tab) -> None:
    """The VAE tab and its vae_* API endpoints. Its views are computed when the tab is first opened, so the
    app's start does not wait for the test set's codes and the decoded grids."""
    gr.Markdown("## Latent spaces: VAE and autoencoder\nPick two images; walk from one's code to the other's and "
                "decode every step. The KL term pulls a VAE's codes into one continuous cloud, so every step "
                "decodes to a garment; compare a plain autoencoder on the same path and the whole 2-D map.")
    firsts = {"a": gallery_pick(5), "b": gallery_pick(7)}  # Sandal -> Sneaker
    ui = {}
    with gr.Row(equal_height=False):
        for name, (first, first_note) in firsts.items():
            with gr.Column(scale=1, min_width=300):
                gr.Markdown(f"### Endpoint {name.upper()}")
                ui[f"column_{name}"] = column = input_column(first, f"vae-{name}")
                column.note.value = first_note  # input_column's note names class 0, not this tab's first image
                ui[f"recon_{name}"] = gr.Image(type="pil", format="png", height=140, interactive=False,
                                               label="Reconstruction (z = μ)",
                                               elem_id=f"vae-recon-{name}")
                # the figure carries its own title (whose code, under which model, its KL)
                ui[f"code_{name}"] = gr.Plot(show_label=False, elem_id=f"vae-code-{name}")
    gr.Markdown("### Interpolation")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            steps = STEPS.slider(elem_id="vae-steps")
            path = gr.Radio(PATH_CHOICES, value="linear", label="Path", elem_id="vae-path")
            model = gr.Radio(["vae16", "vae2"], value="vae16", label="Decode with", elem_id="vae-model")
            with gr.Row():
                png = gr.DownloadButton("Strip as PNG", elem_id="vae-png")
                gif = gr.DownloadButton("Animated GIF", elem_id="vae-gif")
        with gr.Column(scale=4, min_width=520):
            # no corner buttons over the strip's last frame: the PNG and GIF buttons beside it download it
            strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                             elem_id="vae-strip")
            strip_note = gr.Markdown(elem_id="vae-strip-note")
            probabilities = gr.Plot(show_label=False, elem_id="vae-probabilities")  # the figure has the title
    gr.Markdown("### AE vs VAE: the same endpoints, the same path\nBoth have a 2-D latent and the same layers; "
                "only the VAE is trained with the KL term.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            # captions above the strips: a floating label would cover their first frames
            gr.Markdown("**ae2** (plain autoencoder)", elem_id="vae-ae-caption")
            ae_strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                elem_id="vae-ae-strip")
            gr.Markdown("**vae2** (VAE)", elem_id="vae-vae-caption")
            vae_strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                                 elem_id="vae-vae-strip")
            compare_note = gr.Markdown(elem_id="vae-compare-note")
        with gr.Column(scale=2, min_width=420):
            plausibility = gr.Plot(show_label=False, elem_id="vae-plausibility")
    gr.Markdown("### The whole 2-D latent map")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            map_model = gr.Radio(list(L.MAP_MODELS), value="vae2", label="Model", elem_id="vae-map-model")
            map_plot = gr.Plot(show_label=False, elem_id="vae-map")
            # the decoded point under the map, beside the grid it is clicked on
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=260):
                    z1 = Z1.slider(step=0.05, elem_id="vae-z1")
                    z2 = Z2.slider(step=0.05, elem_id="vae-z2")
                    point_note = gr.Markdown("Move z1 and z2, or click the decoded grid.",
                                             elem_id="vae-point-note")
                with gr.Column(scale=2, min_width=180):
                    gr.Markdown("**Decoded point**", elem_id="vae-point-caption")  # a label would cover it
                    point = gr.Image(type="pil", format="png", interactive=False, height=180, show_label=False,
                                     buttons=["download"], elem_id="vae-point")
        with gr.Column(scale=2, min_width=360):
            # a caption, not a label: a floating label and corner buttons would cover the grid's clickable edge
            gr.Markdown("**Decoded grid** over the map's range: click anywhere to decode that point.",
                        elem_id="vae-manifold-caption")
            manifold = gr.Image(type="pil", format="png", interactive=False, height=440, show_label=False,
                                buttons=[], elem_id="vae-manifold")
            map_note = gr.Markdown(elem_id="vae-map-note")
    gr.Markdown("### Dimensions (vae16)")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            gr.Markdown("**Traversal of A's code**: row k is dimension zk (z1 at the top, z16 at the bottom).",
                        elem_id="vae-traversal-caption")
            # 16 rows of 7: drawn about 28 pixels a frame (the frames' own size); fullscreen enlarges it
            traversal = gr.Image(type="pil", format="png", interactive=False, show_label=False, height=540,
                                 buttons=["download", "fullscreen"], elem_id="vae-traversal")
        with gr.Column(scale=2, min_width=420):
            kl = gr.Plot(show_label=False, elem_id="vae-kl")
            # beside the tall traversal, under the chart its rows are read against
            gr.Markdown("Each row of the traversal is one latent dimension swept from −3 to +3 (columns: −3, −2, "
                        "…, +3) while the others stay at A's μ. Dimensions with KL near 0 carry nothing: their row "
                        "does not change.", elem_id="vae-traversal-note")
    gr.Markdown("### Sampling from the prior")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            sample_model = gr.Radio(list(L.MODELS), value="vae16", label="Model", elem_id="vae-sample-model")
            tau = TAU.slider(step=0.05, elem_id="vae-tau")
            seed = SEED.number(elem_id="vae-seed")
            resample = gr.Button("Sample 16", elem_id="vae-sample")
        with gr.Column(scale=3, min_width=520):
            samples = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                               elem_id="vae-samples")  # corner buttons would cover the last sample
            sample_note = gr.Markdown(elem_id="vae-sample-note")
    with gr.Accordion("Explain: the ELBO, reparameterisation, the KL, β-VAE, slerp, PyTorch, and a KL calculator",
                      open=False, elem_id="vae-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="vae-explain-text")
        with gr.Row():
            kl_mu = gr.Textbox("0, 1, -0.5", label="μ per dimension", elem_id="vae-kl-mu")
            kl_logvar = gr.Textbox("0, 0, -1", label="log σ² per dimension", elem_id="vae-kl-logvar")
        kl_go = gr.Button("Compute the KL", elem_id="vae-kl-go")
        kl_out = gr.Markdown(elem_id="vae-kl-out")

    ui.update(strip=strip, strip_note=strip_note, probabilities=probabilities, png=png, gif=gif, steps=steps,
              ae_strip=ae_strip, vae_strip=vae_strip, plausibility=plausibility, compare_note=compare_note,
              map_plot=map_plot, manifold=manifold, map_note=map_note, traversal=traversal, kl=kl)
    column_a, column_b = ui["column_a"], ui["column_b"]
    controls = [steps, path, model, map_model]
    everything = outputs(AllViews, ui)

    def read(image_a, image_b):
        return image_input(image_a), image_input(image_b)

    @user_errors
    def first_ui(image_a, image_b, *values):
        return first_views(*read(image_a, image_b), *values)

    @user_errors
    def later_ui(image_a, image_b, *values):
        return later_views(*read(image_a, image_b), *values)

    both = [column_a.image, column_b.image, *controls]
    first_out = outputs(FirstViews, ui)
    events = [*column_a.on_new_image(lambda img, b, *values: first_views(image_input(img), image_input(b), *values),
                                     [column_b.image, *controls], first_out),
              *column_b.on_new_image(lambda img, a, *values: first_views(image_input(a), image_input(img), *values),
                                     [column_a.image, *controls], first_out),
              gr.on([steps.release, path.input, model.input], first_ui, both, first_out, trigger_mode="always_last",
                    **PRIVATE)]
    for event in events:
        event.then(later_ui, both, outputs(LaterViews, ui), **PRIVATE)

    @user_errors
    def decode_ui(image_a, image_b, steps_box, path_kind, map_name, z1_box, z2_box):
        image, note, z1_shown, z2_shown, z = decode_views(map_name, z1_box, z2_box)
        views = map_views(*read(image_a, image_b), STEPS.read(steps_box).value, path_kind, map_name, z)
        return image, note, z1_shown, z2_shown, *views

    @user_errors
    def click_ui(evt: gr.SelectData, image_a, image_b, steps_box, path_kind, map_name):
        z1_value, z2_value = (float(v) for v in from_pixel(map_name, evt.index[0], evt.index[1], L.GRID * 28))
        views = decode_ui(image_a, image_b, steps_box, path_kind, map_name, z1_value, z2_value)
        return *views[:2], z1_value, z2_value, *views[4:]  # the boxes show the clicked point

    point_outputs = [point, point_note, z1, z2, *outputs(MapViews, ui)]
    map_inputs = [column_a.image, column_b.image, steps, path, map_model]
    # A new map model decodes the same point again, so the point's picture and note never name the other model.
    gr.on([z1.release, z2.release, map_model.input], decode_ui, [*map_inputs, z1, z2], point_outputs,
          trigger_mode="always_last", **PRIVATE)
    manifold.select(click_ui, map_inputs, point_outputs, **PRIVATE)

    @user_errors
    def sample_ui(name, tau_box, seed_box):
        return sample_views(name, tau_box, seed_box)

    sample_outputs = [samples, sample_note, tau, seed]
    gr.on([resample.click, sample_model.input, tau.release, seed.submit], sample_ui, [sample_model, tau, seed],
          sample_outputs, trigger_mode="always_last", **PRIVATE)

    @user_errors
    def kl_ui(mu_text, logvar_text):
        mu, logvar = (parse_numbers(t, name) for t, name in ((mu_text, "μ"), (logvar_text, "log σ²")))
        per_dim = L.kl_closed_form(mu, logvar)
        rows = "\n".join(f"| z{i + 1} | {m:.4g} | {v:.4g} | {k:.4f} |"
                         for i, (m, v, k) in enumerate(zip(mu, logvar, per_dim)))
        return (f"| dimension | μ | log σ² | KL (nats) |\n|---|---:|---:|---:|\n{rows}\n\n"
                f"**Total KL = {per_dim.sum():.4f} nats**")

    kl_go.click(kl_ui, [kl_mu, kl_logvar], kl_out, **PRIVATE)

    # Opening the tab the first time fills every view (later openings keep what the visitor has).
    filled = gr.State(False)

    @user_errors
    def first_open(done, image_a, image_b, *values):
        if done:
            return True, *[gr.skip()] * (len(everything) + len(sample_outputs) + 2)
        views = all_views(*read(image_a, image_b), *values)
        image, note, *_ = decode_views(values[-1], Z1.default, Z2.default)  # the decoded point starts at z = 0
        return True, *views, *sample_views("vae16", TAU.default, SEED.default), image, note

    tab.select(first_open, [filled, column_a.image, column_b.image, *controls],
               [filled, *everything, *sample_outputs, point, point_note], **PRIVATE)
    api(vae_encode, "vae_encode")
    api(vae_interpolate, "vae_interpolate")
    api(vae_decode, "vae_decode")
    api(vae_kl, "vae_kl")
    api(vae_latent_map, "vae_latent_map")


def parse_numbers(text: str, name: str) -> list[float]:
    """'0, 1.5, -2' as numbers, with a message naming the box for anything else."""
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError(f"{name}: type one number per dimension, separated by commas.")
    if len(parts) > 256:
        raise ValueError(f"{name}: at most 256 dimensions; {len(parts)} were typed.")
    try:
        return [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise ValueError(f"{name}: {bad[:20]!r} is not a number.") from None


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
