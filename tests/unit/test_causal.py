"""core.attention.causal: the bundled GPT and a causal Hugging Face model (a tiny GPT-2 the test writes to a folder)
run the same way — next-token distributions, the causal mask, the logit lens whose last row is the model's own
logits, seeded generation, the heads test — and bad prompts are refused with a message."""
import numpy as np
import pytest
import torch

from core.attention import causal
from core.attention import text as ta

CHARS = "abcdefghijklmnopqrstuvwxyz ."


@pytest.fixture(scope="module")
def gpt():
    return causal.resolve("default")[0]


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A 2-layer GPT-2 with random weights and a one-character tokenizer, saved as safetensors in a folder."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = {c: i for i, c in enumerate(CHARS)} | {"<unk>": len(CHARS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>").save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(vocab), n_positions=32, n_embd=16, n_layer=2, n_head=2)
    GPT2LMHeadModel(config).save_pretrained(folder, safe_serialization=True)
    return causal._hub(str(folder))


def test_bundled_gpt_predicts_the_corpus_and_its_lens_ends_at_its_logits(gpt):
    ids = causal.check_prompt(gpt, "In the beginning God created the heav")
    n = causal.next_token(gpt, ids)
    assert gpt.token_text(int(np.argmax(n.raw))) == "e"
    assert n.raw.sum() == pytest.approx(1.0, abs=1e-12) and n.filtered.sum() == pytest.approx(1.0, abs=1e-12)
    assert n.run.lens.shape == (gpt.num_layers + 1, len(ids), gpt.vocab_size)
    torch.testing.assert_close(n.run.lens[-1], n.run.logits, rtol=0, atol=1e-9)
    assert n.entropy == pytest.approx(float(-(n.raw * np.log(n.raw)).sum()), abs=1e-9)


@pytest.mark.parametrize("fixture", ["gpt", "tiny_gpt2"])
def test_a_later_token_changes_no_earlier_position(fixture, request):
    lm = request.getfixturevalue(fixture)
    a = causal.forward(lm, lm.encode("abcde"))
    b = causal.forward(lm, lm.encode("abcdz"))
    torch.testing.assert_close(a.logits[:4], b.logits[:4], rtol=0, atol=1e-9)
    assert not torch.allclose(a.logits[4], b.logits[4])
    assert torch.all(torch.triu(a.attentions, diagonal=1) == 0)  # no weight on a later key
    torch.testing.assert_close(a.attentions.sum(-1), torch.ones_like(a.attentions.sum(-1)), rtol=0, atol=1e-6)


def test_hub_model_lens_reads_every_stream_through_the_final_norm(tiny_gpt2):
    lm = tiny_gpt2
    assert (lm.num_layers, lm.num_heads, lm.max_tokens) == (2, 2, 32)
    run = causal.forward(lm, lm.encode("hello world"))
    assert run.tokens == list("hello world")
    torch.testing.assert_close(run.lens[-1], run.logits, rtol=0, atol=1e-9)
    assert run.lens.shape == (3, 11, len(CHARS) + 1)


@pytest.mark.parametrize("fixture", ["gpt", "tiny_gpt2"])
def test_the_same_seed_generates_the_same_text_and_greedy_takes_the_argmax(fixture, request):
    lm = request.getfixturevalue(fixture)
    ids = lm.encode("the ")
    one = [s.token for s in causal.generate(lm, ids, 12, seed=7, temperature=1.5)]
    assert one == [s.token for s in causal.generate(lm, ids, 12, seed=7, temperature=1.5)]
    assert one != [s.token for s in causal.generate(lm, ids, 12, seed=8, temperature=1.5)]
    greedy = list(causal.generate(lm, ids, 3, greedy=True))
    n = causal.next_token(lm, ids)
    assert greedy[0].token == int(np.argmax(n.raw)) and greedy[0].raw == pytest.approx(n.raw.max())


def test_generation_past_the_context_drops_the_oldest_tokens(tiny_gpt2):
    steps = list(causal.generate(tiny_gpt2, tiny_gpt2.encode("a" * 30), 4, seed=0))
    assert [s.dropped for s in steps] == [0, 0, 0, 1]  # 30, 31 and 32 tokens fit a context of 32; 33 do not


def test_heads_scores_come_from_the_repeated_sequence(gpt):
    run, induction, previous = causal.heads(gpt, 20, seed=3)
    assert run.ids[:20] == run.ids[20:] and len(run.ids) == 40
    assert induction.shape == previous.shape == (gpt.num_layers, gpt.num_heads)
    a = run.attentions.numpy()
    i = np.arange(20, 40)
    np.testing.assert_allclose(induction, a[..., i, i - 19].mean(-1))
    with pytest.raises(ValueError, match="length"):
        causal.heads(gpt, 65)


@pytest.mark.parametrize(("prompt", "message"), [
    ("", "empty"), ("   ", "empty"), ("x" * 2001, "2,000"), ("héllo", "'é'"), ("a" * 129, "at most 128"),
    (None, "prompt")])
def test_bad_prompts_are_refused_with_a_message(gpt, prompt, message):
    with pytest.raises(ValueError, match=message):
        causal.check_prompt(gpt, prompt)


def test_an_encoder_is_not_a_language_model():
    with pytest.raises(ValueError, match="encoder"):
        causal.canonical(ta.BUNDLED_NAME)
    assert causal.canonical(" default ") == "default"


def test_the_bundled_gpt_runs_on_one_torch_thread_and_a_hub_model_on_the_default(gpt, tiny_gpt2):
    import dataclasses

    def counting(lm):
        seen = []

        def forward(ids):
            seen.append(torch.get_num_threads())
            return lm.forward(ids)
        return dataclasses.replace(lm, forward=forward), seen

    for lm, threads in ((gpt, 1), (tiny_gpt2, torch.get_num_threads())):
        spy, seen = counting(lm)
        causal.forward(spy, lm.encode("In the beginning"))
        assert seen == [threads]


def test_an_unreachable_hub_id_gives_one_line_and_the_bundled_gpt(monkeypatch, gpt):
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    lm, note = causal.resolve("glassbox-tests/not-in-any-cache")
    assert lm is gpt
    assert note == ("glassbox-tests/not-in-any-cache is not in this machine's Hugging Face cache and "
                    "GLASSBOX_OFFLINE=1 forbids downloading it. Showing the bundled GPT instead.")


def test_a_model_that_is_not_causal_is_refused(tmp_path):
    from transformers import BertConfig, BertModel
    BertModel(BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(tmp_path, safe_serialization=True)
    with pytest.raises(ValueError, match="not a causal language model"):
        causal._hub(str(tmp_path))


def test_the_causal_view_opens_on_the_head_that_reads_the_previous_character(gpt):
    """Issue 27's defaults that teach: the view opened on layer 0, head 0, a near-uniform smear. OPEN_LAYER /
    OPEN_HEAD put the most weight on the character just before, on the section's prompt, of any head."""
    from explorers.attention import language
    a = causal.forward(gpt, causal.check_prompt(gpt, language.PROMPT)).attentions.numpy()
    previous = np.stack([a[:, :, i, i - 1] for i in range(1, a.shape[-1])]).mean(axis=0)   # [layers, heads]
    assert np.unravel_index(previous.argmax(), previous.shape) == (language.OPEN_LAYER, language.OPEN_HEAD)
    assert previous.max() > 3 * previous[0].max()   # layer 0's heads are near uniform
