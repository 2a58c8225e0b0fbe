"""The trained-CNN endpoints (conv_layers, conv_features, conv_predict, conv_gradcam, conv_draw) through a real, offline
server and gradio_client: right numbers for good inputs, a clear message for bad ones, and the server survives."""
import base64
import json
import re

import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from core.data import CLASSES, load_sample
from core.render import from_data_url


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """The first test image of each class as a PNG, with its label."""
    d = tmp_path_factory.mktemp("fashion")
    s = load_sample("test")
    out = []
    for c in range(len(CLASSES)):
        i = int(np.flatnonzero(s.labels == c)[0])
        path = d / f"class{c}.png"
        Image.fromarray(s.images[i]).save(path)
        out.append((path, c))
    return out


def call(client, name, path, **kwargs):
    return client.predict(image=handle_file(str(path)) if path else None, api_name=f"/{name}", **kwargs)


def assert_alive(client, samples):
    path, label = samples[1]
    assert call(client, "conv_predict", path)["predicted"] == label


# ---------------------------------------------------------------- good inputs


def test_layers_of_the_bundled_cnn(client):
    r = client.predict(model="cnn", api_name="/conv_layers")
    assert r["model"] == "cnn" and r["note"] is None and r["input_size"] == [1, 28, 28]
    layers = {layer["name"]: layer for layer in r["layers"]}
    assert layers["conv1"]["shape"] == [32, 28, 28] and layers["conv1"]["params"] == 288
    assert layers["conv5"]["params"] == 128 * 64 * 9 and layers["conv5"]["param_formula"] == "128·(64·3·3) = 73,728"
    assert layers["pool2"]["shape"] == [64, 7, 7] and layers["pool2"]["kernel_conv"] == "conv4"
    assert r["gradcam_layer"] == "relu6"


def test_torchvision_model_offline_falls_back_with_one_line(client):
    r = client.predict(model="resnet18", api_name="/conv_layers")
    assert r["model"] == "cnn"
    assert "resnet18" in r["note"] and "bundled Fashion-MNIST cnn" in r["note"] and "\n" not in r["note"]


def test_features_sorted_by_mean_activation(client, samples):
    path, _ = samples[0]
    r = call(client, "conv_features", path, model="cnn", layer="relu3", top_k=8, normalize="layer")
    assert r["layer"] == "relu3" and r["shape"] == [64, 14, 14]
    means = np.array(r["channel_means"])
    assert len(means) == 64 and means.min() >= 0  # after a ReLU
    assert r["channel_order"] == np.argsort(-means, kind="stable").tolist()
    assert r["shown"] == r["channel_order"][:8]
    assert r["value_range"][0] == 0 and r["value_range"][1] > 0 and "per layer" in r["colour"]
    grid = from_data_url(r["image"])
    assert grid.width > 8 * 96 and grid.height > 96
    assert from_data_url(r["seen"]).size == (28, 28)
    assert r["params"] == 0 and r["kernel_conv"] == "conv3"


def test_features_default_layer_and_signed_conv(client, samples):
    r = call(client, "conv_features", samples[7][0])
    assert r["layer"] == "conv1" and r["shape"] == [32, 28, 28] and r["normalize"] == "map"
    assert len(r["shown"]) == 16 and min(r["channel_means"]) < 0  # before BatchNorm and ReLU: signed
    assert "Diverging" in r["colour"]


def test_every_class_sample_is_classified_correctly(client, samples):
    for path, label in samples:
        r = call(client, "conv_predict", path)
        assert r["predicted"] == label, f"{CLASSES[label]} was classified as {r['predicted_label']}"
        assert r["labels"] == list(CLASSES)
        assert sum(r["probabilities"]) == pytest.approx(1)


def test_temperature_flattens_and_sharpens(client, samples):
    path, label = samples[3]
    base = call(client, "conv_predict", path, temperature=1.0)
    hot = call(client, "conv_predict", path, temperature=5.0)
    cold = call(client, "conv_predict", path, temperature=0.2)
    assert hot["predicted"] == cold["predicted"] == base["predicted"] == label
    assert sum(hot["probabilities"]) == pytest.approx(1) and sum(cold["probabilities"]) == pytest.approx(1)
    assert cold["entropy"] < base["entropy"] < hot["entropy"]
    assert hot["top"][0]["probability"] < base["top"][0]["probability"] <= cold["top"][0]["probability"]
    assert hot["top"][0]["probability_t1"] == pytest.approx(base["top"][0]["probability"])


def test_gradcam_predicted_and_chosen_class(client, samples):
    path, label = samples[9]
    r = call(client, "conv_gradcam", path)
    assert r["target"] == r["predicted"] == label and r["layer"] == "relu6" and r["layer_shape"] == [7, 7]
    heat = np.array(r["heatmap"])
    assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() == pytest.approx(1)
    assert from_data_url(r["overlay"]).size == (224, 224)
    other = call(client, "conv_gradcam", path, target=1)
    assert other["target"] == 1 and other["target_label"] == "Trouser"
    assert not np.allclose(np.array(other["heatmap"]), heat)


# ---------------------------------------------------------------- bad inputs


def assert_rejected(call_, message):
    with pytest.raises(AppError, match=re.escape(message)):
        call_()


@pytest.mark.parametrize("name, kwargs, message", [
    ("conv_features", {"model": "lenet"},
     "model must be one of cnn, resnet18, vgg16, alexnet, mobilenet_v3_small, not 'lenet'"),
    ("conv_features", {"layer": "bn1"}, "cnn has no selectable layer 'bn1'"),
    ("conv_features", {"top_k": 0}, "top_k must be between 1 and 1024, not 0"),
    ("conv_features", {"top_k": "many"}, "top_k must be a whole number"),
    ("conv_features", {"normalize": "unit"}, "normalize must be one of map, layer, global"),
    ("conv_predict", {"temperature": 0}, "temperature must be greater than 0, not 0.0"),
    ("conv_predict", {"temperature": -2}, "temperature must be greater than 0, not -2.0"),
    ("conv_predict", {"temperature": "hot"}, "temperature must be a number"),
    ("conv_predict", {"model": "gpt"}, "model must be one of cnn, resnet18"),
    ("conv_gradcam", {"target": 10}, "target must be between 0 and 9, not 10"),
    ("conv_gradcam", {"target": 1.5}, "target must be a whole number"),
])
def test_bad_settings_are_clear_errors(client, samples, name, kwargs, message):
    assert_rejected(lambda: call(client, name, samples[0][0], **kwargs), message)
    assert_alive(client, samples)


@pytest.mark.parametrize("name", ["conv_features", "conv_predict", "conv_gradcam"])
def test_no_image_and_broken_image(client, samples, tmp_path, name):
    assert_rejected(lambda: call(client, name, None), "No image was given")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    assert_rejected(lambda: call(client, name, broken), "could not be read as an image")
    assert_alive(client, samples)


def test_unknown_model_for_layers(client):
    assert_rejected(lambda: client.predict(model="resnet1000", api_name="/conv_layers"), "model must be one of")


def test_rgba_photo_with_light_background_is_inverted(client, samples, tmp_path):
    rgba = Image.new("RGBA", (90, 60), (0, 0, 0, 0))  # transparent: composited on white
    rgba.paste((20, 20, 20, 255), (30, 10, 60, 50))
    path = tmp_path / "rgba.png"
    rgba.save(path)
    r = call(client, "conv_features", path)
    assert "inverted" in r["preprocessing"] and "padded" in r["preprocessing"]
    seen = np.asarray(from_data_url(r["seen"]))
    assert seen[0, 0] == 0 and seen[14, 14] > 200


def raw_call(server_url: str, name: str, body: str) -> str:
    """POST a hand-written JSON body to an endpoint and return its event stream."""
    r = httpx.post(f"{server_url}/gradio_api/call/{name}", content=body.encode(),
                   headers={"Content-Type": "application/json"}, timeout=30)
    return httpx.get(f"{server_url}/gradio_api/call/{name}/{r.json()['event_id']}", timeout=30).text


def test_raw_json_nan_temperature(client, samples, server_url):
    """gradio_client cannot encode NaN, but any HTTP caller can send the bare NaN token that Python's JSON reads."""
    with open(samples[0][0], "rb") as f:
        uploaded = httpx.post(f"{server_url}/gradio_api/upload", files={"files": f}, timeout=30).json()[0]
    image = json.dumps({"path": uploaded, "meta": {"_type": "gradio.FileData"}})
    stream = raw_call(server_url, "conv_predict", f'{{"data": [{image}, "cnn", NaN]}}')
    assert "event: error" in stream and "temperature must be a finite number" in stream
    assert_alive(client, samples)


def test_server_side_paths_are_refused(client, samples, server_url):
    """An API caller must not make the server read its own files (gradio refuses the path before we see it)."""
    image = json.dumps({"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}})
    stream = raw_call(server_url, "conv_features", f'{{"data": [{image}, "cnn", "conv1", 4, "map"]}}')
    assert "event: error" in stream and "/etc/hostname" in stream and "conv1" not in stream
    assert_alive(client, samples)


# ---------------------------------------------------------------- conv_draw: a drawing pad's 28×28 grey levels


def test_draw_gives_what_predict_and_features_give_for_the_same_picture(client, samples):
    """conv_draw on a sample's grey levels: conv_predict's probabilities and conv_features' conv1 channels."""
    path, label = samples[3]
    grey = np.asarray(Image.open(path).convert("L"))
    r = client.predict(pixels=grey.tolist(), temperature=2.0, api_name="/conv_draw")
    p = call(client, "conv_predict", path, temperature=2.0)
    np.testing.assert_allclose(r["probabilities"], p["probabilities"], atol=1e-9)
    assert r["predicted"] == label == p["predicted"] and r["temperature"] == 2.0 and r["layer"] == "conv1"
    f = call(client, "conv_features", path, layer="conv1")
    assert r["channels"] == f["channel_order"][:8]
    maps = np.frombuffer(base64.b64decode(r["maps"]["data"]), dtype="<f4").reshape(r["maps"]["shape"])
    assert maps.shape == (8, 28, 28) and r["peak"] == pytest.approx(float(np.abs(maps).max()))


def test_a_white_page_is_a_picture_too(client):
    r = client.predict(pixels=[[255] * 28] * 28, api_name="/conv_draw")
    assert sum(r["probabilities"]) == pytest.approx(1.0) and len(r["labels"]) == 10


@pytest.mark.parametrize(("pixels", "message"), [
    ([[0] * 28] * 27, "28 rows of 28 grey levels, not 27×28"),
    ([[0] * 29] * 28, "the limit is 28x28"),
    ([[300] * 28] * 28, "grey levels from 0 to 255"),
    ([[-1] * 28] * 28, "grey levels from 0 to 255"),
    ("pixels", "list of rows"),
])
def test_draw_bad_pixels_are_clear_errors(client, samples, pixels, message):
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(pixels=pixels, api_name="/conv_draw")
    assert_alive(client, samples)
