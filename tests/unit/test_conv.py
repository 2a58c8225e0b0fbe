"""core.conv against hand-computed cases and torch.nn.functional."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from core.convolution import conv

M3 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def torch_reference(x, w, stride=1, padding=0, mode="zeros", dilation=1):
    """What nn.Conv2d(padding_mode=mode, bias=False) computes, as an independent reference."""
    layer = torch.nn.Conv2d(1, 1, tuple(np.shape(w)), stride=stride, padding=padding, padding_mode=mode,
                            dilation=dilation, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w, dtype=torch.float64)[None, None])
        return layer(torch.tensor(x, dtype=torch.float64)[None, None])[0, 0].numpy()


# ---------------------------------------------------------------- hand-computed cases

def test_valid_convolution_by_hand():
    # [[1,0],[0,-1]] at (r, c) is x[r][c] - x[r+1][c+1]: always 1 - 5 = -4 on this matrix.
    a = conv.conv_arithmetic(M3, [[1, 0], [0, -1]])
    np.testing.assert_array_equal(a.output, [[-4, -4], [-4, -4]])
    np.testing.assert_array_equal(a.padded, M3)


def test_is_cross_correlation_not_flipped():
    # A true convolution would flip the kernel and give 3*1 + ... ; cross-correlation reads it as written.
    out, _ = conv.convolve(np.array(M3), np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(out, [[1 + 4 + 9], [4 + 10 + 18], [7 + 16 + 27]])


def test_zero_padding_and_products_by_hand():
    a = conv.conv_arithmetic(M3, [[1, 1, 1], [1, 1, 1], [1, 1, 1]], padding=1, row=0, col=0)
    # Top-left corner of a 3x3 box sum with zero padding: 1 + 2 + 4 + 5.
    assert a.value == 12
    np.testing.assert_array_equal(a.products, [[0, 0, 0], [0, 1, 2], [0, 4, 5]])
    np.testing.assert_array_equal(a.output, [[12, 21, 16], [27, 45, 33], [24, 39, 28]])
    assert a.receptive_field == {"top": 0, "left": 0, "bottom": 2, "right": 2}


def test_dilated_taps_and_value_by_hand():
    x = np.arange(49, dtype=float).reshape(7, 7)
    a = conv.conv_arithmetic(x, [[1, 0], [0, 1]], stride=2, dilation=3, row=1, col=1)
    assert a.taps.tolist() == [[[2, 2], [2, 5]], [[5, 2], [5, 5]]]
    assert a.value == x[2, 2] + x[5, 5] == 16 + 40
    assert a.output[1, 1] == a.value


def test_reflect_replicate_circular_padding_by_hand():
    row = [[1.0, 2.0, 3.0, 4.0]]
    identity = [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    expected = {
        "zeros": [0, 0, 1, 2, 3, 4, 0, 0],
        "reflect": [3, 2, 1, 2, 3, 4, 3, 2],
        "replicate": [1, 1, 1, 2, 3, 4, 4, 4],
        "circular": [3, 4, 1, 2, 3, 4, 1, 2],
    }
    for mode, want in expected.items():
        a = conv.conv_arithmetic(np.repeat(row, 3, axis=0), identity, padding=2, padding_mode=mode)
        np.testing.assert_array_equal(a.padded[2], want, err_msg=mode)


def test_padding_modes_differ_only_where_the_receptive_field_reaches_the_padding():
    # What the Explain panel states: with a 3x3 kernel and padding 2, cells 2 away from every edge are identical.
    x = np.random.default_rng(2).normal(size=(8, 9))
    outputs = [conv.convolve(x, np.ones((3, 3)), padding=2, padding_mode=m)[0] for m in conv.PADDING_MODES]
    for out in outputs[1:]:
        np.testing.assert_allclose(out[2:-2, 2:-2], outputs[0][2:-2, 2:-2], atol=1e-12)
        assert not np.allclose(out, outputs[0])


@pytest.mark.parametrize("name", list(conv.PRESETS))
def test_presets_are_what_they_say(name):
    k = conv.preset(name)
    assert k.shape in ((3, 3), (5, 5))
    if "blur" in name or "identity" in name:
        assert k.sum() == pytest.approx(1.0)  # averaging kernels keep a flat image's brightness
    if name.startswith(("Laplacian", "outline", "Sobel")):
        assert k.sum() == 0  # derivative kernels give 0 on a flat image


def test_laplacian_preset_is_the_issue_kernel_and_zero_on_flat_and_ramp():
    np.testing.assert_array_equal(conv.preset("Laplacian 3x3"), [[0, -1, 0], [-1, 4, -1], [0, -1, 0]])
    np.testing.assert_array_equal(conv.preset("sharpen 3x3")[1, 1], 5)
    flat = np.full((6, 6), 7.0)
    ramp = np.add.outer(np.arange(6.0), 2 * np.arange(6.0))
    for x in (flat, ramp):
        out, _ = conv.convolve(x, conv.preset("Laplacian 3x3"))
        np.testing.assert_allclose(out, 0, atol=1e-12)


def test_laplacian_changes_sign_across_an_edge():
    step = np.repeat([[0, 0, 0, 1, 1, 1]], 5, axis=0).astype(float)
    out, _ = conv.convolve(step, conv.preset("Laplacian 3x3"))
    np.testing.assert_array_equal(out[0], [0, -1, 1, 0])


def test_sobel_x_is_positive_where_brightness_grows_rightwards():
    step = np.repeat([[0, 0, 1, 1]], 4, axis=0).astype(float)
    out, _ = conv.convolve(step, conv.preset("Sobel x 3x3"))
    assert (out > 0).all()


def test_preset_returns_a_copy():
    conv.preset("identity 3x3")[1, 1] = 99
    assert conv.preset("identity 3x3")[1, 1] == 1


# ---------------------------------------------------------------- against torch.nn.functional

@pytest.mark.parametrize("mode", conv.PADDING_MODES)
@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (1, 1, 1), (2, 2, 1), (1, 2, 2), (3, 1, 2)])
def test_matches_nn_conv2d_for_every_padding_mode(mode, stride, padding, dilation):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 8, generator=g, dtype=torch.float64).numpy()
    w = torch.randn(3, 3, generator=g, dtype=torch.float64).numpy()
    a = conv.conv_arithmetic(x, w, stride, padding, mode, dilation)
    np.testing.assert_allclose(a.output, torch_reference(x, w, stride, padding, mode, dilation), atol=1e-12)


@pytest.mark.parametrize("mode", conv.PADDING_MODES)
def test_products_sum_to_the_output_at_every_cell(mode):
    x = np.arange(30, dtype=float).reshape(5, 6) % 7
    w = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    first = conv.conv_arithmetic(x, w, 2, 2, mode, 2)
    for r, c in itertools.product(range(first.geometry.out_h), range(first.geometry.out_w)):
        a = conv.conv_arithmetic(x, w, 2, 2, mode, 2, r, c)
        assert a.value == pytest.approx(a.output[r, c], abs=1e-12)
        np.testing.assert_array_equal(a.products, w * a.inputs)


def test_rgb_image_is_convolved_per_channel_and_grayscale_uses_luma():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    w = conv.preset("Sobel y 3x3")
    out, g = conv.convolve_image(img, w, stride=2, padding=1, padding_mode="reflect")
    assert out.shape == (3, 10, 12) and (g.out_h, g.out_w) == (10, 12)
    for ch in range(3):
        want = torch_reference(pixels[..., ch] / 255.0, w, 2, 1, "reflect")
        np.testing.assert_allclose(out[ch], want, atol=1e-5)
    gray, _ = conv.convolve_image(img, [[1.0]], padding=0, color="grayscale")
    np.testing.assert_allclose(gray[0], np.asarray(img.convert("L")) / 255.0, atol=1e-6)


# ---------------------------------------------------------------- output size

def test_output_size_formula_over_a_grid_matches_f_conv2d():
    checked = 0
    for i, k, s, p, d in itertools.product(range(1, 10), range(1, 6), range(1, 4), range(0, 4), range(1, 4)):
        expected = conv.output_size(i, k, s, p, d)
        if d * (k - 1) + 1 > i + 2 * p:
            assert expected <= 0
            continue
        actual = F.conv2d(torch.zeros(1, 1, i, i + 1), torch.zeros(1, 1, k, k), stride=s, padding=p,
                          dilation=d).shape
        assert (expected, conv.output_size(i + 1, k, s, p, d)) == tuple(actual[2:]), (i, k, s, p, d)
        checked += 1
    assert checked > 1000


def test_size_formula_fills_in_the_numbers():
    assert conv.size_formula(28, 3, 2, 1, 1) == "floor((28 + 2·1 − 1·(3 − 1) − 1) / 2) + 1 = 14"
    g = conv.geometry(5, 9, np.ones((3, 3)), stride=1, padding=0)
    assert g.formula() == {"height": "floor((5 + 2·0 − 1·(3 − 1) − 1) / 1) + 1 = 3",
                           "width": "floor((9 + 2·0 − 1·(3 − 1) − 1) / 1) + 1 = 7"}


# ---------------------------------------------------------------- pooling

def test_max_and_avg_pooling_by_hand():
    x = [[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]]
    out, g = conv.pool_matrix(x, "max", 2, 2)
    np.testing.assert_array_equal(out, [[4, 8], [12, 16]])
    out, g = conv.pool_matrix(x, "avg", 2, 2)
    np.testing.assert_array_equal(out, [[2.5, 6.5], [10.5, 14.5]])
    out, g = conv.pool_matrix(x, "max", 3, 1)
    np.testing.assert_array_equal(out, [[13, 14], [15, 16]])
    assert (g.out_h, g.out_w) == (2, 2)


@pytest.mark.parametrize("kind,fn", [("max", F.max_pool2d), ("avg", F.avg_pool2d)])
def test_pooling_matches_torch_on_images(kind, fn):
    pixels = np.random.default_rng(1).integers(0, 256, (17, 13, 3), dtype=np.uint8)
    out, g = conv.pool_image(Image.fromarray(pixels), kind, 3, 2)
    want = fn(torch.tensor(pixels / 255.0).permute(2, 0, 1)[None], 3, 2)[0].numpy()
    np.testing.assert_allclose(out, want, atol=1e-6)
    assert out.shape == (3, g.out_h, g.out_w) == (3, 8, 6)


# ---------------------------------------------------------------- invalid input

@pytest.mark.parametrize("kwargs,message", [
    ({"matrix": []}, "non-empty"),
    ({"matrix": [[1, 2], [3]]}, "ragged"),
    ({"matrix": [[1, "x"], [3, 4]]}, "not a number"),
    ({"matrix": [[1, float("nan")], [3, 4]]}, "finite"),
    ({"matrix": np.zeros((65, 3)).tolist()}, "limit is 64x64"),
    ({"kernel": np.ones((16, 16)).tolist()}, "limit is 15x15"),
    ({"kernel": [[None]]}, "not a number"),
    ({"stride": 0}, "stride must be between 1 and 16"),
    ({"stride": -1}, "stride must be between 1 and 16"),
    ({"stride": "two"}, "stride must be a whole number"),
    ({"stride": float("nan")}, "stride must be a whole number"),
    ({"padding": -1}, "padding must be between 0"),
    ({"dilation": 0}, "dilation must be between 1"),
    ({"padding_mode": "mirror"}, "padding_mode must be one of zeros, reflect, replicate, circular"),
    ({"padding": 3, "padding_mode": "reflect"}, "reflect padding of 3 needs the input to be larger than 3"),
    ({"padding": 4, "padding_mode": "circular"}, "wrap around"),
    ({"kernel": np.ones((5, 5)).tolist()}, "does not fit"),
    ({"kernel": [[1, 1], [1, 1]], "dilation": 4}, "spans 5x5"),
    ({"row": 1}, "row must be between 0 and 0"),
    ({"col": -1}, "col must be between 0 and 0"),
])
def test_invalid_arithmetic_input_raises_a_clear_value_error(kwargs, message):
    args = {"matrix": M3, "kernel": np.ones((3, 3)).tolist()} | kwargs
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        conv.conv_arithmetic(**args)


def test_reflect_padding_just_below_the_limit_is_fine():
    a = conv.conv_arithmetic(M3, [[1]], padding=2, padding_mode="reflect")
    assert a.padded.shape == (7, 7)
    a = conv.conv_arithmetic(M3, [[1]], padding=3, padding_mode="circular")
    assert a.padded.shape == (9, 9)


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "median"}, "kind must be one of max, avg"),
    ({"size": 0}, "size must be between 1"),
    ({"size": 5}, "does not fit in a 4x4 input"),
    ({"stride": 0}, "stride must be between 1"),
])
def test_invalid_pooling_raises_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv.pool_matrix(np.ones((4, 4)).tolist(), **({"kind": "max", "size": 2, "stride": 2} | kwargs))


def test_contrast_patch_finds_the_busiest_window():
    img = np.zeros((28, 28))
    # A 7x7 checkerboard (25 ones) in a flat image: any other window holds fewer ones and varies less.
    img[10:17, 20:27] = np.indices((7, 7)).sum(axis=0) % 2 == 0
    patch, top, left = conv.contrast_patch(img, 7)
    assert (top, left) == (10, 20)
    np.testing.assert_array_equal(patch, img[10:17, 20:27])
