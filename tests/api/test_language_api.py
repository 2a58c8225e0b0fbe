"""The causal language model's endpoints (lm_next, lm_generate, lm_logit_lens, lm_heads) through a real, offline
server and gradio_client, on the bundled GPT: the cuts of temperature, top-k and top-p, seeded generation, the
logit lens against the prediction, the heads test, clear messages for bad inputs, and a server that keeps
answering after each."""
import re

import numpy as np
import pytest
from gradio_client.exceptions import AppError

GENESIS = "In the beginning God created the heav"


def call(client, name, **kwargs):
    return client.predict(api_name=f"/{name}", **kwargs)


def test_next_token_lists_the_candidates_before_and_after_the_cuts(client):
    r = call(client, "lm_next", text=GENESIS, top=10)
    assert r["model"] == "bundled GPT" and r["note"] is None and r["vocab_size"] == 73
    assert r["tokens"] == list(GENESIS) and len(r["entropies"]) == len(GENESIS)
    first = r["candidates"][0]
    assert first["token"] == "e" and first["probability"] > 0.5 and first["filtered"] == first["probability"]
    assert r["kept"] == 73 and all(c["kept"] for c in r["candidates"])
    assert r["entropy"] == pytest.approx(r["entropies"][-1])
    probabilities = [c["probability"] for c in r["candidates"]]
    assert probabilities == sorted(probabilities, reverse=True)

    cut = call(client, "lm_next", text=GENESIS, top_k=2, top=10)
    assert cut["kept"] == 2 and [c["kept"] for c in cut["candidates"]] == [True, True] + [False] * 8
    kept = cut["candidates"][:2]
    total = sum(c["probability"] for c in kept)
    assert [c["filtered"] for c in kept] == pytest.approx([c["probability"] / total for c in kept])

    nucleus = call(client, "lm_next", text=GENESIS, top_p=0.5)
    assert nucleus["kept"] == 1 and nucleus["candidates"][0]["filtered"] == pytest.approx(1.0)
    cold = call(client, "lm_next", text=GENESIS, temperature=0.01)
    assert cold["candidates"][0]["filtered"] == pytest.approx(1.0)


def test_generation_is_seeded_and_greedy_follows_the_argmax(client):
    a = call(client, "lm_generate", text="And God said", steps=15, seed=3)
    assert a == call(client, "lm_generate", text="And God said", steps=15, seed=3)
    assert a["text"] == "And God said" + a["added"] and len(a["steps"]) == 15 and a["seed"] == 3
    assert a["added"] != call(client, "lm_generate", text="And God said", steps=15, seed=4)["added"]
    greedy = call(client, "lm_generate", text=GENESIS, steps=1, greedy=True)
    assert greedy["added"] == "e" and greedy["seed"] is None
    assert all(0 < s["probability"] <= 1 and s["dropped"] == 0 for s in a["steps"])


def test_logit_lens_last_row_is_the_prediction(client):
    lens = call(client, "lm_logit_lens", text=GENESIS)
    assert lens["layers"] == ["embedding", "block 1", "block 2", "block 3", "block 4"]
    assert np.shape(lens["top_tokens"]) == np.shape(lens["top_probabilities"]) == (5, len(GENESIS))
    assert lens["top_tokens"][-1] == lens["next_tokens"] and lens["next_tokens"][-1] == "e"
    nxt = call(client, "lm_next", text=GENESIS, top=1)
    assert lens["top_probabilities"][-1][-1] == pytest.approx(nxt["candidates"][0]["probability"], abs=1e-7)


def test_heads_scores_every_layer_and_head(client):
    r = call(client, "lm_heads", length=16, seed=1)
    assert np.shape(r["induction"]) == np.shape(r["previous"]) == (4, 4)
    assert r["tokens"][:16] == r["tokens"][16:]
    top = r["top_head"]
    assert top["induction"] == pytest.approx(np.max(r["induction"]), abs=1e-7)
    pattern = np.array(r["pattern"])
    assert pattern.shape == (32, 32) and np.allclose(pattern.sum(-1), 1, atol=1e-5)
    i = np.arange(16, 32)
    assert pattern[i, i - 15].mean() == pytest.approx(top["induction"], abs=1e-6)


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("lm_next", {"text": ""}, "The prompt is empty"),
    ("lm_next", {"text": "x" * 2001}, "the limit is 2,000"),
    ("lm_next", {"text": "a" * 129}, "reads at most 128 (its context length)"),
    ("lm_next", {"text": "naïve"}, "do not include 'ï'"),
    ("lm_next", {"text": "God", "temperature": 0}, "temperature"),
    ("lm_next", {"text": "God", "top_k": -1}, "top_k"),
    ("lm_next", {"text": "God", "top_p": 0}, "top_p"),
    ("lm_next", {"text": "God", "top_p": 1.5}, "top_p"),
    ("lm_next", {"text": "God", "model": "all-MiniLM-L6-v2"}, "is an encoder"),
    ("lm_generate", {"text": "God", "steps": 0}, "steps"),
    ("lm_generate", {"text": "God", "steps": 201}, "steps"),
    ("lm_heads", {"length": 65}, "length"),
])
def test_bad_inputs_get_a_message_and_the_server_keeps_answering(client, name, kwargs, message):
    with pytest.raises(AppError, match=re.escape(message)):
        call(client, name, **kwargs)
    assert call(client, "lm_next", text="God", top=1)["candidates"]
