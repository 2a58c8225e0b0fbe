"""The convolution endpoints through a real server and gradio_client: good inputs give the right numbers, bad
inputs give a clear message, and the server keeps answering afterwards."""
import json
import re
import urllib.request

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from core.render import from_data_url

M3 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
LAPLACIAN = [[0, -1, 0], [-1, 4, -1], [0, -1, 0]]


def arithmetic(client, matrix, kernel, **kwargs):
    return client.predict(matrix=matrix, kernel=kernel, api_name="/conv_arithmetic", **kwargs)


def kernel(client, path, kernel=LAPLACIAN, **kwargs):
    return client.predict(image=handle_file(str(path)) if path else None, kernel=kernel, api_name="/conv_kernel",
                          **kwargs)


def assert_alive(client):
    """A good request after a bad one: the server survived and still computes correctly."""
    r = arithmetic(client, M3, [[1, 0], [0, -1]])
    assert r["output"] == [[-4, -4], [-4, -4]]


def assert_rejected(call, message: str):
    with pytest.raises(AppError, match=re.escape(message)):
        call()


# ---------------------------------------------------------------- conv_arithmetic

def test_arithmetic_with_padding_matches_hand_computation(client):
    r = arithmetic(client, M3, [[1, 1, 1], [1, 1, 1], [1, 1, 1]], padding=1, row=0, col=0)
    assert r["padded"][0] == [0, 0, 0, 0, 0] and r["padded"][1] == [0, 1, 2, 3, 0]
    assert r["output"] == [[12, 21, 16], [27, 45, 33], [24, 39, 28]]
    assert r["output_shape"] == [3, 3]
    assert r["products"] == [[0, 0, 0], [0, 1, 2], [0, 4, 5]]
    assert r["value"] == 12
    assert r["receptive_field"] == {"top": 0, "left": 0, "bottom": 2, "right": 2}
    assert r["formula"]["height"] == "floor((3 + 2·1 − 1·(3 − 1) − 1) / 1) + 1 = 3"


def test_arithmetic_reflect_stride_dilation(client):
    x = np.arange(36).reshape(6, 6).tolist()
    r = arithmetic(client, x, [[1, 0], [0, -1]], stride=2, padding=1, padding_mode="reflect", dilation=2,
                   row=1, col=2)
    # Reflect pads row 0 with x[1]; output (1, 2) reads padded (2, 4) and (4, 6) = x[1][3] and x[3][5].
    assert r["padded"][0][1:7] == x[1]
    assert r["taps"] == [[[2, 4], [2, 6]], [[4, 4], [4, 6]]]
    assert r["value"] == x[1][3] - x[3][5] == r["output"][1][2]
    assert r["output_shape"] == [3, 3]


def test_arithmetic_accepts_numbers_sent_as_strings(client):
    r = arithmetic(client, [["1", "2"], ["3", "4"]], [["0.5"]], stride="1")
    assert r["output"] == [[0.5, 1], [1.5, 2]]


@pytest.mark.parametrize("matrix,kern,kwargs,message", [
    ([[1, 2], [3]], [[1]], {}, "matrix is ragged"),
    ([], [[1]], {}, "matrix must be a non-empty list of rows"),
    ([[]], [[1]], {}, "matrix row 0 must be a non-empty list"),
    ([[1, "abc"]], [[1]], {}, "matrix[0][1] is 'abc', which is not a number"),
    ([[1, None]], [[1]], {}, "matrix[0][1] is None, which is not a number"),
    ([[1, "NaN"]], [[1]], {}, "only finite numbers are allowed"),
    (M3, [[1]], {"stride": -1}, "stride must be between 1 and 16, not -1"),
    (M3, [[1]], {"stride": 0}, "stride must be between 1 and 16, not 0"),
    (M3, [[1]], {"stride": "nan"}, "stride must be a whole number"),
    (M3, [[1]], {"padding": None}, "padding must be a whole number, not None"),
    (M3, np.ones((40, 40)).tolist(), {}, "kernel is 40x40; the limit is 15x15"),
    (np.ones((500, 500)).tolist(), [[1]], {}, "matrix is 500x500; the limit is 64x64"),
    (M3, [[1]], {"padding": 3, "padding_mode": "reflect"}, "reflect padding of 3 needs the input to be larger"),
    (M3, [[1]], {"padding_mode": "mirror"}, "padding_mode must be one of zeros, reflect, replicate, circular"),
    (M3, np.ones((5, 5)).tolist(), {}, "The kernel does not fit"),
    (M3, [[1]], {"row": 3}, "row must be between 0 and 2, not 3"),
])
def test_arithmetic_bad_input_is_a_clear_error_and_the_server_survives(client, matrix, kern, kwargs, message):
    assert_rejected(lambda: arithmetic(client, matrix, kern, **kwargs), message)
    assert_alive(client)


def test_arithmetic_raw_json_nan(client, server_url):
    """gradio_client cannot encode NaN, but any HTTP caller can send the bare NaN token that Python's JSON reads."""
    body = b'{"data": [[[1, NaN]], [[1]], 1, 0, "zeros", 1, 0, 0]}'
    post = urllib.request.Request(f"{server_url}/gradio_api/call/conv_arithmetic", data=body,
                                  headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(post, timeout=30) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{server_url}/gradio_api/call/conv_arithmetic/{event_id}", timeout=30) as r:
        stream = r.read().decode()
    assert "event: error" in stream and "only finite numbers are allowed (no NaN or inf)" in stream
    assert_alive(client)


# ---------------------------------------------------------------- conv_pool

def test_pool_max_and_avg(client):
    x = [[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]]
    r = client.predict(matrix=x, kind="max", size=2, stride=2, api_name="/conv_pool")
    assert r["output"] == [[4, 8], [12, 16]] and r["output_shape"] == [2, 2]
    r = client.predict(matrix=x, kind="avg", size=3, stride=1, api_name="/conv_pool")
    # Means of the four 3x3 windows: 54/9, 69/9, 84/9, 99/9.
    np.testing.assert_allclose(r["output"], [[6, 69 / 9], [84 / 9, 11]])
    assert r["formula"]["width"] == "floor((4 + 2·0 − 1·(3 − 1) − 1) / 1) + 1 = 2"


@pytest.mark.parametrize("kwargs,message", [
    ({"matrix": [[1, 2], [3]]}, "matrix is ragged"),
    ({"matrix": [[1, 2], [3, 4]], "kind": "median"}, "kind must be one of max, avg"),
    ({"matrix": [[1, 2], [3, 4]], "size": 3}, "A 3x3 pooling window does not fit in a 2x2 input"),
    ({"matrix": [[1, 2], [3, 4]], "stride": -2}, "stride must be between 1 and 16, not -2"),
])
def test_pool_bad_input(client, kwargs, message):
    assert_rejected(lambda: client.predict(api_name="/conv_pool", **kwargs), message)
    assert_alive(client)


# ---------------------------------------------------------------- conv_kernel

def save(tmp_path, name, img, **params):
    path = tmp_path / name
    img.save(path, **params)
    return path


def test_kernel_on_a_small_image_matches_hand_computation(client, tmp_path):
    # A 2x2 checkerboard summed by a 2x2 box: one output pixel of (0 + 1 + 1 + 0) = 2 (pixels scaled to [0, 1]).
    path = save(tmp_path, "checker.png", Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)))
    r = kernel(client, path, [[1, 1], [1, 1]], padding=0, color="grayscale")
    assert r["output_shape"] == [1, 1] and r["channels"] == 1
    assert r["min"] == r["max"] == r["mean"] == pytest.approx(2.0)


def test_kernel_on_a_photo_returns_a_png_of_the_output_shape(client, tmp_path):
    rng = np.random.default_rng(0)
    path = save(tmp_path, "noise.jpg", Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)))
    r = kernel(client, path, LAPLACIAN, stride=2, padding=1, padding_mode="replicate", dilation=2,
               display="minmax")
    # floor((60 + 2 - 2*2 - 1) / 2) + 1 = 29 and floor((90 + 2 - 4 - 1) / 2) + 1 = 44.
    assert r["output_shape"] == [29, 44] and r["channels"] == 3 and r["input_shape"] == [60, 90]
    assert r["formula"]["height"] == "floor((60 + 2·1 − 2·(3 − 1) − 1) / 2) + 1 = 29"
    assert r["min"] < 0 < r["max"]
    picture = from_data_url(r["image"])
    assert picture.size == (44, 29) and picture.mode == "RGB"
    assert r["display"].startswith("min-max")


def test_kernel_no_image(client):
    assert_rejected(lambda: kernel(client, None), "No image was given")
    assert_alive(client)


def test_kernel_rejects_a_server_side_path(client):
    assert_rejected(lambda: client.predict(image={"path": "/etc/hostname"}, kernel=[[1]], api_name="/conv_kernel"),
                    "server-side paths are not accepted")
    assert_alive(client)


def test_kernel_truncated_png(client, tmp_path):
    good = save(tmp_path, "whole.png", Image.fromarray(np.random.default_rng(1).integers(
        0, 256, (64, 64, 3), dtype=np.uint8)))
    path = tmp_path / "truncated.png"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert_rejected(lambda: kernel(client, path), "could not be read as an image")
    assert_alive(client)


def test_kernel_not_an_image(client, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is text, not a PNG")
    assert_rejected(lambda: kernel(client, path), "could not be read as an image")
    assert_alive(client)


def test_kernel_one_pixel_image(client, tmp_path):
    path = save(tmp_path, "dot.png", Image.new("RGB", (1, 1), (255, 0, 0)))
    r = kernel(client, path, LAPLACIAN, padding=1)
    # Zero padding around one red pixel: the Laplacian is 4 x the pixel, i.e. 4 in R and 0 in G and B.
    assert r["output_shape"] == [1, 1] and r["max"] == pytest.approx(4.0) and r["min"] == 0
    assert_rejected(lambda: kernel(client, path, LAPLACIAN, padding=1, padding_mode="reflect"),
                    "reflect padding of 1 needs the input to be larger than 1")
    assert_rejected(lambda: kernel(client, path, LAPLACIAN, padding=0), "The kernel does not fit")
    assert_alive(client)


def test_kernel_huge_image_is_rejected(client, tmp_path):
    path = save(tmp_path, "huge.png", Image.new("L", (12000, 12000)), compress_level=1)
    assert_rejected(lambda: kernel(client, path), "the limit is 40 megapixels")
    assert_alive(client)


def test_kernel_rgba_cmyk_and_16_bit(client, tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 0  # fully transparent red: composited on white, so every channel is 1
    r = kernel(client, save(tmp_path, "rgba.png", Image.fromarray(rgba, "RGBA")), [[1]], padding=0)
    assert r["channels"] == 3 and r["min"] == r["max"] == pytest.approx(1.0)

    cmyk = Image.new("CMYK", (16, 12), (0, 0, 0, 0))  # no ink: white
    r = kernel(client, save(tmp_path, "cmyk.jpg", cmyk, quality=95), [[1]], padding=0)
    assert r["output_shape"] == [12, 16] and r["min"] == pytest.approx(1.0, abs=0.02)

    ramp = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 257  # a 16-bit PNG (mode I;16)
    r = kernel(client, save(tmp_path, "deep.png", Image.fromarray(ramp)), [[1]], padding=0,
               color="grayscale")
    assert r["output_shape"] == [16, 16] and r["min"] == 0 and r["max"] == pytest.approx(1.0, abs=0.01)
    assert_alive(client)


@pytest.mark.parametrize("kwargs,message", [
    ({"kernel": np.ones((16, 16)).tolist()}, "kernel is 16x16; the limit is 15x15"),
    ({"kernel": [[1, 2], [3]]}, "kernel is ragged"),
    ({"kernel": [["inf"]]}, "only finite numbers"),
    ({"stride": -3}, "stride must be between 1 and 16, not -3"),
    ({"padding": 20, "padding_mode": "reflect"}, "reflect padding of 20 needs the input to be larger than 20"),
    ({"color": "cmyk"}, "color must be one of rgb, grayscale"),
    ({"display": "rainbow"}, "display must be one of abs, signed, minmax"),
])
def test_kernel_bad_parameters(client, tmp_path, kwargs, message):
    path = save(tmp_path, "small.png", Image.new("RGB", (12, 10), (10, 20, 30)))
    assert_rejected(lambda: kernel(client, path, **({"kernel": LAPLACIAN} | kwargs)), message)
    assert_alive(client)
