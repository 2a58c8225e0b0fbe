"""The GAN tab's 2-D play, without a browser: play writes the view (with the run's token), the status and the counter
once; the view pulls its frames with that token from gan_2d_frame (the view's value, with its own count, status and
latest losses), which keeps the run watched; when the run stops the last frame says so, wait() returns and settle
writes every view. A token reads one run of one visitor, and an unknown, replaced or freed one gets one clear line."""
import gc

import gradio as gr
import plotly.graph_objects as go
import pytest
import torch

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


def play():
    return points.MODE.play(None, False, LAYERS, *CONTROLS)


def test_play_gives_the_view_a_token_its_frames_follow_and_settle_writes_the_rest():
    mode = points.MODE
    visit, view, curves, counter, status, *boxes = play()
    assert curves == gr.skip() and status.startswith("Training…")   # the curves stay as they were
    assert "when play was pressed" in counter and len(boxes) == len(points.BOXES)
    token = view["token"]
    assert isinstance(token, str) and len(token) >= 32 and view["status"].startswith("Training…")
    first = endpoints.gan_2d_frame(token)
    assert first["playing"] and first["token"] == token and first["counter"].startswith("Iteration ")
    assert {"heat", "real", "fake", "arrows", "manifold"} <= set(first)
    assert first["heat"]["dtype"] == "float32" and first["heat"]["shape"] == [40, 40]
    live_mode.pause_ui(visit)
    mode.wait(visit)   # returns once the run has stopped
    last = endpoints.gan_2d_frame(token)
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
        endpoints.gan_2d_frame(token)
    visit.close()


def test_the_frames_keep_the_run_watched():
    visit, view, *_ = play()
    runner = visit.runner
    runner.idle = 0.3
    for _ in range(10):   # 1 s of requests, three times the idle limit
        assert endpoints.gan_2d_frame(view["token"])["playing"]
        runner._stop.wait(0.1)
    assert runner.running
    runner.wait()   # nobody asks any more: the run stops itself
    assert runner.reason == "Stopped: nobody was watching this run."
    visit.close()


@pytest.mark.parametrize("token", ["", "nonsense", None, 3, ["a"], {"token": "a"}, "x" * 20_000])
def test_an_unknown_token_gets_one_clear_line(token):
    with pytest.raises(gr.Error, match="Unknown or expired token") as e:
        endpoints.gan_2d_frame(token)
    assert "\n" not in str(e.value)


def test_a_visitor_who_leaves_takes_their_tokens():
    visit, view, *_ = play()
    stop_all(visit)   # gr.State's delete_callback
    with pytest.raises(gr.Error, match="Unknown or expired token"):
        endpoints.gan_2d_frame(view["token"])


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
