"""core.live.Slots' waiting line: a visitor's run beyond the slots waits in line, first come first served, and
starts by itself when a slot frees; pausing (or nobody watching) takes it out of the line; steps by hand and the
API's headless runs never jump the line."""
import os
import threading
import time

import pytest
import torch

from core import device, live
from core.gan import toy
from explorers.streaming import stream


def wait_until(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def runner(slots, seed, **kwargs) -> live.Runner:
    return live.Runner(toy.Run(toy.Settings(seed=seed)), slots, **kwargs)


@pytest.fixture
def made():
    """The runners a test makes, all stopped after it (a thread left running would outlive the test)."""
    runners = []
    yield runners
    for r in runners:
        r.stop()


def test_runs_beyond_the_slots_wait_in_order_and_start_by_themselves(made):
    slots = live.Slots(1)
    a, b, c, d = made[:] = [runner(slots, seed) for seed in range(4)]
    assert a.start() is None and a.running and a.place() is None
    assert [r.start() for r in (b, c, d)] == [None, None, None]
    assert [r.place() for r in (b, c, d)] == [1, 2, 3] and slots.waiting == 3
    assert not b.running and b.reason is None
    assert b.start() is None and b.place() == 1   # pressing play again keeps one's place
    a.stop()
    assert b.running and [c.place(), d.place()] == [1, 2]   # the freed slot went to the first in line at once
    assert a.reason == "Paused." and slots.busy == 1
    wait_until(lambda: b.run.step_count > 3)   # b trains: its play began by itself
    b.stop()
    assert c.running and d.place() == 1


def test_pausing_leaves_the_line_and_the_ones_behind_move_up(made):
    slots = live.Slots(1)
    a, b, c = made[:] = [runner(slots, seed) for seed in range(3)]
    a.start(), b.start(), c.start()
    b.stop("Paused.")
    assert b.place() is None and b.reason == "Paused." and not b.running and c.place() == 1
    a.stop()
    assert c.running and not b.running   # the one who left is not started
    assert b.start() is None and b.place() == 1   # play again: the end of the line


def test_a_run_nobody_watches_is_dropped_from_the_line_and_skipped(made):
    slots = live.Slots(1)
    a, gone, c = made[:] = [runner(slots, 0), runner(slots, 1, idle=0.2), runner(slots, 2)]
    a.start(), gone.start(), c.start()
    assert c.place() == 2
    wait_until(lambda: c.place() == 1)   # after twice gone's idle limit untouched: reading the line drops it
    assert gone.reason == "Stopped: nobody was watching this run." and gone.place() is None
    a.stop()
    assert c.running and not gone.running


def test_a_watched_run_keeps_its_place(made):
    slots = live.Slots(1)
    a, b = made[:] = [runner(slots, 0), runner(slots, 1, idle=0.2)]
    a.start(), b.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.6:   # three idle limits, touched all along (as a page's stream does)
        b.touch()
        assert b.place() == 1
        time.sleep(0.02)


def test_wait_lasts_through_the_line_and_the_play(made):
    """The 2-D mode's event after play waits with Runner.wait: through the wait in line, then the play."""
    slots = live.Slots(1)
    a, b = made[:] = [runner(slots, 0), runner(slots, 1)]
    a.start(), b.start()
    waiter = threading.Thread(target=b.wait)
    waiter.start()
    a.stop()
    assert b.running   # started by a's release
    assert waiter.is_alive()   # b plays until it is stopped: wait() cannot have returned
    b.stop()
    waiter.join(20)
    assert not waiter.is_alive()


def test_a_run_that_cannot_go_on_is_not_started_and_passes_its_turn(made):
    slots = live.Slots(1)
    a, b, c = made[:] = [runner(slots, 0), runner(slots, 1), runner(slots, 2)]
    a.start(), b.start(), c.start()
    b.run.diverged = "D's loss became NaN at iteration 3; lower the learning rates."
    a.stop()
    assert not b.running and b.reason == b.run.diverged and c.running and slots.busy == 1


def test_steps_by_hand_and_api_runs_give_way_to_the_line(made):
    slots = live.Slots(1)
    a, b, c = made[:] = [runner(slots, 0), runner(slots, 1), runner(slots, 2)]
    a.start(), b.start()
    with pytest.raises(ValueError, match=r"All 1 training slots .* in use, and 1 visitor waits for one: press play"):
        c.step("both")
    with pytest.raises(ValueError, match="1 visitor waits for one; the API's runs give way"):
        live.headless(slots, True, toy.train, toy.Settings(), 10)
    assert slots.busy == 1 and b.place() == 1
    a.stop()   # the freed slot is b's, not the API's
    assert b.running
    with pytest.raises(ValueError, match="All 1 training slots of this server are in use; the API's runs"):
        live.headless(slots, True, toy.train, toy.Settings(), 10)


def test_a_freed_slot_goes_to_the_first_in_line_not_to_a_newcomer():
    """Slots hands a freed slot over under its lock: no moment where a newcomer (an API run) could take it."""
    slots = live.Slots(2)

    class Owner:
        def admitted(self):
            return True

        def neglected(self):
            return False

    first, second, third = Owner(), Owner(), Owner()
    assert slots.acquire(first) and slots.acquire(second)
    assert slots.queue(third) == 1
    assert not slots.acquire(object())   # both slots taken, one waits
    slots.release(first)
    assert slots.place(third) is None and slots.busy == 2   # third holds first's slot
    assert not slots.acquire(object())


def test_the_number_of_slots_comes_from_the_machine_unless_set(monkeypatch):
    monkeypatch.delenv("GLASSBOX_MAX_TRAINING", raising=False)
    monkeypatch.setattr(device, "_device", torch.device("cpu"))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert device.training_slots() == 4   # half of 8 cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert device.training_slots() == 2   # at least 2
    monkeypatch.setattr(device, "_device", torch.device("cuda"))
    assert device.training_slots() == 4   # twice that with a GPU
    monkeypatch.setenv("GLASSBOX_MAX_TRAINING", "3")
    assert device.training_slots() == 3   # a setting wins


def test_a_stream_shows_the_place_in_line_then_the_play(made):
    """explorers.streaming.stream (the image mode's pictures): the place in line first, then the play it started."""
    slots = live.Slots(1)
    a, b = made[:] = [runner(slots, 0), runner(slots, 1)]
    a.start(), b.start()
    pictures = stream(b, lambda: (b.place(), b.running, b.reason), lambda captured: captured, refresh=0.05)
    assert next(pictures) == (1, False, None)
    a.stop()
    assert next(pictures) == (None, True, None)   # its turn came while the stream waited: pictures of the play
    b.stop()
    *_, last = pictures
    assert last == (None, False, "Paused.")
