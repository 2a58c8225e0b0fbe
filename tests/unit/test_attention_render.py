"""core.attention_render: repeated tokens keep their own rows, masks and colour ranges are what the figures say,
a model-view click maps back to its layer and head, and the patch pictures are drawn at the stated size."""

import numpy as np
from PIL import Image

from core import probability
from core.attention import figures as ar
from core.attention import maths as att
from core.render import tile_at


def test_repeated_tokens_get_their_own_rows():
    labels = ar.axis_labels(["the", "cat", "the", "the"])
    assert len(set(labels)) == 4 and [label.replace("\u200b", "") for label in labels] == ["the", "cat", "the", "the"]


def test_token_heatmap_masks_and_states_its_colour_range():
    a = probability.softmax(np.zeros((3, 3)), allowed=att.causal_mask(3))
    fig = ar.token_heatmap(a, ["a", "b", "c"], "causal", att.causal_mask(3))
    z = np.array(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1]) and np.isnan(z[1, 2]) and z[2, 0] == a[2, 0]
    assert fig.data[0].zmax == 1.0 and "largest weight shown (1)" in fig.layout.title.text
    assert "Grey: masked" in fig.layout.title.text


def test_model_view_click_maps_to_layer_and_head():
    rng = np.random.default_rng(0)
    stack = probability.softmax(rng.normal(size=(3, 5, 7, 7)))
    grid = ar.model_view(stack)
    assert grid.columns == 5 and grid.channels == list(range(15)) and grid.cell == ar.THUMBNAIL
    # The centre of the thumbnail in row 2 (layer 2), column 3 (head 3).
    x = 4 + 3 * (grid.cell + 4) + grid.cell // 2
    y = grid.top + 4 + 2 * (grid.cell + 4 + 14) + grid.cell // 2
    assert divmod(tile_at(grid, x, y), grid.columns) == (2, 3)


def test_scores_figure_has_row_sums():
    w = probability.softmax(np.arange(9.0).reshape(3, 3))
    fig = ar.scores_figure(np.arange(9.0).reshape(3, 3), w, ["x", "y", "z"], "t")
    np.testing.assert_allclose(np.array(fig.data[2].z).ravel(), 1.0)


def test_patch_pictures():
    seen = Image.new("L", (28, 28), 128)
    grid_picture = ar.patch_grid_picture(seen, (4, 4), patch=5)
    assert grid_picture.size == (336, 336)
    heat = np.zeros((4, 4))
    heat[1, 2] = 2.0
    overlay = np.asarray(ar.heat_overlay(seen, heat, 1.0, (4, 4)))
    assert (overlay[84 + 40, 168 + 40] == ar.render.colormap("Jet")[255]).all()  # the peak is the top colour
    assert (overlay[10, 10] == ar.render.colormap("Jet")[0]).all()


def test_a_long_input_numbers_every_tenth_position_on_both_axes():
    """Above LABELS_UP_TO tokens the ticks are positions; their values must be the heatmap's own category labels
    ("10: bank"), or plotly shows no tick at all."""
    tokens = [f"w{i % 7}" for i in range(ar.LABELS_UP_TO + 52)]
    n = len(tokens)
    fig = ar.token_heatmap(np.full((n, n), 1 / n), tokens, "t")
    categories = list(fig.data[0].x)
    assert categories[10] == "10: w3" and list(fig.data[0].y) == categories
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert list(axis.tickvals) == categories[::ar.TICK_EVERY]
        assert list(axis.ticktext) == [str(i) for i in range(0, n, ar.TICK_EVERY)]


def test_the_head_view_draws_the_strongest_lines_up_to_its_cap():
    rng = np.random.default_rng(0)
    layer = probability.softmax(rng.normal(size=(3, 30, 30)))
    full = ar.head_view(layer, [0, 2])
    expected = int((layer[[0, 2]] >= ar.HEAD_VIEW_MIN_WEIGHT).sum())
    assert full.drawn == expected and full.floor == ar.HEAD_VIEW_MIN_WEIGHT and full.total == 2 * 900
    h, q, k = full.lines.T
    np.testing.assert_array_equal(full.weights, layer[h, q, k])  # each line's weight is the layer's own
    capped = ar.head_view(layer, [0, 2], max_lines=100)
    weights = sorted(layer[[0, 2]].ravel(), reverse=True)
    assert capped.drawn == 100 == len(capped.lines) and capped.floor == weights[99] > ar.HEAD_VIEW_MIN_WEIGHT
    assert capped.weights.min() == weights[99]
    assert 1 not in capped.lines[:, 0]
    assert capped.lines.tolist() == sorted(capped.lines.tolist())  # in (head, query, key) order