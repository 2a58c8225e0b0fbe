"""The forward process on any image: x_t at a chosen t, a strip of x_t over t (the same ε), and the noise
schedules, with the T mismatch (the same β range over T = 100). core.diffusion.schedule does the maths."""
from __future__ import annotations

from typing import NamedTuple

import gradio as gr
from PIL import Image

from core.diffusion import figures, schedule
from core.uploads import open_image
from explorers.common import Box, outputs, uploaded_path, user_errors
from explorers.inputs import PRIVATE, InputColumn, gallery_indices, input_column, sample_image

KINDS = [("linear (1e-4 to 0.02, the bundled model's)", "linear"),
         ("scaled linear (√β linear, Stable Diffusion's)", "scaled_linear"), ("cosine (Nichol & Dhariwal)", "cosine")]
MISMATCH_T = 100
MAX_FORWARD_SIDE = 256             # the forward view shows an upload at most this large
T_BOX = Box("t", 0, schedule.BUNDLED_T, 250)
FORWARD_SEED = Box("Noise seed", 0, 2**31 - 1, 0, label="Seed of ε")
CELL_MIN = 224   # the forward view enlarges a 28x28 image to at least this, with square pixels


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
    x_t: object
    coefs: object
    strip: object
    plot: object
    t_box: object
    seed_box: object


def coefficients_text(s: schedule.Schedule, kind: str, t_used: int, T: int, signal: float, noise: float,
                      mismatch: bool) -> str:
    snr = "∞ (the image itself)" if t_used == 0 else f"{s.snr[t_used - 1]:.4g}"
    coefs = (f"**t = {t_used} of T = {T}** ({kind}): x_t = **{signal:.4f}**·x₀ + **{noise:.4f}**·ε, SNR = {snr}. "
             f"SNR falls below 1 at t = {s.snr_cross_t}." if s.snr_cross_t else
             f"**t = {t_used} of T = {T}** ({kind}): x_t = **{signal:.4f}**·x₀ + **{noise:.4f}**·ε, SNR = {snr}; "
             "SNR never falls below 1 in this schedule.")
    if mismatch:
        coefs += (f" With T = {MISMATCH_T} and the same β range, x_T still keeps √ᾱ_T = "
                  f"{s.coefficients(T)[0]:.3f} of the image: sampling from pure noise would start somewhere the "
                  "model never saw in training.")
    return coefs


def forward_views(img: Image.Image, t_box, seed_box, kind: str, mismatch: bool) -> Forward:
    """x_t at t, a strip over t, and the schedules; with the T mismatch, x_t and the strip use T = 100."""
    T = MISMATCH_T if mismatch else schedule.BUNDLED_T
    t, seed = T_BOX.read(t_box), FORWARD_SEED.read(seed_box)
    if t.value > T:   # the T mismatch was switched on with t beyond 100: the same fraction of T = 100
        t = t._replace(value=round(t.value * T / T_BOX.hi), changed=True)
    x_t, (signal, noise), t_used = noised(img, t.value, seed.value, kind, T)
    side = max(CELL_MIN, x_t.shape[2])
    strip_ts = [round(T * k / 5) for k in range(6)]
    frames = [noised(img, s, seed.value, kind, T)[0] for s in strip_ts]
    shown = shown_schedules(kind, mismatch)
    current = f"{kind} T = {MISMATCH_T}" if mismatch else kind
    coefs = coefficients_text(shown[current], kind, t_used, T, signal, noise, mismatch)
    strip = figures.filmstrip(frames, [f"t={v}" for v in strip_ts], cell=96, columns=6)
    return Forward(figures.picture(x_t, cell=side), coefs, strip, figures.schedules(shown, t_used, current),
                   t.update(maximum=T), seed.shown)


def build() -> tuple[InputColumn, list, list]:
    """The forward process's controls and views, wired; returns the input column, the controls and the views (the
    tab's first opening draws them)."""
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            column = input_column(sample_image(gallery_indices()[0]), "diff")
        with gr.Column(scale=2):
            kind = gr.Radio(KINDS, value="linear", label="Schedule", elem_id="diff-kind")
            mismatch = gr.Checkbox(False, label=f"T mismatch: the same β range with T = {MISMATCH_T}",
                                   elem_id="diff-mismatch")
            t_box = T_BOX.slider(elem_id="diff-t")
            seed_box = FORWARD_SEED.number(elem_id="diff-forward-seed")
            with gr.Row():
                x_t = gr.Image(label="x_t", type="pil", format="png", height=260, elem_id="diff-xt",
                               show_label=True)
                strip = gr.Image(label="x_t at six values of t (the same ε)", type="pil", format="png",
                                 elem_id="diff-strip")
            coefs = gr.Markdown(elem_id="diff-coefs")
    plot = gr.Plot(label="Noise schedules", elem_id="diff-schedules")
    ui = {"x_t": x_t, "coefs": coefs, "strip": strip, "plot": plot, "t_box": t_box, "seed_box": seed_box}
    views = outputs(Forward, ui)
    controls = [t_box, seed_box, kind, mismatch]

    @user_errors
    def update(image, *values):
        return forward_views(read_image(image), *values)

    column.on_new_image(lambda img, *values: forward_views(img, *values), controls, views)
    gr.on([t_box.release, seed_box.submit, kind.change, mismatch.change], update, [column.image, *controls], views,
          **PRIVATE)
    return column, controls, views
