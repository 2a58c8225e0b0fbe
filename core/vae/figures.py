"""The VAE tab's pictures: decoded strips and sheets (PIL, with an animated GIF of a strip) and its plotly charts:
class probabilities along a path, AE-vs-VAE plausibility, codes and KL bars (the latent map is drawn in the browser:
explorers/vae/latent_map.js)."""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from core import render
from core.data import CLASSES

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


def class_probability_figure(probabilities: np.ndarray, title: str) -> go.Figure:
    """One line per class: the CNN's probability for each frame along the path."""
    steps = len(probabilities)
    fig = render.figure(title, height=300, xaxis_title="frame (0 = A, last = B)", yaxis_title="CNN probability",
                        legend={"orientation": "h", "y": -0.3, "font": {"size": 11}})
    for c, name in enumerate(CLASSES):
        fig.add_trace(go.Scatter(x=list(range(steps)), y=probabilities[:, c], name=name, mode="lines+markers",
                                 line={"color": CLASS_COLOURS[c], "width": 2}, marker={"size": 5},
                                 hovertemplate=f"{name}: %{{y:.3f}}<extra>frame %{{x}}</extra>"))
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(margin={"l": 56, "r": 16, "t": 40, "b": 110})
    return fig


def plausibility_figure(rows: dict[str, dict[str, np.ndarray]]) -> go.Figure:
    """For each model: the CNN's top probability (left axis) and the distance to the nearest real test image
    in CNN features (right axis), frame by frame."""
    fig = render.figure("How real each frame looks to the CNN", height=320, xaxis_title="frame (0 = A, last = B)",
                        yaxis={"title": "CNN top probability", "range": [0, 1.02]},
                        yaxis2={"title": "distance to nearest test image", "overlaying": "y", "side": "right",
                                "showgrid": False, "rangemode": "tozero"},
                        legend={"orientation": "h", "y": -0.3})
    colours = {"ae2": "#dc2626", "vae2": "#2563eb"}
    for name, row in rows.items():
        x = list(range(len(row["top_probability"])))
        colour = colours.get(name, "#374151")
        fig.add_trace(go.Scatter(x=x, y=row["top_probability"], name=f"{name}: top probability",
                                 mode="lines+markers", line={"color": colour, "width": 2}))
        fig.add_trace(go.Scatter(x=x, y=row["nearest_distance"], name=f"{name}: nearest distance", yaxis="y2",
                                 mode="lines+markers", line={"color": colour, "width": 2, "dash": "dot"}))
    fig.update_layout(margin={"l": 56, "r": 64, "t": 40, "b": 110})
    return fig


def code_figure(mu: np.ndarray, sigma: np.ndarray | None, title: str) -> go.Figure:
    """mu per dimension, with ±sigma error bars for a VAE."""
    dims = [f"z{i + 1}" for i in range(len(mu))]
    error = None if sigma is None else {"type": "data", "array": sigma, "color": "#6b7280", "thickness": 1.5}
    fig = render.figure(title, height=220, yaxis_title="μ (bars: ±σ)" if sigma is not None else "code")
    fig.add_trace(go.Bar(x=dims, y=mu, error_y=error, marker_color="#2563eb",
                         hovertemplate="%{x}: μ = %{y:.3f}<extra></extra>"))
    fig.update_layout(margin={"l": 56, "r": 16, "t": 40, "b": 32})
    return fig


def kl_figure(kl_per_dim: np.ndarray, title: str) -> go.Figure:
    dims = [f"z{i + 1}" for i in range(len(kl_per_dim))]
    fig = render.figure(title, height=240, yaxis_title="KL (nats)")
    fig.add_trace(go.Bar(x=dims, y=kl_per_dim, marker_color="#9333ea",
                         hovertemplate="%{x}: %{y:.3f} nats<extra></extra>"))
    fig.update_layout(margin={"l": 56, "r": 16, "t": 40, "b": 32})
    return fig
