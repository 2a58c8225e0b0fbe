"""The VAE tab's 2-D latent map: the test set's codes with the path A → B (drawn in the browser by the
`vae-latent-map` widget, latent_map.js, which decodes the point under the pointer through vae_decode_point), the
decoded grid over the same range, the mapping between a click on that grid and a code, and one decoded point."""
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from core.data import CLASSES
from core.vae import figures
from core.vae import latent as L
from explorers.common import Box
from explorers.widgets import packed, widget

Z1 = Box("z1", -12, 12, 0.0, whole=False)
Z2 = Box("z2", -12, 12, 0.0, whole=False)
DIGITS = 3  # a code is rounded to this many decimals, as the widget shows it and sends it


class MapViews(NamedTuple):
    latent_map: dict
    manifold: Image.Image
    map_note: str


def map_widget():
    """The latent map, empty until the tab is first opened."""
    return widget(Path(__file__).with_name("latent_map"), "vae-latent-map", None)


def extent(model: str) -> dict:
    """The z range of the decoded grid's picture, edge to edge: each of its GRID cells is centred on a grid code,
    so the picture reaches half a cell beyond the first and last codes. The map is drawn over the same range."""
    m = L.manifold(model)
    half1, half2 = (m.z1[-1] - m.z1[0]) / (L.GRID - 1) / 2, (m.z2[0] - m.z2[-1]) / (L.GRID - 1) / 2
    return {"z1": [float(m.z1[0] - half1), float(m.z1[-1] + half1)],
            "z2": [float(m.z2[-1] - half2), float(m.z2[0] + half2)]}


def map_value(x_a, x_b, steps: int, path: str, model: str, point=None) -> dict:
    """What the widget draws: the test codes (packed float32) and their classes, the path A → B, the range and
    the pinned point (None for none)."""
    codes, labels = L.test_codes(model, 2000)
    a, b = L.encode(model, x_a).mu, L.encode(model, x_b).mu
    route = L.path(a, b, steps, path)
    return {"model": model, "title": f"{model}: {len(codes):,} test codes (μ) by class, and the path A → B",
            "codes": packed(codes), "labels": packed(labels, "uint8"), "classes": list(CLASSES),
            "colours": list(figures.CLASS_COLOURS), "path": np.round(route, 4).tolist(), **extent(model),
            "pinned": None if point is None else [float(point[0]), float(point[1])]}


def grid_sheet(model: str, point=None) -> Image.Image:
    """The decoded grid, with the point marked where it lies on it."""
    sheet = figures.manifold_sheet(L.manifold(model).frames, L.GRID)
    if point is None:
        return sheet
    return figures.mark(sheet, *to_pixel(model, point, sheet.width))


def map_note(model: str) -> str:
    m = L.manifold(model)
    shares = {name: L.manifold(name).confident_share for name in L.MAP_MODELS}
    return (f"The grid: {model} decoding a {L.GRID}×{L.GRID} grid over z1 ∈ [{m.z1[0]:.2f}, {m.z1[-1]:.2f}], "
            f"z2 ∈ [{m.z2[-1]:.2f}, {m.z2[0]:.2f}] (the 0.5th to 99.5th percentile of the test codes); the map "
            "covers the same range. Click the grid or the map to decode that point. Share of grid points the CNN "
            "reads with top probability ≥ 0.9: "
            + ", ".join(f"**{n} {round(s * L.GRID ** 2)} of {L.GRID ** 2} ({s:.2%})**" for n, s in shares.items())
            + ".")


def map_views(x_a, x_b, steps: int, path: str, model: str, point=None) -> MapViews:
    return MapViews(map_value(x_a, x_b, steps, path, model, point), grid_sheet(model, point), map_note(model))


def to_pixel(model: str, z, side: int) -> tuple[float, float]:
    m = L.manifold(model)
    cell = side / L.GRID
    x = (z[0] - m.z1[0]) / (m.z1[-1] - m.z1[0]) * (L.GRID - 1) * cell + cell / 2
    y = (m.z2[0] - z[1]) / (m.z2[0] - m.z2[-1]) * (L.GRID - 1) * cell + cell / 2
    return x, y


def from_pixel(model: str, x: float, y: float, side: int) -> np.ndarray:
    m = L.manifold(model)
    cell = side / L.GRID
    z1 = m.z1[0] + (x - cell / 2) / ((L.GRID - 1) * cell) * (m.z1[-1] - m.z1[0])
    z2 = m.z2[0] - (y - cell / 2) / ((L.GRID - 1) * cell) * (m.z2[0] - m.z2[-1])
    return np.round(np.array([z1, z2]), DIGITS)


def decode_views(model: str, z1, z2) -> tuple:
    a, b = Z1.read(z1), Z2.read(z2)
    z = np.array([a.value, b.value])
    frame = L.decode(model, z)
    label, p = L.top_class(L.classify(frame)[0])
    img = figures.frame_image(frame[0]).resize((168, 168), Image.Resampling.NEAREST)
    note = f"z = ({z[0]:.2f}, {z[1]:.2f}) under **{model}**: the CNN reads **{label}** ({p:.1%})."
    return img, note, a.shown, b.shown, z
