"""The VAE tab's pictures: decoded strips and sheets (PIL, with an animated GIF of a strip), and the class colours
of every chart of the tab (its charts and the latent map are drawn in the browser: explorers/vae/chart.js and
latent_map.js)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from core import render

CELL = 96  # a 28x28 frame drawn ~3.4x; wide enough for "T-shirt/top" in LABEL_FONT under it
# A strip wraps into balanced rows of at most STRIP_COLUMNS frames: 32 frames in one row were drawn ~30 px wide on
# an 800 px page, their captions ~6 px. At most 10 of CELL, a labelled strip is ~1,000 px wide: its captions keep
# at least 9 px where the page shows it 750 px wide.
STRIP_COLUMNS = 10
LABEL_FONT = 13
TRAVERSAL_ROWS = 8    # the traversal shows A's 8 most used dimensions: 16 rows of 7 were thumbnails of ~30 px
TRAVERSAL_CELL = 64
# One colour per Fashion-MNIST class, the same in every chart of the tab.
CLASS_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f",
                 "#a16207", "#475569")


def frame_image(frame: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.round(frame * 255), 0, 255).astype(np.uint8), "L")


def strip_columns(n: int) -> int:
    """Frames per row of a strip of n: at most STRIP_COLUMNS, the rows as even as they can be (16 is 8 + 8)."""
    rows = -(-n // STRIP_COLUMNS)
    return -(-n // rows)


def strip(frames: np.ndarray, labels: list[tuple[str, str]] | None = None, cell: int = CELL) -> Image.Image:
    """The frames in order, left to right, in rows of strip_columns(n); each optionally captioned underneath in two
    lines of LABEL_FONT pixels (e.g. the class and its probability)."""
    columns = strip_columns(len(frames))
    if not labels:
        return render.grid([frame_image(f) for f in frames], None, columns=columns, cell=cell)
    pad, line = render.PAD, LABEL_FONT + 3
    rows = -(-len(frames) // columns)
    out = Image.new("RGB", (columns * (cell + pad) + pad, rows * (cell + pad + 2 * line) + pad), "white")
    for i, (frame, lines) in enumerate(zip(frames, labels, strict=True)):
        r, c = divmod(i, columns)
        x, y = pad + c * (cell + pad), pad + r * (cell + pad + 2 * line)
        out.paste(frame_image(frame).resize((cell, cell), Image.Resampling.NEAREST), (x, y))
        for k, text in enumerate(lines):
            render.text(out, (x + 1, y + cell + 1 + k * line), text, LABEL_FONT, "#374151")
    return out


def traversal_sheet(grid: np.ndarray, values, kl_per_dim: np.ndarray,
                    rows: int = TRAVERSAL_ROWS, cell: int = TRAVERSAL_CELL) -> tuple[Image.Image, list[int]]:
    """The traversal grid [d, len(values), 28, 28] of the `rows` dimensions with the largest KL, largest first,
    with its axes drawn beside the frames, never over them: each row named on the left ("z2", its KL in nats) and
    each column's value of that dimension above it. Returns the sheet and the dimensions shown (0-based)."""
    dims = [int(i) for i in np.argsort(-np.asarray(kl_per_dim), kind="stable")[:rows]]
    pad, left, top = render.PAD, 84, LABEL_FONT + 10
    out = Image.new("RGB", (left + len(values) * (cell + pad), top + len(dims) * (cell + pad)), "white")
    render.text(out, (6, 4), "zk =", LABEL_FONT, "#374151")
    for c, v in enumerate(values):
        label = f"{v:+g}" if v else "0"  # an ASCII minus: the default font has no U+2212
        width = render.font(LABEL_FONT).getlength(label)
        render.text(out, (left + c * (cell + pad) + (cell - width) / 2, 4), label, LABEL_FONT, "#374151")
    for r, d in enumerate(dims):
        y = top + r * (cell + pad)
        render.text(out, (6, y + cell / 2 - LABEL_FONT), f"z{d + 1}", LABEL_FONT + 1)
        render.text(out, (6, y + cell / 2 + 2), f"KL {kl_per_dim[d]:.2f}", LABEL_FONT - 1, "#4b5563")
        for c, frame in enumerate(grid[d]):
            out.paste(frame_image(frame).resize((cell, cell), Image.Resampling.NEAREST), (left + c * (cell + pad), y))
    return out, dims


def sheet(frames: np.ndarray, columns: int, cell: int = 56, labels: list[str] | None = None) -> Image.Image:
    return render.grid([frame_image(f) for f in frames], labels, columns=columns, cell=cell)


def manifold_sheet(frames: np.ndarray, grid: int, cell: int = 28) -> Image.Image:
    """The decoded grid edge to edge (no gaps), so it reads as one continuous map; pixel (x, y) of the sheet is
    the code at column x // cell, row y // cell."""
    out = Image.new("L", (grid * cell, grid * cell))
    for i, f in enumerate(frames):
        r, c = divmod(i, grid)
        out.paste(frame_image(f).resize((cell, cell), Image.Resampling.NEAREST), (c * cell, r * cell))
    return out.convert("RGB")


def mark(img: Image.Image, x: float, y: float, colour: str = "#dc2626") -> Image.Image:
    """A small ring at pixel (x, y): where the decoded point lies on the manifold sheet."""
    out = img.copy()
    ImageDraw.Draw(out).ellipse((x - 10, y - 10, x + 10, y + 10), outline=colour, width=3)
    return out


def gif(frames: np.ndarray, cell: int = 112, ms: int = 120) -> bytes:
    """An animated GIF that plays the path forward and back, looping."""
    images = [frame_image(f).resize((cell, cell), Image.Resampling.NEAREST) for f in frames]
    loop = images + images[-2:0:-1]
    buf = io.BytesIO()
    loop[0].save(buf, format="GIF", save_all=True, append_images=loop[1:], duration=ms, loop=0)
    return buf.getvalue()
