"""Pictures of a causal language model for the Attention tab's GPT section: the entropy of the prediction at every
position, the logit lens as a layers × positions table of top tokens, and the heads test's layers × heads maps.

Tokens are shown as a person can see them: a space as ␣ and a line break as ↵ (a character-level model predicts
both often, and an empty label would hide them).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import render
from core.attention.figures import axis_labels

VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}
LENS_COLUMNS = 24   # the logit lens shows the last this many positions: more would shrink the tokens unreadably


def visible(token: str) -> str:
    """A token with its white space drawn (␣ ↵ ⇥), so a space or a line break has a label."""
    return "".join(VISIBLE.get(c, c) for c in token) or "∅"


def entropy_bars(entropy: np.ndarray, tokens: list[str], vocab_size: int) -> go.Figure:
    """The entropy (nats) of the next-token prediction after every prompt token: low where the model is sure."""
    labels = axis_labels([f"{i}: {visible(t)}" for i, t in enumerate(tokens)])
    ceiling = float(np.log(vocab_size))
    fig = render.figure(f"How sure the model is after each token<br><sup>Entropy of the next-token distribution, "
                        f"in nats: 0 is certain, ln {vocab_size} = {ceiling:.2f} is a uniform guess over the "
                        "vocabulary.</sup>", height=340, margin={"l": 60, "r": 20, "t": 80, "b": 90})
    fig.add_trace(go.Bar(x=labels, y=entropy, marker_color="#6366f1",
                         hovertemplate="after %{x}<br>entropy %{y:.4f} nats<extra></extra>"))
    fig.update_yaxes(title="entropy (nats)", range=[0, ceiling])
    fig.update_xaxes(title="after position: token", tickangle=-60)
    return fig


def logit_lens_figure(probabilities: np.ndarray, tokens: list[str], token_text, layers: list[str]) -> go.Figure:
    """[layers + 1, positions, vocab] probabilities as a table: each cell the most likely next token through that
    layer's residual stream (text) and its probability (colour); the last row is the model's own prediction. Only
    the last LENS_COLUMNS positions are drawn."""
    start = max(0, len(tokens) - LENS_COLUMNS)
    p = probabilities[:, start:]
    best, peak = p.argmax(-1), p.max(-1)
    text = [[visible(token_text(i)) for i in row] for row in best.tolist()]
    columns = axis_labels([f"{i}: {visible(t)}" for i, t in enumerate(tokens)][start:])
    shown = f"positions {start}–{len(tokens) - 1} of {len(tokens)}" if start else f"all {len(tokens)} positions"
    # Short lines: plotly does not wrap a title, and at 800 px a long subtitle is cut off.
    fig = render.figure(f"Logit lens: what each layer would predict next ({shown})<br><sup>Each stream read "
                        "through the final LayerNorm and the unembedding.<br>Text: the top token; colour: its "
                        "probability. The last row is the model's prediction.</sup>",
                        height=150 + 34 * len(layers), margin={"l": 90, "r": 20, "t": 130, "b": 20})
    fig.add_trace(go.Heatmap(z=peak, x=columns, y=layers, text=text, texttemplate="%{text}",
                             textfont={"size": 12}, colorscale="Viridis", zmin=0, zmax=1,
                             colorbar={"title": "p", "thickness": 12}, xgap=1, ygap=1,
                             hovertemplate="%{y}, after %{x}<br>top next token %{text}, p = %{z:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="stream after")
    fig.update_xaxes(side="top", tickangle=-60)
    return fig


def heads_maps(induction: np.ndarray, previous: np.ndarray) -> go.Figure:
    """Every head's induction and previous-token scores, [layers, heads] each, side by side, 0 to 1."""
    layers, heads = induction.shape
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("induction score", "previous-token score"))
    for col, scores in ((1, induction), (2, previous)):
        fig.add_trace(go.Heatmap(z=scores, x=[f"H{h}" for h in range(heads)], y=[f"L{i}" for i in range(layers)],
                                 colorscale="Viridis", zmin=0, zmax=1, texttemplate="%{z:.2f}",
                                 showscale=col == 2, colorbar={"title": "score", "thickness": 12},
                                 hovertemplate="layer %{y}, head %{x}<br>score %{z:.4f}<extra></extra>"),
                      row=1, col=col)
    fig.update_layout(template=render.THEME, height=160 + 40 * layers, margin={"l": 50, "r": 20, "t": 110, "b": 30},
                      title="Heads that copy, on a random sequence repeated once<br><sup>Induction: the mean weight "
                            "on the token after the earlier copy;<br>previous token: on the token just before.</sup>")
    fig.update_yaxes(autorange="reversed")
    return fig
