"""core.gan.dcgan, the GAN tab's live Fashion-MNIST DCGAN, on real runs with small batches and few steps: seeding,
isolation between runs and from the bundled models, the warm start, which network each kind of step changes and
how many D steps it takes, the collapse meter, the snapshot cap, divergence, the latent walk and the checks."""
import math

import numpy as np
import pytest
import torch

from core import models, render
from core.gan import dcgan
from core.gan.dcgan import ImageRun, Settings

SMALL = {"batch": 8}


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def run_of(**kw):
    return ImageRun(Settings(**{**SMALL, **kw}))


def stepped(n=3, **kw):
    run = run_of(**kw)
    for _ in range(n):
        run.step()
    return run


# ---------------------------------------------------------------- seeding and isolation


def test_same_seed_same_run_and_different_seeds_differ():
    a, b, c = stepped(seed=3), stepped(seed=3), stepped(seed=4)
    assert a.history == b.history and len(a.history) == 3
    assert same(params(a.g), params(b.g)) and same(params(a.d), params(b.d))
    assert a.history[-1]["loss_d"] != c.history[-1]["loss_d"]
    assert not same(params(a.g), params(c.g))


def test_train_is_deterministic_and_reports_every_step():
    s = Settings(batch=8, seed=5)
    first, second = dcgan.train(s, 2), dcgan.train(s, 2)
    assert first["losses_d"] == second["losses_d"] and first["losses_g"] == second["losses_g"]
    assert len(first["losses_d"]) == 2 and first["diverged"] is None
    assert sum(first["class_histogram"]) == dcgan.METER_SAMPLES
    assert math.isfinite(first["fid_cnn"]) and first["fid_cnn"] > 0
    assert first["grid"].size == second["grid"].size


def test_runs_are_isolated_from_each_other_and_from_the_bundled_models():
    bundled_g, bundled_d = params(models.load("dcgan")), params(models.load("dcgan_d"))
    a, b = run_of(warm_start=True), run_of(warm_start=True)
    before = params(b.g)
    for _ in range(2):
        a.step()
    assert not same(params(a.g), before)        # a trained...
    assert same(params(b.g), before)            # ...b did not move
    assert same(params(models.load("dcgan")), bundled_g)
    assert same(params(models.load("dcgan_d")), bundled_d)
    assert not models.load("dcgan").training


# ---------------------------------------------------------------- warm start


def test_warm_start_loads_the_bundled_weights_and_starts_better():
    warm, fresh = run_of(warm_start=True), run_of()
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = models.load("dcgan")(z)
        warm.g.eval()
        torch.testing.assert_close(warm.g(z), expected, rtol=0, atol=0)
        warm.g.train()
    _, warm_entropy = dcgan.collapse(warm, 200)
    _, fresh_entropy = dcgan.collapse(fresh, 200)
    assert warm_entropy > 1.8 > fresh_entropy  # the bundled G makes every class; a fresh one makes grey blurs
    assert dcgan.fid(warm, 200) < 0.5 * dcgan.fid(fresh, 200)


# ---------------------------------------------------------------- kinds of step


def test_step_d_changes_only_d_and_step_g_only_g():
    run = run_of()
    g0, d0 = params(run.g), params(run.d)
    run.step("d")
    assert same(params(run.g), g0) and not same(params(run.d), d0)
    d1 = params(run.d)
    run.step("g")
    assert same(params(run.d), d1) and not same(params(run.g), g0)
    assert [r["step"] for r in run.history] == [1, 2] and run.step_count == 2
    assert all(0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1 for r in run.history)


def adam_steps(opt):
    return {int(state["step"]) for state in opt.state.values()}


def test_both_takes_k_d_steps_per_g_step():
    run = run_of(k=3)
    run.step()
    run.step()
    assert adam_steps(run.opt_d) == {6} and adam_steps(run.opt_g) == {2}


@pytest.mark.parametrize("loss", ["wgan-gp", "hinge", "lsgan", "saturating"])
def test_every_loss_trains_with_finite_rows(loss):
    run = stepped(2, loss=loss)
    assert run.diverged is None
    assert all(math.isfinite(v) for r in run.history for v in r.values())


# ---------------------------------------------------------------- read-outs


def test_histogram_sums_to_n_and_entropy_is_in_range():
    counts, entropy = dcgan.collapse(run_of(warm_start=True), 150)
    assert counts.shape == (10,) and counts.sum() == 150
    p = counts[counts > 0] / 150
    assert entropy == pytest.approx(-(p * np.log(p)).sum())
    assert 0 <= entropy <= math.log(10)


def test_snapshots_are_capped_and_evenly_spaced(monkeypatch):
    monkeypatch.setattr(dcgan, "SNAPSHOTS", 4)
    monkeypatch.setattr(dcgan, "SNAPSHOT_EVERY", 1)
    run = stepped(9)
    steps = [s for s, _ in run.snapshots]
    assert steps == [0, 4, 8] and run.snapshot_every == 4
    assert all(x.dtype == torch.uint8 and x.shape == (64, 28, 28) for _, x in run.snapshots)
    assert dcgan.snapshot_image(run, 2)[0] == 8
    side = 8 * (56 + render.PAD) + render.PAD
    assert dcgan.samples(run).size == (side, side)


def test_divergence_is_flagged_and_stops_updates():
    run = stepped(1)
    with torch.no_grad():
        next(run.d.parameters()).fill_(float("nan"))
    g0, d0 = params(run.g), params(run.d)
    assert run.step() is None
    assert "D's loss" in run.diverged and "step 2" in run.diverged
    assert run.step("g") is None and run.step_count == 1
    assert same(params(run.g), g0)
    assert all(torch.allclose(a, b, rtol=0, atol=0, equal_nan=True) for a, b in zip(params(run.d), d0, strict=True))
    assert len(run.history) == 1


def test_weights_that_become_nan_after_an_update_are_caught():
    run = run_of()
    original = run.opt_g.step

    def poisoned_step():
        original()
        with torch.no_grad():
            next(run.g.parameters())[0, 0] = float("inf")
    run.opt_g.step = poisoned_step
    assert run.step() is not None  # this step's losses were finite; its update was not
    assert run.diverged == "G's weights became NaN or inf at step 1; the run is stopped."
    assert run.step() is None and run.step_count == 1


def test_latent_walk_endpoints_are_g_of_the_endpoints_in_eval_mode():
    run = stepped(1)
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=100), rng.normal(size=100)
    frames = dcgan.latent_walk(run, z_a, z_b, 5)
    assert frames.shape == (5, 28, 28) and run.g.training
    run.g.eval()
    with torch.no_grad():
        ends = run.g(torch.tensor(np.stack([z_a, z_b]), dtype=torch.float32))
    run.g.train()
    np.testing.assert_allclose(frames[[0, -1]], ((ends + 1) / 2).squeeze(1).double().numpy(), atol=1e-6)
    assert not np.allclose(frames[2], frames[0])


# ---------------------------------------------------------------- checks


@pytest.mark.parametrize("field, value, message", [
    ("loss", "wasserstein", "loss must be one of nonsaturating"),
    ("lr_d", 0.0, "lr_d (D's learning rate) must be greater than 0"),
    ("lr_g", -1e-3, "lr_g (G's learning rate) must be greater than 0"),
    ("lr_g", float("nan"), "lr_g (G's learning rate) must be a finite number"),
    ("smoothing", float("inf"), "smoothing must be a finite number"),
    ("k", 0, "k (D steps per G step) must be between 1 and 10"),
    ("batch", 1, "batch must be between 2 and 256"),
    ("warm_start", "false", "warm_start must be true or false"),
])
def test_settings_name_the_bad_field(field, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings(**{field: value}).checked()


@pytest.mark.parametrize("steps", [0, 501, 2.5, float("nan")])
def test_train_refuses_steps_out_of_range(steps):
    with pytest.raises(ValueError, match="steps must be"):
        dcgan.train(Settings(batch=8), steps)


def test_latent_walk_and_meters_check_their_inputs():
    run = run_of()
    with pytest.raises(ValueError, match="z_a must have 100 numbers"):
        dcgan.latent_walk(run, [0.0] * 3, [0.0] * 100)
    with pytest.raises(ValueError, match="steps must be between 2 and 32"):
        dcgan.latent_walk(run, [0.0] * 100, [0.0] * 100, 1)
    with pytest.raises(ValueError, match="which must be one of both, d, g"):
        run.step("both please")
    with pytest.raises(ValueError, match="n must be between 64 and 2000"):
        dcgan.fid(run, 10)
