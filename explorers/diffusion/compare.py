"""Two sampling configurations side by side from the same seed, so from the same x_T: x̂₀ along each run and its
final image, its wall time and the CNN's confidence in the asked class."""
from __future__ import annotations

from typing import NamedTuple

import gradio as gr
import numpy as np

from core.data import CLASSES
from core.diffusion import figures, record, sampling
from explorers.common import Box, outputs, user_errors
from explorers.diffusion.controls import SEED, class_choices, echo_on_commit, read_settings, scheduler_choices
from explorers.inputs import PRIVATE

A_STEPS, B_STEPS = Box("A: steps", 1, sampling.MAX_STEPS, 1000), Box("B: steps", 1, sampling.MAX_STEPS, 50)
A_W = Box("A: guidance w", 0, sampling.MAX_GUIDANCE, sampling.DEFAULT_GUIDANCE, whole=False)
B_W = Box("B: guidance w", 0, sampling.MAX_GUIDANCE, sampling.DEFAULT_GUIDANCE, whole=False)


class Compared(NamedTuple):
    a_image: object
    a_note: object
    b_image: object
    b_note: object
    a_steps: object
    a_w: object
    b_steps: object
    b_w: object
    seed: object


def one_side(cls, scheduler, steps_box, w_box, seed_box, steps: Box, w: Box):
    denoiser, settings, readings, _ = read_settings(cls, w_box, scheduler, steps_box, seed_box, w=w, steps=steps)
    rec = record.recorded(denoiser, settings)
    probabilities = record.classify(denoiser, rec.final[None])[0]
    n = len(rec)
    picks = sorted({round(k * (n - 1) / 5) for k in range(6)})
    strip = figures.filmstrip([rec.x0[i] for i in picks] + [rec.final], [f"t={rec.timesteps[i]}" for i in picks]
                              + ["final"], cell=84, columns=7)
    top = int(np.argmax(probabilities))
    asked = settings.label
    conf = (f"p({CLASSES[asked]}) = **{probabilities[asked]:.3f}**" if asked is not None else
            f"top class {CLASSES[top]} (p = {probabilities[top]:.3f})")
    note = (f"**{settings.scheduler}, {settings.steps} steps, w = {settings.guidance:g}**, seed {settings.seed}: "
            f"{rec.seconds:.2f} s of sampling; the CNN reads the image as {CLASSES[top]}, {conf}.")
    return strip, note, readings


@user_errors
def compare_ui(cls, seed_box, a_sched, a_steps_box, a_w_box, b_sched, b_steps_box, b_w_box):
    a_strip, a_text, a_read = one_side(cls, a_sched, a_steps_box, a_w_box, seed_box, A_STEPS, A_W)
    yield Compared(a_strip, a_text, gr.skip(), "B is sampling …", a_read[1].shown, a_read[0].shown, gr.skip(),
                   gr.skip(), a_read[2].shown)
    b_strip, b_text, b_read = one_side(cls, b_sched, b_steps_box, b_w_box, seed_box, B_STEPS, B_W)
    yield Compared(gr.skip(), gr.skip(), b_strip, b_text, gr.skip(), gr.skip(), b_read[1].shown,
                   b_read[0].shown, gr.skip())


def build() -> None:
    """The comparison's controls and views, wired."""
    gr.Markdown("Two configurations from the same seed, so the same x_T: each row shows x̂₀ along its run and the "
                "final image, its wall time and the CNN's confidence in the asked class.")
    with gr.Row():
        cls = gr.Dropdown(class_choices(), value="0", label="Class", elem_id="diff-cmp-class")
        seed = SEED.number(elem_id="diff-cmp-seed")
    with gr.Row():
        with gr.Column():
            a_scheduler = gr.Dropdown(scheduler_choices(), value="ddpm", label="A: scheduler", elem_id="diff-a-sched")
            a_steps = A_STEPS.number(elem_id="diff-a-steps")
            a_w = A_W.number(elem_id="diff-a-w")
        with gr.Column():
            b_scheduler = gr.Dropdown(scheduler_choices(), value="ddim", label="B: scheduler", elem_id="diff-b-sched")
            b_steps = B_STEPS.number(elem_id="diff-b-steps")
            b_w = B_W.number(elem_id="diff-b-w")
    go_button = gr.Button("Compare", variant="primary", elem_id="diff-compare")
    a_image = gr.Image(label="A", type="pil", format="png", height=130, elem_id="diff-a-image")
    a_note = gr.Markdown(elem_id="diff-a-note")
    b_image = gr.Image(label="B", type="pil", format="png", height=130, elem_id="diff-b-image")
    b_note = gr.Markdown(elem_id="diff-b-note")
    views = outputs(Compared, {"a_image": a_image, "a_note": a_note, "b_image": b_image, "b_note": b_note,
                               "a_steps": a_steps, "a_w": a_w, "b_steps": b_steps, "b_w": b_w, "seed": seed})
    echo_on_commit([], [(seed, SEED), (a_steps, A_STEPS), (a_w, A_W), (b_steps, B_STEPS), (b_w, B_W)])
    go_button.click(compare_ui, [cls, seed, a_scheduler, a_steps, a_w, b_scheduler, b_steps, b_w], views,
                    concurrency_id="diff-sample", **PRIVATE)
