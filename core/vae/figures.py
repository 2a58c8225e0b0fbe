"""The VAE tab's pictures: decoded strips and sheets (PIL, with an animated GIF of a strip), and the class colours
of every chart of the tab (its charts and the latent map are drawn in the browser: explorers/vae/chart.js and
latent_map.js)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from core import render

CELL = 96  # a 28x28 frame drawn ~3.4x; wide enough for "T-shirt/top 1.00" under it (grid() cuts at cell // 6)
# One colour per Fashion-MNIST class, the same in every chart of the tab.
CLASS_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f",
                 "#a16207", "#475569")


def frame_image(frame: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.round(frame * 255), 0, 255).astype(np.uint8), "L")


def strip(frames: np.ndarray, labels: list[str] | None = None, cell: int = CELL) -> Image.Image:
    """The frames side by side (wrapping after 16), each optionally labelled underneath."""
    return render.grid([frame_image(f) for f in frames], labels, columns=min(16, len(frames)), cell=cell)


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
