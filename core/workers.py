"""Worker processes in which a live run (core.live.Runner) plays away from the server's GIL.

Why: a GAN of a few dozen weights (the GAN tab's 2-D run) is bound by Python's overhead per torch call, so a training
thread inside the server shares one GIL with everything the server does while a page watches it: measured in
Chromium, it trained at 0.53-0.85 of a bare loop however little each of its 16 frames a second cost. In a process of
its own it keeps a core to itself.

A worker is a child Python (`python -m core.workers FD`) joined to the server by a socket pair, over which both ends
send plain pickles (each end is this program, and nothing else can reach the socket; multiprocessing's own pickler
would hand torch's tensors over as shared memory through a side channel of its own). The server sends it a run; the
worker steps the run until told to stop or until it ends, sends `picture(run)` at most every `every` seconds,
answers calls (fn(run, *args), e.g. a retune or a save) between steps, then sends the run back. The protocol, one
play at a time:

    server                                 worker
    ("play", run, picture, every, single, slow)
    ("slow", on) / ("call", fn, args)  ->  <- ("frame", step_count, picture)
    ("stop",)                              <- ("result", value, error) per call, in order
                                           <- ("ended", run, error)
    ("done",)                          ->  <- ("idle",)   everything sent before "done" has been read

"done" and "idle" make every play start on an empty socket: a call or a stop that crossed the run's own end is
answered (a call with ("moved",), so the server runs it on the run it got back) or dropped before the next play.

Workers are kept (Pool) and reused, because starting one costs the import of torch (~2 s); the pool starts one ahead
of need when a page that plays runs opens (`warm`). A worker whose server goes away reads the socket's end and exits.
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_SECONDS = 0.005   # between steps, the worker reads its messages at most this often (a step is ~1 ms)
SLOW_SECONDS = 0.25     # slow motion: a quarter second's pause after each step
READY_SECONDS = 60.0    # the longest a new worker may take to import torch (~2 s; far more on a swamped machine)
log = logging.getLogger(__name__)


def put(conn: Connection, message: tuple) -> None:
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def get(conn: Connection) -> tuple:
    return pickle.loads(conn.recv_bytes())


class WorkerError(RuntimeError):
    """The worker process is gone (it crashed or was killed), or answered out of turn."""


class Worker:
    """One child process and the server's end of its socket."""

    def __init__(self):
        ours, theirs = socket.socketpair()
        try:
            # a session of its own: the terminal's Ctrl-C stops the server, whose exit brings the runs back
            # (live._bring_back) before the workers read the socket's end and exit
            self.process = subprocess.Popen([sys.executable, "-m", "core.workers", str(theirs.fileno())],
                                            pass_fds=(theirs.fileno(),), cwd=ROOT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        try:
            if not self.poll(READY_SECONDS):
                raise WorkerError(f"the training process did not start within {READY_SECONDS:g} s")
            self.receive("ready")   # torch is imported: the first play does not wait for it
        except WorkerError:
            self.close()
            raise

    def send(self, message: tuple) -> None:
        try:
            put(self.conn, message)
        except OSError as e:
            raise WorkerError(f"the training process is gone ({e})") from None

    def receive(self, *kinds: str) -> tuple:
        try:
            message = get(self.conn)
        except (EOFError, OSError) as e:
            raise WorkerError(f"the training process is gone ({type(e).__name__})") from None
        except (pickle.UnpicklingError, AttributeError, TypeError, ImportError) as e:   # never sent by this program
            raise WorkerError(f"the training process sent what cannot be read ({type(e).__name__})") from None
        if message[0] not in kinds:
            raise WorkerError(f"the training process sent {message[0]!r} where {' or '.join(kinds)} was due")
        return message

    def poll(self, seconds: float) -> bool:
        try:
            return self.conn.poll(seconds)
        except OSError:
            return True   # the next receive says the process is gone

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.conn.close()   # the worker reads the socket's end and exits
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Pool:
    """Idle workers, reused play after play; at most `keep` are kept idle (the rest are closed), so at most `keep`
    playing (the training slots) and `keep` idle are alive at once."""

    def __init__(self, keep: int):
        self.keep = keep
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)   # a worker came back or started, or a start failed
        self._starting = False

    def take(self) -> Worker:
        """An idle worker, or the one a warm start is making (quicker than a second import of torch beside it), or
        a new one; either way another starts in the background when none is left idle, so that a second visitor's
        play does not wait for one."""
        with self._changed:
            worker = None
            while worker is None:
                while self._idle and worker is None:
                    candidate = self._idle.pop()
                    worker = candidate if candidate.alive else None
                if worker is not None or not self._starting:
                    break
                self._changed.wait()
        self.warm()
        return worker if worker is not None else Worker()

    def give(self, worker: Worker) -> None:
        with self._changed:
            if worker.alive and len(self._idle) < self.keep:
                self._idle.append(worker)
                self._changed.notify_all()
                return
        worker.close()

    def warm(self) -> None:
        """Start a worker in the background if none is idle, so that the next play finds one ready."""
        with self._lock:
            if self._idle or self._starting:
                return
            self._starting = True

        def start():
            try:
                self.give(Worker())
            except Exception:   # nothing waits for a warm start: log it; the next play starts its own worker
                log.exception("could not start a training process ahead of need")
            finally:
                with self._changed:
                    self._starting = False
                    self._changed.notify_all()
        threading.Thread(target=start, name="warm-worker", daemon=True).start()


# As many kept idle as runs can train at once: core.live sets `keep` to its slots, which core.device counts (this
# module does not import torch, which a worker imports once it has started).
POOL = Pool(1)


# ---------------------------------------------------------------- the worker's side


def attempt(fn, run, args) -> tuple:
    """fn(run, *args) as a call's answer: (value, None), or (None, the exception) for the caller to raise."""
    try:
        return fn(run, *args), None
    except Exception as e:
        return None, e


def play(conn: Connection, run, picture, every: float, slow: bool) -> str | None:
    """Step `run` until a stop arrives or it ends, sending a frame every `every` seconds (and its last one); None,
    or the traceback of the error that stopped it."""
    due = checked = 0.0
    try:
        while True:
            now = time.monotonic()
            if now >= checked:
                checked = now + CHECK_SECONDS
                while conn.poll():
                    kind, *rest = get(conn)
                    if kind == "stop":
                        return None
                    if kind == "slow":
                        slow = rest[0]
                    elif kind == "call":
                        put(conn, ("result", *attempt(rest[0], run, rest[1])))
            run.step()
            if run.ended or time.monotonic() >= due:
                put(conn, ("frame", run.step_count, picture(run)))
                due = time.monotonic() + every
            if run.ended:
                return None
            if slow and conn.poll(SLOW_SECONDS):
                checked = 0.0   # a message came during the pause: read it before the next step
    except (EOFError, OSError):   # the socket, not the run: the server went away
        raise
    except Exception:
        return traceback.format_exc()


def serve(conn: Connection) -> None:
    """The worker's loop: plays, one at a time, until the server closes the socket."""
    from core.threads import one_thread  # imports torch, before "ready"
    put(conn, ("ready",))
    while True:
        kind, *rest = get(conn)
        if kind == "play":
            run, picture, every, single, slow = rest
            with one_thread() if single else contextlib.nullcontext():
                error = play(conn, run, picture, every, slow)
            put(conn, ("ended", run, error))
        elif kind == "call":   # it crossed the run's end: the server runs it on the run it got back
            put(conn, ("moved",))
        elif kind == "done":
            put(conn, ("idle",))
        # a "stop" or "slow" that crossed the run's end has nothing left to do


def main(argv: list[str]) -> None:
    conn = Connection(int(argv[0]))
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):   # the server went away: so does the worker
        serve(conn)
    os._exit(0)   # no interpreter teardown: nothing of a worker's is left to flush


if __name__ == "__main__":
    main(sys.argv[1:])
