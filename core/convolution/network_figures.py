"""Pictures of a CNN's insides: feature-map grids whose colour scale is stated on the figure, the learned kernels
on one shared scale, a layer-overview strip, one channel beside its kernel and the input, and one cell's arithmetic.

Colours: a layer with negative values (a conv output before its ReLU) uses the diverging RdBu_r scale centred
on 0; a non-negative layer uses Viridis from 0. Normalisation only decides what the strongest colour stands
for: each map's own largest |value| ("map"), the layer's ("layer"), or the whole network's ("global").
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

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


TILE_LABELS = ("#{c} m={m:.2g}", "#{c} {m:.2g}", "#{c} {m:.2f}", "#{c} {m:.1f}", "#{c}")


def tile_labels(channels: list[int], means: np.ndarray, cell: int) -> list[str]:
    """"#channel m=mean" under tiles `cell` px wide (render.grid keeps cell // LABEL_CHAR characters), in the first
    of TILE_LABELS's forms in which every label of the grid fits: one form for the whole grid, and never a number
    cut short ("#116 m=-0.")."""
    room = cell // render.LABEL_CHAR
    for form in TILE_LABELS:
        labels = [form.format(c=c, m=means[c]) for c in channels]
        if all(len(label) <= room for label in labels):
            return labels
    return [f"#{c}" for c in channels]


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
    sheet = render.grid(tiles, tile_labels(channels, means, cell), columns=columns, cell=cell,
                        pad=render.PAD, label_height=render.LABEL_HEIGHT)
    if normalize == "map":
        # ASCII '-': the PIL font of the header has no U+2212 minus sign
        low, high = ("-(its max |x|)", "+(its max |x|)") if signed else ("0", "each map's own max")
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
    lines = [f"{layer}: {c}x{h}x{w}. {what}. Label: #channel, then its mean activation.",
             f"Colour {NORMALIZE[normalize]}."]
    image, top = render.with_header(sheet, lines, cmap, low, high)
    return render.Grid(image, list(channels), columns, cell, top, note, value_range)


def kernel_panels(weights: np.ndarray, channels: list[int], conv_name: str) -> render.Panels:
    """The filters of `conv_name` for `channels`, eight to a row, each titled with its channel number, on one colour
    scale shared by all of them.

    Three input channels are drawn in colour (each of R, G, B signed around mid-grey, the pointer reads the three
    weights); one input channel is a signed heatmap; more become the L2 norm over input channels at each kernel
    position."""
    n, c_in, kh, kw = weights.shape
    w = weights[channels]
    columns = min(8, len(channels))
    if c_in == 3:
        peak = float(np.abs(w).max(initial=0.0)) or 1.0
        panels = tuple(render.Panel(f"#{ch}", f.transpose(1, 2, 0), None, -peak, peak, "R, G, B weights")
                       for ch, f in zip(channels, w, strict=True))
        return render.Panels(f"{conv_name}: {len(channels)} of {n} filters, RGB, 3×{kh}×{kw} each",
                             f"each of R, G, B: −{peak:.3g} dark, 0 mid-grey, +{peak:.3g} bright", panels, columns)
    tiles = w[:, 0] if c_in == 1 else np.sqrt((w ** 2).sum(axis=1))
    signed = c_in == 1
    peak = float(np.abs(tiles).max(initial=0.0)) or 1.0
    cmap, lo, name = ("RdBu_r", -peak, "weight") if signed else ("Viridis", 0.0, "‖w‖₂")
    what = (f"weights, one input channel, {kh}×{kw}" if signed else
            f"‖w‖₂ over the {c_in} input channels at each of the {kh}×{kw} positions")
    panels = tuple(render.Panel(f"#{ch}", t, cmap, lo, peak, name) for ch, t in zip(channels, tiles, strict=True))
    return render.Panels(f"{conv_name}: {len(channels)} of {n} filters, one shared scale", what, panels, columns,
                         (render.Scale(cmap, lo, peak, name),))


STRIP_COLUMNS, STRIP_PX, STRIP_SLOT_W, STRIP_TEXT_H = 8, 112, 152, 4 * 14  # layer_strip's layout
STRIP_LEGEND = ["Colour: each map scaled to its own largest |value|. Click a layer to open its feature maps.",
                "signed maps (conv outputs, before the ReLU):", "non-negative maps (after a ReLU or pool):"]
STRIP_TOP = render.PAD + 3 * 20 + render.PAD  # the legend's height: three lines of 20 px


def _bars(sheet: Image.Image, x0: int, y0: int, labels: list[str], values: np.ndarray, signed: bool) -> None:
    """One row per class in a STRIP_PX-tall slot: its label, then a bar; signed bars (logits) leave a zero line in the
    middle, blue to the left, red to the right; unsigned bars (probabilities from 0 to 1) grow from the left. The
    largest value's row is in bold colour."""
    row_h = STRIP_PX // max(len(values), 1)
    label_w, bar_w = 64, STRIP_SLOT_W - 64 - 2 * render.PAD
    peak = float(np.abs(values).max(initial=0.0)) or 1.0
    draw = ImageDraw.Draw(sheet)
    zero = x0 + label_w + (bar_w // 2 if signed else 0)
    top = int(np.argmax(values))
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = y0 + i * row_h
        render.text(sheet, (x0, y), label[:11], 10, "#111827" if i == top else "#6b7280")
        length = (bar_w // 2) * v / peak if signed else bar_w * v
        colour = ("#dc2626" if v >= 0 else "#2563eb") if signed else ("#16a34a" if i == top else "#9ca3af")
        draw.rectangle((min(zero, zero + length), y + 2, max(zero, zero + length), y + row_h - 2), fill=colour)
    if signed:
        draw.line((zero, y0, zero, y0 + row_h * len(values)), fill="#111827")


def _head_slots(h) -> list[tuple[str, object]]:
    """The classifier's and the softmax's slots, (label lines, drawer) each."""
    shown = f"top {len(h.labels)} of {h.classes}" if h.classes > len(h.labels) else f"all {h.classes} classes"
    best = int(np.argmax(h.probs))
    return [
        (f"{h.name} (Linear)\n{h.in_features} -> {h.classes} logits\n{h.params:,} params\n{shown}",
         lambda sheet, x, y: _bars(sheet, x, y, h.labels, h.logits, True)),
        (f"softmax\nprobabilities\n0 params\n{h.labels[best][:12]} {h.probs[best]:.2f}",
         lambda sheet, x, y: _bars(sheet, x, y, h.labels, h.probs, False)),
    ]


def layer_strip(reps: list[tuple[str, np.ndarray]], head=None, min_px: int = 20) -> Image.Image:
    """One map per layer, (label lines, map) each, drawn at a size proportional to the map's height so
    that shrinking space shows, under a legend of its two colour scales; labels carry CxHxW (PIL's default
    font has no ×) and the parameter count. Then, given the model's `head` (core.convolution.features.Head), the
    classifier's logits and the softmax's probabilities as bars, one per class, as CNN Explainer ends its network."""
    header = render.font()
    largest = max(m.shape[0] for _, m in reps)
    extra = [] if head is None else _head_slots(head)
    slots = len(reps) + len(extra)
    rows = -(-slots // STRIP_COLUMNS)
    sheet = Image.new("RGB", (max(min(STRIP_COLUMNS, slots) * STRIP_SLOT_W + render.PAD, 620),
                              STRIP_TOP + rows * (STRIP_PX + STRIP_TEXT_H + render.PAD) + render.PAD), "white")
    render.text(sheet, (render.PAD + 2, render.PAD), STRIP_LEGEND[0])
    for i, (text, cmap, low, high) in enumerate(((STRIP_LEGEND[1], "RdBu_r", "-max", "+max"),
                                                 (STRIP_LEGEND[2], "Viridis", "0", "max"))):
        y = render.PAD + 20 * (i + 1)
        render.text(sheet, (render.PAD + 2, y), text, fill="#374151")
        x = render.PAD + 8 + int(header.getlength(STRIP_LEGEND[1]))
        render.text(sheet, (x, y), low, fill="#374151")
        x += 6 + int(header.getlength("+max"))
        sheet.paste(render.colorbar(cmap, 160), (x, y + 2))
        render.text(sheet, (x + 166, y), high, fill="#374151")
    for i, (label, m) in enumerate(reps):
        px = max(min_px, round(STRIP_PX * m.shape[0] / largest))
        cmap, signed = scale(m)
        peak = float(np.abs(m).max(initial=0.0))
        tile = Image.fromarray(render.apply_colormap(unit(m, peak, signed), cmap)).resize(
            (px, px), Image.Resampling.NEAREST)
        x0, y0 = _slot_origin(i)
        sheet.paste(tile, (x0 + (STRIP_PX - px) // 2, y0 + STRIP_PX - px))
        _slot_label(sheet, x0, y0, label)
    for i, (label, draw) in enumerate(extra, start=len(reps)):
        x0, y0 = _slot_origin(i)
        draw(sheet, x0, y0)
        _slot_label(sheet, x0, y0, label)
    return sheet


def _slot_origin(i: int) -> tuple[int, int]:
    r, c = divmod(i, STRIP_COLUMNS)
    return render.PAD + c * STRIP_SLOT_W, STRIP_TOP + r * (STRIP_PX + STRIP_TEXT_H + render.PAD)


def _slot_label(sheet: Image.Image, x0: int, y0: int, label: str) -> None:
    for j, line in enumerate(label.split("\n")):
        render.text(sheet, (x0, y0 + STRIP_PX + 2 + j * 13), line, 11, "#111827" if j == 0 else "#4b5563")


def strip_at(n: int, x: float, y: float) -> int | None:
    """The index of the layer whose slot (map and label) holds pixel (x, y) of layer_strip's picture, or None."""
    col, _dx = divmod(int(x) - render.PAD, STRIP_SLOT_W)
    row, dy = divmod(int(y) - STRIP_TOP, STRIP_PX + STRIP_TEXT_H + render.PAD)
    if x < render.PAD or y < STRIP_TOP or col >= STRIP_COLUMNS or dy >= STRIP_PX + STRIP_TEXT_H:
        return None
    i = row * STRIP_COLUMNS + col
    return i if i < n else None


def channel_panels(seen: np.ndarray, kernel: np.ndarray | None, fmap: np.ndarray, channel: int, layer: str,
                   conv_name: str | None) -> render.Panels:
    """The input the model sees, the channel's kernel (each input channel, at most 8), and the map, enlarged.
    The kernel panels' titles are short ("in 3": input channel 3) so that eight fit side by side; the figure's
    title says whose kernel it is."""
    k_panels = [] if kernel is None else list(kernel[:8])
    seen_panel = (render.Panel("input", seen, None, 0.0, 255.0, "R, G, B", span=3) if seen.ndim == 3 else
                  render.Panel("input", seen, "gray", 0.0, 255.0, "pixel", span=3))
    peak = (float(np.abs(kernel).max(initial=0.0)) or 1.0) if kernel is not None else 1.0
    cmap, signed = scale(fmap)
    m_peak = float(np.abs(fmap).max(initial=0.0)) or 1.0
    m_lo = -m_peak if signed else 0.0
    panels = (seen_panel, *[render.Panel(f"in {i}", k, "RdBu_r", -peak, peak, "w") for i, k in enumerate(k_panels)],
              render.Panel(f"{layer} #{channel}", fmap, cmap, m_lo, m_peak, "activation", span=3))
    scales = ((render.Scale("RdBu_r", -peak, peak, "weight"),) if k_panels else ()) + \
        (render.Scale(cmap, m_lo, m_peak, "activation"),)
    if kernel is None:
        return render.Panels(f"{layer} channel {channel}: no convolution feeds it", "", panels, 0, scales)
    shown = f"first {len(k_panels)} of {kernel.shape[0]}" if kernel.shape[0] > len(k_panels) else "all"
    return render.Panels(f"{layer} channel {channel} and its kernel {conv_name}[{channel}]",
                         f"one {kernel.shape[1]}×{kernel.shape[2]} slice per input channel ({shown}), one "
                         "blue-white-red scale", panels, 0, scales)


CELL_PANELS = 6  # input channels drawn in the cell's figure: the ones with the largest |kernel·window|


def cell_panels(cell, conv_name: str | None) -> render.Panels:
    """The arithmetic of one cell: for a conv, the input window (top row) and the kernel (bottom row) of the input
    channels that weigh most (the numbers written in when the kernel is small enough to read); for a pool or an
    activation, the window it reads."""
    if cell.kernel is None:
        shown = [0]
        titles = [f"window of input channel {cell.channel}"]
    else:
        shown = sorted(np.argsort(-np.abs(cell.terms), kind="stable")[:CELL_PANELS].tolist())
        titles = [f"in {cell.input_channels[i]}: Σ = {cell.terms[i]:+.3g}" for i in shown]
    kh, kw = cell.window.shape[1:]
    numbers = kh * kw <= 25
    w_peak = float(np.abs(cell.window[np.isfinite(cell.window)]).max(initial=0.0)) or 1.0
    # -inf (a max pool's padding) is drawn as masked
    windows = [render.Panel(title, np.where(np.isfinite(cell.window[i]), cell.window[i], np.nan), "RdBu_r",
                            -w_peak, w_peak, "input", numbers) for title, i in zip(titles, shown, strict=True)]
    scales = [render.Scale("RdBu_r", -w_peak, w_peak, "input")]
    kernels = []
    if cell.kernel is not None:
        k_peak = float(np.abs(cell.kernel[shown]).max(initial=0.0)) or 1.0
        kernels = [render.Panel(f"kernel, in {cell.input_channels[i]}", cell.kernel[i], "PuOr_r", -k_peak, k_peak,
                                "weight", numbers) for i in shown]
        scales.append(render.Scale("PuOr_r", -k_peak, k_peak, "weight"))
    what = {"conv": f"top: the input window; bottom: the kernel of {conv_name}[{cell.channel}]",
            "conv block": f"top: the input window; bottom: the kernel of {conv_name}[{cell.channel}]",
            "max pool": "the window the max is taken over",
            "average pool": "the window that is averaged",
            "relu": "the value ReLU reads", "activation": "the value the activation reads"}[cell.operation]
    return render.Panels(f"{cell.layer}[{cell.channel}, {cell.row}, {cell.col}]", what, (*windows, *kernels),
                         len(shown), tuple(scales))
