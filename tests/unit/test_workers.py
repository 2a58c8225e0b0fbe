"""core.workers and a core.live.Runner whose plays go to a worker process: the run goes there and comes back whole
(the same weights as stepping it here), frames arrive while it plays, calls reach it between steps, the stop, the
idle limit and the run's own end bring it back, and a worker that fails or dies leaves the run as it was at play, a
one-line reason, and no call waiting for ever. The worker's side of the protocol is also driven over a socket pair
in this process."""
import contextlib
import dataclasses
import functools
import socket
import threading
from multiprocessing.connection import Connection

import pytest
import torch

from core import live, workers
from core.gan import runs, toy

PICTURE = functools.partial(toy.frame, resolution=8)


def apart(run, **kwargs) -> live.Runner:
    return live.Runner(run, live.Slots(4), picture=PICTURE, **kwargs)


def frames_until(runner: live.Runner, steps: int) -> list[int]:
    """The steps of the frames read (as a page's stream reads them) until one shows at least `steps`."""
    seen = []
    while not seen or seen[-1] < steps:
        runner.touch()
        assert runner.running, runner.reason
        if (frame := runner.fresh_frame(seen[-1] if seen else None, 0.25)) is not None:
            seen.append(frame[0])
    return seen


def same_weights(a: toy.Run, b: toy.Run) -> bool:
    return all(torch.equal(p, q) for p, q in zip([*a.g.parameters(), *a.d.parameters()],
                                                 [*b.g.parameters(), *b.d.parameters()], strict=True))


def test_a_run_played_in_a_worker_comes_back_as_if_stepped_here():
    runner = apart(toy.Run(toy.Settings(seed=3)))
    assert runner.start() is None
    seen = frames_until(runner, 30)
    runner.stop()
    assert not runner.running and runner.reason == "Paused." and runner.error is None
    assert seen == sorted(set(seen))   # each frame is of a newer step
    assert runner.frame is None and runner.run.step_count >= seen[-1] >= 30 and runner.rate() > 0
    here = toy.Run(toy.Settings(seed=3))
    for _ in range(runner.run.step_count):
        here.step()
    assert same_weights(here, runner.run)
    assert here.history == runner.run.history
    # the frame is toy.frame of the worker's run: its view is the arrays of the run's picture
    assert set(toy.frame(here, 8)) == {"step", "d_updates", "g_updates", "counted_from", "loss", "diverged", "view",
                                       "latest"}


def test_calls_reach_the_run_in_its_worker_and_what_they_change_comes_back():
    runner = apart(toy.Run(toy.Settings()))
    runner.start()
    frames_until(runner, 5)
    slower = dataclasses.replace(runner.run.settings, lr_d=0.002, k=2)
    assert runner.call(runs.retune, slower) is True
    assert runner.call(runs.retune, dataclasses.replace(slower, seed=9)) is False   # a new seed needs a new run
    data, name = runner.call(toy.saved)
    assert runner.run.settings.lr_d == toy.Settings().lr_d   # the run here is the one sent at play, not retuned
    runner.stop()
    assert runner.run.settings.lr_d == 0.002 and runner.run.settings.k == 2
    assert runner.run.opt_d.param_groups[0]["lr"] == 0.002
    saved_at = int(name.split("-")[2])
    assert 5 <= saved_at <= runner.run.step_count and toy.load(data).step_count == saved_at
    assert runner.call(toy.saved)[1] != name   # paused, the call runs here, on the run as it came back


def test_a_call_that_raises_in_the_worker_raises_here():
    runner = apart(toy.Run(toy.Settings()))
    runner.start()
    frames_until(runner, 1)
    with pytest.raises(ValueError, match="resolution"):
        runner.call(toy.view, 1)   # toy.view refuses a 1 x 1 heatmap
    runner.stop()
    assert runner.error is None


def test_a_run_that_diverges_in_its_worker_comes_back_and_says_why():
    run = toy.Run(toy.Settings())
    run.step()
    with torch.no_grad():
        run.d[0].weight.fill_(float("nan"))   # its next step, the worker's first, finds D's loss NaN
    runner = apart(run)
    runner.start()
    runner.wait()   # until the play has ended by itself
    assert runner.run.diverged and "iteration 2" in runner.run.diverged and runner.reason == runner.run.diverged
    assert runner.start() == runner.run.diverged   # it cannot play again


def test_nobody_watching_a_worker_run_stops_it():
    runner = apart(toy.Run(toy.Settings()), idle=0.3)
    runner.start()
    runner.wait()   # until the play has ended by itself
    assert runner.reason == "Stopped: nobody was watching this run." and runner.slots.busy == 0


def test_slow_motion_reaches_the_worker_during_a_play():
    runner = apart(toy.Run(toy.Settings()))
    runner.start()
    seen = frames_until(runner, 10)
    runner.slow = True
    # slowed, the worker pauses after each step, so each frame is one step on from the last (playing, 16 frames a
    # second are dozens of steps apart); the switch reaches it within the courier's next check
    while seen[-1] - seen[-2] != 1:
        seen += frames_until(runner, seen[-1] + 1)
    steps = frames_until(runner, seen[-1] + 2)
    assert steps[-2:] == [seen[-1] + 1, seen[-1] + 2]   # still a frame per step: the pause after each goes on
    runner.slow = False
    while seen[-1] - seen[-2] == 1:   # and back to full speed
        seen += frames_until(runner, seen[-1] + 1)
    runner.stop()


def test_an_error_in_the_worker_is_said_and_the_run_is_kept(caplog):
    runner = live.Runner(toy.Run(toy.Settings()), picture=functools.partial(toy.frame, resolution=1))
    runner.start()
    runner.wait()   # until the play has ended by itself
    assert runner.reason.startswith("Stopped by an internal error (RuntimeError) in the training process")
    assert "resolution" in str(runner.error)   # the worker's exception's last line
    assert runner.run.step_count == 1          # the first step, then its picture failed
    assert "Traceback" in caplog.text


class Watched(workers.Pool):
    """A pool that keeps the worker it handed out last."""

    def take(self):
        self.taken = super().take()
        return self.taken


def test_a_worker_that_dies_mid_play_leaves_the_run_as_at_play(monkeypatch):
    pool = Watched(1)
    monkeypatch.setattr(workers, "POOL", pool)
    runner = apart(toy.Run(toy.Settings()))
    runner.start()
    frames_until(runner, 5)
    answers = []
    pool.taken.process.kill()
    caller = threading.Thread(target=lambda: answers.append(runner.call(toy.saved)))
    caller.start()
    runner.wait()   # until the play has ended by itself
    caller.join(30)
    assert not caller.is_alive() and answers   # the call was answered here, not left waiting
    assert runner.run.step_count == 0 and "Stopped by an internal error (WorkerError)" in runner.reason
    assert runner.slots.busy == 0
    assert runner.start() is None   # the next play starts a new worker
    frames_until(runner, 1)
    runner.stop()
    assert runner.run.step_count >= 1


def test_the_worker_answers_what_crossed_a_plays_end():
    """The worker's loop over a socket pair: a call that arrives once the run went back is answered "moved" (the
    server runs it itself), a stop or slow is dropped, and "done" is answered "idle" after all of them."""
    ours, theirs = (Connection(s.detach()) for s in socket.socketpair())

    def serve():
        with contextlib.suppress(EOFError):   # as workers.main: the server's end closed
            workers.serve(theirs)
    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    assert workers.get(ours) == ("ready",)
    run = toy.Run(toy.Settings())
    workers.put(ours, ("play", run, PICTURE, 1 / 16, True, False))
    kind, step, picture = workers.get(ours)
    assert kind == "frame" and step == 1 and picture["step"] == 1
    workers.put(ours, ("stop",))
    while (message := workers.get(ours))[0] == "frame":
        pass
    assert message[0] == "ended" and message[1].step_count >= 1 and message[2] is None
    for late in (("call", toy.saved, ()), ("stop",), ("slow", True), ("done",)):
        workers.put(ours, late)
    assert workers.get(ours) == ("moved",)
    assert workers.get(ours) == ("idle",)
    ours.close()   # the server went away: the worker's loop ends
    worker.join(10)
    assert not worker.is_alive()
