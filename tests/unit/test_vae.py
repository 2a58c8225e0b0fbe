"""core.vae.latent against closed forms, an independent Monte Carlo estimate and its own construction: the two
interpolation paths, the KL, encoding real Fashion-MNIST images, traversals, the test set's codes and the 2-D
manifold (whose measured share the explain panel and assets/MODELS.md quote, checked here against the live value);
and the VAE explorer's pixel <-> code mapping and number parsing."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import render
from core.data import load_sample
from core.vae import figures, latent
from core.vision import fashion_preprocess
from explorers.vae import dimensions, latent_map

ROOT = Path(__file__).resolve().parents[2]
FULL_TEST_SET = 10_000


def sample_input(i=0):
    """A real Fashion-MNIST test image as the models see it, [1, 1, 28, 28] in [0, 1]."""
    return fashion_preprocess(Image.fromarray(load_sample("test").images[i]))[0]


def two_codes(d=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d), rng.normal(size=d)


def angle(u, v):
    cos = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
    return math.acos(float(np.clip(cos, -1.0, 1.0)))


# ---------------------------------------------------------------- paths


def test_linear_path_endpoints_shape_and_midpoint():
    a, b = two_codes()
    p = latent.linear_path(a, b, 9)
    assert p.shape == (9, 16)
    np.testing.assert_array_equal(p[0], a)
    np.testing.assert_array_equal(p[-1], b)
    np.testing.assert_allclose(p[4], (a + b) / 2, atol=1e-15)
    # Equal steps: every segment is the same vector (b - a) / 8.
    np.testing.assert_allclose(np.diff(p, axis=0), np.tile((b - a) / 8, (8, 1)), atol=1e-14)


def test_slerp_endpoints_are_exact():
    """The endpoints are set, not computed, so frame 0 and the last frame decode exactly A's and B's code."""
    a, b = two_codes()
    p = latent.slerp_path(a, b, 10)
    assert p.shape == (10, 16)
    np.testing.assert_array_equal(p[0], a)
    np.testing.assert_array_equal(p[-1], b)


def test_slerp_turns_at_constant_angular_speed_and_scales_linearly():
    """What the docstring and the explain panel promise: the direction moves along the great circle in equal
    angles whose sum is the angle between a and b, and the length goes linearly from |a| to |b|."""
    a, b = two_codes()
    a = 3 * a  # different lengths, so "linear in length" is not trivially constant
    steps = 12
    p = latent.slerp_path(a, b, steps)
    u = p / np.linalg.norm(p, axis=1, keepdims=True)
    steps_angles = np.array([angle(u[i], u[i + 1]) for i in range(steps - 1)])
    omega = angle(a, b)
    assert 0.5 < omega < 3.0  # a real turn, far from the linear fallback
    np.testing.assert_allclose(steps_angles, omega / (steps - 1), rtol=1e-9)
    assert steps_angles.sum() == pytest.approx(omega, rel=1e-9)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1),
                               np.linspace(np.linalg.norm(a), np.linalg.norm(b), steps), rtol=1e-12)
    # Every point lies in the plane of a and b (a great circle, not some other curve on the sphere).
    basis, _ = np.linalg.qr(np.stack([a, b], 1))
    np.testing.assert_allclose(p - p @ basis @ basis.T, 0, atol=1e-12)


def test_slerp_falls_back_to_linear_where_the_great_circle_is_undefined():
    a, _ = two_codes()
    zero = np.zeros_like(a)
    nearly = 2 * a + 1e-9 * np.random.default_rng(1).normal(size=a.shape)
    for x, y in [(a, 2 * a), (a, nearly), (a, -3 * a), (zero, a), (a, zero), (zero, zero)]:
        np.testing.assert_array_equal(latent.slerp_path(x, y, 7), latent.linear_path(x, y, 7))
    # Slightly more than the threshold apart: slerp proper, which no longer equals the linear path.
    turned = a + 1e-3 * np.linalg.norm(a) * np.random.default_rng(2).normal(size=a.shape)
    assert not np.array_equal(latent.slerp_path(a, turned, 7), latent.linear_path(a, turned, 7))


def test_path_chooses_the_kind_and_refuses_bad_steps_and_names():
    a, b = two_codes()
    np.testing.assert_array_equal(latent.path(a, b, 5, "linear"), latent.linear_path(a, b, 5))
    np.testing.assert_array_equal(latent.path(a, b, 5, "slerp"), latent.slerp_path(a, b, 5))
    assert latent.path(a, b, 2).shape == (2, 16)
    assert latent.path(a, b, 32).shape == (32, 16)
    for steps in (1, 0, 33, -5):
        with pytest.raises(ValueError, match=rf"steps must be between 2 and 32, not {steps}"):
            latent.path(a, b, steps)
    with pytest.raises(ValueError, match="steps must be a whole number"):
        latent.path(a, b, 2.5)
    with pytest.raises(ValueError, match="path must be one of linear, slerp, not 'circle'"):
        latent.path(a, b, 5, "circle")


# ---------------------------------------------------------------- KL


def test_kl_closed_form_matches_monte_carlo():
    """An independent estimate: KL = E_q[log q(z) - log p(z)] with z ~ q from a seeded generator. The tolerance is
    four standard errors of that mean, and the standard error itself is small, so the check is tight."""
    mu = np.array([0.0, 0.5, -1.2, 2.0, 0.1])
    logvar = np.array([0.0, -1.0, 0.3, 0.8, -2.5])
    sigma = np.exp(0.5 * logvar)
    n = 400_000
    z = mu + sigma * np.random.default_rng(0).standard_normal((n, len(mu)))
    log_q = -0.5 * np.log(2 * np.pi) - 0.5 * logvar - (z - mu) ** 2 / (2 * sigma ** 2)
    log_p = -0.5 * np.log(2 * np.pi) - z ** 2 / 2
    ratio = log_q - log_p
    estimate, stderr = ratio.mean(0), ratio.std(0) / math.sqrt(n)
    kl = latent.kl_closed_form(mu.tolist(), logvar.tolist())
    assert kl.shape == (5,)
    assert stderr.max() < 0.01
    np.testing.assert_array_less(np.abs(kl - estimate), 4 * stderr + 1e-12)
    # The first dimension is exactly the prior: KL 0 (its Monte Carlo ratio is 0 for every sample too).
    assert kl[0] == 0.0
    # A hand value: mu = 2, logvar = 0 costs mu^2 / 2 = 2 nats.
    assert latent.kl_closed_form([2.0], [0.0])[0] == 2.0


def test_kl_is_positive_zero_at_the_prior():
    kl = latent.kl_closed_form([0.0, 0, -0.0], [0.0, 0, 0.0])
    np.testing.assert_array_equal(kl, [0.0, 0.0, 0.0])
    assert not np.signbit(kl).any()  # +0.0, not -0.0, which would print as "-0"
    assert math.copysign(1.0, float(kl.sum())) == 1.0


def test_kl_refuses_bad_input_with_clear_messages():
    with pytest.raises(ValueError, match="mu has 2 values but logvar has 3"):
        latent.kl_closed_form([0.0, 1.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"mu\[1\] is nan; only finite numbers"):
        latent.kl_closed_form([0.0, float("nan")], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"logvar\[0\] is 'abc', which is not a number"):
        latent.kl_closed_form([0.0], ["abc"])
    with pytest.raises(ValueError, match=r"mu\[0\] is 1e\+39, beyond what float32 holds"):
        latent.kl_closed_form([1e39], [0.0])
    with pytest.raises(ValueError, match="mu must be a non-empty list"):
        latent.kl_closed_form([], [])
    # 800 is within float32, but exp(800) is not a float64: the overflow is named, with the dimension.
    with pytest.raises(ValueError, match=r"The KL of dimension 1 overflows \(logvar = 800\)"):
        latent.kl_closed_form([0.0, 0.0], [0.0, 800.0])
    # Just below the limit it still computes: exp(700) / 2 dominates.
    assert latent.kl_closed_form([0.0], [700.0])[0] == pytest.approx(0.5 * math.exp(700), rel=1e-12)


# ---------------------------------------------------------------- encoding, decoding, traversals


def test_encode_vae16_gives_mu_logvar_and_the_closed_form_kl():
    code = latent.encode("vae16", sample_input(0))
    assert code.mu.shape == code.logvar.shape == code.kl_per_dim.shape == (16,)
    assert code.mu.dtype == np.float64
    np.testing.assert_array_equal(code.kl_per_dim, latent.kl_closed_form(code.mu, code.logvar))
    assert code.kl == pytest.approx(code.kl_per_dim.sum())
    assert code.kl > 0.5  # a real image's posterior is not the prior
    np.testing.assert_allclose(code.sigma, np.exp(0.5 * code.logvar))
    assert code.reconstruction.shape == (28, 28)
    assert code.reconstruction.min() >= 0.0 and code.reconstruction.max() <= 1.0
    # The reconstruction is the decoder at z = mu, and resembles the input (test MSE is about 0.013).
    np.testing.assert_allclose(code.reconstruction, latent.decode("vae16", code.mu)[0], atol=1e-6)
    x = sample_input(0)[0, 0].double().numpy()
    assert np.mean((code.reconstruction - x) ** 2) < 0.05


def test_encode_ae2_has_no_logvar_and_no_kl():
    code = latent.encode("ae2", sample_input(1))
    assert code.mu.shape == (2,)
    assert code.logvar is None and code.kl_per_dim is None and code.kl is None and code.sigma is None
    assert code.reconstruction.shape == (28, 28)
    with pytest.raises(ValueError, match="model must be one of vae16, vae2, ae2, not 'vae3'"):
        latent.encode("vae3", sample_input(0))


def test_traversal_shape_and_construction():
    """Row i, column j is the decoder at mu with dimension i set to values[j] and the others left alone."""
    mu = latent.encode("vae16", sample_input(2)).mu
    grid = latent.traversal("vae16", mu)
    assert grid.shape == (16, 7, 28, 28)
    expected = np.repeat(mu[None], 16 * 7, 0).reshape(16, 7, 16)
    for i in range(16):
        for j, v in enumerate(latent.TRAVERSAL):
            expected[i, j, i] = v
    np.testing.assert_allclose(grid, latent.decode("vae16", expected.reshape(-1, 16)).reshape(16, 7, 28, 28),
                               atol=1e-6)
    # Where the value equals mu[i], the frame is the reconstruction itself: TRAVERSAL[3] is 0, so set mu[5] = 0.
    assert latent.TRAVERSAL[3] == 0.0
    at_zero = mu.copy()
    at_zero[5] = 0.0
    np.testing.assert_allclose(latent.traversal("vae16", at_zero)[5, 3], latent.decode("vae16", at_zero)[0],
                               atol=1e-6)
    # The dimensions really differ: a traversal changes the picture (else every row would be one image).
    assert np.abs(grid[:, 0] - grid[:, -1]).max() > 0.1


def test_the_traversal_sheet_shows_the_most_used_dimensions_with_their_axes_beside_the_frames():
    code = latent.encode("vae16", sample_input(2))
    grid = latent.traversal("vae16", code.mu)
    sheet, dims = figures.traversal_sheet(grid, latent.TRAVERSAL, code.kl_per_dim)
    kl = code.kl_per_dim
    assert len(dims) == figures.TRAVERSAL_ROWS and kl[dims[0]] == kl.max()
    assert list(kl[dims]) == sorted(kl[dims], reverse=True)  # largest first
    assert min(kl[dims]) >= max(np.delete(kl, dims))         # the ones left out use less
    pixels = np.asarray(sheet.convert("L"))
    cell, step = figures.TRAVERSAL_CELL, figures.TRAVERSAL_CELL + render.PAD
    left, top = sheet.width - len(latent.TRAVERSAL) * step, sheet.height - len(dims) * step
    assert left >= 60 and top >= figures.LABEL_FONT  # room for the row names and the column values
    for r, d in enumerate(dims):
        y = top + r * step
        assert (pixels[y:y + cell, :left] < 128).any()  # the row's name, left of its frames
        for c in range(len(latent.TRAVERSAL)):  # every frame whole: no label drawn over it
            x = left + c * step
            expected = figures.frame_image(grid[d, c]).resize((cell, cell), Image.Resampling.NEAREST)
            np.testing.assert_array_equal(pixels[y:y + cell, x:x + cell], np.asarray(expected))
    assert (pixels[:top, left:] < 128).any()  # the values above the columns


@pytest.mark.parametrize("steps", range(latent.MIN_STEPS, latent.MAX_STEPS + 1))
def test_a_strip_wraps_so_its_captions_stay_readable_at_every_step_count(steps):
    """At most STRIP_COLUMNS frames a row, so an 800 px page shows the strip at ≥ 3/4 of its size; 16 frames in
    one row were shown at half size, their captions ~6 px."""
    frames = np.random.default_rng(steps).random((steps, 28, 28))
    strip = figures.strip(frames, [("T-shirt/top", "0.99")] * steps)
    columns = figures.strip_columns(steps)
    rows = -(-steps // columns)
    assert columns <= figures.STRIP_COLUMNS and (rows - 1) * columns < steps <= rows * columns
    assert strip.width == columns * (figures.CELL + render.PAD) + render.PAD <= 1004
    last = np.asarray(strip.convert("L"))[-2 * (figures.LABEL_FONT + 3):, :]
    assert (last < 128).any()  # the last row's captions are drawn


def test_the_kl_calculator_replaces_its_table_with_the_reason_for_a_bad_input():
    assert "**Total KL = 0.5000 nats**" in dimensions.kl_answer("0, 1", "0, 0")
    for mu, logvar, reason in (("0, x", "0, 0", "'x' is not a number"),
                               ("0, 1", "0", "mu has 2 values but logvar has 1"),
                               ("", "0", "type one number per dimension")):
        answer = dimensions.kl_answer(mu, logvar)
        assert reason in answer and "Total KL" not in answer and "|" not in answer, answer


def test_check_code_refuses_wrong_length_nan_and_beyond_float32():
    np.testing.assert_array_equal(latent.check_code("vae2", [0.5, -1]), [0.5, -1.0])
    with pytest.raises(ValueError, match=r"z must be a list of 2 numbers for vae2 .* not 3"):
        latent.check_code("vae2", [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"z must be a list of 16 numbers for vae16 .* not 2"):
        latent.check_code("vae16", [0.0, 1.0])
    with pytest.raises(ValueError, match=r"z must be a list of 2 numbers for ae2 .* not 1"):
        latent.check_code("ae2", np.array([0.0]))  # an array as well as a list
    with pytest.raises(ValueError, match=r"z\[1\] is nan"):
        latent.check_code("vae2", [0.0, float("nan")])
    with pytest.raises(ValueError, match=r"z\[0\] is 1e\+39, beyond what float32 holds"):
        latent.check_code("ae2", [1e39, 0.0])
    with pytest.raises(ValueError, match="z must be a non-empty list"):
        latent.check_code("vae2", "0, 1")


# ---------------------------------------------------------------- the test set's codes and the manifold


def test_test_codes_are_the_encoded_test_images_and_deterministic():
    codes, labels = latent.test_codes("vae2", 2000)
    assert codes.shape == (2000, 2) and labels.shape == (2000,)
    images, all_labels = latent._test_set()
    np.testing.assert_array_equal(labels, all_labels[:2000])
    # Each code is that image's mu, as encode() gives it one image at a time.
    for i in (0, 1, 1999):
        x = latent._images(images[i:i + 1])
        np.testing.assert_allclose(codes[i], latent.encode("vae2", x).mu, atol=1e-5)
    # Recomputed from scratch (the uncached functions, leaving the caches to the other tests), the seeded order
    # and the codes are the same.
    again_images, again_labels = latent._test_set.__wrapped__()
    np.testing.assert_array_equal(again_images, images)
    np.testing.assert_array_equal(again_labels, all_labels)
    np.testing.assert_array_equal(latent._test_codes.__wrapped__("vae2")[:2000], codes)
    # A smaller request is a prefix of a larger one.
    np.testing.assert_array_equal(latent.test_codes("vae2", 10)[0], codes[:10])


def test_test_codes_points_bounds():
    total = len(latent._test_set()[0])
    assert len(latent.test_codes("ae2", 1)[0]) == 1
    assert len(latent.test_codes("ae2", total)[0]) == total
    assert len(latent.test_codes("ae2", latent.MAX_POINTS)[0]) == min(latent.MAX_POINTS, total)  # all installed
    for bad in (0, -1, latent.MAX_POINTS + 1):
        with pytest.raises(ValueError, match=rf"points must be between 1 and {latent.MAX_POINTS}"):
            latent.test_codes("ae2", bad)
    with pytest.raises(ValueError, match="model must be one of"):
        latent.test_codes("cnn")


@pytest.mark.parametrize("name", latent.MAP_MODELS)
def test_manifold_grid_spans_the_code_range(name):
    m = latent.manifold(name)
    assert m.frames.shape == (400, 28, 28) and m.top_probability.shape == (400,)
    assert 0.0 <= m.confident_share <= 1.0
    low, high = latent.code_range(name)
    np.testing.assert_allclose([m.z1[0], m.z1[-1], m.z2[0], m.z2[-1]], [low[0], high[0], high[1], low[1]])
    assert np.all(np.diff(m.z1) > 0) and np.all(np.diff(m.z2) < 0)  # left to right, top row highest
    # Row-major from the top left: frame r * GRID + c is the code (z1[c], z2[r]).
    r, c = 3, 17
    np.testing.assert_allclose(m.frames[r * latent.GRID + c], latent.decode(name, [m.z1[c], m.z2[r]])[0],
                               atol=1e-6)
    np.testing.assert_allclose(m.top_probability, latent.classify(m.frames).max(1))
    assert m.confident_share == np.mean(m.top_probability >= latent.CONFIDENT)
    with pytest.raises(ValueError, match="model must be one of vae2, ae2, not 'vae16'"):
        latent.manifold("vae16")


def test_read_frames_is_classify_and_the_nearest_reference_in_one_pass():
    frames = latent.decode("vae2", [[0.0, 0.0], [2.0, -1.0], [40.0, 40.0]])
    reading = latent.read_frames(frames)
    np.testing.assert_allclose(reading.probabilities, latent.classify(frames), atol=1e-12)
    # the nearest of the reference images by brute force over their CNN features
    reference = latent._test_features().numpy()
    features = latent.cnn_features(latent.models.load("cnn"), latent._images(frames)).numpy()
    brute = np.sqrt(((features[:, None] - reference[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(reading.nearest_distance, brute, rtol=1e-9)
    # a test image itself is one of the references: distance 0 (up to float32 sums in another batch size)
    real = latent._test_set()[0][:1]
    assert latent.read_frames(real).nearest_distance[0] < 1e-4


SHARE = re.compile(r"`(vae2|ae2)`:? (\d+) of 400\b[^%\d]*(\d+(?:\.\d+)?)%")


@pytest.mark.parametrize("doc", ["explorers/explain/vae.md", "assets/MODELS.md"])
def test_documented_manifold_shares_are_the_live_ones(doc):
    """The explain panel and MODELS.md quote the measured shares; they must be what the code computes now (on the
    full test set the figures were measured on), or a retrained model leaves the docs stale."""
    if len(latent._test_set()[0]) != FULL_TEST_SET:
        pytest.skip("the documented shares were measured on the full 10,000-image test set, not installed here")
    found = SHARE.findall((ROOT / doc).read_text())
    assert {name for name, _, _ in found} == set(latent.MAP_MODELS), f"{doc} quotes {found}"
    for name, count, percent in found:
        live = round(latent.manifold(name).confident_share * 400)
        assert int(count) == live, f"{doc} says {name} {count} of 400; measured now {live}"
        assert float(percent) == pytest.approx(100 * live / 400, abs=0.005)


# ---------------------------------------------------------------- the explorer's helpers


@pytest.mark.parametrize("name", latent.MAP_MODELS)
def test_pixels_and_codes_round_trip(name):
    side = 560
    cell = side / latent.GRID
    m = latent.manifold(name)
    # A grid point's code lands on its cell's centre, the cell manifold_sheet draws it in.
    for r, c in [(0, 0), (19, 19), (4, 11)]:
        x, y = latent_map.to_pixel(name, [m.z1[c], m.z2[r]], side)
        assert (x, y) == (pytest.approx((c + 0.5) * cell), pytest.approx((r + 0.5) * cell))
    # from_pixel rounds the code to 3 decimals: at most 0.0005 code units, this many pixels on each axis.
    tolerance_x = 0.0005 * (latent.GRID - 1) * cell / (m.z1[-1] - m.z1[0]) + 1e-9
    tolerance_y = 0.0005 * (latent.GRID - 1) * cell / (m.z2[0] - m.z2[-1]) + 1e-9
    assert max(tolerance_x, tolerance_y) < 0.5  # well inside one pixel, so the check still means something
    for x, y in [(0.0, 0.0), (123.4, 400.2), (559.0, 7.5), (280.0, 280.0)]:
        z = latent_map.from_pixel(name, x, y, side)
        assert z.shape == (2,)
        back = latent_map.to_pixel(name, z, side)
        assert back == (pytest.approx(x, abs=tolerance_x), pytest.approx(y, abs=tolerance_y))


def test_parse_numbers():
    assert dimensions.parse_numbers("0, 1.5, -2", "mu") == [0.0, 1.5, -2.0]
    assert dimensions.parse_numbers("1;2 3,,4", "mu") == [1.0, 2.0, 3.0, 4.0]
    assert dimensions.parse_numbers("1e-3", "logvar") == [0.001]
    for empty in ("", "  ", ",;,"):
        with pytest.raises(ValueError, match="mu: type one number per dimension"):
            dimensions.parse_numbers(empty, "mu")
    with pytest.raises(ValueError, match="logvar: 'abc' is not a number"):
        dimensions.parse_numbers("1, abc, 2", "logvar")
    assert len(dimensions.parse_numbers(",".join(["1"] * 256), "mu")) == 256
    with pytest.raises(ValueError, match="mu: at most 256 dimensions; 257 were typed"):
        dimensions.parse_numbers(",".join(["1"] * 257), "mu")
