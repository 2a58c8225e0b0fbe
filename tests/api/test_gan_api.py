"""The GAN endpoints (gan_d_star, gan_train_2d, gan_train_images, gan_2d_frames) through a real, offline server
and gradio_client: D* and the game's value against the closed form, a 2-D run whose JS falls and that the same seed
repeats, drawn data, two image runs at once that stay isolated, clear messages for bad inputs (a frame's token that
no page was given included: a playing page's own tokens are tested in tests/unit/test_gan_live.py and the browser
test), and a server that keeps answering."""
import math
import re
import secrets
import threading

import httpx
import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from core.render import from_data_url
from tests.api.test_vae_api import assert_raw_rejected, raw_call

NAN, INF = float("nan"), float("inf")


def assert_rejected(call_, message):
    with pytest.raises(AppError, match=re.escape(message)) as e:
        call_()
    assert "Internal error" not in str(e.value)


def d_star(client, **kwargs):
    return client.predict(api_name="/gan_d_star", **kwargs)


def train_2d(client, **kwargs):
    return client.predict(api_name="/gan_train_2d", **kwargs)


def train_images(client, **kwargs):
    return client.predict(api_name="/gan_train_images", **kwargs)


def test_d_star_matches_the_closed_form(client):
    x = [-2.0, -0.5, 0.0, 0.7, 3.0]
    r = d_star(client, mu_data=0.0, sd_data=1.0, mu_g=1.0, sd_g=0.5, x=x)
    p = np.exp(-0.5 * np.square(x)) / math.sqrt(2 * math.pi)
    q = np.exp(-0.5 * np.square((np.array(x) - 1.0) / 0.5)) / (0.5 * math.sqrt(2 * math.pi))
    assert r["x"] == x
    np.testing.assert_allclose(r["d_star"], p / (p + q), rtol=1e-12)
    assert -2 * math.log(2) < r["value"] < 0


def test_the_games_value_is_minus_2_log_2_when_g_matches_the_data(client):
    r = d_star(client, mu_data=0.3, sd_data=0.8, mu_g=0.3, sd_g=0.8, x=[0.0, 1.0])
    assert r["value"] == pytest.approx(-2 * math.log(2), abs=1e-9)
    assert r["d_star"] == [0.5, 0.5]


def test_d_star_has_a_default_axis_over_both_densities(client):
    r = d_star(client, mu_data=-1.0, sd_data=1.0, mu_g=2.0, sd_g=0.5)
    assert len(r["x"]) == 201 and r["x"][0] == pytest.approx(-5.0) and r["x"][-1] == pytest.approx(4.0)
    assert r["d_star"][0] > 0.99 and r["d_star"][-1] < 0.01


@pytest.mark.parametrize("kwargs, message", [
    ({"sd_data": 0.0}, "sd_data must be greater than 0"),
    ({"sd_g": -1.0}, "sd_g must be greater than 0"),
    ({"sd_g": 1e300}, "sd_g must be at most 1000000.0"),
])
def test_d_star_refuses_bad_gaussians(client, kwargs, message):
    assert_rejected(lambda: d_star(client, **{"x": [0.0], **kwargs}), message)


@pytest.mark.parametrize("data, message", [
    ([0.0, 1.0, NAN, 1.0, [0.0]], "mu_g"),
    ([0.0, 1.0, 1.0, 1.0, [1.0, INF]], "x must be a list of at most 10,000 finite numbers"),
])
def test_d_star_refuses_nan_and_inf(server_url, data, message):
    assert_raw_rejected(raw_call(server_url, "gan_d_star", data), message)


def test_on_the_ring_the_non_saturating_gan_lowers_js_over_500_steps(client):
    r = train_2d(client, dataset="ring", loss="nonsaturating", steps=500, seed=0)
    assert r["iterations"] == 500 and r["diverged"] is None and r["cut_short"] is None
    assert r["logged_iterations"][0] == 1 and r["logged_iterations"][-1] == 500
    assert len(r["js"]) == len(r["kl"]) == len(r["losses_d"]) == len(r["logged_iterations"]) == 51
    assert r["js"][-1] < r["js"][0] - 0.01, (r["js"][0], r["js"][-1])
    assert all(0 <= j <= math.log(2) + 1e-12 for j in r["js"])
    assert np.array(r["fake"]).shape == (300, 2)


def test_the_same_seed_gives_the_same_run_and_another_seed_another(client):
    a = train_2d(client, dataset="moons", steps=60, seed=3)
    b = train_2d(client, dataset="moons", steps=60, seed=3)
    c = train_2d(client, dataset="moons", steps=60, seed=4)
    assert a == b
    assert a["fake"] != c["fake"]


def test_every_loss_trains(client):
    for loss in ("saturating", "wgan-gp", "lsgan", "hinge"):
        r = train_2d(client, dataset="blobs", loss=loss, steps=30, log_every=10)
        assert r["iterations"] == 30 and r["logged_iterations"] == [1, 10, 20, 30], loss


def test_drawn_points_are_the_data(client):
    # a drawn short vertical stroke at x = 0.5: after training, G's points moved towards it
    points = [[0.5, y] for y in np.linspace(-0.5, 0.5, 50)]
    r = train_2d(client, dataset="drawn", points=points, steps=800, seed=0, lr_d=0.02, lr_g=0.02)
    fake = np.array(r["fake"])
    assert r["js"][-1] < r["js"][0]
    assert abs(np.median(fake[:, 0]) - 0.5) < abs(0 - 0.5) + 0.2


@pytest.mark.parametrize("kwargs, message", [
    ({"dataset": "spiral"}, "dataset must be one of ring, grid, moons, line, blobs, drawn"),
    ({"loss": "minimax"}, "loss must be one of nonsaturating, saturating, wgan-gp, lsgan, hinge"),
    ({"steps": 0}, "steps must be between 1 and 20000"),
    ({"steps": 20_001}, "steps must be between 1 and 20000"),
    ({"lr_d": 0.0}, "lr_d must be greater than 0"),
    ({"lr_g": -0.1}, "lr_g must be greater than 0"),
    ({"dataset": "drawn"}, "The drawn dataset needs points: draw at least 2."),
    ({"dataset": "drawn", "points": [[0.0, 0.0]]}, "Draw at least 2 points"),
    ({"dataset": "drawn", "points": [[0.0, 0.0], [9.0, 0.0]]}, "must lie in the box"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of adam, sgd, rmsprop"),
])
def test_train_2d_refuses_bad_inputs_clearly(client, kwargs, message):
    assert_rejected(lambda: train_2d(client, **{"steps": 5, **kwargs}), message)


@pytest.mark.parametrize("data, message", [
    (["ring", "nonsaturating", 5, 0, 1, 0.01, NAN], "lr_g"),
    (["ring", "nonsaturating", 5, 0, 1, 0.01, 0.01, "adam", INF], "batch"),
    (["drawn", "nonsaturating", 5, 0, 1, 0.01, 0.01, "adam", 150, 0.0, 10.0, 1, 8, 1, 8, [[0.0, 0.0], [NAN, 1.0]]],
     "finite numbers"),
])
def test_train_2d_refuses_nan_and_inf(server_url, data, message):
    assert_raw_rejected(raw_call(server_url, "gan_train_2d", data), message)


def test_a_run_that_diverges_says_so_and_returns_no_fakes(client):
    r = train_2d(client, dataset="ring", loss="wgan-gp", gp_lambda=0.0, optimizer="sgd", lr_d=10.0, lr_g=10.0,
                 steps=2000, d_layers=3, d_neurons=64)
    assert r["diverged"] and ("NaN" in r["diverged"] or "inf" in r["diverged"])
    assert r["fake"] == [] and r["iterations"] < 2000


def test_image_training_reports_the_meters_and_a_grid(client):
    r = train_images(client, steps=8, batch=16, seed=1)
    assert r["steps"] == 8 and r["diverged"] is None and r["cut_short"] is None
    assert len(r["losses_d"]) == len(r["losses_g"]) == len(r["d_real"]) == 8
    assert sum(r["class_histogram"]) == 256 and len(r["class_histogram"]) == 10
    assert 0 <= r["entropy"] <= math.log(10) + 1e-9 and r["fid_cnn"] > 0
    width, height = from_data_url(r["grid"]).size
    assert width == height >= 8 * 56   # 8 x 8 tiles of 56 pixels, and the gaps between them


def test_the_warm_start_begins_far_better_than_scratch(client):
    warm = train_images(client, steps=1, batch=16, warm_start=True)
    cold = train_images(client, steps=1, batch=16, warm_start=False)
    assert warm["fid_cnn"] < cold["fid_cnn"] / 2, (warm["fid_cnn"], cold["fid_cnn"])
    assert warm["entropy"] > cold["entropy"]


def test_two_image_runs_at_once_stay_isolated(client, server_url):
    """Two callers train at once (the server's two training slots); each gets exactly what it gets alone."""
    alone = {seed: train_images(client, steps=6, batch=16, seed=seed) for seed in (5, 6)}
    together = {}

    def call(seed):
        together[seed] = train_images(Client(server_url, verbose=False), steps=6, batch=16, seed=seed)

    threads = [threading.Thread(target=call, args=(seed,)) for seed in (5, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in (5, 6):
        assert together[seed]["losses_d"] == alone[seed]["losses_d"]
        assert together[seed]["grid"] == alone[seed]["grid"]
    assert alone[5]["losses_d"] != alone[6]["losses_d"]


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be between 1 and 500"),
    ({"steps": 501}, "steps must be between 1 and 500"),
    ({"lr_d": 0.0}, "lr_d (D's learning rate) must be greater than 0"),
    ({"batch": 1}, "batch must be between 2 and 256"),
    ({"loss": "wgan"}, "loss must be one of"),
    ({"smoothing": 0.9}, "smoothing must be at most 0.5"),
])
def test_train_images_refuses_bad_inputs_clearly(client, kwargs, message):
    assert_rejected(lambda: train_images(client, **kwargs), message)


def test_train_images_refuses_nan(server_url):
    assert_raw_rejected(raw_call(server_url, "gan_train_images", [5, False, 0, "nonsaturating", NAN]),
                        "k (D steps per G step)")


EXPIRED = "Unknown or expired token"


@pytest.mark.parametrize("token", ["", "nonsense", secrets.token_urlsafe(24), "x" * 5000, "é🙂"])
def test_a_frame_needs_a_token_a_page_was_given(client, token):
    assert_rejected(lambda: client.predict(token, api_name="/gan_2d_frames"), EXPIRED)


@pytest.mark.parametrize("token", [None, NAN, 3, ["a"], {"token": "a"}])
def test_a_frame_refuses_a_token_that_is_not_text(server_url, token):
    assert_raw_rejected(raw_call(server_url, "gan_2d_frames", [token]), EXPIRED)


def test_a_frame_refuses_many_guesses_quickly_and_in_one_line(server_url):
    for _ in range(20):
        stream = raw_call(server_url, "gan_2d_frames", [secrets.token_urlsafe(24)])
        assert_raw_rejected(stream, EXPIRED)
        assert len(stream) < 400


def test_the_frames_endpoint_describes_its_token_and_its_messages(server_url):
    info = httpx.get(f"{server_url}/gradio_api/info", timeout=30).json()["named_endpoints"]["/gan_2d_frames"]
    (param,) = info["parameters"]
    assert param["parameter_name"] == "token" and not param["parameter_has_default"]
    assert "unguessable" in param["python_type"]["description"]
    (result,) = info["returns"]   # a generator's schema is its messages': each one the view's value
    assert result["type"]["type"] == "object" and result["type"]["description"].startswith("a stream of")


def test_the_server_still_answers(client):
    assert d_star(client, mu_data=0.0, sd_data=1.0, mu_g=0.0, sd_g=1.0, x=[0.0])["d_star"] == [0.5]


def test_d_star_gives_a_single_x_back_as_a_list_beside_its_d_star(client):
    r = d_star(client, x=0.5)
    assert r["x"] == [0.5] and len(r["d_star"]) == 1


@pytest.mark.parametrize(("x", "message"), [([True], "x[0] is True, which is not a number."),
                                            ([0.0, False], "x[1] is False, which is not a number."),
                                            ([], "x must be a number or a non-empty list of numbers"),
                                            (True, "x must be a number or a non-empty list of numbers")])
def test_d_star_refuses_true_false_and_an_empty_x(client, x, message):
    assert_rejected(lambda: d_star(client, x=x), message)


def test_a_tiny_standard_deviation_is_named_as_the_cause(client):
    """sd_data=1e-160 underflows; the guard used to blame "the largest inputs" and ask for smaller numbers."""
    with pytest.raises(AppError) as e:
        d_star(client, sd_data=1e-160)
    assert "sd_data (1e-160, tiny)" in str(e.value) and "smaller numbers" not in str(e.value)
