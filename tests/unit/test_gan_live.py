"""The GAN tab's 2-D play, without a browser: play writes the view (with the run's token), the status and the counter
once; the view reads its frames with that token from the gan_2d_frames stream (the view's value, with its own count,
status and latest losses, each of a new step), whose reading keeps the run watched; when the run stops the stream's
last frame says so and the stream ends, wait() returns and settle writes every view. A token reads one run of one
visitor, and an unknown, replaced or freed one gets one clear line."""
import gc
import threading
import time

import gradio as gr
import plotly.graph_objects as go
import pytest
import torch

from core import live
from explorers.gan import endpoints, live_mode, points
from explorers.streaming import Tokens, stop_all

CONTROLS = ["ring", "nonsaturating", "adam", *(box.default for box in points.BOXES.values())]
LAYERS = list(points.figures.LAYERS)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def slots_freed():
    """After each test, its runs' slots are free: a visitor who leaves stops their run without waiting for it
    (stop_all), and a run in a worker frees its slot only once the worker has sent it back."""
    yield
    deadline = time.monotonic() + 60
    while live.SLOTS.busy and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert not live.SLOTS.busy, "a test left a run training"


def play():
    return points.MODE.play(None, False, LAYERS, *CONTROLS)


def test_play_gives_the_view_a_token_its_frames_follow_and_settle_writes_the_rest():
    mode = points.MODE
    visit, view, curves, counter, status, *boxes = play()
    assert curves == gr.skip() and status.startswith("Training…")   # the curves stay as they were
    assert "when play was pressed" in counter and len(boxes) == len(points.BOXES)
    token = view["token"]
    assert isinstance(token, str) and len(token) >= 32 and view["status"].startswith("Training…")
    frames = endpoints.gan_2d_frames(token)
    first = next(frames)
    assert first["playing"] and first["token"] == token and first["counter"].startswith("Iteration ")
    assert {"heat", "real", "fake", "arrows", "manifold"} <= set(first)
    assert first["heat"]["dtype"] == "float32" and first["heat"]["shape"] == [40, 40]
    assert next(frames)["step"] > first["step"]   # each frame is of a new step
    live_mode.pause_ui(visit)
    mode.wait(visit)   # returns once the run has stopped
    *_, last = frames   # the stream's last frame, then it ends
    assert [f["playing"] for f in endpoints.gan_2d_frames(token)] == [False]   # a stopped run's stream: its last frame
    assert not last["playing"] and last["token"] is None and last["status"] == "Paused."
    view, curves, counter, status = mode.settle(visit)
    assert view["token"] is None and isinstance(curves, go.Figure) and status == "Paused."
    step = visit.runner.run.step_count
    assert counter.startswith(f"**Iteration {step:,}**") and last["step"] == step == view["step"]
    assert counter.replace("**", "").split(" · ")[:3] == last["counter"].split(" · ")[:3]
    # a second play of the same run keeps its token; a new run's token is another, and the old one expires
    assert mode.play(visit, False, LAYERS, *CONTROLS)[1]["token"] == token
    mode.reset(visit, LAYERS, *CONTROLS)
    with pytest.raises(gr.Error, match="Unknown or expired token"):
        next(endpoints.gan_2d_frames(token))
    visit.close()


def test_reading_the_frames_keeps_the_run_watched_and_closing_them_stops_it():
    visit, view, *_ = play()
    runner = visit.runner
    runner.idle = 0.3
    frames, steps = endpoints.gan_2d_frames(view["token"]), []
    for frame in frames:   # 1 s of frames, three times the idle limit
        assert frame["playing"]
        steps.append(frame["step"])
        if runner._stop.wait(0.1) or len(steps) == 10:
            break
    assert runner.running and steps == sorted(set(steps))   # each frame a new step
    frames.close()   # what gradio does when the page is closed
    runner.wait()   # nobody reads any more: the run stops itself
    assert runner.reason == "Stopped: nobody was watching this run."
    visit.close()


def test_a_newer_stream_of_a_run_ends_the_older():
    visit, view, *_ = play()
    older, newer = (endpoints.gan_2d_frames(view["token"]) for _ in range(2))
    assert next(older)["playing"] and next(newer)["playing"]
    assert list(older) == [] and next(newer)["playing"]   # the older ends at once; the newer goes on
    newer.close()
    visit.close()


def test_a_slow_run_sends_a_frame_per_step():
    visit, view, *_ = points.MODE.play(None, True, LAYERS, *CONTROLS)   # slow motion: 4 iterations a second
    frames = endpoints.gan_2d_frames(view["token"])
    steps = [next(frames)["step"] for _ in range(3)]
    assert steps == sorted(set(steps))
    frames.close()
    visit.close()


@pytest.mark.parametrize("token", ["", "nonsense", None, 3, ["a"], {"token": "a"}, "x" * 20_000])
def test_an_unknown_token_gets_one_clear_line(token):
    with pytest.raises(gr.Error, match="Unknown or expired token") as e:
        next(endpoints.gan_2d_frames(token))
    assert "\n" not in str(e.value)


def test_a_visitor_who_leaves_takes_their_tokens():
    visit, view, *_ = play()
    stop_all(visit)   # gr.State's delete_callback
    with pytest.raises(gr.Error, match="Unknown or expired token"):
        next(endpoints.gan_2d_frames(view["token"]))


def test_tokens_are_bounded_and_hold_their_owners_weakly():
    class Owner:
        pass
    tokens, owners = Tokens(capacity=3), [Owner() for _ in range(4)]
    issued = [tokens.issue(o, o) for o in owners]
    assert tokens.get(issued[0]) is None and tokens.get(issued[3]) == (owners[3], owners[3])   # the oldest went
    del owners[3]
    gc.collect()
    assert tokens.get(issued[3]) is None   # its owner was freed
    tokens.forget(owners[1])
    assert tokens.get(issued[1]) is None and tokens.get(issued[2]) == (owners[2], owners[2])


def test_settle_without_a_run_says_so():
    with pytest.raises(Exception, match="no run yet"):
        points.MODE.settle(None)


def test_a_change_that_needs_a_new_run_starts_it_at_once_while_paused_and_waits_while_playing():
    mode, seed = points.MODE, list(points.BOXES).index("seed") + 3   # the choices come first
    visit, *_ = mode.reset(None, LAYERS, *CONTROLS)
    mode.step("both")(visit, LAYERS, *CONTROLS)
    old = visit.runner
    live_k = list(CONTROLS)
    live_k[3] = 2   # k applies to the run as it goes
    visit, _, _, _, status, *_ = mode.apply(visit, *live_k)
    assert visit.runner is old and old.run.settings.k == 2 and status.startswith("Applied to the run as it goes.")
    reseeded = list(live_k)
    reseeded[seed] = 7
    visit, view, _, _, status, *_ = mode.apply(visit, *reseeded)
    assert visit.runner is not old and visit.runner.run.settings.seed == 7 and view["step"] == 0
    assert status.startswith("The data, a network, the optimiser or the seed changed, so a new run started.")
    assert "pause" not in status   # it is paused: nothing to pause
    # while playing, the change waits for the next play, step or reset, and the views are left to the stream
    playing = mode.play(visit, False, LAYERS, *reseeded)[0].runner
    reseeded[seed] = 8
    visit, *views = mode.apply(visit, *reseeded)
    assert visit.runner is playing and playing.running and views[:4] == [gr.skip()] * 4, playing.reason
    visit.close()


def test_a_play_beyond_the_slots_waits_in_line_says_its_place_and_starts_by_itself(monkeypatch):
    monkeypatch.setattr(live, "SLOTS", live.Slots(1))
    first = play()[0]
    visit, view, _, _, status, *_ = play()
    third = play()[0]
    visit.runner.idle = 600   # this test reads the frames between its steps, not all along as a page does
    assert status.startswith("Waiting for a training slot: you are number 1 in line.")
    assert view["status"] == status and view["token"] and not visit.runner.running
    frames = endpoints.gan_2d_frames(view["token"])   # the view follows its place in line
    assert next(frames)["status"] == status
    live_mode.pause_ui(third)   # pause leaves the line
    assert third.runner.place() is None and points.MODE.settle(third)[3] == "Paused."
    waiter = threading.Thread(target=points.MODE.wait, args=(visit,))   # the event after play: waits through it all
    waiter.start()
    live_mode.pause_ui(first)   # the slot frees: the first in line starts by itself
    started = next(frames)
    assert started["playing"] and started["status"].startswith("Training…") and visit.runner.running
    live_mode.pause_ui(visit)
    waiter.join(60)
    assert not waiter.is_alive()
    *_, last = frames
    assert last["status"] == "Paused." and not last["playing"]
    for v in (first, visit, third):
        v.close()
