"""The diffusion tab's pictures: images in [-1, 1] as PIL (x_t, ε̂, x̂₀), filmstrips and the GIF of a run, and the
plotly charts of the noise schedules and of a run's trajectory (‖x_t‖ and the CNN's reading of x̂₀ per step)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from plotly.subplots import make_subplots

from core import render
from core.diffusion.schedule import Schedule

CELL = 168   # a 28x28 sample is shown at 6x, square pixels
CURVE_POINTS = 250   # points per schedule curve
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"]   # D3's Category10: one colour per Fashion-MNIST class, none repeated
SCHEDULE_COLOURS = {"linear": "#2563eb", "scaled_linear": "#16a34a", "cosine": "#ea580c"}


def picture(x: np.ndarray, cell: int = CELL) -> Image.Image:
    """An image in [-1, 1] ([C, H, W]) as PIL, clipped into [-1, 1] at fixed scale (not min-max: x_t's noise must
    look like noise), enlarged with square pixels."""
    a = levels(x)
    a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    img = Image.fromarray(a)
    return img.resize((cell, cell * img.height // img.width), Image.Resampling.NEAREST)


def levels(x: np.ndarray) -> np.ndarray:
    """The grey (or RGB) levels of an image in [-1, 1] ([C, H, W]) as every picture here shows it: (x + 1)·127.5,
    clipped into 0 … 255 and rounded, as uint8."""
    return np.clip((np.asarray(x, dtype=np.float32) + 1) * 127.5, 0, 255).round().astype(np.uint8)


def run_levels(x_t: list[np.ndarray], epsilon: list[np.ndarray], x0: list[np.ndarray]) -> np.ndarray:
    """A run's recorded steps as the reverse player draws them: [steps, 3, C, H, W] uint8, the levels of x_t, of ε̂
    with ±3 as black and white (as noise_picture), and of x̂₀."""
    return np.stack([np.stack([levels(a), levels(np.asarray(e) / 3.0), levels(b)])
                     for a, e, b in zip(x_t, epsilon, x0, strict=True)])


def noise_picture(eps: np.ndarray, cell: int = CELL) -> Image.Image:
    """Predicted noise ε̂ (about N(0, 1)): ±3 mapped to black and white, so its scale is comparable between steps."""
    return picture(np.asarray(eps) / 3.0, cell)


def filmstrip(frames: list[np.ndarray], labels: list[str], cell: int = 84, columns: int = 10) -> Image.Image:
    return render.grid([picture(f, cell) for f in frames], labels, columns=columns, cell=cell, label_height=16)


def gif(frames: list[np.ndarray], cell: int = 112, ms: int = 80, hold: int = 12) -> bytes:
    """An animated GIF of the frames, the last one held for `hold` frames, looping."""
    # Grey frames go in as they are (a GIF of mode L needs no palette search: quantising 51 frames took 0.2 s);
    # colour ones get an adaptive palette each.
    images = [p if p.mode == "L" else p.convert("P", palette=Image.Palette.ADAPTIVE)
              for p in (picture(f, cell) for f in frames)]
    images += [images[-1]] * hold
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0)
    return buf.getvalue()


def schedules(shown: dict[str, Schedule]):
    """β_t, ᾱ_t, √ᾱ_t against √(1 − ᾱ_t), and SNR(t) on a log scale for each schedule, with each schedule's SNR = 1
    crossing marked. The current t is marked in the browser-drawn forward view, which follows t without a redraw
    of this figure."""
    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.12, vertical_spacing=0.2,
                        subplot_titles=("β_t, log scale", "ᾱ_t",
                                        "√ᾱ_t (signal, solid) and √(1 − ᾱ_t) (noise, dotted)",
                                        "SNR(t) = ᾱ_t / (1 − ᾱ_t), log scale"))
    for name, s in shown.items():
        colour = SCHEDULE_COLOURS.get(name.split(" ")[0], "#6b7280")
        ts = np.unique(np.linspace(1, s.T, min(s.T, CURVE_POINTS)).round().astype(int))  # smooth curves: a
        betas, abar = s.betas[ts - 1], s.alpha_bar[ts - 1]                               # light figure
        line = {"color": colour, "width": 2, "dash": "dash" if "T = " in name else "solid"}
        common = {"legendgroup": name, "line": line, "mode": "lines"}
        fig.add_scatter(x=ts, y=betas, name=name, row=1, col=1, **common)
        fig.add_scatter(x=ts, y=abar, showlegend=False, row=1, col=2, **common)
        fig.add_scatter(x=ts, y=np.sqrt(abar), showlegend=False, row=2, col=1, **common)
        fig.add_scatter(x=ts, y=np.sqrt(1 - abar), showlegend=False, row=2, col=1, legendgroup=name, mode="lines",
                        line={"color": colour, "width": 2, "dash": "dot"})
        fig.add_scatter(x=ts, y=abar / (1 - abar), showlegend=False, row=2, col=2, **common)
        cross = s.snr_cross_t
        if cross is not None:
            fig.add_scatter(x=[cross], y=[s.snr[cross - 1]], mode="markers", showlegend=False, row=2, col=2,
                            marker={"color": colour, "size": 9, "symbol": "diamond"},
                            hovertemplate=f"{name}: SNR < 1 from t = {cross}<extra></extra>")
    fig.update_yaxes(type="log", row=2, col=2, exponentformat="power")
    fig.update_xaxes(title_text="t", row=1, col=1)
    fig.update_xaxes(title_text="t", row=1, col=2)
    fig.update_xaxes(title_text="t", row=2, col=1)
    fig.update_yaxes(range=[0, 1.02], row=2, col=1)
    fig.update_yaxes(type="log", row=1, col=1, exponentformat="power")
    fig.update_xaxes(title_text="t", row=2, col=2)
    fig.add_hline(y=1.0, line={"color": "#9ca3af", "dash": "dash", "width": 1}, row=2, col=2)
    fig.update_layout(template=render.THEME, height=560, margin={"l": 56, "r": 16, "t": 48, "b": 48},
                      legend={"orientation": "h", "y": -0.14, "x": 0}, hovermode="closest")
    fig.update_annotations(font_size=13)
    return fig


def trajectory(steps: list[int], timesteps: list[int], norms: np.ndarray, probabilities: np.ndarray | None,
               classes: tuple[str, ...], asked: int | None):
    """Over the recorded steps (numbered 1 … N): the RMS of x_t (1 is pure noise's), and the CNN's probability of
    each class for x̂₀."""
    rows = 2 if probabilities is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.14,
                        subplot_titles=("RMS of x_t over the steps (pure noise: 1)",
                                        "CNN: class probabilities of x̂₀")[:rows])
    hover = [f"step {i}, t = {t}" for i, t in zip(steps, timesteps, strict=True)]
    fig.add_scatter(x=steps, y=norms, mode="lines", name="RMS x_t", line={"color": "#111827"}, text=hover,
                    hovertemplate="%{text}: %{y:.3f}<extra></extra>", row=1, col=1)
    if probabilities is not None:
        for c, name in enumerate(classes):
            bold = c == asked
            fig.add_scatter(x=steps, y=probabilities[:, c], mode="lines", name=name, text=hover,
                            line={"width": 3.5 if bold else 1.3, "color": CLASS_COLOURS[c % 10]},
                            hovertemplate=f"{name}" + ": %{y:.3f} (%{text})<extra></extra>", row=2, col=1)
        fig.update_yaxes(range=[0, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="reverse step (x_T on the left, the image on the right)", row=rows, col=1)
    fig.update_layout(template=render.THEME, height=260 * rows + 60, margin={"l": 56, "r": 16, "t": 40, "b": 48},
                      legend={"orientation": "h", "y": -0.2 if rows == 2 else -0.4, "x": 0})
    fig.update_annotations(font_size=13)
    return fig
