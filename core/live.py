"""Work that runs in the background while a person watches: a GAN being trained (both of the GAN tab's modes),
the diffusion tab's reverse process and its 2-D toy's training. One Runner steps one run in a thread of its own
while the visitor's page streams pictures of it, and Slots caps how many such runs work at once.

A run is anything with `step()` (one unit of work: a GAN iteration, a denoising step, a training step),
`step_count` (the steps done so far: every run's one counter) and `ended` (None while it can go on; else one line
saying why it cannot, e.g. a GAN that diverged, or a sampler past its last step).

Why a thread per run rather than working inside the stream: the stream spends its time between pictures waiting
for the browser, and a thread keeps the model working through that wait, so the step rate does not depend on
the refresh rate. A 2-D run of a few dozen weights is bound by Python's overhead per torch call, which two
threads of torch's intra-op pool only slow down (measured on 2 cores: 160-210 iterations/s against 860-990 on one
thread), so small runs work under core.threads.one_thread() (`single`).

A Runner given a `picture` plays its run in a worker process instead (core.workers: the GAN tab's 2-D run, which
a thread in the server trained at 0.53-0.85 of a bare loop because the two share one GIL): a thread of the server
(the courier) hands the run over, relays the worker's frames (`frame`, `fresh_frame`), calls (`call`) and the stop,
and takes the run back when the play ends, so between plays the run is here, as a thread-played one always is.

A Runner stops by itself: when its run ends, after a time limit, and when nobody has looked at it for `idle`
seconds (its page was closed or the stream reading it ended), so a forgotten run cannot hold a slot. An error
in the thread (or the worker) is logged, said in one line (`reason`) and kept (`error`) for the event that shows
the run.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future

from core import workers
from core.device import training_slots
from core.threads import one_thread
from core.validate import as_float, as_int

SLOW_SECONDS = workers.SLOW_SECONDS   # slow motion: a quarter second's pause after each step
POLL_SECONDS = 0.02   # the courier's longest wait for the worker between its checks (stop, idle, calls)
EXIT_SECONDS = 5.0    # at exit, how long each play in a worker may take to come back
log = logging.getLogger(__name__)


class Slots:
    """At most `capacity` runs train at once. A visitor's run that finds every slot taken waits in a line (`queue`),
    first come first served, and starts by itself when a slot frees: the slot goes straight to the first in line,
    so nobody can take it in between (`acquire`, for a step by hand or an API run, is refused while anyone waits).

    An owner in the line is a Runner (or anything with `admitted()` and `neglected()`): `admitted()` is called with
    the slot already held and under the line's lock, so the line and the starts it makes are seen together (it must
    not call the Slots), and says whether the owner took the slot (it starts its play); `neglected()` says whether
    nobody watches the owner any more, and such an owner is dropped from the line when the line is next read."""

    def __init__(self, capacity: int):
        self.capacity = as_int(capacity, "the number of training slots", 1, 1000)
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)   # notified whenever the line changes
        self._holders: set[int] = set()
        self._line: list = []   # the owners waiting for a slot, first in line first

    def acquire(self, owner: object) -> bool:
        """A slot for `owner` now (True also when it holds one), or False: every slot taken, or someone waits."""
        with self._lock:
            return self._take(owner)

    def queue(self, owner) -> int | None:
        """A slot for `owner` now (None), else its place in the line (1 for the first), which it joins if it is not
        in it yet."""
        with self._lock:
            if owner in self._line:
                return self._place(owner)
            if self._take(owner):
                return None
            self._line.append(owner)
            self._moved.notify_all()
            return len(self._line)

    def leave(self, owner) -> bool:
        """Take `owner` out of the line; whether it was in it."""
        with self._lock:
            if owner not in self._line:
                return False
            self._line.remove(owner)
            self._moved.notify_all()
            return True

    def place(self, owner) -> int | None:
        """`owner`'s place in the line (1 for the first), or None when it is not waiting."""
        with self._lock:
            self._drop_neglected()
            return self._place(owner)

    def moved(self, owner, place: int | None, timeout: float) -> int | None:
        """`owner`'s place once it is no longer `place` (it moved up, left or started), waiting up to `timeout`
        seconds for that; its place then (None: not waiting)."""
        with self._moved:
            self._moved.wait_for(lambda: self._drop_neglected() or self._place(owner) != place, timeout)
            return self._place(owner)

    def release(self, owner: object) -> None:
        """Free `owner`'s slot: the first in line that is still watched takes it and starts."""
        with self._lock:
            self._holders.discard(id(owner))
            self._drop_neglected()
            while self._line and len(self._holders) < self.capacity:
                first = self._line.pop(0)
                self._holders.add(id(first))
                if not first.admitted():
                    self._holders.discard(id(first))
            self._moved.notify_all()

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._holders)

    @property
    def waiting(self) -> int:
        with self._lock:
            self._drop_neglected()
            return len(self._line)

    def _take(self, owner) -> bool:
        if id(owner) in self._holders:
            return True
        if len(self._holders) >= self.capacity:   # a line waits only while every slot is taken: it goes first
            return False
        self._holders.add(id(owner))
        return True

    def _place(self, owner) -> int | None:
        return self._line.index(owner) + 1 if owner in self._line else None

    def _drop_neglected(self) -> bool:
        """Drops the owners nobody watches from the line (under the lock); whether any was dropped."""
        kept = [owner for owner in self._line if not owner.neglected()]
        if len(kept) == len(self._line):
            return False
        self._line[:] = kept
        self._moved.notify_all()
        return True


class Runner:
    """Steps `run` (see the module's docstring) in a background thread between `start` and `stop`.

    Everything that reads or steps the run from another thread holds `lock`, so a picture is always of whole
    steps. `reason` says in one line why the last play ended, `error` keeps the exception that ended it, if one
    did. `rate()` is the steps per second of the current (or last) play. Without `slots`, nothing caps the runs
    (the event that starts one has its own concurrency limit)."""

    def __init__(self, run, slots: Slots | None = None, *, single: bool = True, limit: float = 300.0,
                 idle: float = 5.0, name: str = "live-run", picture: Callable | None = None,
                 every: float = 1 / 16):
        self.run = run
        self.slots = slots if slots is not None else Slots(1_000)
        self.name = name
        self.single = bool(single)   # work on one torch thread (small runs); else with the default threads
        self.limit = as_float(limit, "the time limit", 0.0, 86_400.0, lo_inclusive=False)
        self.idle = as_float(idle, "the idle limit", 0.0, 86_400.0, lo_inclusive=False)
        # Given a picture (a module-level function of the run, which the worker can unpickle), plays go to a worker
        # process, which sends (step_count, picture(run)) at most every `every` seconds: `frame`, the newest.
        self.picture = picture
        self.every = as_float(every, "the time between frames", 0.0, 60.0, lo_inclusive=False)
        self.frame: tuple[int, object] | None = None
        self.lock = threading.RLock()
        self.slow = False
        self.reason: str | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = self._started = self._ended = time.monotonic()
        self._first = self._steps = 0
        self._readers = 0
        self._readers_lock = threading.Lock()
        self._fresh = threading.Condition()   # notified at each new frame and when a play in a worker ends
        self._calls_lock = threading.Lock()
        self._remote = False   # the run is in a worker: calls wait in _calls for the courier
        self._calls: list[tuple[Callable, tuple, Future]] = []   # waiting to be sent to the worker
        self._sent: list[tuple[Callable, tuple, Future]] = []    # sent, waiting for the worker's answers, in order

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> str | None:
        """Start working, or wait in the slots' line for a free slot, then start by itself (see `place`); None when it
        runs or waits, else the one line saying why it cannot."""
        if self.running:
            return None
        if self.run.ended:
            return self.run.ended
        self.reason, self._seen = None, time.monotonic()   # a wait in line is watched from now, as a play is
        if self.slots.queue(self) is None:
            self._begin()
        return None

    def place(self) -> int | None:
        """Its place in the slots' line (1 for the first) while it waits for a slot, else None."""
        return self.slots.place(self)

    @property
    def waiting(self) -> bool:
        return self.place() is not None

    def admitted(self) -> bool:
        """Its turn in the slots' line (see Slots, which calls this holding the slot): it starts, unless nobody
        watches it any more or its run can no longer go on; whether it took the slot."""
        if self.run.ended:
            self.reason = self.run.ended
            return False
        if self.neglected():
            return False
        self._begin()
        return True

    def neglected(self) -> bool:
        """Whether it waits in line with nobody watching it (its page was closed) for twice the idle limit, which
        leaves a busy machine's page time to begin reading its place after play; says so in `reason`."""
        return not self.running and self._unwatched(self.idle)

    def _begin(self) -> None:
        """The play, in the slot it holds."""
        self._stop.clear()
        self.reason, self.error, self.frame = None, None, None
        self._seen = self._started = time.monotonic()
        self._first, self._steps = self.run.step_count, 0
        if self.picture is not None:
            with self._calls_lock:
                self._remote = True   # from now: a call waits for the courier, which runs it where the run is
        target = self._loop if self.picture is None else self._courier
        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        if self.picture is not None:
            _AWAY.add(self)
        self._thread.start()
        return None

    def stop(self, reason: str = "Paused.", wait: bool = True) -> None:
        """Ask the thread to stop after its current step and, with `wait`, wait until it has; a run waiting for a
        slot leaves the line."""
        if self.slots.leave(self):
            self.reason = reason
        elif self.running:
            self.reason = reason
            self._stop.set()
            if wait and threading.current_thread() is not self._thread:
                self._thread.join()

    def wait(self) -> None:
        """Until the thread has stopped (at once when it is not running, or when called from the thread itself),
        after waiting in line, if it does, until it starts or leaves the line."""
        place = self.place()
        while place is not None:   # a timeout now and then: the line drops the runs nobody watches as it is read
            place = self.slots.moved(self, place, 1.0)
        self._join()

    def _join(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

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

    def call(self, fn: Callable, *args):
        """fn(run, *args) where the run is: here under the lock, or in the worker between two of its steps while it
        plays there (fn then a module-level function, which pickles); fn's value, or its exception raised here."""
        with self._calls_lock:
            if self._remote:
                future: Future = Future()
                self._calls.append((fn, args, future))
            else:
                future = None
        if future is None:
            with self.reading():   # ahead of a training thread's next step (image mode's steps take seconds)
                return fn(self.run, *args)
        return future.result()

    def fresh_frame(self, shown: int | None, timeout: float) -> tuple[int, object] | None:
        """This play's newest frame if its step is not `shown`, waiting up to `timeout` seconds for one; None when
        none came, or when the play has ended (then only once the courier has finished; a frame that came just before
        the end may still be returned first)."""
        with self._fresh:
            self._fresh.wait_for(lambda: (self.frame is not None and self.frame[0] != shown) or not self._remote,
                                 timeout)
            frame, remote = self.frame, self._remote
        if not remote:
            self._join()
        return frame if frame is not None and frame[0] != shown else None

    def step(self, *args) -> None:
        """One step by hand (a GAN's `step("d")` steps D alone): stops any play first, and takes a slot for the
        step's length (an image step at k = 10 and batch 256 is seconds of CPU), or says in a ValueError that
        every slot is taken."""
        self.stop()
        if not self.slots.acquire(self):
            raise ValueError(self._full())
        try:
            with self.lock, (one_thread() if self.single else contextlib.nullcontext()):
                self.run.step(*args)
        finally:
            self.slots.release(self)

    def _full(self) -> str:
        return (f"All {self.slots.capacity} training slots of this server are in use{waiting(self.slots)}: press play "
                f"to wait for one in line (a run stops by itself after {self.limit / 60:g} minutes).")

    def rate(self) -> float:
        """Steps per second of the current play (or of the last one, over its whole length)."""
        end = time.monotonic() if self.running else self._ended
        seconds = end - self._started
        return self._steps / seconds if seconds > 0 and self._steps else 0.0

    def _timed_out(self, grace: float) -> bool:
        """Whether the play has run past its time limit, or unwatched past `idle` (+ `grace`) seconds; says why."""
        now = time.monotonic()
        if now - self._started > self.limit:
            self.reason = f"Stopped after the time limit of {self.limit / 60:g} minutes; press play to go on."
            return True
        return self._unwatched(grace)

    def _unwatched(self, grace: float) -> bool:
        """Whether nobody has looked at it for `idle` (+ `grace`) seconds; says so."""
        if time.monotonic() - self._seen > self.idle + grace:
            self.reason = "Stopped: nobody was watching this run."
            return True
        return False

    def _failed(self, e: BaseException, where: str) -> None:
        """An error nobody would otherwise see: kept, and said on the page in one line (its log is the caller's)."""
        self.error = e
        self.reason = (f"Stopped by an internal error ({type(e).__name__}) in {where}; the server is still running. "
                       "Press reset to start again.")

    def _loop(self) -> None:
        step_seconds = 0.0
        try:
            with one_thread() if self.single else contextlib.nullcontext():
                # A watcher waits for the lock through a whole step, so a step's length is not neglect.
                while not self._stop.is_set() and not self._timed_out(step_seconds):
                    with self.lock:
                        began = time.monotonic()
                        self.run.step()
                        step_seconds = time.monotonic() - began
                        self._steps = self.run.step_count - self._first
                        if self.run.ended:
                            self.reason = self.run.ended
                            break
                    while self._readers:   # a watcher is waiting for the lock: let it in first
                        time.sleep(0.0005)
                    if self.slow:
                        self._stop.wait(SLOW_SECONDS)
        except Exception as e:   # the thread's error would otherwise reach no one: log it, and say so on the page
            log.exception("the thread of a live run (%s) failed", self.name)
            self._failed(e, "the training thread")
        finally:
            self._ended = time.monotonic()
            self.slots.release(self)

    def _courier(self) -> None:
        """A play in a worker process (see core.workers): hands the run over, relays frames, calls, slow motion and
        the stop, takes the run back when the play ends, then runs here the calls that never reached the worker."""
        worker = None
        try:
            worker = workers.POOL.take()
            slow = self.slow
            worker.send(("play", self.run, self.picture, self.every, self.single, slow))
            # the play begins now: waiting for a worker to start (torch's import) is neither neglect nor play time
            self._seen = self._started = time.monotonic()
            run, error = self._relay(worker, slow)
            with self.lock:
                self.run = run
                self._steps = run.step_count - self._first   # a stop sends no last frame
            self._settle(worker)
            if error is not None:
                log.error("the worker process of a live run (%s) failed:\n%s", self.name, error)
                self._failed(RuntimeError(error.strip().splitlines()[-1]), "the training process")
            elif run.ended:
                self.reason = run.ended
        except Exception as e:   # the worker is gone (or could not start): the run is as it was at play
            log.exception("the worker process of a live run (%s) failed", self.name)
            self._failed(e, "the training process")
            if worker is not None:
                worker.close()
                worker = None
        finally:
            with self._calls_lock:   # calls the worker never answered (it failed) are run here too
                self._remote, calls, self._calls, self._sent = False, self._sent + self._calls, [], []
            with self.lock:
                self.frame = None
                for fn, args, future in calls:
                    _answer(future, fn, self.run, args)
            with self._fresh:
                self._fresh.notify_all()
            self._ended = time.monotonic()
            _AWAY.discard(self)
            if worker is not None:   # before the slot: the first in line, which starts at once, finds it idle
                workers.POOL.give(worker)
            self.slots.release(self)

    def _relay(self, worker: workers.Worker, slow: bool) -> tuple:
        """Until the worker sends the run back: the stop (asked, timed out or unwatched), slow motion and calls go
        to it, its frames and answers come back. Returns the run and the worker's error (or None)."""
        stopping = False
        while True:
            if not stopping:
                if self._stop.is_set() or self._timed_out(0.0):
                    worker.send(("stop",))
                    stopping = True   # nothing more is sent: the next play must start on an empty socket
                else:
                    if self.slow != slow:
                        slow = self.slow
                        worker.send(("slow", slow))
                    with self._calls_lock:
                        calls, self._calls = self._calls, []
                    self._sent += calls   # before sending: a send that fails leaves every one of them answerable
                    for fn, args, _ in calls:
                        worker.send(("call", fn, args))
            if not worker.poll(POLL_SECONDS):
                continue
            kind, *rest = worker.receive("frame", "result", "ended")
            if kind == "frame":
                with self._fresh:
                    self.frame = (rest[0], rest[1])
                    self._steps = rest[0] - self._first
                    self._fresh.notify_all()
            elif kind == "result":
                _resolve(self._sent.pop(0)[2], *rest)
            else:
                return rest[0], rest[1]

    def _settle(self, worker: workers.Worker) -> None:
        """After the run came back: "done", then the worker's answers to the calls that crossed the run's end, up to
        its "idle" (a call it could no longer run is run here, on the run it sent back)."""
        worker.send(("done",))
        while (message := worker.receive("frame", "result", "moved", "idle"))[0] != "idle":
            if message[0] == "result":
                _resolve(self._sent.pop(0)[2], *message[1:])
            elif message[0] == "moved":
                fn, args, future = self._sent.pop(0)
                with self.lock:
                    _answer(future, fn, self.run, args)


_AWAY: weakref.WeakSet[Runner] = weakref.WeakSet()   # runners whose plays are in workers


@atexit.register
def _bring_back() -> None:
    """At exit, the plays in workers are stopped and waited for (a while): a courier still taking a run back while
    Python finalises would unpickle its tensors as torch is torn down, which aborts the process."""
    away = list(_AWAY)
    for runner in away:
        runner.stop("The server stopped.", wait=False)
    for runner in away:
        if runner._thread is not None:
            runner._thread.join(EXIT_SECONDS)


def _resolve(future: Future, value, error: BaseException | None) -> None:
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


def _answer(future: Future, fn: Callable, run, args: tuple) -> None:
    """fn(run, *args) run here, as the future's value or exception."""
    try:
        future.set_result(fn(run, *args))
    except Exception as e:
        future.set_exception(e)


def in_thread(single: bool, fn, *args, **kwargs):
    """fn(*args, **kwargs) in a fresh thread (on one torch thread with `single`), its result or its exception."""
    result: dict = {}

    def target():
        try:
            with one_thread() if single else contextlib.nullcontext():
                result["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread, which raises it
            result["error"] = e

    thread = threading.Thread(target=target, name="headless-run", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def waiting(slots: Slots) -> str:
    """", and N visitors wait for one" when any do (for a refusal's line), else ""."""
    n = slots.waiting
    return f", and {n} visitor{'s wait' if n > 1 else ' waits'} for one" if n else ""


def headless(slots: Slots, single: bool, fn, *args, **kwargs):
    """A headless training (the API's) in a slot of its own, like a visitor's run, or a ValueError when every slot
    is taken or visitors wait for one: API callers share the same CPU as the visitors, and give way to them. Refused
    rather than put in the line: a call waiting minutes would hold one of gradio's threads and a place in its queue,
    and a script can try again where a person at a page would have to keep pressing play."""
    owner = object()
    if not slots.acquire(owner):
        raise ValueError(f"All {slots.capacity} training slots of this server are in use{waiting(slots)}; the API's "
                         "runs give way to the page's: try again in a moment.")
    try:
        return in_thread(single, fn, *args, **kwargs)
    finally:
        slots.release(owner)


SLOTS = Slots(training_slots())   # the GAN tab's runs, both modes and the API's
workers.POOL.keep = SLOTS.capacity   # a worker kept idle for each slot
