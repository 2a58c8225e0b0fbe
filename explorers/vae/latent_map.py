"""The VAE tab's 2-D latent map: the test set's codes with the path A → B, the decoded grid over the map's range,
the mapping between a click on that grid and a code, and one decoded point."""
from typing import NamedTuple

import numpy as np
from PIL import Image

from core.vae import figures
from core.vae import latent as L
from explorers.common import Box

Z1 = Box("z1", -12, 12, 0.0, whole=False)
Z2 = Box("z2", -12, 12, 0.0, whole=False)


class MapViews(NamedTuple):
    map_plot: object
    manifold: Image.Image
    map_note: str


def map_views(x_a, x_b, steps: int, path: str, model: str, point=None) -> MapViews:
    codes, labels = L.test_codes(model, 2000)
    a, b = L.encode(model, x_a).mu, L.encode(model, x_b).mu
    route = L.path(a, b, steps, path)
    title = f"{model}: {len(codes):,} test codes (μ) by class, and the path A → B"
    m = L.manifold(model)
    sheet = figures.manifold_sheet(m.frames, L.GRID)
    if point is not None:
        x, y = to_pixel(model, point, sheet.width)
        sheet = figures.mark(sheet, x, y)
    shares = {name: L.manifold(name).confident_share for name in L.MAP_MODELS}
    note = (f"The grid: {model} decoding a {L.GRID}×{L.GRID} grid over z1 ∈ [{m.z1[0]:.2f}, {m.z1[-1]:.2f}], "
            f"z2 ∈ [{m.z2[-1]:.2f}, {m.z2[0]:.2f}] (the 0.5th to 99.5th percentile of the test codes); click it to "
            "decode that point. Share of grid points the CNN reads with top probability ≥ 0.9: "
            + ", ".join(f"**{n} {round(s * L.GRID ** 2)} of {L.GRID ** 2} ({s:.2%})**" for n, s in shares.items())
            + ".")
    return MapViews(figures.latent_map_figure(codes, labels, title, route, point), sheet, note)


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
    return np.round(np.array([z1, z2]), 3)


def decode_views(model: str, z1, z2) -> tuple:
    a, b = Z1.read(z1), Z2.read(z2)
    z = np.array([a.value, b.value])
    frame = L.decode(model, z)
    label, p = L.top_class(L.classify(frame)[0])
    img = figures.frame_image(frame[0]).resize((168, 168), Image.Resampling.NEAREST)
    note = f"z = ({z[0]:.2f}, {z[1]:.2f}) under **{model}**: the CNN reads **{label}** ({p:.1%})."
    return img, note, a.shown, b.shown, z
