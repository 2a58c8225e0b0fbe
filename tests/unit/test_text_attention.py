"""core.text_attention on the bundled all-MiniLM-L6-v2 and on tiny random BERT, DistilBERT and GPT-2 models that
the tests save themselves (nothing is downloaded): the scores view reproduces each model's own weights, causal
masks, truncation, sink hiding, and every way a model id can be refused."""
import base64
import re

import numpy as np
import pytest
import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    GPT2Config,
    GPT2Model,
    GPTNeoXConfig,
    GPTNeoXModel,
    LlamaConfig,
    LlamaModel,
)

from core import registry
from core.attention import maths as att
from core.attention import text as ta

COREFERENCE = "The animal didn't cross the street because it was too tired"


@pytest.fixture(scope="module")
def minilm():
    return ta.load("default")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Randomly initialised 2-layer, 2-head models saved with save_pretrained, with MiniLM's tokenizer."""
    folder = tmp_path_factory.mktemp("tiny")
    tokenizer = AutoTokenizer.from_pretrained(ta._bundled_path())
    vocab = tokenizer.vocab_size
    configs = {
        "bert": BertModel(BertConfig(num_hidden_layers=2, num_attention_heads=2, hidden_size=16,
                                     intermediate_size=32, vocab_size=vocab)),
        "distilbert": DistilBertModel(DistilBertConfig(n_layers=2, n_heads=2, dim=16, hidden_dim=32,
                                                       vocab_size=vocab)),
        "gpt2": GPT2Model(GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=vocab, n_positions=40,
                                     bos_token_id=0, eos_token_id=0)),
        # Rotary position embeddings, and grouped-query attention (K and V have 1 head for Q's 2).
        "llama": LlamaModel(LlamaConfig(num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                                        hidden_size=16, intermediate_size=32, vocab_size=vocab,
                                        max_position_embeddings=64)),
        # Q, K and V from one fused projection, which the scores view does not read; causal all the same.
        "gpt_neox": GPTNeoXModel(GPTNeoXConfig(num_hidden_layers=2, num_attention_heads=2, hidden_size=16,
                                               intermediate_size=32, vocab_size=vocab,
                                               max_position_embeddings=64)),
    }
    torch.manual_seed(0)
    paths = {}
    for name, model in configs.items():
        paths[name] = str(folder / name)
        model.save_pretrained(paths[name])
        tokenizer.save_pretrained(paths[name])
    return paths


@pytest.fixture
def local_models(monkeypatch):
    monkeypatch.setenv("GLASSBOX_LOCAL_MODELS", "1")


def test_bundled_model_and_its_tokens(minilm):
    assert (minilm.num_layers, minilm.num_heads, minilm.causal) == (6, 12, False)
    assert minilm.name == "all-MiniLM-L6-v2" and minilm.max_tokens == 512
    assert ta.bundled_shape() == (6, 12)  # what the UI is laid out with before the model loads
    assert ta.load("all-MiniLM-L6-v2") is minilm and ta.load("sentence-transformers/all-MiniLM-L6-v2") is minilm
    r = ta.run(minilm, COREFERENCE)
    assert r.tokens[0] == "[CLS]" and r.tokens[-1] == "[SEP]" and "it" in r.tokens
    assert r.special.tolist() == [t in ("[CLS]", "[SEP]") for t in r.tokens]
    n = len(r.tokens)
    assert r.attentions.shape == (6, 12, n, n) and r.queries.shape == (6, 12, n, 32)
    np.testing.assert_allclose(r.attentions.sum(-1), 1.0, atol=1e-5)
    assert r.notice is None and not r.attentions.flags.writeable


def test_scores_view_reproduces_minilm_weights_in_every_head(minilm):
    r = ta.run(minilm, COREFERENCE)
    for layer in range(minilm.num_layers):
        for head in range(minilm.num_heads):
            s = ta.scores(r, layer, head)
            np.testing.assert_allclose(s.weights, r.attentions[layer, head], atol=1e-5)
            assert s.max_difference < 1e-5 and s.d_k == 32


def test_scores_temperature_and_scaling(minilm):
    r = ta.run(minilm, COREFERENCE)
    base = ta.scores(r, 2, 3)
    unscaled = ta.scores(r, 2, 3, scale=False)
    np.testing.assert_allclose(unscaled.scores, base.scores * np.sqrt(32), rtol=1e-12)
    sharp, flat = ta.scores(r, 2, 3, temperature=0.1), ta.scores(r, 2, 3, temperature=50)
    for s in (unscaled, sharp, flat):
        np.testing.assert_allclose(s.weights.sum(-1), 1.0, atol=1e-12)
    entropy = [att.row_entropy(s.weights).mean() for s in (sharp, base, flat)]
    assert entropy[0] < entropy[1] < entropy[2]
    # Without √d_k the scores are √32 ≈ 5.7 times larger: the same as temperature 1/√32 with scaling on.
    np.testing.assert_allclose(unscaled.weights, ta.scores(r, 2, 3, temperature=32 ** -0.5).weights, atol=1e-9)
    for bad in (float("nan"), 0, -1, float("inf"), "hot"):
        with pytest.raises(ValueError, match="temperature"):
            ta.scores(r, 2, 3, temperature=bad)


def test_selection_layers_and_heads(minilm):
    r = ta.run(minilm, COREFERENCE)
    assert att.layer_index(-1, 6) == 5 and att.layer_index(0, 6) == 0
    np.testing.assert_allclose(att.pick(r.attentions, 5, -1), r.attentions[5].astype(np.float64).mean(0))
    for bad_layer in (6, -7, 1.5, None):
        with pytest.raises(ValueError, match="layer"):
            att.layer_index(bad_layer, 6)
    with pytest.raises(ValueError, match="head must be between -1 and 11"):
        att.head_index(12, 12)
    with pytest.raises(ValueError, match="head must be between 0 and 11"):
        att.head_index(-1, 12, allow_average=False)


def test_hiding_special_tokens_renormalises_a_real_run(minilm):
    r = ta.run(minilm, COREFERENCE, "It was late.")
    assert r.tokens.count("[SEP]") == 2
    a = att.pick(r.attentions, 5, -1)
    shown = ta.for_display(a, r, True)
    assert (shown[:, r.special] == 0).all()
    np.testing.assert_allclose(shown.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(shown[3, ~r.special], a[3, ~r.special] / a[3, ~r.special].sum())
    assert ta.for_display(a, r, False) is a


def test_rollout_and_entropy_of_a_run(minilm):
    r = ta.run(minilm, COREFERENCE)
    roll = ta.rollout(r)
    np.testing.assert_allclose(roll, att.attention_rollout(r.attentions.astype(np.float64)), atol=1e-12)
    ent = ta.head_entropies(r)
    assert ent.shape == (6, 12) and (ent >= 0).all() and (ent <= np.log2(len(r.tokens)) + 1e-9).all()


def test_rollout_without_the_sinks_spreads_each_row_over_the_texts_own_tokens(minilm):
    """With the sinks, ~0.7 of every row of MiniLM's rollout is on [CLS] and [SEP]; without them each row is the
    rest, renormalised: the same ratios between the text's own tokens, summing to 1."""
    r = ta.run(minilm, COREFERENCE)
    roll, without = ta.rollout(r), ta.rollout(r, hide_special=True)
    share = roll[:, r.special].sum(-1)
    assert ta.special_share(roll, r) == pytest.approx(share.mean()) and share.min() > 0.5
    assert (without[:, r.special] == 0).all()
    np.testing.assert_allclose(without.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(without[:, ~r.special], roll[:, ~r.special] / (1 - share)[:, None], atol=1e-12)
    assert without[:, ~r.special].max() > 5 * roll[:, ~r.special].max() / 2  # the words' mixing, now readable


def test_long_input_is_truncated_with_a_notice(minilm):
    r = ta.run(minilm, "word " * 600)
    assert len(r.tokens) == 512 and r.tokens[-1] == "[SEP]"
    assert "602 tokens" in r.notice and "truncated to 512" in r.notice and "90 tokens dropped" in r.notice


@pytest.mark.parametrize("text, message", [("", "empty"), ("   \n\t", "only whitespace"),
                                           ("x" * 100_000, "100,000 characters; the limit is 10,000"),
                                           (None, "must be a string"), (42, "must be a string")])
def test_bad_text_is_refused(minilm, text, message):
    with pytest.raises(ValueError, match=message):
        ta.run(minilm, text)


@pytest.mark.parametrize("name", ["bert", "distilbert", "gpt2"])
def test_scores_view_reproduces_tiny_models(tiny_models, local_models, name):
    tm = ta.load(tiny_models[name])
    assert tm.causal == (name == "gpt2") and tm.qk is not None and "local folder" in tm.description
    r = ta.run(tm, "the cat sat on the mat because it was warm")
    for layer in range(2):
        for head in range(2):
            assert ta.scores(r, layer, head).max_difference < 1e-5


def test_a_decoder_shows_its_causal_mask(tiny_models, local_models):
    tm = ta.load(tiny_models["gpt2"])
    assert tm.max_tokens == 40  # n_positions, below the explorer's 512
    r = ta.run(tm, "one two three four five")
    upper = np.triu(np.ones(r.attentions.shape[-2:], dtype=bool), k=1)
    assert (r.attentions[..., upper] == 0).all()
    s = ta.scores(r, 1, 0)
    assert np.isneginf(s.scores[upper]).all() and (s.weights[upper] == 0).all()
    np.testing.assert_array_equal(s.allowed, att.causal_mask(len(r.tokens)))
    with pytest.raises(ValueError, match="is a decoder"):
        ta.run(tm, "one", "two")
    long = ta.run(tm, "word " * 100)
    assert len(long.tokens) == 40 and "reads at most 40" in long.notice


def test_local_folders_need_permission(tiny_models, monkeypatch):
    monkeypatch.delenv("GLASSBOX_LOCAL_MODELS", raising=False)
    with pytest.raises(ValueError, match="Local model folders are disabled"):
        ta.load(tiny_models["bert"])
    with pytest.raises(ValueError, match="Local model folders are disabled"):
        ta.canonical("./core")
    monkeypatch.setenv("GLASSBOX_LOCAL_MODELS", "1")
    with pytest.raises(ValueError, match=re.escape("has no config.json")):
        ta.load("/tmp")


def test_size_cap_counts_parameters_before_loading(tiny_models, local_models, monkeypatch):
    monkeypatch.setenv("GLASSBOX_MAX_PARAMS", "1000")
    with pytest.raises(ValueError, match=r"M parameters; this server loads at most 0 M \(GLASSBOX_MAX_PARAMS\)"):
        ta._build(ta.canonical(tiny_models["distilbert"]))


@pytest.mark.parametrize("model, message", [
    ("", "must be a Hugging Face model id"), (None, "must be a Hugging Face model id"),
    ("no such model!", "is not a Hugging Face model id"), ("a/b/c", "is not a Hugging Face model id"),
    ("x" * 200, "is not a Hugging Face model id"), ("org/..name", "is not a Hugging Face model id")])
def test_malformed_ids_are_refused(model, message):
    with pytest.raises(ValueError, match=message):
        ta.canonical(model)


def test_allow_list(monkeypatch):
    monkeypatch.setenv("GLASSBOX_TEXT_MODELS", "gpt2, bert-base-uncased")
    assert ta.canonical("gpt2") == "gpt2" and ta.canonical("default") == "default"
    with pytest.raises(ValueError, match="not on this server's list of text models"):
        ta.canonical("roberta-base")


def test_offline_ids_give_one_line_and_the_bundled_model(monkeypatch, minilm):
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    with pytest.raises(registry.ModelUnavailable) as e:
        ta.load("glassbox-tests/not-in-any-cache")
    assert str(e.value) == ("glassbox-tests/not-in-any-cache is not in this machine's Hugging Face cache and "
                            "GLASSBOX_OFFLINE=1 forbids downloading it.")
    tm, note = ta.resolve("glassbox-tests/not-in-any-cache")
    assert tm is minilm and note.endswith("Showing the bundled all-MiniLM-L6-v2 instead.")


@pytest.mark.parametrize("name", ["llama", "gpt_neox"])
def test_decoders_the_scores_view_cannot_read_still_show_their_attention(tiny_models, local_models, name):
    tm = ta.load(tiny_models[name])
    assert tm.causal and tm.qk is None and "decoder, causal" in tm.description  # causal read off the model
    r = ta.run(tm, "one two three four five")
    upper = np.triu(np.ones(r.attentions.shape[-2:], dtype=bool), k=1)
    assert (r.attentions[..., upper] == 0).all()
    np.testing.assert_allclose(r.attentions.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="cannot read Q and K"):
        ta.scores(r, 0, 0)
    with pytest.raises(ValueError, match="is a decoder"):
        ta.run(tm, "one", "two")


def test_picking_a_head_of_a_rotary_model_updates_every_view_but_the_scores(tiny_models, local_models):
    from explorers.attention import text
    heatmap, focus, scores, note, head_view, _ = text.selection_ui("one two three", "", tiny_models["llama"], 1,
                                                                   "0", False, None, [0, 1])
    assert head_view["lines"]["shape"][0] > 0  # the head view draws for the rotary model too
    assert heatmap.data and focus.data  # the heatmap and token focus still draw
    assert note.startswith("The scores view is not available here") and "grouped-query" in note
    assert "cannot read Q and K" in scores["message"]  # the scores widget shows why, with nothing to draw


def test_the_head_view_sends_the_lines_of_the_ticked_heads(tiny_models, local_models):
    """The head view's value is what head_view.js draws: the tokens, a colour per ticked head, and each line's
    (head, query, key) with its weight, the layer's own; no head ticked sends nothing to draw, and the note says why."""
    from core.attention import figures as ar
    from explorers.attention import text
    value, note = text.head_view_ui("one two three", "", tiny_models["llama"], 1, False, [1, 0])
    assert value["heads"] == [0, 1] and value["colours"] == [ar.head_colour(0), ar.head_colour(1)]
    lines, weights = (np.frombuffer(base64.b64decode(value[k]["data"]), dtype=value[k]["dtype"])
                      for k in ("lines", "weights"))
    lines = lines.reshape(-1, 3)
    assert len(lines) == len(weights) > 0 and set(lines[:, 0]) <= {0, 1}
    r = text.text_view("one two three", tiny_models["llama"], 1, 0, False, "").run
    np.testing.assert_allclose(weights, r.attentions[1][lines[:, 0], lines[:, 1], lines[:, 2]], atol=1e-6)
    assert value["tokens"] == r.tokens and f"{len(lines):,} lines drawn" in note
    assert text.head_view_ui("one two three", "", tiny_models["llama"], 1, False, []) == (
        {}, "Tick at least one head to draw its lines.")


def test_the_page_opens_on_a_head_that_reads_meaning_and_the_head_view_on_two_heads(minilm):
    """Issue 27: the scores view opened on "Pick one head" and the head view on all 12 heads. The first example's
    text_ui opens on DEFAULT_LAYER / DEFAULT_HEAD, which sends "it" to "animal" more than any head of layers 0-4, the
    scores view has that head's own Q and K, and the head view draws DEFAULT_HEADS alone, the second the layer's
    most focused head, a sink."""
    from explorers.attention import text
    sentence, pair, word = text.EXAMPLES[text.FIRST_EXAMPLE]
    r = ta.run(minilm, sentence, pair)
    it, animal = r.tokens.index("it"), r.tokens.index("animal")
    to_animal = r.attentions[:5, :, it, animal]
    layer, head = text.DEFAULT_LAYER, text.DEFAULT_HEAD
    assert np.unravel_index(to_animal.argmax(), to_animal.shape) == (layer, head) and to_animal.max() > 0.5
    entropy = ta.head_entropies(r)
    assert entropy[layer, head] < 0.5 * np.log2(len(r.tokens))   # far from uniform
    sink = text.DEFAULT_HEADS[1]
    assert sink == entropy[layer].argmin() and ta.special_share(r.attentions[layer, sink], r) > 0.6
    views = text.text_ui(sentence, pair, "default", layer, head, False, word, True)
    assert views.scores["head"] == head and views.scores["layer"] == layer
    assert views.heads["value"] == list(text.DEFAULT_HEADS) and views.head_view["heads"] == list(text.DEFAULT_HEADS)
