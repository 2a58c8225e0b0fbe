"""The 2-D view as a picture (PIL), for the stream of a run that trains: the same layers as figures.toy_figure
(D's heatmap with its colour bar, the manifold, G's gradient arrows, real and fake points) in the same colours and
box, drawn on the server.

Why not plotly while it plays: in the app's page, a plotly redraw of 600 points costs Chromium about 250 ms (each
marker is an SVG node whose style is matched against the page's whole stylesheet, and gradio redraws a streamed
plot twice, react then resize), so five pictures a second saturated the browser and fell behind. An image swap
costs it about a millisecond; drawing the picture here costs a few. When the run stops, the tab shows the
interactive plotly figure again.
"""
from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw
from plotly.colors import sample_colorscale

from core import render, toy2d
from core.gan import toy
from core.gan.figures import BCE, FAKE, HEAT_SCALE, LAYERS, LINES, REAL, arrow_lines, arrow_scale, heat_range

SIDE = 400                      # the box's side in pixels
LEFT, TOP, BOTTOM = 48, 28, 34  # margins for the tick labels and, above the colour bar, its title
BAR_GAP, BAR_WIDTH, BAR_TEXT = 14, 12, 60
WIDTH = LEFT + SIDE + BAR_GAP + BAR_WIDTH + BAR_TEXT
HEIGHT = TOP + SIDE + BOTTOM
TICKS = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
FONT_SIZE = 13                  # as the interactive figure's tick labels, so play and pause look alike
RADIUS = 2.5


@functools.lru_cache(maxsize=1)
def heat_lut() -> np.ndarray:
    """HEAT_SCALE sampled at 256 levels, uint8 RGB, as plotly interpolates it."""
    colours = sample_colorscale(HEAT_SCALE, np.linspace(0, 1, 256).tolist(), colortype="tuple")
    return np.clip(np.round(np.array(colours) * 255), 0, 255).astype(np.uint8)


def _pixels(xy: np.ndarray) -> np.ndarray:
    """Data coordinates [n, 2] as pixel coordinates of the box's canvas (y up in data, down in pixels)."""
    box = toy2d.BOX
    return np.stack([(xy[:, 0] + box) / (2 * box) * SIDE, (box - xy[:, 1]) / (2 * box) * SIDE], 1)


def _polyline(draw: ImageDraw.ImageDraw, xy: np.ndarray) -> None:
    """Lines through consecutive finite points; a NaN row breaks the line (as in plotly's traces)."""
    pixels = _pixels(xy).tolist()   # once for all points: the picture is redrawn five times a second
    finite = np.isfinite(xy).all(1)
    start = 0
    for stop in [*np.flatnonzero(~finite).tolist(), len(xy)]:
        if stop - start >= 2:
            draw.line(pixels[start:stop], fill=LINES, width=1)
        start = stop + 1


@functools.lru_cache(maxsize=1)
def _frame() -> Image.Image:
    """The box's outline, ticks and tick labels: the same in every picture, so drawn once (RGBA, to paste)."""
    frame = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(frame)
    draw.rectangle((LEFT - 1, TOP - 1, LEFT + SIDE, TOP + SIDE), outline="#d1d5db")
    font = render.font(FONT_SIZE)
    for t in TICKS:
        (px, py), = _pixels(np.array([[t, t]]))
        label = f"{t:g}"   # ASCII minus: PIL's default font has no U+2212 glyph
        draw.line((LEFT + px, TOP + SIDE, LEFT + px, TOP + SIDE + 4), fill="#9ca3af")
        draw.text((LEFT + px, TOP + SIDE + 6), label, fill="#374151", font=font, anchor="ma")
        draw.line((LEFT - 5, TOP + py, LEFT - 1, TOP + py), fill="#9ca3af")
        draw.text((LEFT - 8, TOP + py), label, fill="#374151", font=font, anchor="rm")
    return frame


def toy_image(v: toy.View, loss: str, layers: frozenset[str] = LAYERS) -> Image.Image:
    """The view as a WIDTH x HEIGHT RGB picture: the box [-BOX, BOX]^2 with ticks, and D's colour bar on the right
    (0 to 1 for the BCE losses, else the symmetric score range of figures.heat_range)."""
    if unknown := set(layers) - LAYERS:
        raise ValueError(f"Unknown layers {', '.join(sorted(unknown))}; choose from {', '.join(sorted(LAYERS))}.")
    lo, hi = heat_range(v.heat, loss)
    box = Image.new("RGB", (SIDE, SIDE), "white")
    if "heatmap" in layers:
        unit = np.clip((np.asarray(v.heat, dtype=np.float64) - lo) / (hi - lo), 0, 1)
        cells = Image.fromarray(heat_lut()[np.round(unit[::-1] * 255).astype(np.uint8)])   # row 0 is the top
        # the values sit at cell centres from -BOX to BOX: the centres of the first and last cells are the box's
        # edges (resize's box), as plotly draws a heatmap on those coordinates
        r = len(v.grid)
        box = cells.resize((SIDE, SIDE), Image.Resampling.BILINEAR, box=(0.5, 0.5, r - 0.5, r - 0.5))
    draw = ImageDraw.Draw(box)
    if "manifold" in layers:
        grid = np.asarray(v.manifold, dtype=np.float64)
        _polyline(draw, np.concatenate([grid, np.full((len(grid), 1, 2), np.nan)], 1).reshape(-1, 2))
    if "arrows" in layers:
        x, y = arrow_lines(v.fake, arrow_scale(v.arrows) * v.arrows)   # the plotly figure's shafts and barbs
        _polyline(draw, np.stack([x, y], 1).astype(np.float64))
    for name, points, colour in (("real", v.real, REAL), ("fake", v.fake, FAKE)):
        if name in layers:
            for px, py in _pixels(np.asarray(points, dtype=np.float64)):
                draw.ellipse((px - RADIUS, py - RADIUS, px + RADIUS, py + RADIUS), fill=colour)
    picture = Image.new("RGB", (WIDTH, HEIGHT), "white")
    picture.paste(box, (LEFT, TOP))
    picture.paste(_frame(), (0, 0), _frame())
    frame = ImageDraw.Draw(picture)
    font = render.font(FONT_SIZE)
    if "heatmap" in layers:
        bar_x = LEFT + SIDE + BAR_GAP
        bar = heat_lut()[np.linspace(255, 0, SIDE).round().astype(np.uint8)][:, None, :].repeat(BAR_WIDTH, 1)
        picture.paste(Image.fromarray(bar), (bar_x, TOP))
        for value, y in ((hi, TOP), ((lo + hi) / 2, TOP + SIDE / 2), (lo, TOP + SIDE)):
            frame.text((bar_x + BAR_WIDTH + 4, y), f"{value:.3g}", fill="#374151", font=font,
                       anchor="lm")
        frame.text((bar_x, TOP - 6), "D(x)" if loss in BCE else "D score", fill="#374151", font=font, anchor="ld")
    return picture

