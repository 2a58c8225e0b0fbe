"""Figures of the kernel playground: the output's value histogram, and matrices drawn as heatmaps side by side
(the padded input with its receptive field, the kernel, the products and the output; pooling's input and output),
every cell the same size so a 3x3 kernel looks as small next to a 9x9 input as it is."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import render
from core.convolution import conv

TEXT_MAX_SIDE = 16   # heatmap cells show their numbers up to this many per side; beyond that they are unreadable


def fmt(v: float) -> str:
    """A number as the UI shows it: at most 4 decimals, no trailing zeros, no "-0"."""
    return f"{round(float(v), 4) + 0.0:g}"


def histogram(out: np.ndarray) -> go.Figure:
    """Counts of output values in 64 shared bins, one trace per channel: outputs can be negative or exceed 1."""
    edges = np.histogram_bin_edges(out, bins=64)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    names, colours = (["R", "G", "B"], ["#dc2626", "#16a34a", "#2563eb"]) if out.shape[0] == 3 else (
        ["value"], ["#4b5563"])
    fig = render.figure(f"min {fmt(out.min())} · max {fmt(out.max())} · mean {fmt(out.mean())}",
                        barmode="overlay", height=260, showlegend=out.shape[0] == 3, bargap=0,
                        margin={"l": 48, "r": 16, "t": 40, "b": 36})
    for channel, name, colour in zip(out, names, colours, strict=True):
        counts, _ = np.histogram(channel, bins=edges)
        fig.add_trace(go.Bar(x=centres, y=counts, width=width, name=name, marker_color=colour, opacity=0.55,
                             hovertemplate=f"{name}: %{{y}} pixels near %{{x:.3g}}<extra></extra>"))
    if edges[0] < 0 < edges[-1]:
        fig.add_vline(x=0, line={"color": "#111827", "width": 1, "dash": "dot"})
    fig.update_xaxes(title_text="output value (input pixels in [0, 1])")
    fig.update_yaxes(title_text="pixels")
    return fig


def _matrix_trace(z: np.ndarray, colorscale: str, signed: bool) -> go.Heatmap:
    peak = float(np.abs(z).max(initial=0.0)) or 1.0
    zmin, zmax = (-peak, peak) if signed else (float(z.min()), float(z.max()))
    show_text = max(z.shape) <= TEXT_MAX_SIDE
    return go.Heatmap(z=z, colorscale=colorscale, zmin=zmin, zmax=zmax, showscale=False, xgap=1, ygap=1,
                      text=[[fmt(v) for v in row] for row in z] if show_text else None,
                      texttemplate="%{text}" if show_text else None, textfont={"size": 11},
                      hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>")


def _box(fig: go.Figure, col: int, top: float, left: float, bottom: float, right: float, colour: str,
         dash: str = "solid", width: float = 3) -> None:
    fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                  line={"color": colour, "width": width, "dash": dash}, row=1, col=col)


def matrix_figure(panels: list[tuple[np.ndarray, tuple[str, str], str, bool]]) -> go.Figure:
    """Matrices side by side as heatmaps, (matrix, title, colour scale, signed) each, row 0 at the top; a title is
    (what, size), drawn on two lines.

    Column widths and row heights are proportional to each matrix's shape, so every cell is drawn the same size
    and a 3x3 kernel looks as small next to a 9x9 input as it is. That leaves a 3x3 panel about 100 px wide, and a
    one-line title wider than that ran into its neighbour's ("kernel 3x3products at (1, 1)"): two short lines
    fit."""
    max_rows = max(z.shape[0] for z, *_ in panels)
    fig = make_subplots(rows=1, cols=len(panels), column_widths=[z.shape[1] for z, *_ in panels],
                        horizontal_spacing=0.04,
                        subplot_titles=[f"{what}<br>{size}" for _, (what, size), *_ in panels])
    for col, (z, _, colorscale, signed) in enumerate(panels, start=1):
        fig.add_trace(_matrix_trace(z, colorscale, signed), row=1, col=col)
        small = max(z.shape) <= TEXT_MAX_SIDE
        fig.update_yaxes(autorange="reversed", scaleanchor="x" if col == 1 else f"x{col}", constrain="domain",
                         domain=[1 - z.shape[0] / max_rows, 1], showgrid=False, dtick=1 if small else None,
                         row=1, col=col)
        fig.update_xaxes(side="top", constrain="domain", dtick=1 if small else None, row=1, col=col)
    fig.update_annotations(yshift=30, font={"size": 13})  # subplot titles above the column numbers, not on them
    fig.update_layout(template=render.THEME, height=int(np.clip(76 + 30 * max_rows, 276, 576)),
                      margin={"l": 24, "r": 24, "t": 100, "b": 8})
    return fig


def arithmetic_figure(a: conv.Arithmetic) -> go.Figure:
    """Padded input (receptive field in orange, the original input dotted blue), kernel, products and output."""
    g = a.geometry
    fig = matrix_figure([
        (a.padded, ("padded input", f"{a.padded.shape[0]}x{a.padded.shape[1]}"), "gray", False),
        (a.kernel, ("kernel", f"{g.k_h}x{g.k_w}"), "RdBu_r", True),
        (a.products, ("products", f"at ({a.row}, {a.col})"), "RdBu_r", True),
        (a.output, ("output", f"{g.out_h}x{g.out_w}"), "RdBu_r", True)])
    p = g.padding
    if p:
        _box(fig, 1, p, p, p + g.in_h - 1, p + g.in_w - 1, "#2563eb", dash="dot", width=2)
    field = a.receptive_field
    _box(fig, 1, field["top"], field["left"], field["bottom"], field["right"], "#f97316")
    if g.dilation > 1:  # the field has holes: mark the cells the kernel actually reads
        for r, c in a.taps.reshape(-1, 2):
            _box(fig, 1, r, c, r, c, "#f97316", width=1.5)
    _box(fig, 4, a.row, a.col, a.row, a.col, "#f97316")
    return fig


def pool_figure(x: np.ndarray, out: np.ndarray, g: conv.Geometry) -> go.Figure:
    fig = matrix_figure([(x, ("input", f"{x.shape[0]}x{x.shape[1]}"), "gray", False),
                         (out, ("output", f"{g.out_h}x{g.out_w}"), "gray", False)])
    _box(fig, 1, 0, 0, g.k_h - 1, g.k_w - 1, "#f97316")
    _box(fig, 2, 0, 0, 0, 0, "#f97316")
    return fig
