"""core.diffusion.toy and its figures: training lowers the loss, trained particles reach the ring and untrained
ones do not, DDIM is deterministic and DDPM stochastic, the forward process ends in N(0, I), bad inputs refused."""
import re

import numpy as np
import pytest

from core import toy2d
from core.diffusion import toy, toy_figures


@pytest.fixture(scope="module")
def trained():
    return toy.train("ring", seconds=toy.MAX_SECONDS, steps=800, seed=0)   # steps bound it, even on a busy machine


def test_training_lowers_the_loss(trained):
    assert trained.steps == 800
    assert trained.final_loss < 0.8 * np.mean(trained.losses[:toy.FINAL_LOSS_STEPS])
    assert 0 < trained.seconds <= toy.MAX_SECONDS + 0.5


def test_trained_particles_end_on_the_ring_untrained_ones_do_not(trained):
    untrained = toy.untrained()
    for kind in toy.KINDS:
        final = toy.reverse_trajectories(trained, 400, 50, kind, 1)[-1]
        radius = np.linalg.norm(final, axis=1)
        assert np.mean(np.abs(radius - 1) < 0.2) > 0.7, kind      # on the circle of the ring's centres
        assert toy.near_mode(final, trained) > 0.25, kind          # chance: 8 discs of 0.2 cover ~11% of the ring
    final = toy.reverse_trajectories(untrained, 400, 50, "ddim", 1)[-1]
    assert toy.near_mode(final, untrained) < 0.1
    assert np.mean(np.abs(np.linalg.norm(final, axis=1) - 1) < 0.2) < 0.5


def test_ddim_is_deterministic_ddpm_is_not(trained):
    a = toy.reverse_trajectories(trained, 50, 20, "ddim", 3)
    assert a.shape == (21, 50, 2)
    np.testing.assert_array_equal(a, toy.reverse_trajectories(trained, 50, 20, "ddim", 3))
    p = toy.reverse_trajectories(trained, 50, 20, "ddpm", 3)
    np.testing.assert_array_equal(p, toy.reverse_trajectories(trained, 50, 20, "ddpm", 3))
    np.testing.assert_array_equal(a[0], p[0])                      # the same start
    assert np.abs(a[-1] - p[-1]).max() > 0.05                      # DDPM's noise takes them elsewhere
    assert np.abs(p[-1] - toy.reverse_trajectories(trained, 50, 20, "ddpm", 4)[-1]).max() > 0.05


def test_the_same_seed_and_steps_give_the_same_model():
    a, b = toy.train("moons", seconds=10, steps=20, seed=5), toy.train("moons", seconds=10, steps=20, seed=5)
    assert a.losses == b.losses and a.steps == 20


def test_drawn_points_train():
    run = toy.train(toy2d.DRAWN, seconds=5, steps=10, points=[[0, 0], [1, 1], [-1, 0.5]])
    assert run.steps == 10 and np.abs(run.data).max() < 1.3


def test_forward_density_ends_in_a_standard_normal():
    data = toy2d.sample("ring", 4000, __import__("torch").Generator().manual_seed(0)).double().numpy()
    d = toy.forward_density(data, (0, 250, toy.T), seed=1)
    assert d.ts == (0, 250, toy.T) and d.alpha_bar[0] == 1 and d.alpha_bar[-1] < 1e-4
    np.testing.assert_array_equal(d.points[0], data)
    end = d.points[-1]
    assert np.abs(end.mean(0)).max() < 0.06 and np.abs(end.std(0) - 1).max() < 0.05
    assert np.abs(np.corrcoef(end.T)[0, 1]) < 0.06
    width = d.edges[1] - d.edges[0]
    assert d.counts.shape == (3, 40, 40)
    assert np.all(np.abs(d.counts.sum((1, 2)) * width**2 - 1) < 1e-9)   # densities over the histogram's range


def test_figures():
    run = toy.train("ring", seconds=5, steps=30)
    a, b = (toy.reverse_trajectories(run, 30, 100, kind) for kind in toy.KINDS)
    fig = toy_figures.trajectory_figure(a, b, run.data)
    assert len(fig.frames) == toy_figures.MAX_FRAMES and fig.frames[-1].name == "100"
    assert len(fig.layout.sliders[0].steps) == toy_figures.MAX_FRAMES
    assert fig.layout.updatemenus[0].buttons[0].method == "animate"
    assert [t.name for t in fig.data] == ["data", "data", "particles", "particles"]
    density = toy_figures.density_figure(toy.forward_density(run.data, (0, 500, 1000)))
    assert [a.text for a in density.layout.annotations][:2] == ["t = 0<br>ᾱ = 1", "t = 500<br>ᾱ = 0.0786"]
    # Every panel has x ticks on the histograms' square, the first y ticks too (they had none).
    names = ("", "2", "3")
    axes = [density.layout[f"xaxis{n}"] for n in names], [density.layout[f"yaxis{n}"] for n in names]
    assert all(a.showticklabels and list(a.tickvals) == [-2, 0, 2] and list(a.range) == [-3, 3] for a in axes[0])
    assert [a.showticklabels for a in axes[1]] == [True, False, False]
    assert len(toy_figures.loss_figure(run).data) == 2
    with pytest.raises(ValueError, match="both be"):
        toy_figures.trajectory_figure(a, b[:, :10], run.data)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: toy.train("spiral"), "dataset"),
    (lambda: toy.train("ring", seconds=float("nan")), "seconds"),
    (lambda: toy.train("ring", seconds=1e9), "seconds"),
    (lambda: toy.train("ring", steps=0), "steps"),
    (lambda: toy.train(toy2d.DRAWN), "no points"),
    (lambda: toy.train(toy2d.DRAWN, points=[[0, 0], [9, 9]]), "box"),
    (lambda: toy.forward_density([[0, 0], [1, 1]], (0, 2000)), "t must"),
    (lambda: toy.forward_density([[0, 0], [1, 1]], ()), "1 to 12"),
    (lambda: toy.forward_density([[0, float("inf")], [1, 1]], (0,)), "finite"),
])
def test_bad_inputs_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_sampling_inputs_are_refused():
    run = toy.untrained()
    for kwargs, message in (({"kind": "euler"}, "kind"), ({"n_particles": 10**6}, "particles"),
                            ({"steps": 5000}, "steps"), ({"seed": -1}, "seed"), ({"steps": float("inf")}, "steps")):
        with pytest.raises(ValueError, match=message):
            toy.reverse_trajectories(run, **kwargs)


def test_points_from_sketch():
    pad = np.full((10, 10, 4), 255, np.uint8)
    with pytest.raises(ValueError, match=re.escape("empty: draw the data first, then press it.")):
        toy2d.points_from_sketch({"composite": pad}, hint="press it")
    pad[0, 0] = pad[9, 9] = (0, 0, 0, 255)
    points = np.array(toy2d.points_from_sketch({"composite": pad}))
    np.testing.assert_allclose(points, [[-1.35, 1.35], [1.35, -1.35]])
