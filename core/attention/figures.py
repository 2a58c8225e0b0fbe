"""Pictures of attention: token heatmaps with the exact weight on hover, the model view (every layer x head as a
thumbnail), token focus bars, the head-entropy map, the Q·Kᵀ scores beside their softmax and row sums, and, for
images, heat overlays and the patch grid.

Colours say what they normalise over: attention weights use Viridis from 0 to the largest weight in the figure (or
each thumbnail's own largest), raw scores use blue-white-red symmetric around 0. The head view's lines (one per
weight, the weight as its opacity, after BertViz's head_view.js) are chosen here and drawn as SVG in the browser.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from core import render
from core.attention.maths import hide_tokens

NUMBERS_UP_TO = 16     # cells show their weight as text up to this many tokens; beyond, hover only
LABELS_UP_TO = 48      # axes name every token up to this many; beyond, every TICK_EVERY-th position
TICK_EVERY = 10
SUBTITLE_CHARS = 100   # a heatmap's subtitle wraps at this many characters: ~600 px, inside an 800 px page
SUBTITLE_LINE = 19     # pixels a line of it takes
TITLE_PAD = 56         # the title starts this far down, below the gr.Plot label over the figure's top left
THUMBNAIL = 64         # pixels per model-view thumbnail
PICTURE_SIDE = 336     # images are enlarged to at least this, nearest neighbour, so patches stay crisp
HEAT_MAP = "Viridis"   # the ViT maps: perceptually even, readable in grey, unlike Jet
BAR_HEIGHT = 14        # their colour bar, in pixels
PATCH_NUMBER_FONT = 18
MASKED = "#e5e7eb"     # the plot background shows through NaN cells: masked (causal) entries


def axis_labels(tokens: list[str]) -> list[str]:
    """Tokens as unique category labels: plotly merges equal categories, so a repeated token ("the" twice) gets
    zero-width spaces appended, which keeps the label looking the same while giving it its own row."""
    seen: dict[str, int] = {}
    labels = []
    for t in tokens:
        labels.append(t + "\u200b" * seen.get(t, 0))
        seen[t] = seen.get(t, 0) + 1
    return labels


def long_input(n: int) -> bool:
    """Whether n tokens are too many to name on an axis (labels would shrink and plotly would drop every other)."""
    return n > LABELS_UP_TO


def token_axis(tokens: list[str]) -> tuple[list[str], dict]:
    """The category labels for `tokens` and the tick settings of an axis of them: every token named when they fit,
    else the position of every TICK_EVERY-th one (the labels, "12: bank", still name the token on hover)."""
    if not long_input(len(tokens)):
        return axis_labels(tokens), {}
    labels = [f"{i}: {t}" for i, t in enumerate(tokens)]  # the position makes each label unique
    return labels, {"tickmode": "array", "tickvals": labels[::TICK_EVERY],
                    "ticktext": [str(i) for i in range(0, len(tokens), TICK_EVERY)], "tickangle": 0}


def _square(fig: go.Figure, tokens: list[str], title: str, subtitle: str) -> go.Figure:
    """Lay out a token x token heatmap: keys named along the top, slanted, and the title with its subtitle pinned
    to the top of the figure, with the top margin made to hold both. Plotly centres a title in the top margin and
    never wraps it, so at 800 px the slanted labels of a fixed margin ran into the subtitle."""
    n = len(tokens)
    lines = textwrap.wrap(subtitle, SUBTITLE_CHARS)
    labels = [str(i) for i in range(0, n, TICK_EVERY)] if long_input(n) else tokens
    slant = 0 if long_input(n) else 60
    # the slanted labels' height: ~7 px a character at 12 px, times sin 60°, plus the ticks
    extent = int(max(len(t) for t in labels) * 7 * np.sin(np.radians(slant)) + 24)
    top = TITLE_PAD + 22 + SUBTITLE_LINE * len(lines) + extent
    side = int(np.clip(28 * n + 160, 420, 760)) + top - 120
    fig.update_layout(height=side, margin={"l": 90, "r": 20, "t": top, "b": 20},
                      title={"text": f"{title}<br><sup>{'<br>'.join(lines)}</sup>", "y": 1, "yref": "container",
                             "yanchor": "top", "pad": {"t": TITLE_PAD}})
    fig.update_yaxes(autorange="reversed", showgrid=False, title="query (row)")
    # The keys are named in the subtitle: a top axis title collides with the slanted labels or the subtitle.
    fig.update_xaxes(side="top", tickangle=-slant)
    if long_input(n):
        ticks = token_axis(tokens)[1]  # the tick values are category labels, "10: bank", so they need the tokens
        fig.update_xaxes(**ticks)
        fig.update_yaxes(**ticks, title="query (row): position")
    return fig


def token_heatmap(a: np.ndarray, tokens: list[str], title: str, allowed: np.ndarray | None = None,
                  note: str = "") -> go.Figure:
    """One [n, n] attention matrix; row i is what token i takes from every token. Masked cells are grey."""
    z = np.where(allowed, a, np.nan) if allowed is not None else a
    peak = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    labels = token_axis(tokens)[0]
    n = len(tokens)
    fig = render.figure()
    fig.add_trace(go.Heatmap(z=z, x=labels, y=labels, colorscale="Viridis", zmin=0, zmax=peak,
                             texttemplate="%{z:.2f}" if n <= NUMBERS_UP_TO else None,
                             colorbar={"title": "weight", "thickness": 12},
                             hovertemplate="query %{y} → key %{x}<br>weight %{z:.6f}<extra></extra>"))
    fig.update_layout(plot_bgcolor=MASKED)
    return _square(fig, tokens, title, f"Rows: queries; columns: the keys they read. {note}Colour: Viridis from 0 "
                   f"to the largest weight shown ({peak:.3g})."
                   f"{' Grey: masked, a key after its query.' if allowed is not None else ''}")


def model_view(attentions: np.ndarray, hidden: np.ndarray | None = None) -> render.Grid:
    """Every head of every layer as a thumbnail (rows: layers, columns: heads), each coloured from 0 to its own
    largest weight. The returned Grid maps a click back to layer·heads + head."""
    layers, heads = attentions.shape[:2]
    tiles, labels = [], []
    for layer in range(layers):
        for head in range(heads):
            a = attentions[layer, head].astype(np.float64)
            if hidden is not None:
                a = hide_tokens(a, hidden)
            peak = a.max(initial=0.0)
            tiles.append(Image.fromarray(render.apply_colormap(a / peak if peak > 0 else a, "Viridis")))
            labels.append(f"L{layer} H{head}")
    cell = max(THUMBNAIL, min(attentions.shape[-1], 96))
    sheet = render.grid(tiles, labels, columns=heads, cell=cell, pad=render.PAD, label_height=render.LABEL_HEIGHT)
    lines = [f"{layers} layers (rows) x {heads} heads (columns); click a thumbnail to open it.",
             "Each thumbnail is coloured from 0 to its own largest weight"
             + (", special tokens hidden and rows renormalised." if hidden is not None and hidden.any() else ".")]
    image, top = render.with_header(sheet, lines, "Viridis", "0", "each head's own max")
    return render.Grid(image, list(range(layers * heads)), heads, cell, top, lines[1], (0.0, 1.0))


def focus_figure(a: np.ndarray, tokens: list[str], i: int, where: str) -> go.Figure:
    """What token i attends to (row i, a distribution) and what attends to it (column i, one weight per query)."""
    labels = axis_labels(tokens)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.18,
                        subplot_titles=(f"what {tokens[i]!r} attends to (row {i}; sums to {a[i].sum():.4f})",
                                        f"what attends to {tokens[i]!r} (column {i}; each query's weight on it)"))
    fig.add_trace(go.Bar(x=a[i], y=labels, orientation="h", marker_color="#2563eb",
                         hovertemplate="key %{y}: %{x:.6f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=a[:, i], y=labels, orientation="h", marker_color="#dc2626",
                         hovertemplate="query %{y}: %{x:.6f}<extra></extra>"), 1, 2)
    fig.update_layout(template=render.THEME, showlegend=False, height=int(np.clip(22 * len(tokens) + 140, 300, 900)),
                      title=f"Token focus: {tokens[i]!r} (position {i}), {where}")
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    fig.update_xaxes(title="weight", rangemode="tozero")
    return fig


def entropy_figure(entropy: np.ndarray, n: int) -> go.Figure:
    """[layers, heads] mean row entropy in bits; dark = focused, bright = diffuse; log2(n) is uniform."""
    layers, heads = entropy.shape
    fig = render.figure(f"Head entropy: mean over rows of −Σ p log₂ p (bits)<br><sup>0 = every query on one key; "
                        f"log₂ {n} = {np.log2(n):.2f} = uniform. Colour: Viridis from 0 to {np.log2(n):.2f}.</sup>")
    fig.add_trace(go.Heatmap(z=entropy, x=[f"H{h}" for h in range(heads)], y=[f"L{layer}" for layer in range(layers)],
                             colorscale="Viridis", zmin=0, zmax=float(np.log2(max(n, 2))),
                             texttemplate="%{z:.2f}", colorbar={"title": "bits", "thickness": 12},
                             hovertemplate="layer %{y}, head %{x}: %{z:.4f} bits<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False, title="layer")
    fig.update_xaxes(title="head", side="top")
    fig.update_layout(height=int(np.clip(34 * layers + 160, 300, 700)))
    return fig


def scores_figure(scores: np.ndarray, weights: np.ndarray, tokens: list[str], title: str) -> go.Figure:
    """The pre-softmax scores (blue-white-red around 0), the weights softmax makes of them, and each row's sum."""
    labels, ticks = token_axis(tokens)
    finite = np.where(np.isfinite(scores), scores, np.nan)
    peak = float(np.nanmax(np.abs(finite))) if np.isfinite(finite).any() else 1.0
    sums = weights.sum(axis=-1, keepdims=True)
    small = len(tokens) <= NUMBERS_UP_TO
    fig = make_subplots(rows=1, cols=3, column_widths=[0.44, 0.44, 0.12], horizontal_spacing=0.06,
                        subplot_titles=("scores (pre-softmax)", "weights = softmax(scores / T)", "row sum"))
    fig.add_trace(go.Heatmap(z=finite, x=labels, y=labels, colorscale="RdBu_r", zmin=-peak, zmax=peak,
                             texttemplate="%{z:.1f}" if small else None, showscale=False,
                             hovertemplate="query %{y} → key %{x}<br>score %{z:.6g}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=np.where(np.isfinite(scores), weights, np.nan), x=labels, y=labels,
                             colorscale="Viridis", zmin=0, zmax=1, texttemplate="%{z:.2f}" if small else None,
                             # right of the row sums: between them it crowded the Σ column
                             colorbar={"title": "weight", "thickness": 12, "x": 1.02},
                             hovertemplate="query %{y} → key %{x}<br>weight %{z:.6f}<extra></extra>"), 1, 2)
    fig.add_trace(go.Heatmap(z=sums, x=["Σ"], y=labels, colorscale=[[0, "#f3f4f6"], [1, "#f3f4f6"]],
                             showscale=False, texttemplate="%{z:.6f}",
                             hovertemplate="row %{y}: Σ weights = %{z:.12f}<extra></extra>"), 1, 3)
    fig.update_layout(template=render.THEME, plot_bgcolor=MASKED, height=int(np.clip(28 * len(tokens) + 200, 460, 860)),
                      title={"text": f"{title}<br><sup>Scores: blue-white-red, symmetric around 0 (±{peak:.3g}). "
                                  "Weights: Viridis from 0 to 1. Grey: masked.</sup>",
                             # pinned to the top, so the subplot titles below it never reach it
                             "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 44}},  # below the Plot label
                      margin={"l": 90, "r": 70, "t": 230, "b": 20})
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_yaxes(showticklabels=False, col=2)
    fig.update_yaxes(showticklabels=False, col=3)
    fig.update_xaxes(side="top", tickangle=-60)
    fig.update_annotations(yshift=56)  # the subplot titles, above the rotated token labels
    if ticks:
        for col in (1, 2):
            fig.update_xaxes(**ticks, col=col)
        fig.update_yaxes(**ticks, col=1)
    return fig


# ---------------------------------------------------------------- images


def picture(seen: Image.Image) -> Image.Image:
    return render.upscale(seen.convert("RGB"), PICTURE_SIDE)


def _outline(img: Image.Image, grid: tuple[int, int], patch: int, colour: str = "#ffffff") -> None:
    h, w = grid
    r, c = divmod(patch, w)
    x0, y0 = c * img.width / w, r * img.height / h
    ImageDraw.Draw(img).rectangle([x0, y0, x0 + img.width / w - 1, y0 + img.height / h - 1], outline=colour, width=3)


def heat_overlay(seen: Image.Image, heat: np.ndarray, alpha: float, grid: tuple[int, int],
                 patch: int | None = None) -> Image.Image:
    """`heat` [h, w] over the picture, divided by its own maximum (Viridis: dark purple 0, yellow the maximum),
    drawn as square patches (nearest neighbour), with `patch` outlined, and a colour bar under the picture that
    gives the two ends in weights."""
    base = picture(seen)
    peak = float(heat.max(initial=0.0))
    unit = heat / peak if peak > 0 else heat
    cells = Image.fromarray(render.apply_colormap(np.clip(unit, 0, 1), HEAT_MAP))
    cells = cells.resize(base.size, Image.Resampling.NEAREST)
    out = Image.blend(base, cells, float(np.clip(alpha, 0, 1)))
    if patch is not None:
        _outline(out, grid, patch)
    return with_colour_bar(out, HEAT_MAP, "0", f"{peak:.3g}")


def with_colour_bar(img: Image.Image, cmap: str, low: str, high: str) -> Image.Image:
    """`img` above a colour bar as wide as it, its two ends labelled `low` and `high`: the bar is part of the
    picture, so it is never separated from it or drawn over it."""
    size = render.HEADER_FONT
    low_w, high_w = (int(render.font(size).getlength(t)) for t in (low, high))
    out = Image.new("RGB", (img.width, img.height + BAR_HEIGHT + 12), "white")
    out.paste(img, (0, 0))
    y = img.height + 6
    out.paste(render.colorbar(cmap, img.width - low_w - high_w - 16, BAR_HEIGHT), (low_w + 8, y))
    render.text(out, (2, y), low, size, "#374151")
    render.text(out, (img.width - high_w - 2, y), high, size, "#374151")
    return out


def patch_grid_picture(seen: Image.Image, grid: tuple[int, int], patch: int | None = None) -> Image.Image:
    """The picture cut into its patches, numbered in row-major order (the token order after CLS) when they fit,
    each number on a dark box so it reads on any pixel."""
    img = picture(seen)
    draw = ImageDraw.Draw(img)
    h, w = grid
    for r in range(1, h):
        draw.line([(0, r * img.height / h), (img.width, r * img.height / h)], fill="#f97316", width=1)
    for c in range(1, w):
        draw.line([(c * img.width / w, 0), (c * img.width / w, img.height)], fill="#f97316", width=1)
    if h * w <= 64:
        size = PATCH_NUMBER_FONT if img.width / w >= 40 else render.HEADER_FONT - 2
        for i in range(h * w):
            r, c = divmod(i, w)
            x, y = c * img.width / w + 2, r * img.height / h + 2
            right, bottom = render.font(size).getbbox(str(i))[2:]
            draw.rectangle([x, y, x + right + 5, y + bottom + 4], fill="#111827")
            render.text(img, (x + 3, y + 1), str(i), size, "#fdba74")
    if patch is not None:
        _outline(img, grid, patch, "#facc15")
    return img


# ---------------------------------------------------------------- head view (after BertViz's)

HEAD_VIEW_MIN_WEIGHT = 0.01  # lines fainter than this are left out: invisible anyway, and ~100 tokens x 12 heads
# At most this many lines, the strongest: 100 tokens of repeated text x 12 heads had 30,608 lines above 0.01, 4.4 MB
# of SVG that took 5 s from Run to painted in Chromium.
HEAD_VIEW_MAX_LINES = 6000
HEAD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#ad494a")  # D3's category10 (as BertViz) and two more


def head_colour(head: int) -> str:
    return HEAD_COLOURS[head % len(HEAD_COLOURS)]


@dataclass(frozen=True)
class HeadView:
    lines: np.ndarray    # [drawn, 3] int: (head, query, key) of each line, sorted
    weights: np.ndarray  # [drawn] each line's weight, its opacity
    drawn: int   # lines drawn
    total: int   # weights of the chosen heads, n² per head
    floor: float  # the weight below which lines are left out: min_weight, or higher when the line cap bites


def head_view(layer: np.ndarray, heads: list[int], allowed: np.ndarray | None = None,
              min_weight: float = HEAD_VIEW_MIN_WEIGHT, max_lines: int = HEAD_VIEW_MAX_LINES) -> HeadView:
    """The lines of one layer's attention as BertViz's head view draws it: the attending tokens on the left, the
    attended ones on the right, one line per (head, query, key) whose stroke opacity is the weight, one colour per
    head (the browser draws them: explorers/attention/head_view.js). `layer` is [heads, n, n]; masked (causal)
    entries are never drawn. Lines below min_weight are left out, and beyond max_lines only the strongest are
    kept."""
    chosen = np.asarray(heads, dtype=int)
    a = layer[chosen].astype(np.float64)                     # [len(heads), n, n]
    keep = a >= min_weight
    if allowed is not None:
        keep &= allowed
    hs, qs, ks = np.nonzero(keep)                            # in (head, query, key) order
    floor = min_weight
    if len(hs) > max_lines:  # the strongest max_lines; the weakest one kept is the new floor
        order = np.sort(np.argsort(-a[hs, qs, ks], kind="stable")[:max_lines])
        hs, qs, ks = hs[order], qs[order], ks[order]
        floor = float(a[hs, qs, ks].min())
    lines = np.stack([chosen[hs], qs, ks], axis=1) if len(hs) else np.zeros((0, 3), dtype=int)
    return HeadView(lines, a[hs, qs, ks], len(hs), len(heads) * a.shape[-1] ** 2, floor)
