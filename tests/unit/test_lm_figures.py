"""core.attention.lm_figures: the GPT section's entropy bars, logit-lens table and heads maps draw the numbers they
are given, with white space made visible."""
import numpy as np

from core.attention import lm_figures as lf


def test_visible_draws_white_space():
    assert lf.visible(" ") == "␣" and lf.visible("\n") == "↵" and lf.visible("a b") == "a␣b"
    assert lf.visible("") == "∅" and lf.visible("God") == "God"


def test_entropy_bars_one_bar_per_position_up_to_ln_vocab():
    fig = lf.entropy_bars(np.array([0.5, 1.0, 0.5]), ["a", " ", "a"], 73)
    bar = fig.data[0]
    assert list(bar.y) == [0.5, 1.0, 0.5] and len(set(bar.x)) == 3  # a repeated token keeps its own bar
    assert "1: ␣" in bar.x[1] and tuple(fig.layout.yaxis.range) == (0, np.log(73))


def test_logit_lens_table_is_the_top_token_and_its_probability_of_the_last_columns():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=(3, lf.LENS_COLUMNS + 6))  # [layers + 1, positions, vocab]
    vocab = ["a", " ", "b", "c", "\n"]
    fig = lf.logit_lens_figure(p, ["x"] * p.shape[1], lambda i: vocab[i], ["embedding", "block 1", "block 2"])
    heat = fig.data[0]
    assert np.allclose(heat.z, p[:, 6:].max(-1))
    assert heat.text[-1] == [lf.visible(vocab[i]) for i in p[-1, 6:].argmax(-1)]
    assert len(heat.x) == lf.LENS_COLUMNS and "positions 6–29 of 30" in fig.layout.title.text


def test_heads_maps_show_both_scores_layers_by_heads():
    induction, previous = np.array([[0.1, 0.9], [0.2, 0.3]]), np.array([[0.5, 0.0], [1.0, 0.4]])
    fig = lf.heads_maps(induction, previous)
    assert np.allclose(fig.data[0].z, induction) and np.allclose(fig.data[1].z, previous)
    assert list(fig.data[0].x) == ["H0", "H1"] and list(fig.data[0].y) == ["L0", "L1"]
