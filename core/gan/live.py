"""Training a GAN live: each visitor's run steps in its own background thread while their page streams pictures
of it, and at most a fixed number of runs train at once in the process.

Why a thread per run rather than training inside the stream: the stream spends its time between pictures waiting
for the browser, and a thread keeps the model training through that wait, so the step rate does not depend on
the refresh rate. A 2-D run of a few dozen weights is bound by Python's overhead per torch call, which two
threads of torch's intra-op pool only slow down, so a Trainer sets its thread's torch threads (1 for 2-D runs).

A Trainer stops by itself: when its run diverges, after a time limit, and when nobody has looked at it for `idle`
seconds (its page was closed or the stream reading it ended), so a forgotten run cannot hold a slot.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time

import torch

from core.validate import as_choice, as_float, as_int

SLOW_SECONDS = 0.25   # slow motion: one iteration per quarter second, about one per refreshed picture


class Slots:
    """At most `capacity` runs train at once; a run that finds every slot taken is refused, not queued."""

    def __init__(self, capacity: int):
        self.capacity = as_int(capacity, "the number of training slots", 1, 1000)
        self._lock = threading.Lock()
        self._holders: set[int] = set()

    def acquire(self, owner: object) -> bool:
        with self._lock:
            if id(owner) in self._holders:
                return True
            if len(self._holders) >= self.capacity:
                return False
            self._holders.add(id(owner))
            return True

    def release(self, owner: object) -> None:
        with self._lock:
            self._holders.discard(id(owner))

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._holders)


class Trainer:
    """Steps `run` (anything with `step(which)` and `diverged`) in a background thread between `start` and `stop`.

    Everything that reads or steps the run from another thread holds `lock`, so a picture is always of whole
    iterations. `reason` says in one line why the last play ended. `rate()` is the iterations per second of the
    current (or last) play."""

    def __init__(self, run, slots: Slots, *, threads: int | None = 1, limit: float = 300.0, idle: float = 5.0):
        self.run = run
        self.slots = slots
        self.threads = None if threads is None else as_int(threads, "threads", 1, 256)
        self.limit = as_float(limit, "the time limit", 0.0, 86_400.0, lo_inclusive=False)
        self.idle = as_float(idle, "the idle limit", 0.0, 86_400.0, lo_inclusive=False)
        self.lock = threading.RLock()
        self.slow = False
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = self._started = self._ended = time.monotonic()
        self._first = self._steps = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> str | None:
        """Start training; None when it runs (or already ran), else the one line saying why it cannot."""
        if self.running:
            return None
        if self.run.diverged:
            return self.run.diverged
        if not self.slots.acquire(self):
            return (f"All {self.slots.capacity} training slots of this server are in use by other visitors; press "
                    f"play again in a moment (a run stops by itself after {self.limit / 60:g} minutes).")
        self._stop.clear()
        self.reason = None
        self._seen = self._started = time.monotonic()
        self._first, self._steps = self._iteration(), 0
        self._thread = threading.Thread(target=self._loop, name="gan-training", daemon=True)
        self._thread.start()
        return None

    def stop(self, reason: str = "Paused.", wait: bool = True) -> None:
        """Ask the thread to stop after its current iteration and, with `wait`, wait until it has."""
        if self.running:
            self.reason = reason
            self._stop.set()
            if wait and threading.current_thread() is not self._thread:
                self._thread.join()

    def touch(self) -> None:
        """Someone is watching: postpones the idle stop."""
        self._seen = time.monotonic()

    def step(self, which: str = "both") -> None:
        """One iteration by hand (one step, D only, G only): stops any play first."""
        which = as_choice(which, "which", ("both", "d", "g"))
        self.stop()
        with self.lock:
            self.run.step(which)

    def rate(self) -> float:
        """Iterations per second of the current play (or of the last one, over its whole length)."""
        end = time.monotonic() if self.running else self._ended
        seconds = end - self._started
        return self._steps / seconds if seconds > 0 and self._steps else 0.0

    def _iteration(self) -> int:
        return getattr(self.run, "iteration", getattr(self.run, "step_count", 0))

    def _loop(self) -> None:
        if self.threads is not None:
            torch.set_num_threads(self.threads)   # this thread's pool only; the server's threads keep theirs
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now - self._started > self.limit:
                    self.reason = f"Stopped after the time limit of {self.limit / 60:g} minutes; press play to go on."
                    break
                if now - self._seen > self.idle:
                    self.reason = "Stopped: nobody was watching this run."
                    break
                with self.lock:
                    self.run.step()
                    self._steps = self._iteration() - self._first
                    if self.run.diverged:
                        self.reason = self.run.diverged
                        break
                if self.slow:
                    self._stop.wait(SLOW_SECONDS)
        finally:
            self._ended = time.monotonic()
            self.slots.release(self)


LIVE_FIELDS = ("loss", "k", "lr_d", "lr_g", "batch", "smoothing", "gp_lambda")  # changeable while a run goes on


def retune(run, settings) -> bool:
    """Give a running `run` (a toy.Run or an images.ImageRun) new checked `settings` if they differ from its own
    only in LIVE_FIELDS: the losses, k, batch and penalty are read at every step, and the learning rates are set
    in the optimisers. False when anything else differs (data, networks, optimiser, seed): that needs a new run."""
    current = run.settings
    if any(getattr(settings, f.name) != getattr(current, f.name)
           for f in dataclasses.fields(current) if f.name not in LIVE_FIELDS):
        return False
    for optimizer, lr in ((run.opt_d, settings.lr_d), (run.opt_g, settings.lr_g)):
        for group in optimizer.param_groups:
            group["lr"] = lr
    run.settings = settings
    return True


def in_thread(threads: int | None, fn, *args, **kwargs):
    """fn(*args, **kwargs) in a fresh thread with `threads` torch threads, its result or its exception: setting
    torch's threads in a server's worker thread would stay set for every later event that thread runs."""
    result: dict = {}

    def target():
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread, which raises it
            result["error"] = e

    thread = threading.Thread(target=target, name="gan-headless", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def headless(slots: Slots, threads: int | None, fn, *args, **kwargs):
    """A headless training (the API's) in a slot of its own, like a visitor's run, or a ValueError when every slot
    is taken: API callers share the same CPU as the visitors."""
    owner = object()
    if not slots.acquire(owner):
        raise ValueError(f"All {slots.capacity} training slots of this server are in use; try again in a moment.")
    try:
        return in_thread(threads, fn, *args, **kwargs)
    finally:
        slots.release(owner)


SLOTS = Slots(int(os.environ.get("GLASSBOX_MAX_TRAINING", "2")))   # shared by both modes of the tab and the API
