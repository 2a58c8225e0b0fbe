"""Pictures of a CNN's insides: feature-map grids whose colour scale is stated on the figure, the learned kernels
on one shared scale, a layer-overview strip, one channel beside its kernel and the input, and the prediction bars.

Colours: a layer with negative values (a conv output before its ReLU) uses the diverging RdBu_r scale centred
on 0; a non-negative layer uses Viridis from 0. Normalisation only decides what the strongest colour stands
for: each map's own largest |value| ("map"), the layer's ("layer"), or the whole network's ("global").
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from core import render
from core.validate import echo

NORMALIZE = {
    "map": "per map: each map scaled to its own largest |value|",
    "layer": "per layer: one scale for every channel of this layer",
    "global": "global: one scale for every layer of the network, for this input",
}


def scale(values: np.ndarray) -> tuple[str, bool]:
    """(colour scale, signed?) for a layer: signed data is diverging around 0, non-negative data starts at 0."""
    signed = bool(np.min(values) < 0)
    return ("RdBu_r" if signed else "Viridis"), signed


def unit(a: np.ndarray, peak: float, signed: bool) -> np.ndarray:
    """Values to [0, 1] for the colour map: 0 maps to the middle (signed) or the bottom (non-negative)."""
    if peak <= 0:
        return np.full_like(a, 0.5 if signed else 0.0, dtype=np.float64)
    return np.clip(0.5 + 0.5 * a / peak if signed else a / peak, 0, 1)


def fmt(v: float) -> str:
    return f"{v:.3g}"


def feature_grid(maps: np.ndarray, channels: list[int], means: np.ndarray, layer: str, normalize: str,
                 global_peak: float, what: str) -> render.Grid:
    """Tiles of maps[c] for c in `channels`, coloured by `normalize`; `what` says how the channels were chosen."""
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE)}, not {echo(normalize)}.")
    cmap, signed = scale(maps)
    layer_peak = float(np.abs(maps).max(initial=0.0))
    peaks = {"layer": layer_peak, "global": global_peak}
    tiles = []
    for c in channels:
        peak = float(np.abs(maps[c]).max(initial=0.0)) if normalize == "map" else peaks[normalize]
        tiles.append(Image.fromarray(render.apply_colormap(unit(maps[c], peak, signed), cmap)))
    columns = 8 if len(channels) <= 32 else 16
    cell = int(np.clip(96 if len(channels) <= 32 else 64, maps.shape[1], 160))
    sheet = render.grid(tiles, [f"#{c} m={means[c]:.2g}" for c in channels], columns=columns, cell=cell,
                        pad=render.PAD, label_height=render.LABEL_HEIGHT)
    if normalize == "map":
        low, high = ("−(its max |x|)", "+(its max |x|)") if signed else ("0", "each map's own max")
        value_range = (-1.0, 1.0) if signed else (0.0, 1.0)
    else:
        peak = peaks[normalize]
        value_range = (-peak, peak) if signed else (0.0, peak)
        low, high = fmt(value_range[0]), fmt(value_range[1])
    colours = ("Diverging RdBu: blue negative, white 0, red positive" if signed
               else "Viridis: dark purple 0, yellow strongest")
    note = (f"Colour {NORMALIZE[normalize]}. {colours}; "
            f"scale {low} to {high}.")
    c, h, w = maps.shape
    lines = [f"{layer}: {c}x{h}x{w}. {what}. Label: #channel m=mean activation.",
             f"Colour {NORMALIZE[normalize]}."]
    image, top = render.with_header(sheet, lines, cmap, low, high)
    return render.Grid(image, list(channels), columns, cell, top, note, value_range)


def kernel_figure(weights: np.ndarray, channels: list[int], conv_name: str) -> go.Figure:
    """The filters of `conv_name` for `channels`, tiled, on one colour scale shared by all of them.

    Three input channels are drawn in colour (each of R, G, B signed around mid-grey); one input channel is a
    signed heatmap; more become the L2 norm over input channels at each kernel position."""
    n, c_in, kh, kw = weights.shape
    w = weights[channels]
    columns = min(8, len(channels))
    rows = -(-len(channels) // columns)
    gap = 1
    if c_in == 3:
        peak = float(np.abs(w).max(initial=0.0)) or 1.0
        canvas = np.full((rows * (kh + gap), columns * (kw + gap), 3), 255, dtype=np.uint8)
        for i, f in enumerate(w):
            r, col = divmod(i, columns)
            rgb = np.round((0.5 + 0.5 * f.transpose(1, 2, 0) / peak) * 255).astype(np.uint8)
            canvas[r * (kh + gap):r * (kh + gap) + kh, col * (kw + gap):col * (kw + gap) + kw] = rgb
        fig = render.figure(f"{conv_name}: {len(channels)} of {n} filters, RGB, 3×{kh}×{kw} each; "
                            f"each of R, G, B: −{peak:.3g} dark, 0 mid-grey, +{peak:.3g} bright")
        fig.add_trace(go.Image(z=canvas, hoverinfo="skip"))
    else:
        tiles = w[:, 0] if c_in == 1 else np.sqrt((w ** 2).sum(axis=1))
        signed = c_in == 1
        peak = float(np.abs(tiles).max(initial=0.0)) or 1.0
        canvas = np.full((rows * (kh + gap), columns * (kw + gap)), np.nan)
        labels = np.full(canvas.shape, "", dtype=object)
        for i, (ch, t) in enumerate(zip(channels, tiles, strict=True)):
            r, col = divmod(i, columns)
            canvas[r * (kh + gap):r * (kh + gap) + kh, col * (kw + gap):col * (kw + gap) + kw] = t
            labels[r * (kh + gap):r * (kh + gap) + kh, col * (kw + gap):col * (kw + gap) + kw] = f"filter {ch}"
        what = (f"weights, one input channel, {kh}×{kw}" if signed else
                f"‖w‖₂ over the {c_in} input channels at each of the {kh}×{kw} positions")
        fig = render.figure(f"{conv_name}: {len(channels)} of {n} filters; {what}; one shared scale")
        fig.add_trace(go.Heatmap(z=canvas, customdata=labels, colorscale="RdBu_r" if signed else "Viridis",
                                 zmin=-peak if signed else 0, zmax=peak, xgap=0, ygap=0,
                                 colorbar=dict(title="weight" if signed else "‖w‖₂", thickness=12),
                                 hovertemplate="%{customdata}: %{z:.4g}<extra></extra>"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=int(np.clip(120 + rows * 60, 220, 620)), margin=dict(l=8, r=8, t=48, b=8))
    return fig


def layer_strip(reps: list[tuple[str, np.ndarray]], columns: int = 8, max_px: int = 112,
                min_px: int = 20) -> Image.Image:
    """One map per layer, (label lines, map) each, drawn at a size proportional to the map's height so
    that shrinking space shows; labels carry CxHxW (PIL's default font has no ×) and the parameter count."""
    font = render.font(11)
    largest = max(m.shape[0] for _, m in reps)
    slot_w, text_h = max_px + 40, 4 * 14
    rows = -(-len(reps) // columns)
    sheet = Image.new("RGB", (min(columns, len(reps)) * slot_w + render.PAD,
                              rows * (max_px + text_h + render.PAD) + render.PAD), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, m) in enumerate(reps):
        r, c = divmod(i, columns)
        px = max(min_px, round(max_px * m.shape[0] / largest))
        cmap, signed = scale(m)
        peak = float(np.abs(m).max(initial=0.0))
        tile = Image.fromarray(render.apply_colormap(unit(m, peak, signed), cmap)).resize(
            (px, px), Image.Resampling.NEAREST)
        x0, y0 = render.PAD + c * slot_w, render.PAD + r * (max_px + text_h + render.PAD)
        sheet.paste(tile, (x0 + (max_px - px) // 2, y0 + max_px - px))
        for j, line in enumerate(label.split("\n")):
            draw.text((x0, y0 + max_px + 2 + j * 13), line, fill="#111827" if j == 0 else "#4b5563", font=font)
    return sheet


def channel_figure(seen: np.ndarray, kernel: np.ndarray | None, fmap: np.ndarray, channel: int, layer: str,
                   conv_name: str | None) -> go.Figure:
    """The input the model sees, the channel's kernel (each input channel, at most 8), and the map, enlarged."""
    k_panels = [] if kernel is None else list(kernel[:8])
    titles = ["input the model sees", *[f"kernel {conv_name}[{channel}, {i}]" for i in range(len(k_panels))],
              f"{layer} channel {channel}"]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.03,
                        column_widths=[3] + [1] * len(k_panels) + [3])
    if seen.ndim == 3:
        fig.add_trace(go.Image(z=seen, hoverinfo="skip"), row=1, col=1)
    else:
        fig.add_trace(go.Heatmap(z=seen, colorscale="gray", showscale=False,
                                 hovertemplate="(%{y}, %{x}): %{z}<extra></extra>"), row=1, col=1)
    peak = float(np.abs(kernel).max(initial=0.0)) if kernel is not None else 1.0
    for i, k in enumerate(k_panels, start=2):
        fig.add_trace(go.Heatmap(z=k, colorscale="RdBu_r", zmin=-peak, zmax=peak, showscale=False,
                                 hovertemplate="w[%{y}, %{x}] = %{z:.4g}<extra></extra>"), row=1, col=i)
    cmap, signed = scale(fmap)
    m_peak = float(np.abs(fmap).max(initial=0.0)) or 1.0
    fig.add_trace(go.Heatmap(z=fmap, colorscale=cmap, zmin=-m_peak if signed else 0, zmax=m_peak,
                             colorbar=dict(title="activation", thickness=12),
                             hovertemplate="(%{y}, %{x}): %{z:.4g}<extra></extra>"), row=1, col=len(titles))
    for col in range(1, len(titles) + 1):
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{col if col > 1 else ''}", visible=False, row=1,
                         col=col)
        fig.update_xaxes(visible=False, row=1, col=col)
    fig.update_layout(template=render.THEME, height=320, margin=dict(l=8, r=8, t=48, b=8))
    return fig


def prediction_figure(labels: list[str], probs: np.ndarray, base: np.ndarray, temperature: float,
                      top: int = 10) -> go.Figure:
    """The top classes at temperature T as bars, with the T = 1 probabilities as outlines behind them."""
    order = np.argsort(-probs, kind="stable")[:top][::-1]
    names = [labels[i] for i in order]
    fig = render.figure(f"top {len(order)} classes at T = {temperature:g} (outline: T = 1)", height=360,
                        barmode="overlay", margin=dict(l=140, r=24, t=48, b=40))
    fig.add_trace(go.Bar(y=names, x=base[order], orientation="h", name="T = 1",
                         marker=dict(color="rgba(0,0,0,0)", line=dict(color="#6b7280", width=1.5)),
                         hovertemplate="%{y}: %{x:.4f} at T = 1<extra></extra>"))
    fig.add_trace(go.Bar(y=names, x=probs[order], orientation="h", name=f"T = {temperature:g}",
                         marker_color="#2563eb", opacity=0.75,
                         hovertemplate=f"%{{y}}: %{{x:.4f}} at T = {temperature:g}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], title_text="probability")
    return fig
