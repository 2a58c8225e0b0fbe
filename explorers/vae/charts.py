"""The VAE tab's charts, drawn in the browser by chart.js, one widget each: the endpoints' codes, the CNN's class
probabilities along the path, AE vs VAE plausibility and vae16's KL per dimension. Here is what each one draws, as
plain lists (they replaced plotly figures, whose redraw on every new endpoint cost the page 100-250 ms each)."""
from pathlib import Path

import numpy as np

from core.data import CLASSES
from core.vae.figures import CLASS_COLOURS
from explorers.widgets import widget

FRAMES = "frame (0 = A, last = B)"
MODEL_COLOURS = {"ae2": "#dc2626", "vae2": "#2563eb"}


def chart(elem_id: str):
    """An empty chart, filled by the tab's events."""
    return widget(Path(__file__).with_name("chart"), elem_id, None)


def _values(a) -> list[float]:
    return np.round(np.asarray(a, dtype=float), 6).tolist()


def _dimensions(n: int) -> list[str]:
    return [f"z{i + 1}" for i in range(n)]


def code_chart(mu: np.ndarray, sigma: np.ndarray | None, title: str) -> dict:
    """μ per dimension, with ±σ whiskers for a VAE."""
    return {"title": title, "height": 220, "x": _dimensions(len(mu)), "xName": "", "xTitle": "",
            "yTitle": "μ (bars: ±σ)" if sigma is not None else "code", "yRange": None,
            "series": [{"name": "μ", "kind": "bar", "colour": "#2563eb", "y": _values(mu),
                        "error": None if sigma is None else _values(sigma)}]}


def probability_chart(probabilities: np.ndarray, title: str) -> dict:
    """One line per class: the CNN's probability for each frame along the path."""
    return {"title": title, "height": 300, "x": list(range(len(probabilities))), "xName": "frame ",
            "xTitle": FRAMES, "yTitle": "CNN probability", "yRange": [0, 1.02],
            "series": [{"name": name, "kind": "line", "colour": CLASS_COLOURS[c], "y": _values(probabilities[:, c])}
                       for c, name in enumerate(CLASSES)]}


def plausibility_chart(rows: dict[str, dict[str, np.ndarray]]) -> dict:
    """For each model: the CNN's top probability (left axis, solid) and the distance to the nearest real test image
    in CNN features (right axis, dotted), frame by frame."""
    series = []
    for name, row in rows.items():
        colour = MODEL_COLOURS.get(name, "#374151")
        series += [{"name": f"{name}: top probability", "kind": "line", "colour": colour,
                    "y": _values(row["top_probability"])},
                   {"name": f"{name}: nearest distance", "kind": "line", "colour": colour, "dash": True, "axis": 2,
                    "y": _values(row["nearest_distance"])}]
    steps = len(next(iter(rows.values()))["top_probability"])
    return {"title": "How real each frame looks to the CNN", "height": 320, "x": list(range(steps)),
            "xName": "frame ", "xTitle": FRAMES, "yTitle": "CNN top probability", "yRange": [0, 1.02],
            "y2Title": "distance to nearest test image", "series": series}


def kl_chart(kl_per_dim: np.ndarray, title: str) -> dict:
    return {"title": title, "height": 240, "x": _dimensions(len(kl_per_dim)), "xName": "", "xTitle": "",
            "yTitle": "KL (nats)", "yRange": None,
            "series": [{"name": "KL", "kind": "bar", "colour": "#9333ea", "y": _values(kl_per_dim), "unit": " nats"}]}
