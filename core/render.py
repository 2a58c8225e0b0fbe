"""Arrays to pictures: PIL images, labelled grids of tiles (with a header and a colour bar, and a click mapped back
to its tile), heatmap overlays, plotly figures in one lean theme, and PNG data URLs (how results carry pictures
inside JSON).

Colour maps come from plotly's named colour scales, so a PIL heatmap and a plotly figure of the same data use
the same colours. Every mapping from values to colours is explicit about what it normalises over.
"""
from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont
from plotly.colors import sample_colorscale

from core.arrays import to_numpy
from core.validate import echo

FONT = "Inter, system-ui, -apple-system, Segoe UI, sans-serif"
THEME = go.layout.Template(layout=go.Layout(
    font={"family": FONT, "size": 12, "color": "#1f2937"},
    paper_bgcolor="white", plot_bgcolor="white",
    margin={"l": 48, "r": 16, "t": 40, "b": 40},
    colorway=["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"],
    xaxis={"showgrid": False, "zeroline": False, "linecolor": "#d1d5db", "ticks": "outside", "tickcolor": "#d1d5db"},
    yaxis={"showgrid": True, "gridcolor": "#f3f4f6", "zeroline": False, "linecolor": "#d1d5db"},
    hoverlabel={"font": {"family": FONT}},
    title={"x": 0.02, "xanchor": "left", "font": {"size": 14}},
))

# How signed outputs become display values; the text is what the UI states next to the picture.
PAD, LABEL_HEIGHT = 4, 14  # grid() lays tiles out with these; tile_at() reads clicks back with the same numbers
LABEL_CHAR = 6  # px per character of grid()'s labels (PIL's default font): a label is cut to cell // LABEL_CHAR
HEADER_FONT = 13

DISPLAY_MODES = {
    "abs": "absolute value |x|, scaled so the largest |x| is white",
    "signed": "signed diverging: 0 is white, negative blue, positive red, symmetric around 0",
    "minmax": "min-max: the smallest value is black, the largest white",
}


def figure(title: str | None = None, **layout) -> go.Figure:
    """An empty figure in the Glassbox theme."""
    return go.Figure(layout=go.Layout(template=THEME, title=title, **layout))


@functools.lru_cache(maxsize=16)
def colormap(name: str | tuple) -> np.ndarray:
    """A 256x3 uint8 lookup table sampled from plotly's colour scale `name` (e.g. "Viridis", "RdBu_r"), or from a
    scale of one's own given as ((position, colour), ...) pairs (a tuple: the tables are cached)."""
    scale = name if isinstance(name, str) else [list(stop) for stop in name]
    colours = sample_colorscale(scale, np.linspace(0, 1, 256).tolist(), colortype="tuple")
    return np.clip(np.round(np.array(colours) * 255), 0, 255).astype(np.uint8)


def normalise(x, mode: str = "minmax") -> tuple[np.ndarray, tuple[float, float]]:
    """Map values to [0, 1] by one of DISPLAY_MODES; returns the mapped array and the value range it spans."""
    a = np.nan_to_num(to_numpy(x))
    if mode == "abs":
        peak = float(np.abs(a).max(initial=0.0))
        return (np.abs(a) / peak if peak > 0 else np.zeros_like(a)), (0.0, peak)
    if mode == "signed":
        peak = float(np.abs(a).max(initial=0.0))
        return (0.5 + 0.5 * a / peak if peak > 0 else np.full_like(a, 0.5)), (-peak, peak)
    if mode == "minmax":
        lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))
        return ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)), (lo, hi)
    raise ValueError(f"Unknown display mode {echo(mode)}; choose one of {', '.join(DISPLAY_MODES)}.")


def apply_colormap(unit: np.ndarray, name: str = "Viridis") -> np.ndarray:
    """[H, W] values in [0, 1] -> [H, W, 3] uint8 through `colormap(name)`."""
    idx = np.clip(np.round(np.nan_to_num(unit) * 255), 0, 255).astype(np.int64)
    return colormap(name)[idx]


def to_image(x, mode: str = "minmax", cmap: str | None = None) -> Image.Image:
    """A [H, W], [C, H, W] or [H, W, C] array or tensor as a PIL image.

    One channel becomes grayscale, or colour through `cmap`; "signed" always uses the blue-white-red RdBu_r scale.
    Three channels are normalised together (one range for R, G and B) so colours are not distorted.
    """
    a = to_numpy(x)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    unit, _ = normalise(a, mode)
    if a.ndim == 2 and (cmap or mode == "signed"):
        return Image.fromarray(apply_colormap(unit, "RdBu_r" if mode == "signed" else cmap))
    return Image.fromarray(np.round(unit * 255).astype(np.uint8))


def upscale(img: Image.Image, min_side: int = 224) -> Image.Image:
    """Enlarge small images by an integer factor with nearest neighbour, so pixels stay visible squares."""
    factor = max(1, -(-min_side // min(img.size)))
    return img if factor == 1 else img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def grid(images: list[Image.Image], labels: list[str] | None = None, columns: int = 8, cell: int = 96,
         pad: int = PAD, label_height: int = LABEL_HEIGHT) -> Image.Image:
    """Tile images into one picture, each scaled to `cell` pixels square, with an optional label under each."""
    if not images:
        raise ValueError("grid() needs at least one image")
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    lh = label_height if labels else 0
    sheet = Image.new("RGB", (columns * (cell + pad) + pad, rows * (cell + pad + lh) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        x, y = pad + c * (cell + pad), pad + r * (cell + pad + lh)
        sheet.paste(img.convert("RGB").resize((cell, cell), Image.Resampling.NEAREST), (x, y))
        if labels:
            draw.text((x + 2, y + cell + 1), str(labels[i])[: cell // LABEL_CHAR], fill="#374151")
    return sheet


def overlay(base: Image.Image, heat, alpha: float = 0.5, cmap: str = "Jet") -> Image.Image:
    """Blend a heatmap (values in [0, 1], any resolution) over `base`, upsampled bilinearly to its size."""
    alpha = float(np.clip(alpha, 0.0, 1.0))
    unit = np.clip(np.nan_to_num(to_numpy(heat)), 0.0, 1.0)
    heat_img = Image.fromarray(apply_colormap(unit, cmap)).resize(base.size, Image.Resampling.BILINEAR)
    return Image.blend(base.convert("RGB"), heat_img, alpha)


@dataclass(frozen=True)
class Grid:
    """A sheet of tiles under a header, and what is needed to read it and to map a click back to a tile."""
    image: Image.Image
    channels: list[int]   # what each tile shows, in order: a channel number, or a tile's own index
    columns: int
    cell: int
    top: int              # height of the header above the tiles
    colour_note: str      # the colour scale in words, with its numbers
    value_range: tuple[float, float]


@dataclass(frozen=True)
class Panel:
    """One heatmap of a Panels figure: values (h×w) through a colour map from lo to hi, or, when cmap is None, h×w×3
    values each of whose R, G and B goes from dark at lo to bright at hi. `name` is what the pointer's readout calls a
    value ("w", "activation"); `numbers` writes each value in its cell (small arrays only); `span` is its width
    relative to the others."""
    title: str
    z: np.ndarray
    cmap: str | None = None
    lo: float = 0.0
    hi: float = 1.0
    name: str = "value"
    numbers: bool = False
    span: float = 1.0


@dataclass(frozen=True)
class Scale:
    """A colour bar of a Panels figure: which colour map, its two ends and what it measures."""
    cmap: str
    lo: float
    hi: float
    label: str


@dataclass(frozen=True)
class Panels:
    """Heatmaps side by side under a title, `columns` to a row, with their colour bars: a figure the browser draws
    (explorers.widgets.panels), so a new one costs the page no plotly redraw. No panels: `title` is a message."""
    title: str
    subtitle: str = ""
    panels: tuple[Panel, ...] = ()
    columns: int = 0       # panels per row; 0: all in one row
    scales: tuple[Scale, ...] = ()


def font(size: int = HEADER_FONT) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=4096)
def _stamp(line: str, size: int) -> Image.Image:
    """One line of text in the default font as a mask: PIL takes ~0.4 ms to render a line, and a figure's labels
    (layer names, shapes, legends) mostly repeat from one input to the next."""
    f = font(size)
    _, _, right, bottom = f.getbbox(line)
    mask = Image.new("L", (max(1, int(right)), max(1, int(bottom))), 0)
    ImageDraw.Draw(mask).text((0, 0), line, fill=255, font=f)
    return mask


def text(sheet: Image.Image, xy: tuple[float, float], line: str, size: int = HEADER_FONT,
         fill: str = "#111827") -> None:
    """Draw one line of text on `sheet` at `xy`, as ImageDraw.text with font(size) would, from a cached stamp."""
    mask = _stamp(line, size)
    x, y = int(xy[0]), int(xy[1])
    sheet.paste(fill, (x, y, x + mask.width, y + mask.height), mask)


def colorbar(cmap: str, width: int, height: int = 12) -> Image.Image:
    row = apply_colormap(np.linspace(0, 1, width), cmap)
    return Image.fromarray(np.repeat(row[None], height, axis=0))


def with_header(sheet: Image.Image, lines: list[str], cmap: str | None, low: str, high: str) -> tuple[Image.Image, int]:
    """The sheet under a few lines of text and a labelled colour bar; returns the picture and the header height."""
    header_font = font()
    line_h = HEADER_FONT + 5
    bar_h = 30 if cmap else 0
    top = PAD + line_h * len(lines) + bar_h
    width = max(sheet.width, 420)
    out = Image.new("RGB", (width, top + sheet.height), "white")
    for i, line in enumerate(lines):
        text(out, (PAD + 2, PAD + i * line_h), line)
    draw = ImageDraw.Draw(out)
    if cmap:
        y = PAD + line_h * len(lines) + 2
        low_w = int(draw.textlength(low, font=header_font))
        out.paste(colorbar(cmap, 200), (PAD + 8 + low_w, y + 2))
        draw.text((PAD + 2, y), low, fill="#374151", font=header_font)
        draw.text((PAD + 14 + low_w + 200, y), high, fill="#374151", font=header_font)
    out.paste(sheet, (0, top))
    return out, top


def tile_at(grid: Grid, x: float, y: float) -> int | None:
    """What the tile under pixel (x, y) of grid.image shows, or None between tiles and in the header."""
    col, dx = divmod(int(x) - PAD, grid.cell + PAD)
    row, dy = divmod(int(y) - grid.top - PAD, grid.cell + PAD + LABEL_HEIGHT)
    if x < PAD or y < grid.top + PAD or col >= grid.columns or dx >= grid.cell or dy >= grid.cell + LABEL_HEIGHT:
        return None
    i = row * grid.columns + col
    return grid.channels[i] if i < len(grid.channels) else None


def tile_offset(grid: Grid, x: float, y: float) -> tuple[float, float] | None:
    """Where in its tile pixel (x, y) falls, as (down, across) fractions in [0, 1), or None off the tiles (a
    tile's label included): a click on a map then names one of its cells."""
    if tile_at(grid, x, y) is None:
        return None
    dx = (int(x) - PAD) % (grid.cell + PAD)
    dy = (int(y) - grid.top - PAD) % (grid.cell + PAD + LABEL_HEIGHT)
    return None if dy >= grid.cell else (dy / grid.cell, dx / grid.cell)


def to_data_url(img: Image.Image, compress_level: int = 6) -> str:
    """A PNG data URL: how API results carry images inside plain JSON. compress_level 1 (zlib's fastest) for
    pictures streamed several times a second, where encoding time matters more than bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def from_data_url(url: str) -> Image.Image:
    """The inverse of to_data_url (used by clients and tests)."""
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
