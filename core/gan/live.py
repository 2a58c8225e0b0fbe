"""Training a GAN live: each visitor's run steps in its own background thread while their page streams pictures
of it, and at most a fixed number of runs train at once in the process.

Why a thread per run rather than training inside the stream: the stream spends its time between pictures waiting
for the browser, and a thread keeps the model training through that wait, so the step rate does not depend on
the refresh rate. A 2-D run of a few dozen weights is bound by Python's overhead per torch call, which two
threads of torch's intra-op pool only slow down (measured on 2 cores: 160-210 iterations/s against 860-990 on one
thread), so 2-D runs train under core.threads.one_thread().

A Trainer stops by itself: when its run diverges, after a time limit, and when nobody has looked at it for `idle`
seconds (its page was closed or the stream reading it ended), so a forgotten run cannot hold a slot.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time

from core.threads import one_thread
from core.validate import as_choice, as_float, as_int

SLOW_SECONDS = 0.25   # slow motion: a quarter second's pause after each iteration
log = logging.getLogger(__name__)
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

    def __init__(self, run, slots: Slots, *, single: bool = True, limit: float = 300.0, idle: float = 5.0):
        self.run = run
        self.slots = slots
        self.single = bool(single)   # train on one torch thread (2-D runs); else with the default threads
        self.limit = as_float(limit, "the time limit", 0.0, 86_400.0, lo_inclusive=False)
        self.idle = as_float(idle, "the idle limit", 0.0, 86_400.0, lo_inclusive=False)
        self.lock = threading.RLock()
        self.slow = False
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = self._started = self._ended = time.monotonic()
        self._first = self._steps = 0
        self._readers = 0
        self._readers_lock = threading.Lock()

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
            return self._full()
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

    @contextlib.contextmanager
    def reading(self):
        """The lock, for a watcher's picture, taken ahead of the training thread: a Python lock is not fair, and a
        thread that releases it and takes it straight back for its next step could starve the watcher for many
        steps. Touches before and after, so the wait never counts as neglect."""
        self.touch()
        with self._readers_lock:
            self._readers += 1
        try:
            with self.lock:
                yield
        finally:
            with self._readers_lock:
                self._readers -= 1
            self.touch()

    def step(self, which: str = "both") -> None:
        """One iteration by hand (one step, D only, G only): stops any play first, and takes a training slot for
        the step's length (an image step at k = 10 and batch 256 is seconds of CPU), or says in a ValueError that
        every slot is taken."""
        which = as_choice(which, "which", ("both", "d", "g"))
        self.stop()
        if not self.slots.acquire(self):
            raise ValueError(self._full())
        try:
            with self.lock, (one_thread() if self.single else contextlib.nullcontext()):
                self.run.step(which)
        finally:
            self.slots.release(self)

    def _full(self) -> str:
        return (f"All {self.slots.capacity} training slots of this server are in use by other visitors; try again "
                f"in a moment (a run stops by itself after {self.limit / 60:g} minutes).")

    def rate(self) -> float:
        """Iterations per second of the current play (or of the last one, over its whole length)."""
        end = time.monotonic() if self.running else self._ended
        seconds = end - self._started
        return self._steps / seconds if seconds > 0 and self._steps else 0.0

    def _iteration(self) -> int:
        return getattr(self.run, "iteration", getattr(self.run, "step_count", 0))

    def _loop(self) -> None:
        step_seconds = 0.0
        try:
            with one_thread() if self.single else contextlib.nullcontext():
                while not self._stop.is_set():
                    now = time.monotonic()
                    if now - self._started > self.limit:
                        self.reason = (f"Stopped after the time limit of {self.limit / 60:g} minutes; press play to "
                                       "go on.")
                        break
                    # A watcher waits for the lock through a whole step, so a step's length is not neglect.
                    if now - self._seen > self.idle + step_seconds:
                        self.reason = "Stopped: nobody was watching this run."
                        break
                    with self.lock:
                        began = time.monotonic()
                        self.run.step()
                        step_seconds = time.monotonic() - began
                        self._steps = self._iteration() - self._first
                        if self.run.diverged:
                            self.reason = self.run.diverged
                            break
                    while self._readers:   # a watcher is waiting for the lock: let it in first
                        time.sleep(0.0005)
                    if self.slow:
                        self._stop.wait(SLOW_SECONDS)
        except Exception as e:   # the thread's error would otherwise reach no one: log it, and say so on the page
            log.exception("a GAN run's training thread failed")
            self.reason = (f"Training stopped by an internal error ({type(e).__name__}); the server is still "
                           "running. Press reset to start again.")
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


def in_thread(single: bool, fn, *args, **kwargs):
    """fn(*args, **kwargs) in a fresh thread (on one torch thread with `single`), its result or its exception."""
    result: dict = {}

    def target():
        try:
            with one_thread() if single else contextlib.nullcontext():
                result["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread, which raises it
            result["error"] = e

    thread = threading.Thread(target=target, name="gan-headless", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def headless(slots: Slots, single: bool, fn, *args, **kwargs):
    """A headless training (the API's) in a slot of its own, like a visitor's run, or a ValueError when every slot
    is taken: API callers share the same CPU as the visitors."""
    owner = object()
    if not slots.acquire(owner):
        raise ValueError(f"All {slots.capacity} training slots of this server are in use; try again in a moment.")
    try:
        return in_thread(single, fn, *args, **kwargs)
    finally:
        slots.release(owner)


SLOTS = Slots(int(os.environ.get("GLASSBOX_MAX_TRAINING", "2")))   # shared by both modes of the tab and the API
