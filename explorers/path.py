"""A tab's first lines: one or two sentences on what its main picture shows, and a numbered path of 3–6 short steps
through what the tab teaches, each a link to the view it is about (path.js scrolls to it, first opening the inner
tab that holds it). The path also names the tab's main picture and main control (data-picture, data-control), which
tests/browser/test_first_screen.py checks are on the first screen."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from explorers.common import load_once, page_script

PATH_JS = page_script("path")
STYLE = Path(__file__).with_name("widgets") / "path.css"


@dataclass(frozen=True)
class Step:
    text: str  # what to do, a few words: "Draw a digit"
    target: str  # the elem_id of the view the step is about
    tab: str | None = None  # the label of the inner tab that holds that view, when it is not always shown


def path(elem_id: str, lead: str, steps: list[Step], picture: str, control: str,
         action: str | None = None) -> gr.HTML:
    """The path of a tab (or inner tab): `lead` (plain text, one or two sentences on what the main picture shows)
    and `steps`, numbered. `picture` and `control` are the elem_ids of the main picture and the main control;
    `action`, that of the button whose run fills the picture, where opening the tab does not (the browser tests
    press it before they look for labels over pictures)."""
    if not 3 <= len(steps) <= 6:
        raise ValueError(f"a path has 3 to 6 steps, not {len(steps)}")
    load_once(PATH_JS)
    items = "".join(
        f'<li><a href="#{html.escape(s.target)}" data-target="{html.escape(s.target)}"'
        + (f' data-tab="{html.escape(s.tab)}"' if s.tab else "") + f">{html.escape(s.text)}</a></li>"
        for s in steps)
    acts = f' data-action="{html.escape(action)}"' if action else ""
    value = (f'<nav class="gb-path" data-picture="{html.escape(picture)}" data-control="{html.escape(control)}"{acts}>'
             f'<p class="gb-lead">{html.escape(lead)}</p><ol>{items}</ol></nav>')
    return gr.HTML(value, elem_id=elem_id, css_template=STYLE.read_text(), padding=False)
