"""The forward process on any image: x_t at any t, drawn in the browser while t moves (forward_view.js, from x_0, ε
and ᾱ sent once per image, seed and schedule), a strip of x_t over t (the same ε), and the noise schedules, with
the T mismatch (the same β range over T = 100). core.diffusion.schedule does the maths."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import gradio as gr
from PIL import Image

from core.diffusion import figures, schedule
from core.uploads import open_image
from explorers.common import Box, outputs, uploaded_path, user_errors
from explorers.inputs import PRIVATE, InputColumn, gallery_indices, input_column, sample_image
from explorers.path import Step, path
from explorers.widgets import packed, widget

KINDS = [("linear (1e-4 to 0.02, the bundled model's)", "linear"),
         ("scaled linear (√β linear, Stable Diffusion's)", "scaled_linear"), ("cosine (Nichol & Dhariwal)", "cosine")]
MISMATCH_T = 100
MAX_FORWARD_SIDE = 256             # the forward view shows an upload at most this large
FIRST_T = 250                      # the t the view opens at (of T = 1000); the browser keeps t from then on
FORWARD_SEED = Box("Noise seed", 0, 2**31 - 1, 0, label="Seed of ε")
CELL_MIN = 224   # the forward view enlarges a 28x28 image to at least this, with square pixels
VIEW = Path(__file__).with_name("forward_view")   # forward_view.html / .js / .css: x_t and ᾱ_t, SNR over t


def shown_schedules(kind: str, mismatch: bool) -> dict:
    shown = {name: schedule.make_shown(name) for name in ("linear", "scaled_linear", "cosine")}
    if mismatch:
        shown[f"{kind} T = {MISMATCH_T}"] = schedule.make_shown(kind, MISMATCH_T)
    return shown


def noised(img: Image.Image, t: int, seed: int, kind: str, T: int = schedule.BUNDLED_T):
    """x_t of the image (at most MAX_FORWARD_SIDE a side), (√ᾱ_t, √(1 − ᾱ_t)) and the t used."""
    return schedule.noised_image(img, t, seed, kind, T, MAX_FORWARD_SIDE)


def read_image(image) -> Image.Image:
    return image if isinstance(image, Image.Image) else open_image(uploaded_path(image))


class Forward(NamedTuple):
    view: object
    coefs: object
    strip: object
    plot: object
    seed_box: object


def schedule_text(s: schedule.Schedule, kind: str, T: int, mismatch: bool) -> str:
    """What the schedule says whatever t is: where SNR falls below 1, and under the T mismatch what x_T keeps of the
    image, said as a mismatch only when it keeps a visible share (the cosine schedule, set by T alone, still ends
    at pure noise). The view above writes x_t's coefficients at the t shown."""
    text = (f"**{kind}, T = {T}**: SNR falls below 1 at t = {s.snr_cross_t}." if s.snr_cross_t else
            f"**{kind}, T = {T}**: SNR never falls below 1 in this schedule.")
    if not mismatch:
        return text
    signal = s.coefficients(T)[0]
    if s.keeps_image:
        return text + (f" With T = {MISMATCH_T} and the same β range, x_T still keeps √ᾱ_T = {signal:.3f} of the "
                       "image: sampling from pure noise would start somewhere the model never saw in training.")
    return text + (f" With T = {MISMATCH_T}, x_T is still pure noise to the eye (√ᾱ_T = {signal:.1e}, under "
                   f"{schedule.VISIBLE_SIGNAL:g} of the image), so there is no mismatch at x_T"
                   + (": the cosine schedule is set by T alone and ignores the β range." if kind == "cosine" else ".")
                   + " Only each step is larger.")


def view_value(img: Image.Image, seed: int, kind: str, T: int, colour: str) -> dict:
    """The forward view's data, sent once per (image, seed, schedule): x_0, ε and ᾱ_1 … ᾱ_T, from which the browser
    draws x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε at every t the control reaches (float32 pictures, float64 ᾱ)."""
    x0, noise, s = schedule.forward_parts(img, seed, kind, T, MAX_FORWARD_SIDE)
    return {"x0": packed(x0), "eps": packed(noise), "alpha_bar": packed(s.alpha_bar, "float64"), "T": T,
            "t": round(FIRST_T * T / schedule.BUNDLED_T), "kind": kind, "colour": colour,
            "side": max(CELL_MIN, x0.shape[2])}


def forward_views(img: Image.Image, seed_box, kind: str, mismatch: bool) -> Forward:
    """The forward view's data, the schedule's text, a strip of x_t over t and the schedules; with the T mismatch,
    x_t and the strip use T = 100."""
    T = MISMATCH_T if mismatch else schedule.BUNDLED_T
    seed = FORWARD_SEED.read(seed_box)
    strip_ts = [round(T * k / 5) for k in range(6)]
    frames = [noised(img, s, seed.value, kind, T)[0] for s in strip_ts]
    shown = shown_schedules(kind, mismatch)
    current = f"{kind} T = {MISMATCH_T}" if mismatch else kind
    strip = figures.filmstrip(frames, [f"t={v}" for v in strip_ts], cell=96, columns=6)
    view = view_value(img, seed.value, kind, T, figures.SCHEDULE_COLOURS[kind])
    return Forward(view, schedule_text(shown[current], kind, T, mismatch), strip, figures.schedules(shown),
                   seed.shown)


def build() -> tuple[InputColumn, list, list]:
    """The forward process's controls and views, wired; returns the input column, the controls and the views (the
    tab's first opening draws them)."""
    path("diff-forward-path", "The forward process: x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε mixes the image x₀ with noise ε. "
         "Drag t and watch the image fade as ᾱ_t, the signal's share of the variance, falls to 0.",
         [Step("Drag t", "diff-forward-t"), Step("Try another schedule", "diff-kind"),
          Step("Read the strip, x₀ to noise", "diff-strip"), Step("Compare the schedules", "diff-schedules"),
          Step("Noise another image", "diff-gallery")],
         picture="diff-forward-view", control="diff-forward-t")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=480):
            # Drawn in the browser: moving t asks the server nothing (forward_view.js).
            view = widget(VIEW, "diff-forward-view")
            # The caption above the strip, with no corner buttons: a floating label covered the strip (all of it
            # at 800 px).
            gr.Markdown("**x_t at six values of t** (the same ε), from the image (t = 0) to pure noise (t = T)",
                        elem_id="diff-strip-caption")
            strip = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                             elem_id="diff-strip")
        # As wide as the gallery's five columns of thumbnails (gradio's least is 100 px each): narrower, they ran
        # past its edge. The image's picker under the settings: x₀ is already the strip's first frame.
        with gr.Column(scale=2, min_width=560):
            kind = gr.Radio(KINDS, value="linear", label="Schedule", elem_id="diff-kind")
            mismatch = gr.Checkbox(False, label=f"T mismatch: the same β range with T = {MISMATCH_T}",
                                   elem_id="diff-mismatch")
            seed_box = FORWARD_SEED.number(elem_id="diff-forward-seed")
            coefs = gr.Markdown(elem_id="diff-coefs")
            column = input_column(sample_image(gallery_indices()[0]), "diff")
    plot = gr.Plot(label="Noise schedules", elem_id="diff-schedules")
    ui = {"view": view, "coefs": coefs, "strip": strip, "plot": plot, "seed_box": seed_box}
    views = outputs(Forward, ui)
    controls = [seed_box, kind, mismatch]

    @user_errors
    def update(image, *values):
        return forward_views(read_image(image), *values)

    column.on_new_image(lambda img, *values: forward_views(img, *values), controls, views)
    gr.on([seed_box.submit, kind.change, mismatch.change], update, [column.image, *controls], views, **PRIVATE)
    return column, controls, views
