"""core.attention against hand-computed cases: rollout, sink hiding, entropy, the Q·K softmax, ViT patch maps,
and the hook recorder."""
import numpy as np
import pytest
import torch
from torch import nn

from core import probability
from core.attention import maths as att


def test_rollout_of_a_hand_built_stack():
    a1 = np.array([[1.0, 0.0], [0.5, 0.5]])
    a2 = np.array([[0.5, 0.5], [0.0, 1.0]])
    # With the residual: Â1 = [[1, 0], [.25, .75]], Â2 = [[.75, .25], [0, 1]]; R = Â2 Â1 by hand.
    expected = np.array([[0.8125, 0.1875], [0.25, 0.75]])
    np.testing.assert_allclose(att.attention_rollout(np.stack([a1, a2])), expected)
    np.testing.assert_allclose(att.attention_rollout(np.stack([a1, a2]), up_to_layer=0), [[1, 0], [0.25, 0.75]])
    # Heads are averaged first: two heads whose mean is a1, a2 give the same rollout.
    heads = np.stack([np.stack([a1, a1]), np.stack([a2 * 0 + np.eye(2), 2 * a2 - np.eye(2)])])
    np.testing.assert_allclose(att.attention_rollout(heads), expected)


def test_rollout_rows_are_distributions_and_bad_shapes_are_refused():
    rng = np.random.default_rng(0)
    stack = probability.softmax(rng.normal(size=(4, 3, 6, 6)))
    r = att.attention_rollout(stack)
    np.testing.assert_allclose(r.sum(axis=-1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="up_to_layer must be between 0 and 3"):
        att.attention_rollout(stack, up_to_layer=4)
    with pytest.raises(ValueError, match="needs \\[layers"):
        att.attention_rollout(np.ones((2, 3, 4)))


def test_hiding_special_tokens_renormalises_the_rest():
    a = np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [1.0, 0.0, 0.0]])
    hidden = att.hide_tokens(a, [True, False, False])
    np.testing.assert_allclose(hidden, [[0, 0.6, 0.4], [0, 0.5, 0.5], [0, 0, 0]])
    assert a[0, 0] == 0.5  # the input is not modified
    with pytest.raises(ValueError, match="hidden has 2 entries"):
        att.hide_tokens(a, [True, False])


def test_entropy_in_bits():
    uniform, onehot = np.full((4, 4), 0.25), np.eye(4)
    np.testing.assert_allclose(att.row_entropy(uniform), 2.0)
    np.testing.assert_allclose(att.row_entropy(onehot), 0.0)
    stack = np.stack([np.stack([uniform, onehot])])  # [1 layer, 2 heads, 4, 4]
    np.testing.assert_allclose(att.head_entropy(stack), [[2.0, 0.0]])


def test_scores_softmax_temperature_and_causal_mask():
    q = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    k = np.array([[2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(att.attention_scores(q, k), [[1.0, 0.0], [0.0, 1.0]])  # QKᵀ/√4
    np.testing.assert_allclose(att.attention_scores(q, k, scale=False), [[2.0, 0.0], [0.0, 2.0]])
    w = probability.softmax([[1.0, 0.0]])
    np.testing.assert_allclose(w, [[np.e / (np.e + 1), 1 / (np.e + 1)]])
    sharp, flat = probability.softmax([[1.0, 0.0]], temperature=0.1), probability.softmax([[1.0, 0.0]], temperature=100)
    assert sharp[0, 0] > 0.9999 and abs(flat[0, 0] - 0.5) < 0.01
    masked = probability.softmax(np.zeros((3, 3)), allowed=att.causal_mask(3))
    np.testing.assert_allclose(masked, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert np.isfinite(probability.softmax([[1e4, 0.0]])).all()  # max-subtraction: no overflow
    with pytest.raises(ValueError, match="temperature must be greater than 0"):
        probability.softmax([[1.0]], temperature=0)
    with pytest.raises(ValueError, match="q and k must both be"):
        att.attention_scores(np.ones((2, 3)), np.ones((3, 3)))


def test_split_heads_matches_a_reshape_by_hand():
    x = np.arange(12.0).reshape(2, 6)  # 2 tokens, 3 heads of width 2
    heads = att.split_heads(x, 3)
    assert heads.shape == (3, 2, 2)
    np.testing.assert_array_equal(heads[1], [[2, 3], [8, 9]])
    with pytest.raises(ValueError, match="cannot be split into 4 heads"):
        att.split_heads(x, 4)


def test_patch_maps_read_the_right_row():
    a = np.arange(25.0).reshape(5, 5)  # CLS + a 2x2 grid
    np.testing.assert_array_equal(att.cls_to_patches(a, (2, 2)), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(att.patch_to_patches(a, 2, (2, 2)), [[16, 17], [18, 19]])
    with pytest.raises(ValueError, match="does not fit a 3x3 patch grid"):
        att.cls_to_patches(a, (3, 3))
    with pytest.raises(ValueError, match="patch must be between 0 and 3"):
        att.patch_to_patches(a, 4, (2, 2))


def test_record_outputs_records_and_always_removes_its_hooks():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    x = torch.ones(1, 2)
    with att.record_outputs({"linear": net[0]}) as out:
        y = net(x)
    torch.testing.assert_close(out["linear"], net[0](x))
    assert torch.equal(y, torch.relu(out["linear"]))
    with pytest.raises(RuntimeError), att.record_outputs({"linear": net[0]}):
        raise RuntimeError("boom")
    assert not net[0]._forward_hooks


def test_rank_heads_lists_the_most_focused_first():
    entropy = np.array([[2.0, 0.5], [0.1, 3.0]])
    assert att.rank_heads(entropy) == [(1, 0, 0.1), (0, 1, 0.5), (0, 0, 2.0), (1, 1, 3.0)]
