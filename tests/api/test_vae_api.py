"""The VAE endpoints (vae_encode, vae_interpolate, vae_decode, vae_decode_point, vae_kl, vae_latent_map) through a
real, offline server and gradio_client: codes and KL against the closed form, paths that keep their endpoints,
decoded images the CNN reads, the latent map's lean decoding equal to vae_decode's pixels, the test set's codes,
clear messages for bad inputs, and a server that keeps answering after each."""
import base64
import json
import re

import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from core.data import CLASSES, load_sample, load_split
from core.render import from_data_url
from explorers.widgets import packed

SANDAL, SNEAKER = 5, 7


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """The first test image of each class as a PNG, by class index."""
    d = tmp_path_factory.mktemp("vae")
    s = load_sample("test")
    out = {}
    for c in range(len(CLASSES)):
        path = d / f"class{c}.png"
        Image.fromarray(s.images[int(np.flatnonzero(s.labels == c)[0])]).save(path)
        out[c] = path
    return out


def encode(client, path, **kwargs):
    return client.predict(image=handle_file(str(path)) if path else None, api_name="/vae_encode", **kwargs)


def interpolate(client, a, b, **kwargs):
    return client.predict(image_a=handle_file(str(a)), image_b=handle_file(str(b)), api_name="/vae_interpolate",
                          **kwargs)


def assert_rejected(call_, message):
    with pytest.raises(AppError, match=re.escape(message)) as e:
        call_()
    assert "Internal error" not in str(e.value)


def assert_alive(client):
    r = client.predict(mu=[1.0], logvar=[0.0], api_name="/vae_kl")
    assert r["kl"] == pytest.approx(0.5)


def closed_form_kl(mu, logvar) -> np.ndarray:
    mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    return -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))


def raw_call(server_url: str, name: str, data: list) -> str:
    """POST a JSON body (NaN and inf as the bare tokens any HTTP caller can send) and return the event stream."""
    r = httpx.post(f"{server_url}/gradio_api/call/{name}", content=json.dumps({"data": data}, allow_nan=True).encode(),
                   headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    return httpx.get(f"{server_url}/gradio_api/call/{name}/{r.json()['event_id']}", timeout=120).text


def assert_raw_rejected(stream: str, message: str):
    assert "event: error" in stream, stream[:300]
    assert message in stream and "Internal error" not in stream, stream[:300]


# ---------------------------------------------------------------- vae_encode


def test_encode_vae16_kl_is_the_closed_form(client, samples):
    r = encode(client, samples[SANDAL])
    assert r["model"] == "vae16"
    mu, logvar, per_dim = (np.array(r[k]) for k in ("mu", "logvar", "kl_per_dim"))
    assert mu.shape == logvar.shape == per_dim.shape == (16,)
    np.testing.assert_allclose(per_dim, closed_form_kl(mu, logvar), rtol=1e-9, atol=1e-12)
    assert r["kl"] == pytest.approx(per_dim.sum(), rel=1e-12)
    assert r["kl"] == pytest.approx(closed_form_kl(mu, logvar).sum(), rel=1e-9)
    assert (per_dim >= 0).all() and r["kl"] > 1  # a real image's posterior is far from the prior somewhere
    assert r["reconstruction"].startswith("data:image/png;base64,")
    recon = from_data_url(r["reconstruction"])
    assert recon.format == "PNG" and recon.size == (28, 28)


def test_encode_vae2_and_the_plain_autoencoder(client, samples):
    vae2 = encode(client, samples[SNEAKER], model="vae2")
    assert len(vae2["mu"]) == len(vae2["logvar"]) == len(vae2["kl_per_dim"]) == 2
    assert vae2["kl"] == pytest.approx(closed_form_kl(vae2["mu"], vae2["logvar"]).sum(), rel=1e-9)
    ae = encode(client, samples[SNEAKER], model="ae2")
    assert ae["model"] == "ae2" and len(ae["mu"]) == 2 and all(np.isfinite(ae["mu"]))
    assert ae["logvar"] is None and ae["kl_per_dim"] is None and ae["kl"] is None
    assert from_data_url(ae["reconstruction"]).size == (28, 28)


def test_encode_is_deterministic(client, samples):
    assert encode(client, samples[0])["mu"] == encode(client, samples[0])["mu"]


def test_encode_unknown_model(client, samples):
    assert_rejected(lambda: encode(client, samples[0], model="gan"),
                    "model must be one of vae16, vae2, ae2, not 'gan'")
    assert_alive(client)


def test_encode_no_image_and_broken_image(client, tmp_path):
    assert_rejected(lambda: encode(client, None), "No image was given")
    text = tmp_path / "notes.png"
    text.write_text("this is a text file with a .png name\n")
    assert_rejected(lambda: encode(client, text), "could not be read as an image")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    assert_rejected(lambda: encode(client, broken), "could not be read as an image")
    assert_alive(client)


# ---------------------------------------------------------------- vae_interpolate


@pytest.mark.parametrize("model, d", [("vae16", 16), ("vae2", 2), ("ae2", 2)])
def test_interpolate_shapes_and_endpoints(client, samples, model, d):
    r = interpolate(client, samples[SANDAL], samples[SNEAKER], steps=7, model=model)
    assert r["model"] == model and r["path_kind"] == "linear"
    codes, p = np.array(r["codes"]), np.array(r["class_probabilities"])
    assert codes.shape == (7, d) and p.shape == (7, 10)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    assert (p >= 0).all()
    assert r["predicted"] == [CLASSES[i] for i in p.argmax(1)]
    np.testing.assert_allclose(r["top_probability"], p.max(1), atol=1e-6)
    assert len(r["nearest_distance"]) == 7 and min(r["nearest_distance"]) >= 0
    assert codes[0].tolist() == encode(client, samples[SANDAL], model=model)["mu"]
    assert codes[-1].tolist() == encode(client, samples[SNEAKER], model=model)["mu"]
    np.testing.assert_allclose(codes[3], (codes[0] + codes[-1]) / 2, rtol=1e-9, atol=1e-12)  # linear: the middle
    strip = from_data_url(r["frames"])
    assert strip.format == "PNG" and strip.width > strip.height


def test_interpolate_through_the_default_client(client, samples):
    """What a person writes from the docs: Client(url).predict(..., api_name="/vae_interpolate")."""
    r = interpolate(client, samples[SANDAL], samples[SNEAKER], steps=3)
    assert isinstance(r, dict) and np.array(r["codes"]).shape == (3, 16)


def test_interpolate_default_steps(client, samples):
    r = interpolate(client, samples[SANDAL], samples[SNEAKER])
    assert np.array(r["codes"]).shape == (10, 16) and len(r["class_probabilities"]) == 10


def test_interpolate_an_image_with_itself_is_constant(client, samples):
    for path in ("linear", "slerp"):
        r = interpolate(client, samples[1], samples[1], steps=5, path=path)
        codes, p = np.array(r["codes"]), np.array(r["class_probabilities"])
        np.testing.assert_allclose(codes, np.repeat(codes[:1], 5, 0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(p, np.repeat(p[:1], 5, 0), atol=2e-6)
        assert len(set(r["predicted"])) == 1
        np.testing.assert_allclose(r["nearest_distance"], r["nearest_distance"][0], atol=1e-5)


def test_slerp_keeps_the_endpoints_and_interpolates_the_length(client, samples):
    r = interpolate(client, samples[SANDAL], samples[SNEAKER], steps=9, path="slerp")
    assert r["path_kind"] == "slerp"
    codes = np.array(r["codes"])
    a, b = (encode(client, samples[c])["mu"] for c in (SANDAL, SNEAKER))
    assert codes[0].tolist() == a and codes[-1].tolist() == b
    norms = np.linalg.norm(codes, axis=1)
    np.testing.assert_allclose(norms, np.linspace(norms[0], norms[-1], 9), rtol=1e-9)
    linear = np.array(interpolate(client, samples[SANDAL], samples[SNEAKER], steps=9)["codes"])
    assert not np.allclose(codes[4], linear[4])  # the middle differs: a curve, not the chord
    np.testing.assert_allclose(np.array(r["class_probabilities"]).sum(1), 1, atol=1e-5)


def test_interpolate_the_step_limits(client, samples):
    for steps in (2, 32):
        assert len(interpolate(client, samples[0], samples[9], steps=steps)["codes"]) == steps


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 1}, "steps must be between 2 and 32, not 1"),
    ({"steps": 33}, "steps must be between 2 and 32, not 33"),
    ({"steps": "abc"}, "steps must be a whole number, not 'abc'"),
    ({"steps": 2.5}, "steps must be a whole number, not 2.5"),
    ({"path": "cubic"}, "path must be one of linear, slerp, not 'cubic'"),
    ({"model": "gan"}, "model must be one of vae16, vae2, ae2, not 'gan'"),
])
def test_interpolate_bad_settings(client, samples, kwargs, message):
    assert_rejected(lambda: interpolate(client, samples[0], samples[1], **kwargs), message)
    assert_alive(client)


def test_interpolate_broken_endpoint_image(client, samples, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert_rejected(lambda: interpolate(client, samples[0], text), "could not be read as an image")
    assert_rejected(lambda: client.predict(image_a=None, image_b=handle_file(str(samples[0])),
                                           api_name="/vae_interpolate"), "No image was given")
    assert_alive(client)


# ---------------------------------------------------------------- vae_decode


def test_decode_vae2(client):
    r = client.predict(z=[0.5, -0.5], model="vae2", api_name="/vae_decode")
    assert r["model"] == "vae2"
    p = r["probabilities"]
    assert list(p) == list(CLASSES) and sum(p.values()) == pytest.approx(1, abs=1e-5)
    assert r["top_class"] == max(p, key=p.get) and r["probability"] == pytest.approx(max(p.values()))
    img = from_data_url(r["image"])
    assert img.format == "PNG" and img.size == (28, 28)
    assert np.asarray(img).max() > 100  # a garment, light on black, not an empty frame
    assert client.predict(z=[0.5, -0.5], api_name="/vae_decode") == r  # vae2 is the default, and deterministic


def test_decode_vae16_and_the_origin(client):
    r = client.predict(z=[0.0] * 16, model="vae16", api_name="/vae_decode")
    assert r["model"] == "vae16" and r["top_class"] in CLASSES
    assert sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    other = client.predict(z=[2.0] + [0.0] * 15, model="vae16", api_name="/vae_decode")
    assert other["image"] != r["image"]


def test_decode_reconstructs_what_encode_reconstructs(client, samples):
    e = encode(client, samples[SNEAKER], model="vae2")
    d = client.predict(z=e["mu"], model="vae2", api_name="/vae_decode")
    a, b = (np.asarray(from_data_url(u), dtype=int) for u in (e["reconstruction"], d["image"]))
    assert np.abs(a - b).max() <= 1  # the decoder at z = mu, both ways


@pytest.mark.parametrize("z, model, message", [
    ([1.0, 2.0, 3.0], "vae2", "z must be a list of 2 numbers for vae2 (its latent has 2 dimensions), not 3"),
    ([0.5, -0.5], "vae16", "z must be a list of 16 numbers for vae16 (its latent has 16 dimensions), not 2"),
    ([], "vae2", "z must be a list of 2 numbers for vae2"),
    ([1e39, 0.0], "vae2", "z[0] is 1e+39, beyond what float32 holds"),
    ([0.0, "x"], "vae2", "z[1] is 'x', which is not a number"),
    ([0.5, -0.5], "vae3", "model must be one of vae16, vae2, ae2, not 'vae3'"),
])
def test_decode_bad_codes(client, z, model, message):
    assert_rejected(lambda: client.predict(z=z, model=model, api_name="/vae_decode"), message)
    assert_alive(client)


@pytest.mark.parametrize("z, message", [
    ([float("nan"), 0.0], "z[0] is nan; only finite numbers are allowed"),
    ([0.0, float("inf")], "z[1] is inf; only finite numbers are allowed"),
    ([float("-inf"), 0.0], "z[0] is -inf; only finite numbers are allowed"),
    ([1e39, 0.0], "z[0] is 1e+39, beyond what float32 holds"),
    ("0.5, -0.5", "z must be a non-empty list of numbers"),
    (None, "z must be a non-empty list of numbers"),
])
def test_decode_raw_json_nan_inf_and_overflow(client, server_url, z, message):
    """gradio_client cannot send NaN or inf; any HTTP caller can send the bare tokens Python's JSON reads."""
    assert_raw_rejected(raw_call(server_url, "vae_decode", [z, "vae2"]), message)
    assert_alive(client)


# ---------------------------------------------------------------- vae_decode_point


def unpacked(picture: dict) -> np.ndarray:
    assert picture["dtype"] == "uint8" and picture["shape"] == [28, 28]
    return np.frombuffer(base64.b64decode(picture["data"]), dtype=np.uint8).reshape(28, 28)


@pytest.mark.parametrize("model", ["vae2", "ae2"])
def test_decode_point_is_vae_decodes_picture(client, model):
    """The latent map's lean call: the same pixels as vae_decode's PNG at the same z, packed, with no CNN."""
    r = client.predict(z1=0.5, z2=-0.5, model=model, api_name="/vae_decode_point")
    assert r["model"] == model and r["z"] == [0.5, -0.5] and set(r) == {"model", "z", "picture"}
    full = client.predict(z=[0.5, -0.5], model=model, api_name="/vae_decode")
    assert (unpacked(r["picture"]) == np.asarray(from_data_url(full["image"]))).all()
    assert r["picture"] == packed(unpacked(r["picture"]), "uint8")  # gb.unpack's format


@pytest.mark.parametrize("z1, z2, model, message", [
    (float("nan"), 0.0, "vae2", "z1 is nan; only finite numbers are allowed"),
    (0.0, float("inf"), "vae2", "z2 is inf; only finite numbers are allowed"),
    (1e39, 0.0, "vae2", "z1 is 1e+39, beyond what float32 holds"),
    ("x", 0.0, "vae2", "z1"),
    (None, 0.0, "vae2", "z1"),
    (0.0, 0.0, "vae16", "model must be one of vae2, ae2, not 'vae16'"),
])
def test_decode_point_bad_inputs(client, server_url, z1, z2, model, message):
    """Over raw JSON, which carries NaN and inf as gradio_client cannot."""
    assert_raw_rejected(raw_call(server_url, "vae_decode_point", [z1, z2, model]), message)
    assert_alive(client)


# ---------------------------------------------------------------- vae_kl


def test_kl_zero_at_the_prior(client):
    r = client.predict(mu=[0.0], logvar=[0.0], api_name="/vae_kl")
    assert r == {"kl_per_dim": [0.0], "kl": 0.0}


def test_kl_known_values(client):
    assert client.predict(mu=[1.0], logvar=[0.0], api_name="/vae_kl")["kl"] == pytest.approx(0.5)
    mu, logvar = [1.0, -2.0, 0.0, 0.3], [0.0, 0.0, 1.0, -2.0]
    r = client.predict(mu=mu, logvar=logvar, api_name="/vae_kl")
    expected = closed_form_kl(mu, logvar)
    np.testing.assert_allclose(r["kl_per_dim"], expected, rtol=1e-12)
    assert r["kl"] == pytest.approx(expected.sum(), rel=1e-12)
    # by hand: mu = -2 costs mu^2 / 2 = 2; logvar = 1 at mu = 0 costs (e - 2) / 2
    assert r["kl_per_dim"][1] == pytest.approx(2.0) and r["kl_per_dim"][2] == pytest.approx((np.e - 2) / 2)


@pytest.mark.parametrize("mu, logvar, message", [
    ([0.0, 1.0], [0.0], "mu has 2 values but logvar has 1: give one of each per dimension"),
    ([], [], "mu must be a non-empty list of numbers"),
    ([0.0], [800.0], "The KL of dimension 0 overflows (logvar = 800)"),
    ([0.0, 0.0], [0.0, 800.0], "The KL of dimension 1 overflows"),
    ([1e39], [0.0], "mu[0] is 1e+39, beyond what float32 holds"),
    ([0.0], ["a"], "logvar[0] is 'a', which is not a number"),
    # each dimension's KL (~4e307) is finite, their sum is not
    ([0.0] * 5, [709.0] * 5, "The total KL overflows float64"),
])
def test_kl_bad_inputs(client, mu, logvar, message):
    assert_rejected(lambda: client.predict(mu=mu, logvar=logvar, api_name="/vae_kl"), message)
    assert_alive(client)


@pytest.mark.parametrize("mu, logvar, message", [
    ([float("nan")], [0.0], "mu[0] is nan; only finite numbers are allowed"),
    ([0.0], [float("inf")], "logvar[0] is inf; only finite numbers are allowed"),
    ([0.0], [800], "The KL of dimension 0 overflows"),
])
def test_kl_raw_json_nan_and_overflow(client, server_url, mu, logvar, message):
    assert_raw_rejected(raw_call(server_url, "vae_kl", [mu, logvar]), message)
    assert_alive(client)


# ---------------------------------------------------------------- vae_latent_map


@pytest.mark.parametrize("model, d", [("vae2", 2), ("ae2", 2), ("vae16", 16)])
def test_latent_map(client, model, d):
    r = client.predict(model=model, points=300, api_name="/vae_latent_map")
    assert r["model"] == model and r["classes"] == list(CLASSES)
    codes, labels = np.array(r["codes"]), np.array(r["labels"])
    assert codes.shape == (300, d) and labels.shape == (300,)
    assert labels.min() >= 0 and labels.max() <= 9 and len(set(labels.tolist())) == 10  # a seeded, mixed subset
    low, high = np.array(r["low"]), np.array(r["high"])
    assert low.shape == high.shape == (d,) and (low < high).all()
    inside = ((codes >= low) & (codes <= high)).mean(0)  # per dimension: 99% of the whole test set
    assert inside.min() > 0.95, inside  # low and high are each dimension's 0.5th and 99.5th percentiles
    if d == 2:
        assert 0 <= r["confident_share"] <= 1
    else:
        assert r["confident_share"] is None


def test_latent_map_default_and_a_prefix(client):
    """The default asks for 2,000 points; where only the bundled 1,000-image test sample is installed, the
    docstring promises fewer, not a refusal."""
    r = client.predict(api_name="/vae_latent_map")
    expected = min(2000, len(load_split("test", allow_download=False).labels))
    assert r["model"] == "vae2" and len(r["codes"]) == len(r["labels"]) == expected
    small = client.predict(points=10, api_name="/vae_latent_map")
    assert small["codes"] == r["codes"][:10] and small["labels"] == r["labels"][:10]
    assert small["confident_share"] == r["confident_share"]


def test_latent_map_vae_codes_gather_near_the_prior(client):
    """The KL term keeps vae2's codes near N(0, I); the plain autoencoder's have no such pull."""
    vae2 = np.array(client.predict(model="vae2", points=1000, api_name="/vae_latent_map")["codes"])
    ae2 = np.array(client.predict(model="ae2", points=1000, api_name="/vae_latent_map")["codes"])
    assert np.abs(vae2.mean(0)).max() < 0.5 and (np.abs(vae2.std(0) - 1) < 0.5).all()
    assert ae2.std(0).max() > 2 * vae2.std(0).max()


@pytest.mark.parametrize("kwargs, message", [
    ({"points": 0}, "points must be between 1 and"),
    ({"points": 10**6}, "not 1000000"),
    ({"points": "many"}, "points must be a whole number"),
    ({"model": "gan"}, "model must be one of vae16, vae2, ae2, not 'gan'"),
])
def test_latent_map_bad_settings(client, kwargs, message):
    assert_rejected(lambda: client.predict(api_name="/vae_latent_map", **kwargs), message)
    assert_alive(client)
