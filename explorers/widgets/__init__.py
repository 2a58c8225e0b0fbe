"""Widgets drawn in the browser: a gr.HTML whose template, script and style live in files beside the module that
uses it (NAME.html, NAME.js, NAME.css), run after the one shared library, glassbox.js (requests to the app's
gr.api endpoints, colour maps, heatmaps, colour bars, downloads, the `<elem_id>:drawn` marks). Python sends data
(`value`, a dict with arrays packed by packed()); the widget draws it and reacts to the pointer itself."""
from __future__ import annotations

import base64
from pathlib import Path

import gradio as gr
import numpy as np

from core import render

LIBRARY = Path(__file__).with_name("glassbox.js")
STYLE = Path(__file__).with_name("glassbox.css")  # buttons, controls, titles, messages: one look for every widget


def packed(array, dtype: str = "float32") -> dict:
    """An array for the browser, as glassbox.js's gb.unpack reads it: its dtype, shape and bytes in base64 (a
    float32 array is a quarter the size of its JSON numbers and needs no parsing)."""
    a = np.ascontiguousarray(array, dtype=dtype)
    return {"dtype": dtype, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def widget(files: Path, elem_id: str, value: dict | None = None, colormaps: tuple[str, ...] = (),
           **kwargs) -> gr.HTML:
    """The widget whose files are `files`.html/.js/.css (the .css is optional; glassbox.css comes first), with
    `colormaps` (plotly scale names) sent once, as core.render samples them, in its `colormaps` prop. The template
    is static: a new value reaches the script (watch("value", ...)) without re-rendering the widget's canvases."""
    script = files.with_suffix(".js").read_text()
    style = files.with_suffix(".css")
    luts = {name: packed(render.colormap(name), "uint8") for name in colormaps}
    return gr.HTML(value, html_template=files.with_suffix(".html").read_text(),
                   css_template=STYLE.read_text() + (style.read_text() if style.exists() else ""),
                   js_on_load=f"{LIBRARY.read_text()}\n{script}", elem_id=elem_id, colormaps=luts, **kwargs)


PANELS = Path(__file__).with_name("panels")
PANEL_COLORMAPS = ("RdBu_r", "Viridis", "PuOr_r", "gray")  # every cmap a core.render.Panel may name


def panels_value(figure: render.Panels) -> dict:
    """A core.render.Panels as the panels widget's value, its arrays packed."""
    for cmap in [p.cmap for p in figure.panels if p.cmap is not None] + [s.cmap for s in figure.scales]:
        if cmap not in PANEL_COLORMAPS:
            raise ValueError(f"the panels widget has no colour map {cmap!r}; add it to PANEL_COLORMAPS.")
    return {"title": figure.title, "subtitle": figure.subtitle, "columns": figure.columns,
            "panels": [{"title": p.title, "z": packed(p.z), "cmap": p.cmap, "lo": p.lo, "hi": p.hi, "name": p.name,
                        "numbers": p.numbers, "span": p.span} for p in figure.panels],
            "scales": [{"cmap": s.cmap, "lo": s.lo, "hi": s.hi, "label": s.label} for s in figure.scales]}


def panels(elem_id: str, value: dict | None = None, **kwargs) -> gr.HTML:
    """Heatmaps side by side with their colour bars, drawn in the browser (panels.js) from panels_value(): a figure
    whose every new value costs the page no plotly redraw."""
    return widget(PANELS, elem_id, value, colormaps=PANEL_COLORMAPS, **kwargs)
