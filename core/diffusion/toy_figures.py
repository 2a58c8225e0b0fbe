"""The 2-D toy's plotly figures: the density of x_t at several t (small multiples), the training loss, and the
particles' reverse trajectories, DDIM and DDPM side by side, as a plotly animation (frames, a play button and a
slider over the steps) that the browser plays without a round trip to the server."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import render, toy2d
from core.diffusion.toy import Density, ToyDiffusion

MAX_FRAMES = 60                 # the animation shows at most 60 of the steps (evenly, first and last kept)
MAX_CURVE_POINTS = 1_000        # the loss curve draws at most this many steps (evenly thinned)
VIEW = 2.2                      # the particles' view [-2.2, 2.2]^2: the box and most of x_T's spread
PARTICLE = "#2563eb"
DATA = "rgba(107, 114, 128, 0.25)"


def _even(n: int, limit: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int))


def density_figure(d: Density) -> go.Figure:
    """One heatmap of x_t's histogram per t, titled with t and ᾱ_t on two lines (six titles fit side by side at
    800 px), on one colour scale per panel (the data's peaks are far higher than the noise's, so a shared scale
    would leave the late panels blank); x ticks under every panel, y ticks on the first (the panels share the
    square they show)."""
    titles = [f"t = {t}<br>ᾱ = {a:.3g}" for t, a in zip(d.ts, d.alpha_bar, strict=True)]
    fig = make_subplots(rows=1, cols=len(d.ts), subplot_titles=titles, horizontal_spacing=0.02)
    centres = (d.edges[:-1] + d.edges[1:]) / 2
    reach = float(d.edges[-1])
    ticks = {"tickvals": [-2, 0, 2] if reach > 2 else [-1, 0, 1], "ticks": "outside", "ticklen": 3,
             "range": [-reach, reach], "tickfont": {"size": 10}}
    for i, counts in enumerate(d.counts):
        fig.add_trace(go.Heatmap(x=centres, y=centres, z=counts, colorscale="Viridis", showscale=False,
                                 hovertemplate="(%{x:.2f}, %{y:.2f}): %{z:.3f}<extra></extra>"), 1, i + 1)
        # Square panels that shrink their box, not widen their range, so the ticks stay at the heatmap's edges.
        fig.update_xaxes(showticklabels=True, constrain="domain", row=1, col=i + 1, **ticks)
        fig.update_yaxes(showticklabels=i == 0, scaleanchor=f"x{i + 1 if i else ''}", constrain="domain",
                         constraintoward="top", row=1, col=i + 1, **ticks)
    fig.update_layout(template=render.THEME, height=280, margin={"l": 30, "r": 10, "t": 80, "b": 30},
                      title={"text": "Density of x_t (forward process)"})
    fig.update_annotations(font_size=12)
    return fig


def loss_figure(run: ToyDiffusion) -> go.Figure:
    """Each step's loss, faint, and its running mean over 50 steps."""
    # The legend inside the plot's top right, which the falling loss leaves empty: under the plot it met the axis
    # title at 800 px.
    fig = render.figure("Training loss (ε-prediction MSE)", height=280, margin={"l": 50, "r": 10, "t": 50, "b": 40},
                        xaxis={"title": "step"}, yaxis={"title": "loss"},
                        legend={"orientation": "h", "x": 0.99, "xanchor": "right", "y": 0.98, "yanchor": "top",
                                "bgcolor": "rgba(255, 255, 255, 0.7)"})
    losses = np.asarray(run.losses, dtype=np.float64)
    if not len(losses):
        return fig
    window = min(50, len(losses))
    mean = np.convolve(losses, np.ones(window) / window, mode="valid")
    keep = _even(len(losses), MAX_CURVE_POINTS)
    fig.add_trace(go.Scatter(x=keep + 1, y=losses[keep], mode="lines", name="loss", line={"width": 1},
                             opacity=0.35))
    keep = _even(len(mean), MAX_CURVE_POINTS)
    fig.add_trace(go.Scatter(x=keep + window, y=mean[keep], mode="lines", name=f"mean of {window}"))
    return fig


def _particles(xy: np.ndarray, axis: str) -> dict:
    return {"type": "scatter", "x": xy[:, 0].round(4), "y": xy[:, 1].round(4), "mode": "markers", "xaxis": axis,
            "yaxis": axis.replace("x", "y"), "marker": {"size": 4, "color": PARTICLE, "opacity": 0.7},
            "name": "particles", "showlegend": axis == "x", "hoverinfo": "skip"}


def trajectory_figure(ddim: np.ndarray, ddpm: np.ndarray, data: np.ndarray) -> go.Figure:
    """DDIM's and DDPM's particles ([steps + 1, n, 2] each) side by side over the data (faint), as frames with a
    play button and a slider; frame k is after k reverse steps (0: x_T ~ N(0, I))."""
    ddim, ddpm, data = (np.asarray(a, dtype=np.float64) for a in (ddim, ddpm, data))
    if ddim.shape != ddpm.shape or ddim.ndim != 3 or ddim.shape[2] != 2:
        raise ValueError("DDIM's and DDPM's trajectories must both be [steps + 1, particles, 2].")
    steps = len(ddim) - 1
    keep = _even(steps + 1, MAX_FRAMES)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("DDIM (deterministic)", "DDPM (stochastic)"),
                        horizontal_spacing=0.06)
    for axis in ("x", "x2"):
        fig.add_trace(go.Scatter(x=data[:, 0], y=data[:, 1], mode="markers", name="data", showlegend=axis == "x",
                                 marker={"size": 3, "color": DATA}, hoverinfo="skip",
                                 xaxis=axis, yaxis=axis.replace("x", "y")))
    fig.add_trace(_particles(ddim[-1], "x"))
    fig.add_trace(_particles(ddpm[-1], "x2"))

    fig.frames = [go.Frame(name=str(k), traces=[2, 3], data=[_particles(ddim[k], "x"), _particles(ddpm[k], "x2")])
                  for k in keep]
    play = {"label": "▶ Play", "method": "animate",
            "args": [None, {"frame": {"duration": 80, "redraw": False}, "transition": {"duration": 0},
                            "fromcurrent": False, "mode": "immediate"}]}   # from x_T: the figure opens at the end
    pause = {"label": "❚❚", "method": "animate",
             "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]}
    # The slider under the buttons, its value at its right end: beside them, at 800 px the buttons covered both.
    slider = {"active": len(keep) - 1, "x": 0, "len": 1, "y": 0, "yanchor": "top", "pad": {"t": 70},
              "currentvalue": {"prefix": f"reverse steps done (of {steps}): ", "xanchor": "right"},
              "steps": [{"label": str(k), "method": "animate",
                         "args": [[str(k)], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]}
                        for k in keep]}
    box = [-VIEW, VIEW]
    fig.update_layout(template=render.THEME, height=540, margin={"l": 30, "r": 10, "t": 100, "b": 10},
                      title={"text": "Particles sampled back from noise"},
                      legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.1, "yanchor": "bottom"},
                      updatemenus=[{"type": "buttons", "buttons": [play, pause], "direction": "left", "x": 0, "y": 0,
                                    "xanchor": "left", "yanchor": "top", "pad": {"t": 30}}],
                      sliders=[slider])
    fig.update_xaxes(range=box, autorange=False)
    fig.update_yaxes(range=box, autorange=False)
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.add_shape(type="rect", x0=-toy2d.BOX, y0=-toy2d.BOX, x1=toy2d.BOX, y1=toy2d.BOX, xref="x", yref="y",
                  line={"color": "#d1d5db", "dash": "dot"})
    fig.add_shape(type="rect", x0=-toy2d.BOX, y0=-toy2d.BOX, x1=toy2d.BOX, y1=toy2d.BOX, xref="x2", yref="y2",
                  line={"color": "#d1d5db", "dash": "dot"})
    return fig
