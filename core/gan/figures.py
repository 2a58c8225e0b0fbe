"""The GAN tab's figures: the arrays of the 2-D view that the browser draws (D's heatmap, real and fake points, G's
gradient arrows, the manifold), and the plotly figures of the 2-D run's curves, the D* playground, the saturating
loss's vanishing gradient, and image mode's curves and collapse meter.

The curves are redrawn while a run trains, so they are built from plain dicts with plotly's validation off
(`_fast`): validating the traces and copying the theme cost more than the JSON itself. Every figure keeps a
constant `uirevision`, so a redraw keeps the zoom a person chose.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from core import render, toy2d
from core.data import CLASSES
from core.gan import toy

LAYERS = frozenset({"heatmap", "real", "fake", "arrows", "manifold"})
BCE = ("nonsaturating", "saturating")   # the losses whose D outputs a probability
REAL, FAKE = "#15803d", "#7e22ce"       # green and purple, as in GAN Lab; the heatmap uses paler ones
LINES = "#374151"                       # the manifold and G's arrows
D_LOSS, G_LOSS = "#2563eb", "#dc2626"   # the losses' lines, in the curves and the view's trail
# Fakes' side (D says fake) pale purple, undecided white, reals' side pale green: points stay readable on top.
HEAT_SCALE = ((0.0, "#d8b4fe"), (0.5, "#ffffff"), (1.0, "#86efac"))
ARROW_LENGTH = 0.25 * toy2d.BOX         # the longest gradient arrow, in data units: a quarter of the half-width
LOG2, LOG10 = math.log(2), math.log(10)
EMPTY_NOTE = "Press play or step to see the curves"


def _fast(data: list[dict], **layout) -> go.Figure:
    """A figure in the Glassbox theme from trace dicts, unvalidated: the hot paths' figures are written against
    plotly's schema here and checked by the tests (they round-trip through to_json)."""
    return go.Figure(data=data, layout=dict(template=render.THEME, **layout), _validate=False)


def _f32(a: np.ndarray) -> np.ndarray:
    """float32 for the browser: seven digits are far below a pixel, and the arrays' bytes (sent many times a
    second while a run trains) are half float64's."""
    return np.asarray(a, dtype=np.float32)


def heat_range(heat: np.ndarray, loss: str) -> tuple[float, float]:
    """The heatmap's colour range: a probability's 0..1 for the BCE losses; otherwise symmetric about the
    score that separates the sides (0.5 for LSGAN's targets 0 and 1, else 0), wide enough for every value."""
    if loss in BCE:
        return 0.0, 1.0
    centre = 0.5 if loss == "lsgan" else 0.0
    reach = float(np.max(np.abs(heat - centre), initial=0.0)) or 1e-6  # a flat D still needs zmin < zmax
    return centre - reach, centre + reach


def arrow_scale(arrows: np.ndarray) -> float:
    """The factor that makes the longest arrow ARROW_LENGTH long; 0 when G's gradient is 0 everywhere."""
    longest = float(np.max(np.linalg.norm(arrows, axis=1), initial=0.0))
    return ARROW_LENGTH / longest if longest > 0 else 0.0


def toy_arrays(v: toy.View, loss: str, layers: frozenset[str] = LAYERS) -> dict:
    """What the browser draws of the 2-D view (explorers/gan/view2d.js), as float32 arrays and numbers: D's output
    `heat` over the grid (rows are y; sent whatever the layers, for the value under the pointer) with its colour
    range `lo`..`hi` (heat_range) and `label`; the `real` and `fake` points, G's `arrows` (each fake's step, minus
    the gradient of G's loss scaled by one factor so the longest is ARROW_LENGTH) and the `manifold` lines, each
    empty ([0, 2] or [0, 0, 2]) when its layer is off; `layers` names the parts drawn (LAYERS), `box` the half-width
    of the square shown."""
    if unknown := set(layers) - LAYERS:
        raise ValueError(f"Unknown layers {', '.join(sorted(unknown))}; choose from {', '.join(sorted(LAYERS))}.")
    lo, hi = heat_range(v.heat, loss)

    def shown(name: str, a: np.ndarray, empty: tuple) -> np.ndarray:
        return _f32(a) if name in layers else np.zeros(empty, np.float32)
    return {"layers": sorted(layers), "box": toy2d.BOX, "lo": lo, "hi": hi,
            "label": "D(x)" if loss in BCE else "D score", "heat": _f32(v.heat),
            "real": shown("real", v.real, (0, 2)), "fake": shown("fake", v.fake, (0, 2)),
            "arrows": shown("arrows", arrow_scale(v.arrows) * v.arrows, (0, 2)),
            "manifold": shown("manifold", v.manifold, (0, 0, 2))}


def _panel(title: str, top: float) -> tuple[dict, dict]:
    """A panel's title (left) and legend (right) just above its top, in the gap under the panel above: the legend
    on the line next to the panel, the title on the line above it, since in a narrow column the two would meet on
    one line."""
    note = {"text": f"<b>{title}</b>", "xref": "paper", "yref": "paper", "x": 0, "y": top, "xanchor": "left",
            "yanchor": "bottom", "yshift": 18, "showarrow": False, "font": {"size": 12}}
    legend = {"orientation": "h", "x": 1, "y": top, "xanchor": "right", "yanchor": "bottom", "font": {"size": 11},
              "bgcolor": "rgba(255,255,255,0)"}
    return note, legend


def _line(x, y, name: str, colour: str, yaxis: str, legend: str, **extra) -> dict:
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines", "line": {"color": colour, "width": 1.5},
            "xaxis": "x", "yaxis": yaxis, "legend": legend, **extra}


def _dotted(x: np.ndarray, level: float, name: str, yaxis: str, legend: str) -> dict:
    """A grey dotted level across the iterations of `x` (none for an empty history), named in the panel's legend."""
    ends = x[[0, -1]] if len(x) else x
    line = _line(ends, np.full(len(ends), level), name, "#6b7280", yaxis, legend, hoverinfo="skip")
    line["line"].update(width=1, dash="dot")
    return line


def _column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows], dtype=np.float64)


def _empty_note(domain: list[float]) -> dict:
    """The note of an empty history, in the middle of a panel's `domain` (in the gap between two panels it sat on
    the lower one's title)."""
    return {"text": EMPTY_NOTE, "xref": "paper", "yref": "paper", "x": 0.5, "y": sum(domain) / 2, "showarrow": False,
            "font": {"size": 14, "color": "#6b7280"}}


def metrics_figure(history: dict[str, list[float]], loss: str) -> go.Figure:
    """The 2-D run's history (toy.Run.history) in three panels over the iteration: D's and G's loss; mean D(real)
    and D(fake); JS (left, with its maximum log 2 dotted, named in the legend: a label on the panel would sit on the
    curves) and KL (right) in nats. JS gets its own axis because KL, unbounded, would flatten it."""
    probability = loss in BCE
    domains = ([0.74, 1.0], [0.39, 0.63], [0.0, 0.28])
    titles = ("Losses", "Mean D on real and fake", "JS and KL, nats")   # short: legends share the row
    notes, legends = zip(*(_panel(t, d[1]) for t, d in zip(titles, domains, strict=True)), strict=True)
    x = np.asarray(history.get("iteration", []), dtype=np.float64)
    series = (("d_loss", "D loss", D_LOSS, "y", "legend"), ("g_loss", "G loss", G_LOSS, "y", "legend"),
              ("d_real", "D(real)", REAL, "y2", "legend2"), ("d_fake", "D(fake)", FAKE, "y2", "legend2"),
              ("js", "JS", "#0891b2", "y3", "legend3"), ("kl", "KL", "#ea580c", "y4", "legend3"))
    # An empty history still gets its (empty) traces: plotly draws only the axes that some trace uses.
    data = [_line(x, np.asarray(history.get(key, []), dtype=np.float64), name, colour, yaxis, legend)
            for key, name, colour, yaxis, legend in series]
    data.append(_dotted(x, LOG2, "log 2 = max JS", "y3", "legend3"))
    return _fast(data, height=460, uirevision="gan-metrics", showlegend=True,
                 xaxis={"anchor": "y3", "title": {"text": "iteration"}},
                 yaxis={"domain": domains[0], "title": {"text": "loss"}},
                 yaxis2=dict(domain=domains[1], title={"text": "mean D(x)" if probability else "mean D score"},
                             **({"range": [0, 1.02]} if probability else {})),
                 yaxis3={"domain": domains[2], "title": {"text": "JS"}, "range": [0, 0.86]},
                 yaxis4={"overlaying": "y3", "side": "right", "anchor": "x", "title": {"text": "KL"},
                         "rangemode": "tozero", "showgrid": False},
                 legend=legends[0], legend2=legends[1], legend3=legends[2],
                 annotations=[*notes] + ([] if len(x) else [_empty_note(domains[1])]),
                 margin={"l": 56, "r": 48, "t": 44, "b": 40})


def d_star_figure(x: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, d: np.ndarray, value: float) -> go.Figure:
    """The D* playground: the two densities (left axis) and the optimal discriminator D*(x) (right axis, with
    0.5 dotted, where the densities are equal), titled with the game's value at D*."""
    fig = render.figure(f"Value of the game V(D*, G) = {value:.4f} nats<br><sup>−2 log 2 = −1.3863 when "
                        "p_g = p_data; 0 when they do not overlap</sup>", height=340, uirevision="gan-d-star",
                        xaxis_title="x", yaxis={"title": "density", "rangemode": "tozero"},
                        yaxis2={"title": "D*(x)", "overlaying": "y", "side": "right", "range": [0, 1.02],
                                "showgrid": False},
                        legend={"orientation": "h", "x": 0, "y": -0.28, "yanchor": "top"},
                        margin={"l": 56, "r": 56, "t": 64, "b": 80})
    fig.add_trace(go.Scatter(x=x, y=p_data, name="p_data", mode="lines", fill="tozeroy",
                             line={"color": REAL, "width": 2}))
    fig.add_trace(go.Scatter(x=x, y=p_g, name="p_g", mode="lines", fill="tozeroy", line={"color": FAKE, "width": 2}))
    fig.add_trace(go.Scatter(x=x, y=d, name="D*(x) = p_data / (p_data + p_g)", mode="lines", yaxis="y2",
                             line={"color": "#111827", "width": 2}))
    fig.add_hline(y=0.5, yref="y2", line={"color": "#6b7280", "width": 1, "dash": "dot"})
    return fig


def saturation_figure() -> go.Figure:
    """G's two losses against D(G(z)), and (dashed) the size of each one's gradient with respect to D's logit l:
    |d log(1 − σ(l)) / dl| = σ(l) = D, which vanishes where D rejects the fakes, and |d −log σ(l) / dl| = 1 − D."""
    d = np.linspace(1e-3, 0.999, 400)
    fig = render.figure("Why G minimises −log D(G(z)) rather than log(1 − D(G(z)))", height=360,
                        xaxis={"title": "D(G(z)): D's probability that a fake is real", "range": [0, 1]},
                        yaxis={"title": "G's loss"},
                        yaxis2={"title": "|∂ loss / ∂ D's logit|", "overlaying": "y", "side": "right",
                                "range": [0, 1.02], "showgrid": False},
                        legend={"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"},
                        margin={"l": 56, "r": 64, "t": 40, "b": 96})
    for name, loss, grad, colour in (("saturating log(1 − D)", np.log1p(-d), d, "#dc2626"),
                                     ("non-saturating −log D", -np.log(d), 1 - d, "#2563eb")):
        fig.add_trace(go.Scatter(x=d, y=loss, name=f"{name}: loss", mode="lines", line={"color": colour, "width": 2}))
        fig.add_trace(go.Scatter(x=d, y=grad, name=f"{name}: gradient", mode="lines", yaxis="y2",
                                 line={"color": colour, "width": 2, "dash": "dash"}))
    # Above every curve: between D = 0.25 and 0.75 the dashed lines stay under 0.75 and the losses under 2.
    fig.add_annotation(x=0.5, y=1.0, xref="paper", yref="y2", yanchor="top", showarrow=False,
                       text="Where D rejects the fakes (left),<br>the saturating gradient (red, dashed) vanishes",
                       font={"size": 11})
    return fig


def image_curves(history: list[dict]) -> go.Figure:
    """Image mode's history (images.ImageRun.history): D's and G's loss at every step; below, the collapse
    meter's entropy (left, nats, log 10 dotted: every class equally, named in the legend: a label would sit under
    the panel's title) and fid_cnn (right) at the steps that measured them."""
    domains = ([0.58, 1.0], [0.0, 0.40])
    titles = ("Losses", "Meters (every 50 steps)")   # short: the legends share their row
    notes, legends = zip(*(_panel(t, d[1]) for t, d in zip(titles, domains, strict=True)), strict=True)
    steps = np.array([r["step"] for r in history], dtype=np.float64)
    meters = [r for r in history if "fid" in r]
    at = np.array([r["step"] for r in meters], dtype=np.float64)
    # Empty traces for an empty history too: plotly draws only the axes that some trace uses.
    data = [_line(steps, _column(history, "loss_d"), "D loss", "#2563eb", "y", "legend"),
            _line(steps, _column(history, "loss_g"), "G loss", "#dc2626", "y", "legend"),
            _line(at, _column(meters, "entropy"), "entropy (nats)", "#ea580c", "y2", "legend2",
                  mode="lines+markers", marker={"size": 5}),
            _line(at, _column(meters, "fid"), "fid_cnn", "#0891b2", "y3", "legend2", mode="lines+markers",
                  marker={"size": 5}),
            _dotted(steps, LOG10, "log 10 = max entropy", "y2", "legend2")]
    return _fast(data, height=460, uirevision="gan-image-curves", showlegend=True,
                 xaxis={"anchor": "y2", "title": {"text": "step"}},
                 yaxis={"domain": domains[0], "title": {"text": "loss"}},
                 yaxis2={"domain": domains[1], "title": {"text": "entropy (nats)"}, "range": [0, 2.5]},
                 yaxis3={"domain": domains[1], "overlaying": "y2", "side": "right", "anchor": "x",
                         "rangemode": "tozero", "title": {"text": "fid_cnn"}, "showgrid": False},
                 legend=legends[0], legend2=legends[1],
                 annotations=[*notes] + ([] if history else [_empty_note(domains[0])]),
                 margin={"l": 56, "r": 56, "t": 44, "b": 40})


def collapse_figure(counts, entropy: float) -> go.Figure:
    """The collapse meter: how many samples the CNN puts in each class, titled with their entropy."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.shape != (len(CLASSES),):
        raise ValueError(f"The class histogram needs {len(CLASSES)} counts, one per class, not {counts.size}.")
    fig = render.figure(f"CNN's classes of {int(counts.sum())} samples: entropy {entropy:.2f} (max {LOG10:.2f})",
                        height=300, uirevision="gan-collapse",
                        xaxis={"title": "samples", "rangemode": "tozero"}, yaxis={"autorange": "reversed"},
                        margin={"l": 96, "r": 16, "t": 40, "b": 40})
    fig.add_trace(go.Bar(x=counts, y=list(CLASSES), orientation="h", marker_color="#9333ea", text=counts,
                         textposition="auto", hovertemplate="%{y}: %{x} samples<extra></extra>"))
    return fig
