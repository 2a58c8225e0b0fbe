"""The one skeleton of the GAN tab's two live-trained modes, points in the plane (points.py) and Fashion-MNIST
images (images.py): each visitor's run in a core.live.Runner of its own (VisitorRun), the buttons that play, pause,
step and reset it, the choices and number boxes applied to it as it goes, and its status line. A mode (a LiveMode
subclass) says only what differs: its settings, its runs and its pictures."""
import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import gradio as gr
import numpy as np

from core import live
from core.gan import runs
from core.gan.losses import LABELS, LOSSES
from explorers.common import Box, user_errors
from explorers.inputs import PRIVATE
from explorers.streaming import REFRESH, stream

LIMIT_SECONDS = 300          # one press of play trains for at most 5 minutes
CURVES_EVERY = 5             # while playing, the curves are redrawn with every fifth picture
CURVE_POINTS = 400           # the curves draw at most this many logged steps (evenly thinned)
LOSS_CHOICES = [(LABELS[k], k) for k in LOSSES]
READY = "Press play to train, or step through it one iteration at a time."
STEPPED = {"both": "One iteration: k D steps, then one G step.", "d": "One D step: G stays put.",
           "g": "One G step: D stays put."}
NEEDS_NEW_RUN = "This change needs a new run: pause, then press play, step or reset to start one."
WAITING = ("Waiting for a training slot: you are number {place} in line. The run starts by itself when a slot "
           "frees; pause leaves the line.")


class VisitorRun:
    """One visitor's run in one mode: its Runner, made on first use and replaced by each new run. A mode's subclass
    keeps what it needs beside the run."""

    single = True   # the Runner works on one thread (small runs: see core.live)
    picture = None  # given (a module-level function of the run), plays go to a worker process (see core.live)
    every = 1 / 16  # ... which sends picture(run) at most this often

    def __init__(self):
        self.runner: live.Runner | None = None
        self.note = ""                                # what the status line says first while the run plays
        self.watching: live.Runner | None = None     # the runner a stream draws (one stream per run)

    def new_run(self, run) -> live.Runner:
        if self.runner is not None:
            self.runner.stop()   # waits: the old run's stream then ends before the new run's picture is sent
        self.starting(run)
        self.runner = live.Runner(run, live.SLOTS, single=self.single, limit=LIMIT_SECONDS, picture=self.picture,
                                  every=self.every)
        return self.runner

    def starting(self, run) -> None:
        """What the mode keeps of a new run, set before its Runner exists: a picture never pairs a run with what
        was kept of another."""

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop(wait=False)


def read_boxes(boxes: dict[str, Box], numbers) -> tuple[dict, list]:
    """The number boxes' values by name, and what each box must be sent back (Reading.shown)."""
    readings = [box.read(value) for box, value in zip(boxes.values(), numbers, strict=True)]
    return dict(zip(boxes, (r.value for r in readings), strict=True)), [r.shown for r in readings]


def evenly(n: int) -> list[int]:
    """At most CURVE_POINTS of the indices 0..n-1, evenly spaced, the first and last kept: a long run's curves stay
    cheap to send five times a second."""
    if n <= CURVE_POINTS:
        return list(range(n))
    return np.unique(np.linspace(0, n - 1, CURVE_POINTS).round().astype(int)).tolist()


class LiveMode(abc.ABC):
    """A live-trained mode: the handlers every mode shares (play, step, reset, apply, first_open) over what a
    subclass gives, the class attributes below and the abstract methods.

    A handler's arguments are the visitor's state, then the mode's `looks` (inputs that change how the picture
    looks, not the run: the 2-D mode's layers), then its controls (its choices, then its number boxes)."""

    visitor_run: type[VisitorRun]
    boxes: dict[str, Box]   # the number boxes, in the order of the handlers' arguments
    looks = 0               # how many looks come before the controls
    refresh = REFRESH       # seconds between the pictures of a run that plays
    # How many of the views (the first ones) each streamed message carries; play sends the others once and the
    # event after the stream (settle) when the run stops. None: every view is streamed. 0: nothing is streamed: the
    # first view streams its own frames from an endpoint while the run plays (the 2-D view, with a token in its
    # value: see explorers.streaming.Tokens), the event after play only waits for the run to stop (wait), and
    # settle writes every view. The page pays for each streamed message (gradio refreshes the loading status of
    # every component an event has updated, each found by a search of its component tree) and for each output in it.
    streamed: int | None = None
    changed = ""            # what a new run's note says changed, e.g. "The start or the seed"
    running_text = ""       # the status line while the run plays
    diverged_text = ""      # what the status line adds to why the run diverged
    views = 0               # how many views the mode draws (set by wire)

    @abc.abstractmethod
    def read_settings(self, visit: VisitorRun, *controls) -> tuple:
        """The controls as the mode's checked Settings, and what each number box must be sent back."""
        ...

    @abc.abstractmethod
    def new_run(self, settings):
        """A new run of the mode from checked settings."""

    @abc.abstractmethod
    def captured(self, visit: VisitorRun, run, running: bool) -> dict:
        """What the mode's pictures need of the run, copied under the runner's lock."""
        ...

    @abc.abstractmethod
    def drawer(self, visit: VisitorRun, note: str = "") -> Callable[[dict], tuple]:
        """The function that draws a captured run as the mode's views, in their order."""
        ...

    def look(self, visit: VisitorRun, *looks) -> None:  # noqa: B027 (a hook: a mode without looks keeps nothing)
        """Keep the looks in `visit`, for the pictures to read."""

    def opening_note(self, visit: VisitorRun) -> str:
        """What the status line says before anything else at the next play or step."""
        return ""

    def visitor(self, visit: VisitorRun | None, *looks) -> VisitorRun:
        visit = visit or self.visitor_run()
        self.look(visit, *looks)
        return visit

    def prepared(self, visit: VisitorRun | None, args) -> tuple[VisitorRun, live.Runner, str, list]:
        """The visitor's runner for these looks and controls: the current run, retuned where only live settings
        changed, or a new one (a note says so) when anything else changed."""
        visit = self.visitor(visit, *args[:self.looks])
        settings, shown = self.read_settings(visit, *args[self.looks:])
        runner, note = visit.runner, self.opening_note(visit)
        if runner is None or not runner.call(runs.retune, settings):   # new_run stops the old run first
            if runner is not None:
                note = f"{self.changed} changed, so a new run started. "
            runner = visit.new_run(self.new_run(settings))
        return visit, runner, note, shown

    def capture(self, visit: VisitorRun) -> dict:
        runner = visit.runner
        run, running = runner.run, runner.running
        return {"step": run.step_count, "rate": runner.rate(), "running": running, "reason": runner.reason,
                "diverged": run.diverged, "place": runner.place(), **self.captured(visit, run, running)}

    def picture(self, visit: VisitorRun, note: str = "") -> tuple:
        return self.drawer(visit, note)(self.capture(visit))

    def status_words(self, c: dict, note: str = "") -> tuple[str, bool]:
        """The status line as plain text, and whether it is an alarm (the run diverged)."""
        if c["diverged"]:
            return f"⚠ {c['diverged']} {self.diverged_text}", True
        if c["running"]:
            return note + self.running_text, False
        if c["place"] is not None:
            return note + WAITING.format(place=c["place"]), False
        return note + (c["reason"] or READY), False

    def status_text(self, c: dict, note: str = "") -> str:
        text, alarm = self.status_words(c, note)
        return f"<span class='gb-alarm'>{text}</span>" if alarm else text

    def unstreamed(self, visit: VisitorRun, note: str = "") -> tuple:
        """The views a streamed message does not carry (see `streamed`), drawn now."""
        if self.streamed is None:
            return ()
        with visit.runner.reading():
            captured = self.capture(visit)
        return self.drawer(visit, note)(captured)[self.streamed:]

    @user_errors
    def play(self, visit, slow_motion, *args):
        """Play: the run starts, or waits in line for a training slot and starts by itself (or keeps why it cannot),
        and the views a streamed message does not carry say so; watch(), the event after this one, streams its
        pictures, its place in line first (or wait() waits while the view streams them)."""
        visit, runner, visit.note, shown = self.prepared(visit, args)
        runner.slow = bool(slow_motion)
        if refused := runner.start():
            runner.reason = refused
        return visit, *self.unstreamed(visit, visit.note), *shown

    @user_errors
    def watch(self, visit):
        """The visitor's place in line while the run waits for a slot, then the pictures of the run every `refresh`
        seconds while it plays, then its last one. An event of
        its own whose outputs are the views alone: the page pays for every output of each streamed message."""
        runner = visit.runner if visit is not None else None
        if runner is None or visit.watching is runner:   # a second press of play: the first stream draws the run
            return
        visit.watching = runner
        try:
            for pictured in stream(runner, lambda: self.capture(visit), self.drawer(visit, visit.note), self.refresh):
                if visit.runner is not runner:   # another event replaced the run (or it was freed): that event draws
                    return
                pictured = pictured[:self.streamed]
                yield pictured[0] if len(pictured) == 1 else pictured   # gradio takes a lone output's value bare
        finally:
            if visit.watching is runner:
                visit.watching = None

    @user_errors
    def wait(self, visit) -> None:
        """The event after play when nothing is streamed (streamed == 0): returns when the visitor's run stops
        (after its wait in line, if it waits), so
        that settle, the next event, writes the views as it stopped. The view's own stream of frames is what keeps
        the run watched; this event outputs nothing, so the page pays nothing for it while it waits."""
        if visit is not None and visit.runner is not None:
            visit.runner.wait()

    @user_errors
    def settle(self, visit):
        """After a stream (or a wait): the views it did not carry, for the run as it stopped (or as it goes, when
        this play's stream was a second press's, which draws nothing)."""
        if visit is None or visit.runner is None:
            raise ValueError("There is no run yet: press play or step to start one.")
        return self.unstreamed(visit, visit.note)

    def step(self, which: str) -> Callable:
        """The handler of a step button: `which` is "both" (an iteration), "d" or "g"."""
        @user_errors
        def handler(visit, *args):
            visit, runner, note, shown = self.prepared(visit, args)
            runner.step(which)
            runner.reason = STEPPED[which]
            with runner.lock:
                return visit, *self.picture(visit, note), *shown
        return handler

    @user_errors
    def reset(self, visit, *args):
        visit = self.visitor(visit, *args[:self.looks])
        settings, shown = self.read_settings(visit, *args[self.looks:])
        visit.new_run(self.new_run(settings))
        return visit, *self.picture(visit), *shown

    @user_errors
    def apply(self, visit, *controls):
        """Enter in a number box, or a new choice: the settings are read (a bad box says so and shows the value
        used) and applied to the run as it goes where they can be; a change that needs a new run starts it at once
        while paused (its picture shows what changed), and at the next play, step or reset while playing."""
        visit = visit or self.visitor_run()
        settings, shown = self.read_settings(visit, *controls)
        runner = visit.runner
        if runner is not None and runner.call(runs.retune, settings):
            if runner.running:
                gr.Info("Applied to the run as it goes.")   # the view's own status line says the run plays
                return visit, *[gr.skip()] * self.views, *shown
            return visit, *self.picture(visit, "Applied to the run as it goes. "), *shown
        return self.restart(visit, settings, shown, f"{self.changed} changed, so a new run started. "
                            if runner is not None and not runner.running else "")

    def restart(self, visit: VisitorRun, settings, shown: list, note: str) -> tuple:
        """Settings that need a new run: while paused, the new run starts at once and its picture (with `note`) is
        the views' value; while playing, a message says the change waits for the next play, step or reset, and the
        views are left to the run's stream."""
        if visit.runner is not None and visit.runner.running:
            gr.Info(NEEDS_NEW_RUN)   # the note says a new run started: not yet
            return visit, *[gr.skip()] * self.views, *shown
        visit.new_run(self.new_run(settings))
        return visit, *self.picture(visit, note), *shown


@user_errors
def pause_ui(visit: VisitorRun | None) -> None:
    if visit is not None and visit.runner is not None:
        visit.runner.stop("Paused.")


def slow_ui(visit: VisitorRun | None, on) -> None:
    if visit is not None and visit.runner is not None:
        visit.runner.slow = bool(on)   # a running play slows down (or speeds up) at once


class Buttons(NamedTuple):
    play: gr.Button
    pause: gr.Button
    reset: gr.Button
    step: gr.Button
    step_d: gr.Button
    step_g: gr.Button
    slow: gr.Checkbox
    counter: gr.Markdown
    status: gr.Markdown


def buttons(prefix: str, slow_label: str, counter: str) -> Buttons:
    """A mode's buttons, slow-motion switch, counter and status line (elem_ids `prefix`-play, ...)."""
    with gr.Row():
        play = gr.Button("Play", variant="primary", elem_id=f"{prefix}-play", min_width=60)
        pause = gr.Button("Pause", elem_id=f"{prefix}-pause", min_width=60)
        reset = gr.Button("Reset", elem_id=f"{prefix}-reset", min_width=60)
    with gr.Row():
        step = gr.Button("Step", elem_id=f"{prefix}-step", min_width=60)
        step_d = gr.Button("Step D", elem_id=f"{prefix}-step-d", min_width=60)
        step_g = gr.Button("Step G", elem_id=f"{prefix}-step-g", min_width=60)
    slow = gr.Checkbox(False, label=slow_label, elem_id=f"{prefix}-slow")
    return Buttons(play, pause, reset, step, step_d, step_g, slow, gr.Markdown(counter, elem_id=f"{prefix}-counter"),
                   gr.Markdown(READY, elem_id=f"{prefix}-status", elem_classes="gb-status"))


def page(controls: Callable, picture: Callable, curves: Callable) -> tuple:
    """A mode's first part (under its path): a row of three columns made by the three functions: the run's
    controls, its picture, its curves. Returns what the functions return."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=330):
            made = [controls()]
        with gr.Column(scale=2, min_width=420):
            made.append(picture())
        with gr.Column(scale=2, min_width=380):
            made.append(curves())
    return tuple(made)


def number_box(mode: LiveMode, prefix: str, name: str) -> gr.Number:
    return mode.boxes[name].number(elem_id=f"{prefix}-{name.replace('_', '-')}", min_width=120)


@dataclass(frozen=True)
class LiveControls:
    """The components the shared events read and write."""
    state: gr.State
    buttons: Buttons
    choices: list     # radios; a new choice applies like Enter in a number box
    boxes: list       # the number boxes, in the order of LiveMode.boxes
    views: list       # what LiveMode.drawer's function fills, in its order
    looks: list       # see LiveMode
    own: list = ()    # choices the mode wires itself, not to LiveMode.apply (the 2-D mode's data)

    @property
    def controls(self) -> list:
        return [*self.choices, *self.boxes]

    @property
    def everything(self) -> list:
        return [self.state, *self.views, *self.boxes]


def wire(mode: LiveMode, c: LiveControls) -> tuple:
    """The shared events; returns the mode's first-opening event (fn, inputs, outputs), which draws a new run's
    first picture unless the visitor already has one."""
    b, everything, run_inputs = c.buttons, c.everything, [c.state, *c.looks, *c.controls]
    applied = [choice for choice in c.choices if not any(choice is own for own in c.own)]
    mode.views = len(c.views)
    gr.on([*(box.submit for box in c.boxes), *(choice.input for choice in applied)], mode.apply,
          [c.state, *c.controls], everything, **PRIVATE)
    # trigger_mode "once", and watch() draws a run in one stream only: a second press while playing is not a second
    # stream of the same run; no concurrency limit: live.SLOTS caps the runs that train, and a play beyond its
    # slots waits in its line (the stream says the place) rather than in gradio's queue. The stream outputs the views
    # alone (each output of a streamed message costs the page). A mode that streams some views only
    # (LiveMode.streamed) gets the others from play and from settle; one that streams none waits for the run to stop.
    streamed, unstreamed = c.views[:mode.streamed], c.views[mode.streamed:] if mode.streamed is not None else []
    watching = b.play.click(mode.play, [c.state, b.slow, *c.looks, *c.controls], [c.state, *unstreamed, *c.boxes],
                            trigger_mode="once", concurrency_limit=None, **PRIVATE) \
        .success(mode.watch if streamed else mode.wait, [c.state], streamed, trigger_mode="once",
                 concurrency_limit=None, **PRIVATE)
    if unstreamed:
        watching.then(mode.settle, [c.state], unstreamed, concurrency_limit=None, **PRIVATE)
    b.pause.click(pause_ui, [c.state], None, concurrency_limit=None, **PRIVATE)
    for button, which in ((b.step, "both"), (b.step_d, "d"), (b.step_g, "g")):
        button.click(mode.step(which), run_inputs, everything, **PRIVATE)
    b.reset.click(mode.reset, run_inputs, everything, **PRIVATE)
    b.slow.input(slow_ui, [c.state, b.slow], None, **PRIVATE)

    @user_errors
    def first_open(visit, *args):
        if visit is not None:
            return [gr.skip()] * len(everything)
        return mode.reset(visit, *args)
    return first_open, run_inputs, everything
