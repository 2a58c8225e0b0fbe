"""core.gan.figures against the arrays they draw: the 2-D view's arrays for the browser (heatmap, colour ranges,
arrows, points, layers), the curves' traces, the D* playground's title, the saturation figure's
gradients against finite differences, image mode's meter rows and the collapse meter's bars."""
import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
import torch

from core import toy2d
from core.data import CLASSES
from core.gan import figures, toy

LOG2 = math.log(2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread while this file runs tiny networks (as tests/unit/test_gan.py, which says why)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def view(one_thread):
    return toy.view(toy.train(toy.Settings(), 20))


def traces(fig):
    return {t.name or t.type: t for t in fig.data}


def test_heatmap_is_d_as_a_probability_for_the_bce_losses(view):
    sent = figures.toy_arrays(view, "nonsaturating")
    np.testing.assert_array_equal(sent["heat"], view.heat.astype(np.float32))
    assert sent["heat"].dtype == np.float32
    assert (sent["lo"], sent["hi"], sent["label"], sent["box"]) == (0.0, 1.0, "D(x)", toy2d.BOX)


@pytest.mark.parametrize("loss, centre", [("wgan-gp", 0.0), ("hinge", 0.0), ("lsgan", 0.5)])
def test_heatmap_of_scores_is_symmetric_about_the_boundary(view, loss, centre):
    scores = dataclasses.replace(view, heat=np.linspace(-3.0, 1.0, 1600).reshape(40, 40))
    sent = figures.toy_arrays(scores, loss)
    reach = max(abs(-3.0 - centre), abs(1.0 - centre))
    assert (sent["lo"], sent["hi"]) == pytest.approx((centre - reach, centre + reach))
    assert sent["label"] == "D score"
    flat = dataclasses.replace(view, heat=np.full((40, 40), centre))
    low, high = figures.heat_range(flat.heat, loss)
    assert low < centre < high   # a flat D still gets a usable colour range


def test_arrows_follow_g_and_the_longest_has_the_chosen_length(view):
    drawn = figures.toy_arrays(view, "nonsaturating")["arrows"].astype(np.float64)
    assert drawn.shape == view.fake.shape
    assert np.linalg.norm(drawn, axis=1).max() == pytest.approx(figures.ARROW_LENGTH, rel=1e-5)
    # Each arrow is G's direction, scaled by one common factor.
    scale = figures.ARROW_LENGTH / np.linalg.norm(view.arrows, axis=1).max()
    np.testing.assert_allclose(drawn, scale * view.arrows, atol=1e-5)


def test_zero_gradients_draw_zero_length_arrows_without_dividing_by_zero(view):
    still = dataclasses.replace(view, arrows=np.zeros_like(view.arrows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawn = figures.toy_arrays(still, "hinge")["arrows"]
    assert not drawn.any()
    assert figures.arrow_scale(still.arrows) == 0.0


def test_points_and_manifold_are_the_views_in_float32(view):
    sent = figures.toy_arrays(view, "nonsaturating")
    np.testing.assert_array_equal(sent["real"], view.real.astype(np.float32))
    np.testing.assert_array_equal(sent["fake"], view.fake.astype(np.float32))
    np.testing.assert_array_equal(sent["manifold"], view.manifold.astype(np.float32))
    assert sent["layers"] == sorted(figures.LAYERS)


def test_layers_choose_the_parts_drawn_and_the_heatmap_is_always_sent(view):
    sent = figures.toy_arrays(view, "nonsaturating", frozenset({"fake", "arrows"}))
    assert sent["layers"] == ["arrows", "fake"]
    assert sent["real"].shape == (0, 2) and sent["manifold"].shape == (0, 0, 2)
    assert len(sent["fake"]) == len(sent["arrows"]) == len(view.fake)
    # D under the pointer is read from the heatmap whether or not it is drawn
    np.testing.assert_array_equal(figures.toy_arrays(view, "nonsaturating", frozenset())["heat"],
                                  view.heat.astype(np.float32))
    with pytest.raises(ValueError, match="Unknown layers contour"):
        figures.toy_arrays(view, "nonsaturating", frozenset({"real", "contour"}))


def test_metrics_figure_draws_the_history(one_thread):
    run = toy.train(toy.Settings(loss="wgan-gp"), 30)
    fig = figures.metrics_figure(run.history, "wgan-gp")
    named = traces(fig)
    for key, name in (("d_loss", "D loss"), ("g_loss", "G loss"), ("d_real", "D(real)"), ("d_fake", "D(fake)"),
                      ("kl", "KL"), ("js", "JS")):
        np.testing.assert_array_equal(named[name].x, run.history["iteration"])
        np.testing.assert_array_equal(named[name].y, run.history[key])
    assert list(run.history["iteration"]) == [1, 10, 20, 30]
    assert fig.layout.yaxis2.title.text == "mean D score"
    assert figures.metrics_figure(run.history, "saturating").layout.yaxis2.title.text == "mean D(x)"
    log2 = named["log 2 = max JS"]   # named in the legend, not by a label over the curves
    assert (list(log2.x), list(log2.y), log2.yaxis, log2.line.dash) == ([1, 30], [LOG2, LOG2], "y3", "dot")
    assert not any("maximum" in a.text for a in fig.layout.annotations)
    assert fig.layout.xaxis.anchor == "y3" and {t.xaxis for t in fig.data} == {"x"}   # one shared x
    json.loads(fig.to_json())


def test_metrics_figure_of_an_empty_history_keeps_its_axes():
    fig = figures.metrics_figure(toy.Run().history, "nonsaturating")
    assert len(fig.data) == 7 and all(len(t.x) == 0 for t in fig.data)
    assert figures.EMPTY_NOTE in [a.text for a in fig.layout.annotations]
    assert "Press play or step" in figures.EMPTY_NOTE
    assert fig.layout.yaxis2.domain[0] < note_y(fig) < fig.layout.yaxis2.domain[1]
    assert fig.layout.yaxis2.title.text == "mean D(x)"


def test_panels_titles_sit_in_the_gaps_between_panels():
    layout = figures.metrics_figure(toy.Run().history, "hinge").layout
    domains = [layout.yaxis.domain, layout.yaxis2.domain, layout.yaxis3.domain]
    tops = sorted(a.y for a in layout.annotations if a.text.startswith("<b>"))
    assert tops == sorted(d[1] for d in domains)
    # Each lower panel's title (at its top) is below the next panel's bottom by a gap of at least 0.05.
    assert domains[1][1] + 0.05 < domains[0][0] and domains[2][1] + 0.05 < domains[1][0]


def test_d_star_figure_draws_the_curves_and_states_the_value():
    x, p_data, p_g, d = toy.d_star_curves(0, 1, 1.5, 0.7)
    value = toy.game_value(0, 1, 1.5, 0.7)
    fig = figures.d_star_figure(x, p_data, p_g, d, value)
    named = traces(fig)
    np.testing.assert_array_equal(named["p_data"].y, p_data)
    np.testing.assert_array_equal(named["p_g"].y, p_g)
    d_trace = named["D*(x) = p_data / (p_data + p_g)"]
    np.testing.assert_array_equal(d_trace.y, toy.d_star(x, 0, 1, 1.5, 0.7))
    assert d_trace.yaxis == "y2" and list(fig.layout.yaxis2.range) == [0, 1.02]
    assert f"{value:.4f} nats" in fig.layout.title.text and "−1.3863" in fig.layout.title.text
    assert fig.layout.shapes[0].y0 == 0.5 and fig.layout.shapes[0].yref == "y2"
    assert fig.layout.legend.y < 0   # under the plot, away from the title
    equal = figures.d_star_figure(*toy.d_star_curves(0, 1, 0, 1), toy.game_value(0, 1, 0, 1))
    assert "-1.3863 nats" in equal.layout.title.text


def test_saturation_gradients_match_finite_differences_in_the_logit():
    named = traces(figures.saturation_figure())
    d = np.asarray(named["saturating log(1 − D): gradient"].x)
    assert d.min() >= 1e-3 and d.max() <= 0.999
    logit = np.log(d) - np.log1p(-d)
    h = 1e-6
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    saturating = np.abs((np.log1p(-sigmoid(logit + h)) - np.log1p(-sigmoid(logit - h))) / (2 * h))
    nonsaturating = np.abs((-np.log(sigmoid(logit + h)) + np.log(sigmoid(logit - h))) / (2 * h))
    np.testing.assert_allclose(named["saturating log(1 − D): gradient"].y, saturating, rtol=1e-4)
    np.testing.assert_allclose(named["non-saturating −log D: gradient"].y, nonsaturating, rtol=1e-4)
    np.testing.assert_allclose(named["saturating log(1 − D): loss"].y, np.log(1 - d))
    np.testing.assert_allclose(named["non-saturating −log D: loss"].y, -np.log(d))
    # Where D rejects the fakes the saturating gradient is a thousandth of the non-saturating one.
    assert saturating[0] / nonsaturating[0] == pytest.approx(1e-3, rel=0.01)


def image_rows(steps: int) -> list[dict]:
    rows = []
    for step in range(1, steps + 1):
        row = {"step": step, "loss_d": 1.0 + step / 1000, "loss_g": 2.0 - step / 1000, "d_real": 0.7, "d_fake": 0.3}
        if step % 50 == 0:
            row.update(histogram=[10] * 10, entropy=2.0 + step / 10_000, fid=100.0 / step)
        rows.append(row)
    return rows


def test_image_curves_draw_every_step_and_the_meters_where_measured():
    rows = image_rows(120)
    named = traces(figures.image_curves(rows))
    np.testing.assert_array_equal(named["D loss"].x, np.arange(1, 121))
    np.testing.assert_array_equal(named["G loss"].y, [r["loss_g"] for r in rows])
    np.testing.assert_array_equal(named["entropy (nats)"].x, [50, 100])
    np.testing.assert_array_equal(named["entropy (nats)"].y, [2.005, 2.01])
    np.testing.assert_array_equal(named["fid_cnn"].y, [2.0, 1.0])
    assert named["fid_cnn"].yaxis == "y3" and named["entropy (nats)"].yaxis == "y2"
    fig = figures.image_curves(rows)
    level = named["log 10 = max entropy"]   # named in the legend, not by a label under the panel's title
    assert (list(level.x), list(level.y), level.yaxis) == ([1, 120], [math.log(10)] * 2, "y2")
    assert [a.text for a in fig.layout.annotations] == ["<b>Losses</b>", "<b>Meters (every 50 steps)</b>"]
    json.loads(fig.to_json())


def note_y(fig) -> float:
    return next(a.y for a in fig.layout.annotations if a.text == figures.EMPTY_NOTE)


def test_image_curves_of_no_steps_say_what_to_do():
    fig = figures.image_curves([])
    assert figures.EMPTY_NOTE in [a.text for a in fig.layout.annotations]
    # inside the losses' panel: between the panels it sat on the meters' title
    assert fig.layout.yaxis.domain[0] < note_y(fig) < fig.layout.yaxis.domain[1]
    assert len(fig.data) == 5 and all(len(t.x) == 0 for t in fig.data)
    assert figures.EMPTY_NOTE not in [a.text for a in figures.image_curves(image_rows(1)).layout.annotations]


def test_collapse_figure_shows_the_counts_and_their_entropy():
    counts = [40, 10, 30, 20, 50, 0, 26, 30, 40, 12]
    fig = figures.collapse_figure(np.array(counts), 2.0512)
    bars = fig.data[0]
    np.testing.assert_array_equal(bars.x, counts)
    assert list(bars.y) == list(CLASSES)
    assert fig.layout.title.text == "CNN's classes of 258 samples: entropy 2.05 (max 2.30)"
    assert fig.layout.height == 300
    with pytest.raises(ValueError, match="10 counts"):
        figures.collapse_figure([1, 2, 3], 1.0)
