"""The GAN tab's 2-D play, without a browser: play writes the status and the counter once, the stream that follows
carries one output (the view's value, with its own count, status and latest losses), and settle writes the curves,
counter and status when the run stops."""
import gradio as gr
import plotly.graph_objects as go
import pytest
import torch

from explorers.gan import live_mode, points


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_play_streams_the_view_alone_and_settle_writes_the_rest():
    mode = points.MODE
    controls = ["ring", "nonsaturating", "adam", *(box.default for box in points.BOXES.values())]
    visit, curves, counter, status, *boxes = mode.play(None, False, list(points.figures.LAYERS), *controls)
    assert curves == gr.skip() and status.startswith("Training…")   # the curves stay as they were
    assert "when play was pressed" in counter and len(boxes) == len(points.BOXES)
    frames = mode.watch(visit)
    first = next(frames)
    assert isinstance(first, dict)   # one output: gradio takes a lone output's value bare
    assert first["status"].startswith("Training…") and first["counter"].startswith("Iteration ")
    assert {"heat", "real", "fake", "arrows", "manifold"} <= set(first)
    live_mode.pause_ui(visit)
    last = list(frames)[-1]
    assert isinstance(last, dict) and last["status"] == "Paused."
    curves, counter, status = mode.settle(visit)
    assert isinstance(curves, go.Figure) and status == "Paused."
    step = visit.runner.run.step_count
    assert counter.startswith(f"**Iteration {step:,}**") and last["step"] == step
    assert counter.replace("**", "").split(" · ")[:3] == last["counter"].split(" · ")[:3]
    visit.close()


def test_settle_without_a_run_says_so():
    with pytest.raises(Exception, match="no run yet"):
        points.MODE.settle(None)
