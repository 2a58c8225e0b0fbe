"""core.attention.language and core.models.gpt: the next-token distribution and its cuts, seeded draws, the causal
mask, the logit lens and the head scores, on a small GPT with seeded random weights and on hand-made numbers."""
import numpy as np
import pytest
import torch

from core.attention import language
from core.models.gpt import GPT, CharTokenizer


@pytest.fixture(scope="module")
def gpt():
    torch.manual_seed(0)
    return GPT(vocab_size=20, block_size=32, layers=2, heads=2, dim=16).eval()


def test_probabilities_sum_to_one_and_temperature_towards_zero_is_the_argmax():
    logits = torch.tensor([1.0, 3.0, 2.5, -1.0])
    raw, filtered = language.distributions(logits, temperature=1.0)
    assert raw.sum() == pytest.approx(1.0) and np.allclose(raw, filtered)
    assert np.allclose(raw, np.exp(logits.numpy()) / np.exp(logits.numpy()).sum())
    _, cold = language.distributions(logits, temperature=0.01)
    assert cold[1] > 1 - 1e-12 and language.choose(cold, None) == 1
    _, hot = language.distributions(logits, temperature=100.0)
    assert hot.max() - hot.min() < 0.02


def test_top_k_keeps_exactly_k_and_top_p_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([0.4, 0.3, 0.15, 0.1, 0.05]))
    _, top2 = language.distributions(logits, top_k=2)
    assert np.count_nonzero(top2) == 2 and top2[:2] == pytest.approx([0.4 / 0.7, 0.3 / 0.7])
    _, p = language.distributions(logits, top_p=0.7)     # 0.4 + 0.3 reaches 0.7
    assert np.count_nonzero(p) == 2
    _, p = language.distributions(logits, top_p=0.71)    # needs the third token too
    assert np.count_nonzero(p) == 3 and p.sum() == pytest.approx(1.0)
    _, one = language.distributions(logits, top_p=1e-9)  # always at least the most likely token
    assert np.count_nonzero(one) == 1


@pytest.mark.parametrize("kwargs, message", [({"temperature": 0}, "temperature"), ({"top_k": -1}, "top_k"),
                                             ({"top_p": 0}, "top_p"), ({"top_p": 1.5}, "top_p"),
                                             ({"temperature": float("nan")}, "temperature")])
def test_bad_settings_are_refused_with_their_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        language.distributions(torch.zeros(4), **kwargs)


def test_the_same_seed_draws_the_same_tokens():
    _, filtered = language.distributions(torch.zeros(50))
    a = torch.Generator().manual_seed(7)
    b = torch.Generator().manual_seed(7)
    assert [language.choose(filtered, a) for _ in range(20)] == [language.choose(filtered, b) for _ in range(20)]
    assert len({language.choose(filtered, torch.Generator().manual_seed(s)) for s in range(20)}) > 1


def test_the_causal_mask_holds_a_later_token_changes_no_earlier_output(gpt):
    ids = torch.randint(0, 20, (1, 12), generator=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[0, 8] = (changed[0, 8] + 1) % 20
    a, attention, _ = gpt(ids, return_internals=True)
    b = gpt(changed)
    assert torch.allclose(a[0, :8], b[0, :8], atol=1e-6) and not torch.allclose(a[0, 8:], b[0, 8:])
    assert torch.allclose(a, gpt(ids), atol=1e-5)   # the readable attention is the fused kernel's maths
    assert torch.all(attention.triu(1) == 0) and torch.allclose(attention.sum(-1), torch.ones(1), atol=1e-6)


def test_the_logit_lens_last_row_is_the_models_own_prediction(gpt):
    ids = torch.randint(0, 20, (1, 10), generator=torch.Generator().manual_seed(2))
    logits, _, streams = gpt(ids, return_internals=True)
    lens = language.logit_lens(gpt.unembed(streams[:, 0]))
    assert lens.shape == (3, 10, 20)
    np.testing.assert_allclose(lens[-1], torch.softmax(logits[0].detach().double(), -1).numpy(), atol=1e-6)
    np.testing.assert_allclose(lens.sum(-1), np.ones((3, 10)), atol=1e-12)


def test_entropies_are_zero_for_a_certain_prediction_and_log_v_for_a_flat_one():
    e = language.entropies(torch.tensor([[0.0, 0.0, 0.0, 0.0], [1e4, 0.0, 0.0, 0.0]]))
    assert e == pytest.approx([np.log(4), 0.0], abs=1e-9)


def test_head_scores_on_a_hand_built_pattern():
    n = 4
    attention = torch.zeros(1, 2, 2 * n, 2 * n)
    for i in range(2 * n):
        attention[0, 0, i, max(i - 1, 0)] = 1.0                       # head 0 looks at the previous token
        attention[0, 1, i, i - n + 1 if i >= n else 0] = 1.0          # head 1 is an induction head
    induction, previous = language.head_scores(attention, n)
    assert induction[0, 1] == 1.0 and previous[0, 0] == 1.0
    assert induction[0, 0] == 0.0                 # the token before i is never the one after i's earlier copy
    assert previous[0, 1] == pytest.approx(1 / 7)   # of rows 1..7, only row 1 (looking at 0) hits i - 1


def test_a_repeated_sequence_is_one_random_half_twice():
    seq = language.repeated_sequence(20, 6, seed=0)
    assert seq.shape == (12,) and torch.equal(seq[:6], seq[6:])
    assert torch.equal(seq, language.repeated_sequence(20, 6, seed=0))
    assert not torch.equal(seq, language.repeated_sequence(20, 6, seed=1))


def test_the_tokenizer_says_which_characters_it_cannot_encode():
    tok = CharTokenizer("abc ")
    assert tok.decode(tok.encode("a cab")) == "a cab"
    with pytest.raises(ValueError, match=r"4 characters do not include 'z' 'é'"):
        tok.encode("zé ab")


def test_the_bundled_gpt_loads_through_the_manifest_and_has_learned_its_corpus():
    from core.models import gpt_tokenizer, load
    model, tok = load("gpt"), gpt_tokenizer()
    prompt = "In the beginning God created the heaven and the eart"
    logits = model(torch.tensor([tok.encode(prompt)]))[0]
    _, filtered = language.distributions(logits[-1])
    assert tok.decode([language.choose(filtered, None)]) == "h"
    # on a verse it has read, far below the bigram baseline's 2.26 nats a character (assets/MODELS.md)
    verse = "And God said, Let there be light: and there was light."
    ids = torch.tensor([tok.encode(verse)])
    nats = torch.nn.functional.cross_entropy(model(ids[:, :-1])[0], ids[0, 1:]).item()
    assert nats < 1.0
