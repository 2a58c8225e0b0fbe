"""The diffusion_toy endpoint through a real server: a short run whose loss falls and whose particles reach the
ring, the same seed and steps repeating exactly, drawn data, and clear refusals (NaN and inf over raw HTTP too)."""
import re

import numpy as np
import pytest
from gradio_client.exceptions import AppError

from tests.api.test_vae_api import assert_raw_rejected, raw_call

NAN, INF = float("nan"), float("inf")


def toy(client, **kwargs):
    return client.predict(api_name="/diffusion_toy", **kwargs)


def assert_rejected(call_, message):
    with pytest.raises(AppError, match=re.escape(message)) as e:
        call_()
    assert "Internal error" not in str(e.value)


def test_a_short_run_learns_the_ring(client):
    r = toy(client, dataset="ring", seconds=30, train_steps=800, particles=300, steps=50, seed=0)  # steps bound it
    assert r["steps_done"] == 800 and 0 < r["training_seconds"] <= 31
    assert r["final_loss"] < 0.8 * r["first_loss"]
    for kind in ("ddim", "ddpm"):
        final = np.array(r[f"{kind}_final"])
        assert final.shape == (300, 2)
        assert np.mean(np.abs(np.linalg.norm(final, axis=1) - 1) < 0.2) > 0.7, kind
        assert r[f"{kind}_near_mode"] > 0.25
        np.testing.assert_allclose(r[f"{kind}_mean"], final.mean(0), atol=1e-4)
        np.testing.assert_allclose(r[f"{kind}_std"], final.std(0), atol=1e-4)


def test_the_same_seed_repeats_and_another_differs(client):
    kwargs = {"dataset": "moons", "seconds": 20, "train_steps": 30, "particles": 40, "steps": 10}
    a, b, c = toy(client, seed=3, **kwargs), toy(client, seed=3, **kwargs), toy(client, seed=4, **kwargs)
    for kind in ("ddim", "ddpm"):
        assert a[f"{kind}_final"] == b[f"{kind}_final"]
        assert a[f"{kind}_final"] != c[f"{kind}_final"]
    assert a["final_loss"] == b["final_loss"]


def test_drawn_points(client):
    r = toy(client, dataset="drawn", seconds=10, train_steps=20, particles=10, steps=5,
            points=[[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
    assert r["steps_done"] == 20 and len(r["ddpm_final"]) == 10


def test_seconds_bound_training(client):
    r = toy(client, dataset="ring", seconds=0.5, particles=10, steps=5)
    assert 0.5 <= r["training_seconds"] < 2 and r["steps_done"] >= 1


@pytest.mark.parametrize("kwargs, message", [
    ({"dataset": "spiral"}, "dataset must be one of"),
    ({"seconds": 0}, "seconds must be at least 0.1"),
    ({"seconds": 1e6}, "seconds must be at most 30"),
    ({"train_steps": -1}, "train_steps must be between 0 and 20000"),
    ({"particles": 0}, "particles must be between 1 and 2000"),
    ({"particles": 10**6}, "particles must be between 1 and 2000"),
    ({"steps": 0}, "steps must be between 1 and 1000"),
    ({"steps": 2.5}, "steps must be a whole number"),
    ({"seed": -1}, "seed must be between 0"),
    ({"dataset": "drawn"}, "there are no points"),
    ({"dataset": "drawn", "points": [[0.0, 0.0]]}, "Draw at least 2 points"),
    ({"dataset": "drawn", "points": [[0.0, 0.0], [5.0, 0.0]]}, "must lie in the box"),
    ({"dataset": "drawn", "points": [[0.0, 0.0, 1.0]]}, "list of [x, y] pairs"),
])
def test_bad_inputs_are_refused(client, kwargs, message):
    assert_rejected(lambda: toy(client, **{"seconds": 0.2, "particles": 5, "steps": 2, **kwargs}), message)


@pytest.mark.parametrize("data, message", [
    (["ring", NAN, 0, 20, 10, 0, None], "seconds must be a finite number"),
    (["ring", INF, 0, 20, 10, 0, None], "seconds must be a finite number"),
    (["ring", 1, NAN, 20, 10, 0, None], "train_steps must be a whole number"),
    (["ring", 1, 0, INF, 10, 0, None], "particles must be a whole number"),
    (["ring", 1, 0, 20, -INF, 0, None], "steps must be a whole number"),
    (["ring", 1, 0, 20, 10, NAN, None], "seed must be a whole number"),
    (["drawn", 1, 0, 20, 10, 0, [[0, NAN], [1, 1]]], "finite numbers (no NaN or inf)"),
])
def test_nan_and_inf_over_raw_http_are_refused(server_url, data, message):
    assert_raw_rejected(raw_call(server_url, "diffusion_toy", data), message)


def test_the_server_still_answers(client):
    assert toy(client, seconds=0.2, particles=5, steps=2)["steps_done"] >= 1
