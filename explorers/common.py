"""What every explorer shares: turning core's ValueErrors into gr.Error, reading image inputs safely, the Explain
panels' Markdown and LaTeX delimiters, the figure that stands in for a view with a message, named outputs,
gr.api endpoints described from their docstrings, number boxes (Box) that name themselves when a typed value is
out of range, and the download files the tabs write, pruned after an age."""
from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import inspect
import logging
import math
import numbers
import os
import tempfile
import time
import typing
import weakref
from abc import ABCMeta
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import plotly.graph_objects as go
from gradio.utils import get_function_description, get_upload_folder

from core import memory, render
from core.checkpoints import CheckpointError
from core.uploads import ImageError
from core.validate import FLOAT32_MAX, FLOAT32_TINY, echo

log = logging.getLogger(__name__)

LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
EXPLANATIONS = Path(__file__).resolve().parent / "explain"


def explain(name: str) -> str:
    """The Markdown of an Explain panel, explorers/explain/NAME.md (LaTeX between the LATEX delimiters)."""
    return (EXPLANATIONS / f"{name}.md").read_text(encoding="utf-8")


def user_errors(fn):
    """Core raises ValueError (and its ImageError, DataError ...) or CheckpointError with a message for a person;
    the UI and the API show that message. Anything else is a bug: log it in full and say so in one line."""
    def translate(e: Exception) -> gr.Error:
        if isinstance(e, (ValueError, CheckpointError)):
            return gr.Error(str(e), print_exception=False)
        log.exception("unexpected error in %s", fn.__name__)
        return gr.Error(f"Internal error in {fn.__name__} ({type(e).__name__}). The server is still running; "
                        "please report this with the input that caused it.", print_exception=False)

    if inspect.isgeneratorfunction(fn):  # streaming handlers: errors may come at any step
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as e:
                raise translate(e) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise translate(e) from None
    return wrapper


def file_path(image) -> str | None:
    """The server-side path of an image input, whether it arrives as gradio FileData, its dict form, or a path."""
    if image is None:
        return None
    if isinstance(image, dict):
        return image.get("path")
    return getattr(image, "path", image if isinstance(image, str) else None)


def uploaded_path(image) -> str:
    """The server path of an image input, refused unless it lies in gradio's upload folder: an API caller may
    send any dict with a "path", and must not be able to make the server read its other files."""
    path = file_path(image)
    if path is None or str(path).strip() == "":
        raise ImageError("No image was given. Upload an image or pick one of the bundled photos.")
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(get_upload_folder()).resolve()):
        raise ImageError("The image must be uploaded to the server (gradio_client: handle_file(path)); "
                         "server-side paths are not accepted.")
    return str(resolved)


def message_figure(text: str) -> go.Figure:
    fig = render.figure(height=200)
    fig.add_annotation(text=text, showarrow=False, font={"size": 14, "color": "#b91c1c"}, x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def outputs(fields: type, components: dict) -> list:
    """The components a handler returning the NamedTuple `fields` feeds, in its field order, picked by name from
    `components`: the fields are the one place where the order is written down."""
    missing = [f for f in fields._fields if f not in components]
    if missing:
        raise TypeError(f"{fields.__name__} has no component for {', '.join(missing)}.")
    return [components[f] for f in fields._fields]


def skipped(fields: type):
    """A `fields` NamedTuple that leaves every one of its components as it is."""
    return fields(*(gr.skip(),) * len(fields._fields))


def combined(name: str, *parts: type) -> type:
    """A NamedTuple type with the fields of `parts`, in order, for a handler that feeds several groups of views;
    build one with keywords, `combined(**a._asdict(), **b._asdict())`, so no value can land in another's place."""
    return collections.namedtuple(name, [f for part in parts for f in part._fields])


def undefined_number(value, nullable: tuple[str, ...] = (), where: str = "result") -> str | None:
    """Where `value` (JSON-able) holds NaN or inf, or None among the numbers of a list, or None if nowhere; under
    the keys in `nullable` None is meant (a masked score), and "*" means everything below may hold it."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value}"
    if isinstance(value, dict):
        for key, item in value.items():
            found = undefined_number(item, ("*",) if key in nullable or "*" in nullable else (), f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        numbers = any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        for i, item in enumerate(value):
            if item is None and numbers and "*" not in nullable:
                return f"{where}[{i}] is None"
            found = undefined_number(item, nullable, f"{where}[{i}]")
            if found:
                return found
    return None


def extreme_inputs(fn, args, kwargs) -> str:
    """The (at most two) arguments whose numbers are farthest from 1 in size, tiny or huge, in words: what to
    bring nearer 1 when a result overflows or underflows. Arguments left out count with their defaults."""
    def distance(value) -> tuple[float, float]:
        """(how many powers of ten the farthest number of `value` is from 1, that number)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = abs(float(value))
            return (math.inf if not math.isfinite(v) else abs(math.log10(v)), v) if v else (0.0, 0.0)
        if isinstance(value, (list, tuple)):
            return max((distance(v) for v in value), default=(0.0, 0.0))
        return 0.0, 0.0
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    bound.apply_defaults()
    far = sorted(((*distance(v), name) for name, v in bound.arguments.items()), reverse=True)
    # within half the farthest's powers of ten: beside beta_start=1e-17, a default T=1000 is no suspect
    words = [f"{name} ({v:.3g}, {'tiny' if v < 1 else 'huge'})" for d, v, name in far[:2] if d >= max(1, far[0][0] / 2)]
    return " and ".join(words) or "none far from 1"


def finite_results(fn, nullable: tuple[str, ...] = ()):
    """The output guard every endpoint passes (api() applies it): a result with NaN, inf or a missing number is
    refused with a message that names the inputs farthest from 1 in size (tiny or huge), instead of coming back
    as null. A generator endpoint's every message passes it."""
    def checked(result, args, kwargs):
        found = undefined_number(result, nullable)
        if found:
            log.info("%s: refused a result where %s", fn.__name__, found)
            raise gr.Error(f"{fn.__name__} could not compute a finite result ({found}): a number overflowed or "
                           f"underflowed (float32, where torch computes, holds magnitudes from {FLOAT32_TINY:.3g} "
                           f"to {FLOAT32_MAX:.3g}). The inputs farthest from 1 in size were "
                           f"{extreme_inputs(fn, args, kwargs)}; bring them nearer 1.", print_exception=False)
        return result

    if inspect.isgeneratorfunction(fn):   # gradio streams a generator function's messages: the guard must be one
        @functools.wraps(fn)
        def guarded_messages(*args, **kwargs):
            for message in fn(*args, **kwargs):
                yield checked(message, args, kwargs)
        return guarded_messages

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        return checked(fn(*args, **kwargs), args, kwargs)
    return guarded


# The picture the "Use via API" page's examples send for an image parameter: gradio's own example image (what
# gr.Image's examples use), public, so that the snippets run as they are (the client downloads it, then uploads it).
EXAMPLE_IMAGE = "https://raw.githubusercontent.com/gradio-app/gradio/main/test/test_files/bus.png"


def example_file(url: str = EXAMPLE_IMAGE) -> dict:
    """A file as the API page's snippets write it: gradio_client's handle_file(url), a FileData with that url."""
    return {"path": url, "url": url, "orig_name": url.rsplit("/", 1)[-1], "meta": {"_type": "gradio.FileData"}}


def _examples(fn, example: dict) -> dict:
    """A working value for each parameter of `fn` without a default: `example`'s (ValueError-free values that the
    docstring allows), or the example image for a file; an endpoint that leaves one out is refused."""
    required = [p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty]
    values = {p.name: example[p.name] if p.name in example else example_file() for p in required
              if p.name in example or "FileData" in str(p.annotation)}
    missing = [p.name for p in required if p.name not in values]
    extra = [name for name in example if name not in {p.name for p in required}]
    if missing or extra:
        raise TypeError(f"{fn.__name__}: give an example value for every parameter without a default (missing: "
                        f"{', '.join(missing) or 'none'}), and for no other (not {', '.join(extra) or 'none'}).")
    return values


def api(fn, api_name: str, nullable: tuple[str, ...] = (), example: dict | None = None, **options) -> None:
    """`gr.api(fn, **options)` behind the output guard (`finite_results`; `nullable` names result keys whose None is
    meant), with each parameter and the result named and described on the "Use via API" page from fn's docstring (its
    "Parameters:" lines, `name: description`, one line each, and its "Returns:" text, read by gradio's own
    parser). gr.api itself labels them "1st", "2nd" with no description; an endpoint whose docstring leaves a
    parameter out is refused here, when the app is built. The page's snippets fill a parameter with its default,
    or else with its component's example, which gr.api leaves as a placeholder "..." that does not run: `example`
    gives a working value for each parameter without a default (a file parameter gets EXAMPLE_IMAGE)."""
    description, params, returns = get_function_description(fn)
    missing = [name for name, text in params.items() if not text]
    if not description or missing or not returns:
        raise TypeError(f"{fn.__name__}'s docstring must describe the endpoint, every parameter (missing: "
                        f"{', '.join(missing) or 'none'}) and what it returns.")
    examples = _examples(fn, example or {})
    guarded = finite_results(fn, nullable)
    if inspect.isgeneratorfunction(fn):   # the API page describes the messages of an Iterator[X]: each an X
        signature = inspect.signature(fn)
        guarded.__signature__ = signature.replace(return_annotation=typing.get_args(signature.return_annotation)[0])
    config = gr.api(guarded, api_name=api_name, **options)  # a Dependency: the event's config, a dict
    blocks = gr.context.get_blocks_context().blocks
    for component_id, (name, text) in zip(config["inputs"], params.items(), strict=True):
        component = blocks[component_id]
        component.label = name
        component._api_info = {**component._api_info, "additional_description": text}
        if name in examples:
            # The API page reads a parameter's example from its component's example_payload(): gr.api's Api
            # component has no other way to be given one.
            component.example_payload = functools.partial(examples.get, name)
    result = blocks[config["outputs"][0]]
    result.label = "result"
    result._api_info = {**result._api_info, "description": " ".join(returns)}


WIDGETS = Path(__file__).with_name("widgets")  # page scripts live beside the widgets' files
_LOADED = weakref.WeakKeyDictionary()  # app -> the load-time scripts its page already runs


def page_script(name: str | Path) -> str:
    """A page script: one arrow function in a .js file, explorers/widgets/NAME.js or the path given, run by
    load_once() when the page loads or as an event's `js`."""
    path = name if isinstance(name, Path) else WIDGETS / f"{name}.js"
    return path.read_text()


def load_once(js: str) -> None:
    """Run `js` when the page of the app being built loads: once per app, however many components need it."""
    root = gr.context.Context.root_block
    if root is None:
        return
    scripts = _LOADED.setdefault(root, set())
    if js not in scripts:
        scripts.add(js)
        root.load(None, js=js, api_visibility="private")


# ---------------------------------------------------------------- progress


def progress_on_one(blocks: gr.Blocks) -> None:
    """Show each event's progress on one component: the one it names (show_progress_on), else its first output
    that a person sees. Gradio's page keeps the status of every component an event has ever shown progress on, and
    refreshes all of them at every status message of every event; so an event with 20 outputs made every later
    event pay for 20 (the CNN section's gallery click: 1,045 ms median, against 548 ms with progress on the input
    alone, clicks alternated between the two apps under the same load)."""
    for fn in blocks.fns.values():
        if fn.show_progress_on is not None or len(fn.outputs) < 2:
            continue
        shown = [c for c in fn.outputs if not isinstance(c, gr.State)]
        seen = [c for c in shown if getattr(c, "visible", True) is not False]
        if shown:
            fn.show_progress_on = [(seen or shown)[0]]


# ---------------------------------------------------------------- downloads

# Each tab's download files (a GIF, a strip, a saved run) live in a folder of its own under the system's
# temporary folder; gradio serves a copy from its cache, which its own delete_cache prunes, so these are pruned
# by age beside it (downloads_pruned) rather than left to pile up.
DOWNLOADS = Path(tempfile.gettempdir())
DOWNLOAD_FOLDERS = ("glassbox-diffusion", "glassbox-gan", "glassbox-vae")


def saved_download(folder: str, name: str, data: bytes) -> str:
    """`data` as the file `name` in `folder` (one of DOWNLOAD_FOLDERS); the path. Names carry a hash of the data,
    so a file already there is the same one: it is touched instead, so that pruning counts its age from now."""
    path = DOWNLOADS / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.utime(path)
    except FileNotFoundError:
        path.write_bytes(data)
    return str(path)


def prune_downloads(age_s: float, now: float | None = None) -> int:
    """Remove the files in DOWNLOAD_FOLDERS last written more than `age_s` seconds ago; how many went. Younger
    files stay: a page may still be fetching one, and another server on the machine may have just written it."""
    limit = (time.time() if now is None else now) - age_s
    removed = 0
    for folder in DOWNLOAD_FOLDERS:
        for path in (DOWNLOADS / folder).glob("*"):
            with contextlib.suppress(FileNotFoundError):   # removed meanwhile by another server's pruning
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
    return removed


def downloads_pruned(every_s: float, age_s: float):
    """A lifespan for the server app (app_kwargs["lifespan"]): prune_downloads(age_s) every `every_s` seconds
    while the server runs, on the same schedule as gradio's delete_cache. A schedule, not a prune at each write:
    the last files written before a quiet hour would otherwise stay until the next write. Each pass also gives the
    memory that heavy requests freed back to the system (core.memory.trim)."""
    def tidy():
        prune_downloads(age_s)
        memory.trim()

    async def pruning():
        while True:
            await asyncio.sleep(every_s)
            await asyncio.to_thread(tidy)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(pruning())
        try:
            yield
        finally:
            task.cancel()
    return lifespan


# ---------------------------------------------------------------- sketch pads

BRUSH_FIRST = page_script("brush_first")
EMPTY_PAD = "The sketch pad is empty: draw something first."


def sketchpad(**kwargs) -> gr.Sketchpad:
    """A gr.Sketchpad that opens with its brush chosen (BRUSH_FIRST), so dragging on it draws."""
    load_once(BRUSH_FIRST)
    return gr.Sketchpad(elem_classes=["glassbox-brush-first"], **kwargs)


# ---------------------------------------------------------------- number boxes

COMMIT_ON_ENTER = page_script("commit_on_enter")


def number_text(x) -> str:
    """A number as a person would type it: 15, 0.05, 1e+20."""
    if isinstance(x, int):
        return echo(x)
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


class Reading(NamedTuple):
    """A number box's value as a handler uses it, and what to send back to the box."""
    value: int | float
    changed: bool  # the box holds something else (another number, or none), so it must be told the value used

    @property
    def shown(self):
        """The output for the box: the value used, or gr.skip() where the box already shows it (a person may be
        typing in it again, and an echo of the old value would undo that)."""
        return self.value if self.changed else gr.skip()

    def update(self, **props):
        """`props` for the box (visible=..., maximum=...), with the value used where the box must be told it."""
        if self.changed:
            props["value"] = self.value
        return gr.update(**props) if props else gr.skip()


def _as_typed(base: type, doc: str) -> type:
    """`base`, drawn by gradio's own frontend component (`is_template`), whose preprocess hands the handler the
    value as typed, for Box.read. Made with ABCMeta.__new__ rather than a class statement: gradio's ComponentMeta
    writes a .pyi stub of the defining module beside it for every Component subclass (for custom components), and
    an explorers/common.pyi copy of this module would shadow it."""
    def preprocess(self, payload):
        return payload
    return ABCMeta.__new__(type(base), base.__name__, (base,), {
        "__module__": __name__, "__qualname__": base.__name__, "__doc__": doc, "is_template": True,
        "preprocess": preprocess})


Slider = _as_typed(gr.Slider, """gr.Slider whose typed value reaches the handler unchecked: gradio's own check
refuses a value outside the range with "Value -1 is less than minimum value 0.", naming no box, and an empty box
with a TypeError; the event fails, and every output shows Error.""")
Number = _as_typed(gr.Number, """gr.Number whose typed value reaches the handler unchecked: with a minimum or
maximum, gradio's own check refuses a value outside them in every event that reads the box, until it is fixed.""")


@dataclass(frozen=True)
class Box:
    """A number box a person types into: a Number, or the box beside a Slider's track. Gradio's own check of a
    typed value breaks the section (see Slider, Number), so the components made here leave the check to `read`,
    which every handler that reads the box calls: it clamps into the range, rounds a whole-number box, falls back
    to the default for a box holding no number, and says so in a gr.Warning that names the box, its range and the
    value used; the handler sends the value used back to the box (Reading.shown), so the box shows it. The gr.api
    endpoints do not read boxes: they refuse such values with a ValueError, as an API caller should see."""
    name: str                  # the box in messages: its label, and the section where two boxes share a label
    lo: float
    hi: float | None           # None: given where the box is made and read (a model's patches, a layer's channels)
    default: float | None      # the value of a box holding no number (None: hi, e.g. the last layer)
    whole: bool = True         # whole numbers only
    label: str | None = None   # the label on the page, where it differs from `name`

    def slider(self, value=None, hi=None, **kwargs) -> gr.Slider:
        """The box with its track; Enter commits it (COMMIT_ON_ENTER)."""
        load_once(COMMIT_ON_ENTER)
        hi = self.hi if hi is None else hi
        kwargs.setdefault("step", 1 if self.whole else None)
        return Slider(self.lo, hi, value=self._fallback(hi) if value is None else value, label=self.label or self.name,
                      **kwargs)

    def number(self, value=None, hi=None, **kwargs) -> gr.Number:
        """The box alone; its `submit` (Enter) is the event that commits it."""
        hi = self.hi if hi is None else hi
        return Number(self._fallback(hi) if value is None else value, minimum=self.lo, maximum=hi,
                      label=self.label or self.name, **kwargs)

    def _fallback(self, hi, default=None):
        default = self.default if default is None else default
        return hi if default is None else default

    def read(self, value, hi=None, default=None) -> Reading:
        """`value` as the box's handler uses it, within lo..hi (`hi`, `default`: for this model, layer ...)."""
        lo, hi = self.lo, self.hi if hi is None else hi
        number = value if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value else None
        problem = None
        if number is None:
            used, problem = min(max(self._fallback(hi, default), lo), hi), "the box holds no number"
        elif number < lo:
            used, problem = lo, f"{number_text(number)} is too small"
        elif number > hi:
            used, problem = hi, f"{number_text(number)} is too large"
        elif self.whole and number != math.floor(number):
            used, problem = math.floor(number + 0.5), f"{number_text(number)} is not a whole number"
        else:
            used = number
        used = int(used) if self.whole else float(used)
        if problem:
            kind = "whole numbers" if self.whole else "numbers"
            gr.Warning(f"{self.name} takes {kind} from {number_text(lo)} to {number_text(hi)}: {problem}, so "
                       f"{number_text(used)} is used.")
        return Reading(used, number is None or number != used)
