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


def test_the_title_block_and_the_slanted_key_labels_get_their_own_space():
    """The title is pinned to the top and the top margin holds its wrapped subtitle and the slanted labels below
    it: a fixed margin let long labels run into the subtitle at 800 px."""
    tokens = ["[CLS]", "internationalisation", "is", "long", "[SEP]"]
    long_note = "A note long enough to wrap the subtitle onto another line of its own, as the sink note does. " * 2
    short, wrapped = (ar.token_heatmap(np.full((5, 5), 0.2), tokens, "t", note=n) for n in ("", long_note))
    for fig in (short, wrapped):
        title = fig.layout.title
        assert (title.y, title.yref, title.yanchor) == (1, "container", "top")
        lines = title.text.split("<sup>")[1].split("<br>")
        assert all(len(line) <= ar.SUBTITLE_CHARS + 6 for line in lines)
        label = len("internationalisation") * 7 * np.sin(np.radians(60))
        assert fig.layout.margin.t >= ar.TITLE_PAD + 22 + ar.SUBTITLE_LINE * len(lines) + label
    assert wrapped.layout.margin.t > short.layout.margin.t


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
    image = ar.heat_overlay(seen, heat, 1.0, (4, 4))
    overlay = np.asarray(image)
    viridis = ar.render.colormap("Viridis")
    assert (overlay[84 + 40, 168 + 40] == viridis[255]).all()  # the peak is the top colour
    assert (overlay[10, 10] == viridis[0]).all()
    # Under the picture, its colour bar: Viridis from its left end to its right, between the labels 0 and 2.
    assert image.width == 336 and image.height > 336 + ar.BAR_HEIGHT
    bar = overlay[336 + 6 + ar.BAR_HEIGHT // 2]
    coloured = np.flatnonzero(np.ptp(bar.astype(int), axis=-1) > 40)  # not grey: the bar, not its labels
    assert coloured[-1] - coloured[0] > 250
    left, right = bar[coloured[0] + 1], bar[coloured[-1] - 1]
    assert np.abs(left.astype(int) - viridis[0]).sum() < 30 and np.abs(right.astype(int) - viridis[255]).sum() < 30


def test_every_patch_number_is_drawn_whole_in_its_own_patch():
    """The numbers sit in the top left corner of their patch, on a dark box: nothing on the image covers them any
    more (the floating label and the corner buttons hid 0 to 3), and each number is readable."""
    grid_picture = np.asarray(ar.patch_grid_picture(Image.new("L", (28, 28), 200), (4, 4)).convert("L"))
    for i in range(16):
        r, c = divmod(i, 4)
        corner = grid_picture[r * 84 + 2:r * 84 + 26, c * 84 + 2:c * 84 + 40]
        assert (corner < 40).mean() > 0.3 and (corner > 120).any(), i  # the dark box, and the number on it


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