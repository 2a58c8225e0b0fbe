"""The attention endpoints (attention_text, attention_scores, attention_image) through a real, offline server and
gradio_client: distributions, the scores view matching the model, the ViT maps, clear messages for bad inputs,
and a server that keeps answering after each."""
import json
import re

import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from core.data import load_sample
from core.render import from_data_url

COREFERENCE = "The animal didn't cross the street because it was too tired"


@pytest.fixture(scope="module")
def fashion_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("attn") / "sample.png"
    Image.fromarray(load_sample("test").images[0]).save(path)
    return path


def text(client, **kwargs):
    return client.predict(api_name="/attention_text", **kwargs)


def assert_alive(client):
    r = text(client, text="Still here.")
    assert r["tokens"] == ["[CLS]", "still", "here", ".", "[SEP]"]


def assert_rejected(call_, message):
    with pytest.raises(AppError, match=re.escape(message)):
        call_()


# ---------------------------------------------------------------- text


def test_coreference_it_attends_to_the_animal(client):
    r = text(client, text=COREFERENCE)
    assert r["model"] == "all-MiniLM-L6-v2" and r["note"] is None and not r["causal"]
    assert (r["num_layers"], r["num_heads"], r["layer"], r["head"]) == (6, 12, 5, -1)
    tokens = r["tokens"]
    assert tokens == ["[CLS]", "the", "animal", "didn", "'", "t", "cross", "the", "street", "because", "it", "was",
                      "too", "tired", "[SEP]"]
    a = np.array(r["attention"])
    assert a.shape == (15, 15) and (a >= 0).all()
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-4)
    it = a[tokens.index("it")]
    ranking = [tokens[j] for j in np.argsort(-it, kind="stable")[:5]]
    # Recorded from all-MiniLM-L6-v2, last layer, mean of the 12 heads: after the [CLS] sink (0.27), "it" takes
    # most from "animal" (0.13), then "tired" (0.11), "street" (0.095) and "cross" (0.055).
    assert ranking == ["[CLS]", "animal", "tired", "street", "cross"]
    assert it[tokens.index("animal")] > it[tokens.index("street")]
    rollout = np.array(r["rollout"])
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-4)
    entropy = np.array(r["head_entropy"])
    assert entropy.shape == (6, 12) and (entropy > 0).all() and (entropy <= np.log2(15)).all()
    assert r["truncated"] is False and r["notice"] is None


def test_hiding_special_tokens_renormalises(client):
    plain = text(client, text=COREFERENCE, layer=3, head=7)
    hidden = text(client, text=COREFERENCE, layer=3, head=7, hide_special=True)
    a, h = np.array(plain["attention"]), np.array(hidden["attention"])
    special = np.array(hidden["special"])
    assert special.tolist() == [True] + [False] * 13 + [True]
    assert (h[:, special] == 0).all()
    np.testing.assert_allclose(h.sum(-1), 1.0, atol=1e-4)
    expected = a[:, ~special] / a[:, ~special].sum(-1, keepdims=True)
    np.testing.assert_allclose(h[:, ~special], expected, atol=1e-5)
    assert (np.array(hidden["rollout"])[:, special] == 0).all()


def test_a_sentence_pair_and_one_head(client):
    r = text(client, text="The cat sat.", text_pair="It purred.", layer=0, head=11)
    assert r["tokens"] == ["[CLS]", "the", "cat", "sat", ".", "[SEP]", "it", "pu", "##rred", ".", "[SEP]"]
    assert (r["layer"], r["head"]) == (0, 11)
    np.testing.assert_allclose(np.array(r["attention"]).sum(-1), 1.0, atol=1e-4)


def test_long_text_is_truncated_with_a_notice(client):
    r = text(client, text="attention " * 700)
    assert len(r["tokens"]) == 512 and r["truncated"] is True
    assert "702 tokens" in r["notice"] and "truncated to 512" in r["notice"]


def test_offline_model_falls_back_with_one_line(client):
    r = text(client, text=COREFERENCE, model="gpt2")
    assert r["model"] == "all-MiniLM-L6-v2" and r["num_layers"] == 6
    assert r["note"] == ("gpt2 is not in this machine's Hugging Face cache and GLASSBOX_OFFLINE=1 forbids "
                         "downloading it. Showing the bundled all-MiniLM-L6-v2 instead.")


def test_scores_reproduce_the_models_weights(client):
    s = client.predict(text=COREFERENCE, layer=4, head=2, api_name="/attention_scores")
    w = text(client, text=COREFERENCE, layer=4, head=2)
    assert s["d_k"] == 32 and s["max_difference"] < 1e-5 and s["tokens"] == w["tokens"]
    np.testing.assert_allclose(np.array(s["weights"]), np.array(w["attention"]), atol=1e-6)
    np.testing.assert_allclose(s["row_sums"], 1.0, atol=1e-12)
    scores = np.array(s["scores"])
    e = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(-1, keepdims=True), np.array(s["weights"]), atol=1e-12)


def test_scores_temperature_and_scale(client):
    base = client.predict(text=COREFERENCE, layer=4, head=2, api_name="/attention_scores")
    raw = client.predict(text=COREFERENCE, layer=4, head=2, scale=False, api_name="/attention_scores")
    hot = client.predict(text=COREFERENCE, layer=4, head=2, temperature=5.0, api_name="/attention_scores")
    np.testing.assert_allclose(np.array(raw["scores"]), np.array(base["scores"]) * np.sqrt(32), rtol=1e-9)
    top = [np.array(r["weights"]).max(-1).mean() for r in (raw, base, hot)]
    assert top[0] > top[1] > top[2]  # no √d_k sharpens, a high temperature flattens
    np.testing.assert_allclose(hot["row_sums"], 1.0, atol=1e-12)


# ---------------------------------------------------------------- images


def test_image_attention_on_a_fashion_sample(client, fashion_png):
    r = client.predict(image=handle_file(str(fashion_png)), api_name="/attention_image")
    assert r["model"] == "vit" and r["note"] is None and r["grid"] == [4, 4] and r["num_tokens"] == 17
    assert (r["num_layers"], r["num_heads"], r["layer"], r["head"]) == (6, 4, 5, -1)
    a = np.array(r["attention"])
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-4)
    cls = np.array(r["cls_attention"])
    np.testing.assert_allclose(cls, a[0, 1:].reshape(4, 4), atol=1e-7)
    np.testing.assert_allclose(cls.sum(), 1 - a[0, 0], atol=1e-6)
    rollout = np.array(r["rollout"])
    assert rollout.shape == (4, 4) and (rollout > 0).all() and rollout.sum() < 1
    assert r["predicted_label"] == "T-shirt/top"
    overlay = from_data_url(r["overlay"])
    assert overlay.width == 336 and 336 < overlay.height < 380  # the picture, and its colour bar under it


def test_image_one_layer_and_head(client, fashion_png):
    r = client.predict(image=handle_file(str(fashion_png)), layer=0, head=3, api_name="/attention_image")
    avg = client.predict(image=handle_file(str(fashion_png)), layer=0, head=-1, api_name="/attention_image")
    assert (r["layer"], r["head"]) == (0, 3)
    assert not np.allclose(r["cls_attention"], avg["cls_attention"])


def test_vit_b_16_offline_falls_back(client, fashion_png):
    r = client.predict(image=handle_file(str(fashion_png)), model="vit_b_16", api_name="/attention_image")
    assert r["model"] == "vit" and "vit_b_16" in r["note"] and "bundled Fashion-MNIST vit" in r["note"]


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("kwargs, message", [
    ({"text": ""}, "The text is empty"),
    ({"text": "   \n\t "}, "The text is only whitespace"),
    ({"text": "x" * 100_000}, "The text is 100,000 characters; the limit is 10,000"),
    ({"text": "hi", "model": "no such model!"}, "'no such model!' is not a Hugging Face model id"),
    ({"text": "hi", "model": "/etc"}, "Local model folders are disabled on this server"),
    ({"text": "hi", "model": ""}, "model must be a Hugging Face model id"),
    ({"text": "hi", "layer": 6}, "layer must be between -6 and 5, not 6"),
    ({"text": "hi", "layer": -7}, "layer must be between -6 and 5, not -7"),
    ({"text": "hi", "head": 12}, "head must be between -1 and 11, not 12"),
    ({"text": "hi", "head": 1.5}, "head must be a whole number"),
    ({"text": "hi", "hide_special": "yes"}, "hide_special must be true or false"),
])
def test_bad_text_inputs(client, kwargs, message):
    assert_rejected(lambda: text(client, **kwargs), message)
    assert_alive(client)


@pytest.mark.parametrize("kwargs, message", [
    ({"head": -1}, "head must be between 0 and 11, not -1"),
    ({"head": 12}, "head must be between 0 and 11, not 12"),
    ({"layer": 9}, "layer must be between -6 and 5, not 9"),
    ({"temperature": 0}, "temperature must be greater than 0"),
    ({"temperature": -1}, "temperature must be greater than 0"),
    ({"temperature": 1000}, "temperature must be at most 100.0"),
    ({"text": " "}, "The text is only whitespace"),
])
def test_bad_scores_inputs(client, kwargs, message):
    args = {"text": COREFERENCE, "layer": 2, "head": 3, **kwargs}
    assert_rejected(lambda: client.predict(api_name="/attention_scores", **args), message)
    assert_alive(client)


def raw_call(server_url: str, name: str, body: str) -> str:
    r = httpx.post(f"{server_url}/gradio_api/call/{name}", content=body.encode(),
                   headers={"Content-Type": "application/json"}, timeout=30)
    return httpx.get(f"{server_url}/gradio_api/call/{name}/{r.json()['event_id']}", timeout=60).text


def test_nan_temperature(client, server_url):
    """gradio_client cannot encode NaN, but any HTTP caller can send the bare NaN token that Python's JSON reads."""
    body = f'{{"data": [{json.dumps(COREFERENCE)}, 1, 1, NaN, true, "default", ""]}}'
    stream = raw_call(server_url, "attention_scores", body)
    assert "event: error" in stream and "temperature must be a finite number" in stream
    assert_alive(client)


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "vit_l_32"}, "model must be one of vit, vit_b_16, not 'vit_l_32'"),
    ({"layer": 6}, "layer must be between -6 and 5, not 6"),
    ({"head": 4}, "head must be between -1 and 3, not 4"),
])
def test_bad_image_settings(client, fashion_png, kwargs, message):
    assert_rejected(lambda: client.predict(image=handle_file(str(fashion_png)), api_name="/attention_image",
                                           **kwargs), message)
    assert_alive(client)


def test_no_image_and_broken_image(client, tmp_path):
    assert_rejected(lambda: client.predict(image=None, api_name="/attention_image"), "No image was given")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    assert_rejected(lambda: client.predict(image=handle_file(str(broken)), api_name="/attention_image"),
                    "could not be read as an image")
    assert_alive(client)
