"""Two sampling configurations side by side from the same seed, so from the same x_T: x̂₀ along each run and its
final image, its wall time and the CNN's confidence in the asked class."""
from __future__ import annotations

from typing import NamedTuple

import gradio as gr
import numpy as np

from core.data import CLASSES
from core.diffusion import figures, record, sampling
from explorers.common import Box, outputs, user_errors
from explorers.diffusion import reverse
from explorers.diffusion.controls import SEED, class_choices, echo_on_commit, read_settings, scheduler_choices
from explorers.inputs import PRIVATE
from explorers.path import Step, path
from explorers.streaming import stream, visitor_state

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


def finished(rec, probabilities: np.ndarray) -> tuple:
    """A finished side's strip (x̂₀ at six steps and the final image) and its note."""
    settings = rec.settings
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
    return strip, note


def progress(name: str, rec) -> str:
    """A side's line while it samples (read under the runner's lock), counting steps as the reverse view does."""
    s = rec.settings
    done = f"step {reverse.step_of(rec, len(rec) - 1)}" if len(rec) else "starting"
    return f"{name} is sampling ({s.scheduler}, {s.steps} steps): {done}, {rec.seconds:.1f} s …"


def one_side(holder: reverse.LastSample, name: str, values: tuple, steps: Box, w: Box):
    """One side's run in the holder's Runner (so Stop reaches it): ("progress", line) every REFRESH while it runs,
    then ("done", strip, note, readings), or ("stopped", line, readings)."""
    denoiser, settings, readings, _ = read_settings(*values, w=w, steps=steps)
    runner = holder.new_run(record.SamplingRun(denoiser, settings))
    rec = runner.run.recording
    runner.start()
    try:
        for line in stream(runner, lambda: progress(name, rec), lambda line: line):
            yield "progress", line
    finally:   # also when the page is closed mid-run: gradio then closes this generator
        runner.stop()
    if runner.error is not None:
        raise runner.error
    if not rec.done:
        where = f"at step {reverse.step_of(rec, len(rec) - 1)}" if len(rec) else "before its first step"
        yield "stopped", f"{name} was stopped {where}.", readings
        return
    yield "done", *finished(rec, record.classify(denoiser, rec.final[None])[0]), readings


def update(side: str, **values) -> Compared:
    """An update of one side's fields ("a" or "b": image, note, steps, w) and the shared seed; the rest skipped."""
    named = {k if k == "seed" else f"{side}_{k}": v for k, v in values.items()}
    return Compared(**{f: gr.skip() for f in Compared._fields} | named)


def compared(holder, cls, seed_box, a_values: tuple, b_values: tuple):
    """compare_ui's updates: each side's progress in its note while it samples, A then B, then its strip and note;
    a Stop ends the side that runs, and B does not start after a stopped A."""
    holder = holder or reverse.LastSample()
    # The holder reaches the page before A starts, so a Stop pressed at once reaches the run; B's strip of an
    # earlier comparison is cleared, so it is never shown beside this one's notes.
    yield Compared(gr.skip(), gr.skip(), None, "B samples once A is done.", *(gr.skip(),) * 5), holder
    for side, (sched, steps_box, w_box), steps, w in (("a", a_values, A_STEPS, A_W), ("b", b_values, B_STEPS, B_W)):
        for kind, *rest in one_side(holder, side.upper(), (cls, w_box, sched, steps_box, seed_box), steps, w):
            if kind == "progress":
                yield update(side, note=rest[0]), holder
                continue
            readings = rest[-1]
            shown = {"steps": readings[1].shown, "w": readings[0].shown, "seed": readings[2].shown}
            if kind == "stopped":
                stopped = update(side, note=rest[0], **shown)
                yield (stopped._replace(b_note="B was not sampled: A was stopped.") if side == "a" else stopped), holder
                return
            yield update(side, image=rest[0], note=rest[1], **shown), holder


@user_errors
def compare_ui(holder, cls, seed_box, a_sched, a_steps_box, a_w_box, b_sched, b_steps_box, b_w_box):
    for views, kept in compared(holder, cls, seed_box, (a_sched, a_steps_box, a_w_box),
                                (b_sched, b_steps_box, b_w_box)):
        yield *views, kept


def build() -> None:
    """The comparison's controls and views, wired."""
    path("diff-cmp-path", "Two samplers from the same seed, so from the same noise x_T: each side shows x̂₀ along "
         "its run and the final image, its wall time and the CNN's confidence in the class. A samples first, then B.",
         [Step("Pick a class", "diff-cmp-class"), Step("Set A and B", "diff-a-sched"),
          Step("Press Compare", "diff-compare"), Step("Watch A, then B", "diff-cmp-sides"),
          Step("Weigh time against quality", "diff-a-note")],
         picture="diff-cmp-sides", control="diff-compare", action="diff-compare")
    with gr.Row(equal_height=False):
        cls = gr.Dropdown(class_choices(), value="0", label="Class", elem_id="diff-cmp-class", scale=2)
        seed = SEED.number(elem_id="diff-cmp-seed", scale=1)
        with gr.Column(scale=1, min_width=160):
            go_button = gr.Button("Compare", variant="primary", elem_id="diff-compare")
            stop = gr.Button("Stop", elem_id="diff-cmp-stop")
    # Each side's settings above its own strip and note; at 800 px B comes under A.
    with gr.Row(equal_height=False, elem_id="diff-cmp-sides"):
        with gr.Column(min_width=380):
            with gr.Row():
                a_scheduler = gr.Dropdown(scheduler_choices(), value="ddpm", label="A: scheduler",
                                          elem_id="diff-a-sched", scale=3)
                a_steps = A_STEPS.number(elem_id="diff-a-steps", min_width=100)
                a_w = A_W.number(elem_id="diff-a-w", min_width=100)
            # Captions above the strips: a floating label covered their first frames.
            gr.Markdown("**A**: x̂₀ at six of its steps (each under its timestep t) and the final image",
                        elem_id="diff-a-caption")
            a_image = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                               height=130, elem_id="diff-a-image")
            a_note = gr.Markdown(elem_id="diff-a-note", elem_classes="gb-status")
        with gr.Column(min_width=380):
            with gr.Row():
                b_scheduler = gr.Dropdown(scheduler_choices(), value="ddim", label="B: scheduler",
                                          elem_id="diff-b-sched", scale=3)
                b_steps = B_STEPS.number(elem_id="diff-b-steps", min_width=100)
                b_w = B_W.number(elem_id="diff-b-w", min_width=100)
            gr.Markdown("**B**: the same, from the same x_T", elem_id="diff-b-caption")
            b_image = gr.Image(type="pil", format="png", interactive=False, show_label=False, buttons=[],
                               height=130, elem_id="diff-b-image")
            b_note = gr.Markdown(elem_id="diff-b-note", elem_classes="gb-status")
    views = outputs(Compared, {"a_image": a_image, "a_note": a_note, "b_image": b_image, "b_note": b_note,
                               "a_steps": a_steps, "a_w": a_w, "b_steps": b_steps, "b_w": b_w, "seed": seed})
    echo_on_commit([], [(seed, SEED), (a_steps, A_STEPS), (a_w, A_W), (b_steps, B_STEPS), (b_w, B_W)])
    state = visitor_state()
    go_button.click(compare_ui, [state, cls, seed, a_scheduler, a_steps, a_w, b_scheduler, b_steps, b_w],
                    [*views, state], concurrency_id="diff-sample", **PRIVATE)
    # Through the queue with no limit, as the reverse view's Stop, so a press never waits for another visitor's.
    stop.click(reverse.stop_ui, [state], None, concurrency_limit=None, **PRIVATE)
