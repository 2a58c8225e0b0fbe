"""core.live: slots, a Runner's background thread (start, stop, the idle and time limits, divergence,
steps by hand), retuning a GAN run as it goes (core.gan.runs), and headless training in a thread and slot of its own."""
import dataclasses
import threading
import time

import pytest
import torch

from core import live, threads
from core.gan import runs, toy


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Diverging(runs.GanRun):
    """A run that diverges at its `at`-th step, as toy.Run and ImageRun mark it."""

    def __init__(self, at):
        self.at, self.step_count, self.diverged = at, 0, None

    def step(self, which="both"):
        self.step_count += 1
        if self.step_count == self.at:
            self.diverged = f"D's loss became NaN at iteration {self.at}; lower the learning rates."


def test_slots_cap_and_release():
    slots = live.Slots(2)
    a, b, c = object(), object(), object()
    assert slots.acquire(a) and slots.acquire(b) and slots.acquire(a)   # a second acquire by a holder is free
    assert not slots.acquire(c) and slots.busy == 2
    slots.release(a)
    assert slots.acquire(c) and slots.busy == 2
    with pytest.raises(ValueError, match="training slots"):
        live.Slots(0)


def test_trainer_trains_in_the_background_until_paused():
    slots = live.Slots(1)
    trainer = live.Runner(toy.Run(toy.Settings()), slots)
    assert trainer.start() is None and trainer.running and slots.busy == 1
    wait_until(lambda: trainer.run.step_count >= 20)
    trainer.stop()
    assert not trainer.running and trainer.reason == "Paused." and slots.busy == 0
    done = trainer.run.step_count
    time.sleep(0.05)
    assert trainer.run.step_count == done                  # stopped means stopped
    assert trainer.rate() > 0
    assert trainer.start() is None                        # play again goes on from there
    wait_until(lambda: trainer.run.step_count > done)
    trainer.stop()


def test_nobody_watching_stops_the_run_and_frees_its_slot():
    slots = live.Slots(1)
    trainer = live.Runner(toy.Run(toy.Settings()), slots, idle=0.2)
    trainer.start()
    wait_until(lambda: not trainer.running)
    assert trainer.reason == "Stopped: nobody was watching this run." and slots.busy == 0


def test_watching_keeps_it_going_until_the_time_limit():
    slots = live.Slots(1)
    trainer = live.Runner(toy.Run(toy.Settings()), slots, idle=0.15, limit=0.6)
    trainer.start()
    started = time.monotonic()
    while trainer.running:
        trainer.touch()
        time.sleep(0.02)
    assert time.monotonic() - started >= 0.55          # the idle limit alone would have stopped it at 0.15 s
    assert "time limit" in trainer.reason and slots.busy == 0


def test_a_diverging_run_pauses_and_says_why():
    slots = live.Slots(1)
    trainer = live.Runner(Diverging(at=5), slots)
    trainer.start()
    wait_until(lambda: not trainer.running)
    assert trainer.run.step_count == 5 and trainer.reason == trainer.run.diverged and slots.busy == 0
    assert trainer.start() == trainer.run.diverged and not trainer.running   # play cannot restart it


def test_wait_returns_when_the_run_stops():
    trainer = live.Runner(Diverging(at=10**9), live.Slots(1))
    trainer.wait()   # never started: at once
    trainer.start()
    stopper = threading.Timer(0.2, trainer.stop)
    stopper.start()
    trainer.wait()
    assert not trainer.running and trainer.reason == "Paused."
    stopper.join()


def test_a_step_by_hand_stops_the_play_first():
    trainer = live.Runner(toy.Run(toy.Settings()), live.Slots(1))
    trainer.start()
    wait_until(lambda: trainer.run.step_count > 3)
    trainer.step("d")
    assert not trainer.running
    before = trainer.run.step_count, trainer.run.d_updates, trainer.run.g_updates
    trainer.step("g")
    assert (trainer.run.step_count, trainer.run.d_updates, trainer.run.g_updates) == (
        before[0] + 1, before[1], before[2] + 1)


def test_slow_motion_paces_the_iterations():
    trainer = live.Runner(toy.Run(toy.Settings()), live.Slots(1))
    trainer.slow = True
    trainer.start()
    time.sleep(0.6)
    trainer.stop()
    # one iteration per SLOW_SECONDS (0.25 s): 3 in 0.6 s, never the hundreds of a normal play
    assert 1 <= trainer.run.step_count <= 4


def test_retune_changes_live_settings_in_place_and_refuses_the_others():
    run = toy.Run(toy.Settings())
    faster = dataclasses.replace(run.settings, lr_d=0.05, k=3, loss="hinge").checked()
    assert runs.retune(run, faster)
    assert run.settings is faster and run.opt_d.param_groups[0]["lr"] == 0.05
    assert run.opt_g.param_groups[0]["lr"] == toy.Settings().lr_g   # G kept its own
    for change in ({"seed": 1}, {"dataset": "moons"}, {"d_neurons": 16}, {"optimizer": "sgd"}):
        assert not runs.retune(run, dataclasses.replace(run.settings, **change).checked()), change
    assert run.settings is faster


def test_in_thread_runs_on_one_torch_thread_and_restores_the_default():
    assert live.in_thread(True, torch.get_num_threads) == 1
    assert torch.get_num_threads() == threads.DEFAULT_THREADS
    assert live.in_thread(False, torch.get_num_threads) == threads.DEFAULT_THREADS
    with pytest.raises(ValueError, match="steps"):
        live.in_thread(True, toy.train, toy.Settings(), 0)


def test_headless_training_takes_a_slot_and_gives_the_same_run_as_direct():
    slots = live.Slots(1)
    run = live.headless(slots, True, toy.train, toy.Settings(), 30)
    assert slots.busy == 0
    assert run.history["js"] == toy.train(toy.Settings(), 30).history["js"]
    holder = object()
    slots.acquire(holder)
    with pytest.raises(ValueError, match="All 1 training slots"):
        live.headless(slots, True, toy.train, toy.Settings(), 30)
    assert slots.busy == 1   # the refused call did not release the holder's slot


def test_two_trainers_train_their_own_runs_at_once():
    slots = live.Slots(2)
    a = live.Runner(toy.Run(toy.Settings(seed=1)), slots)
    b = live.Runner(toy.Run(toy.Settings(dataset="moons", seed=2)), slots)
    a.start(), b.start()
    wait_until(lambda: a.run.step_count > 10 and b.run.step_count > 10)
    a.stop(), b.stop()
    assert {t.name for t in threading.enumerate()}.isdisjoint({"gan-training"})
    # each run is exactly the run its own seed gives, whatever the other thread did meanwhile
    for trainer in (a, b):
        alone = toy.train(trainer.run.settings, trainer.run.step_count)
        assert alone.history["js"] == trainer.run.history["js"]


def test_one_thread_lasts_until_its_last_user_leaves():
    if threads.DEFAULT_THREADS == 1:
        pytest.skip("torch runs on one thread here anyway")
    with threads.one_thread():
        with threads.one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1      # the outer user is still there
    assert torch.get_num_threads() == threads.DEFAULT_THREADS


class Slow(Diverging):
    """A run whose steps take `seconds` each, longer than the trainer's idle limit."""

    def __init__(self, seconds):
        super().__init__(at=10 ** 9)
        self.seconds = seconds

    def step(self, which="both"):
        time.sleep(self.seconds)
        super().step(which)


def test_a_watched_run_with_steps_longer_than_the_idle_limit_keeps_going():
    trainer = live.Runner(Slow(0.4), live.Slots(1), idle=0.2)
    trainer.start()
    deadline = time.monotonic() + 2.5
    pictures = 0
    while time.monotonic() < deadline:   # as explorers.streaming.stream does
        with trainer.reading():
            pictures += 1
        time.sleep(0.05)
    assert trainer.running and trainer.run.step_count >= 4
    # the watcher got in after every step (but perhaps the last), never starved for several
    assert pictures >= trainer.run.step_count - 1
    trainer.stop()


class Broken(Diverging):
    def step(self, which="both"):
        raise RuntimeError("a bug")


def test_an_error_in_the_training_thread_is_said_and_frees_the_slot():
    slots = live.Slots(1)
    trainer = live.Runner(Broken(at=1), slots)
    trainer.start()
    wait_until(lambda: not trainer.running)
    assert "internal error (RuntimeError)" in trainer.reason and slots.busy == 0
    assert isinstance(trainer.error, RuntimeError) and str(trainer.error) == "a bug"   # kept for the event


def test_a_step_by_hand_needs_a_free_slot():
    slots = live.Slots(1)
    other = live.Runner(toy.Run(toy.Settings(seed=1)), slots)
    other.start()
    mine = live.Runner(toy.Run(toy.Settings()), slots)
    with pytest.raises(ValueError, match="All 1 training slots"):
        mine.step("both")
    assert mine.run.step_count == 0
    other.stop()
    mine.step("both")
    assert mine.run.step_count == 1 and slots.busy == 0
