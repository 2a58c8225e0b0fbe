"""The Convolution tab's playground, its values and handlers: a kernel on an image, the arithmetic of one output
cell, pooling. The number boxes, the grids' text as numbers, and what each handler shows; core.convolution.conv
does the maths, playground_api holds the endpoints and playground_layout the components and events.
"""
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import gradio as gr
import numpy as np
from PIL import Image

from core import render
from core.convolution import conv
from core.convolution.kernel_figures import arithmetic_figure, fmt, histogram, pool_figure
from core.data import ASSETS, CLASSES, load_sample
from core.uploads import MAX_SIDE, open_image
from core.validate import ECHO, as_choice, as_float32, as_int, as_matrix, echo
from explorers.common import Box, message_figure, uploaded_path, user_errors

PHOTOS = {
    "Astronaut (NASA, public domain)": ASSETS / "photos" / "astronaut.jpg",
    "Chelsea the cat (CC0)": ASSETS / "photos" / "chelsea.jpg",
    "Coffee (CC0)": ASSETS / "photos" / "coffee.jpg",
}
FASHION = "Fashion-MNIST sample"
SOURCES = [*PHOTOS, FASHION]
DISPLAY_CHOICES = [("signed (diverging)", "signed"), ("absolute value |x|", "abs"), ("min-max", "minmax")]
COLOR_CHOICES = [("RGB, each channel", "rgb"), ("grayscale", "grayscale")]
POOL_SOURCES = ["the matrix", "the image"]
PLAY_SECONDS = 0.8   # one output cell per tick: slow enough to read the sum
DEFAULT_FASHION_INDEX = 0
MATRIX_POOL_WHAT = "the matrix (orange: the first window and the output cell it becomes)"
# The number boxes (explorers.common.Box): the ranges core.convolution.conv checks, so a box and the check that
# follows it say the same range. The step-through's padding is smaller: a 7x7 matrix padded by 32 is a 71x71
# figure of cells too small to read; its boxes' other ranges are conv's.
FASHION_INDEX = Box("Fashion-MNIST test sample #", 0, None, DEFAULT_FASHION_INDEX)
STRIDE = Box("Stride", 1, conv.MAX_STRIDE, 1)
PADDING = Box("Padding", 0, conv.MAX_PADDING, 1)
DILATION = Box("Dilation", 1, conv.MAX_DILATION, 1)
SAMPLE = Box("Fashion-MNIST test sample # (step-through)", 0, None, DEFAULT_FASHION_INDEX,
             label="Fashion-MNIST test sample #")
ARITH_STRIDE = Box("Stride (step-through)", 1, conv.MAX_STRIDE, 1, label="Stride")
ARITH_PADDING = Box("Padding (step-through)", 0, 4, 1, label="Padding")
ARITH_DILATION = Box("Dilation (step-through)", 1, conv.MAX_DILATION, 1, label="Dilation")
ROW, COL = Box("Output row", 0, None, 0), Box("Output column", 0, None, 0)
POOL_SIZE, POOL_STRIDE = Box("Window size", 1, 8, 2), Box("Stride (pooling)", 1, 8, 2, label="Stride")


# ---------------------------------------------------------------- converting values


def cell_text(v: float) -> str:
    """A kernel weight as a person would type it: "1/9" rather than 0.1111111111111111."""
    frac = Fraction(float(v)).limit_denominator(256)
    return str(frac) if float(frac) == float(v) else f"{float(v):.6g}"


def parse_cell(v, name: str, r: int, c: int) -> float:
    """One grid cell: a number, or text such as "-2", "0.5" or "1/9"; finite, and within float32's range."""
    where = f"{name} row {r}, column {c}"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return as_float32(v, where)
    text = str(v).strip()
    try:
        value = Fraction(text) if len(text) <= ECHO else None
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None:
        raise ValueError(f"{where} is {echo(v)}: type a number such as 2, -0.5 or 1/9.")
    return as_float32(value, where)


def grid_values(rows, name: str) -> list[list[float]]:
    """A gr.Dataframe's list of rows as numbers, ready for core.conv (which checks the shape and the bounds)."""
    if rows is None or len(rows) == 0:
        raise ValueError(f"The {name} is empty: give it at least one row of numbers.")
    return [[parse_cell(v, name, r, c) for c, v in enumerate(row)] for r, row in enumerate(rows)]


def kernel_grid(kernel: np.ndarray) -> list[list[str]]:
    return [[cell_text(v) for v in row] for row in kernel]


def column_headers(rows) -> list[str]:
    """Grid columns numbered from 0, as the figures and the API count them; "col 0", not a bare 0, which reads as
    a row of values."""
    return [f"col {c}" for c in range(len(rows[0]))]


def grid_update(rows) -> gr.Dataframe:
    return gr.Dataframe(value=rows, headers=column_headers(rows))


# ---------------------------------------------------------------- kernel on an image


@dataclass(frozen=True)
class KernelRun:
    """One kernel applied to one image, with the picture and what the picture's colours mean."""
    input_size: tuple[int, int]   # (height, width) that the kernel ran on
    output: np.ndarray            # [C, Ho, Wo]
    geometry: conv.Geometry
    picture: Image.Image
    display_note: str


def display_note(mode: str, channels: int, value_range: tuple[float, float]) -> str:
    """What the display colours mean, with the actual numbers the mapping used."""
    lo, hi = value_range
    scope = "one range for all of R, G and B" if channels == 3 else "over all pixels"
    if mode == "signed" and channels == 1:
        return f"signed diverging ({scope}): {fmt(lo)} is full blue, 0 is white, {fmt(hi)} is full red."
    if mode == "signed":
        return (f"signed, in each of R, G and B ({scope}): {fmt(lo)} is darkest (0), zero is mid-grey, "
                f"{fmt(hi)} is brightest (255).")
    if mode == "abs":
        return f"absolute value |x| ({scope}): 0 is black, {fmt(hi)} (the largest |x|) is white."
    return f"min-max ({scope}): {fmt(lo)} is black, {fmt(hi)} is white."


def kernel_run(img: Image.Image, kernel, stride=1, padding=1, padding_mode="zeros", dilation=1, color="rgb",
               display="signed") -> KernelRun:
    mode = as_choice(display, "display", render.DISPLAY_MODES)
    out, g = conv.convolve_image(img, kernel, stride, padding, padding_mode, dilation, color)
    _, value_range = render.normalise(out, mode)
    return KernelRun((img.height, img.width), out, g, render.to_image(out, mode),
                     display_note(mode, out.shape[0], value_range))


# ---------------------------------------------------------------- explaining the numbers


def arithmetic_markdown(a: conv.Arithmetic) -> str:
    """The sum written out, the same cell as F.conv2d computed it, and where the receptive field sits."""
    g, r, c = a.geometry, a.row, a.col
    n = a.products.size
    terms = " + ".join(f"({fmt(w)})({fmt(x)})" for w, x in zip(a.kernel.ravel(), a.inputs.ravel(), strict=True))
    written = terms if n <= 25 else f"the sum of the {n} products"
    f = a.receptive_field
    p = g.padding
    outside = int(np.sum((a.taps[..., 0] < p) | (a.taps[..., 0] >= p + g.in_h)
                         | (a.taps[..., 1] < p) | (a.taps[..., 1] >= p + g.in_w)))
    padding_note = (f" {outside} of the {n} inputs come from the {g.padding_mode} padding." if outside
                    else " All of them lie inside the original input.")
    return "\n\n".join([
        f"#### output[{r}, {c}] = {fmt(a.value)}",
        f"Σ kernel × input = {written} = **{fmt(a.value)}**",
        f"`F.conv2d` computed output[{r}, {c}] = {fmt(a.output[r, c])}.",
        f"Receptive field: rows {f['top']}–{f['bottom']}, columns {f['left']}–{f['right']} of the padded input "
        f"(rows {f['top'] - p}–{f['bottom'] - p}, columns {f['left'] - p}–{f['right'] - p} of the original)."
        + padding_note,
        f"Output size: height `{g.formula()['height']}`, width `{g.formula()['width']}`.",
    ])


def kernel_markdown(run: KernelRun) -> str:
    g, out = run.geometry, run.output
    channels = "3 channels (R, G, B)" if out.shape[0] == 3 else "1 channel (grayscale)"
    return "\n\n".join([
        f"**Output {g.out_h} × {g.out_w}**, {channels}, from an input of {run.input_size[0]} × {run.input_size[1]}.",
        f"height: `{g.formula()['height']}`  \nwidth: `{g.formula()['width']}`",
        f"Values (input pixels scaled to [0, 1]): min {fmt(out.min())}, max {fmt(out.max())}, "
        f"mean {fmt(out.mean())}.",
        f"**Colours:** {run.display_note}",
    ])


# ---------------------------------------------------------------- UI handlers


def kernel_view(run: KernelRun):
    """(picture, explanation, histogram); tiny outputs (Fashion-MNIST) are enlarged so pixels stay visible."""
    return render.upscale(run.picture, 256), kernel_markdown(run), histogram(run.output)


class KernelViews(NamedTuple):
    output: object
    output_info: str
    histogram: object
    stride: object
    padding: object
    dilation: object


@user_errors
def kernel_ui(image_path, grid, stride, padding, padding_mode, dilation, color, display) -> KernelViews:
    """A value that makes no output keeps the last output in the views (an error would replace each of them with a
    badge). A cell that is not a number is said by the note under the grid (kernel_note), not in a warning: one
    edit of a gr.Dataframe cell sends its change event twice, so a warning here came twice. Anything else (a
    kernel larger than the padded image) is a warning."""
    s, p, d = STRIDE.read(stride), PADDING.read(padding), DILATION.read(dilation)
    try:
        kernel = grid_values(grid, "kernel")
    except ValueError:
        return KernelViews(*(gr.skip(),) * 3, s.shown, p.shown, d.shown)
    try:
        img = open_image(uploaded_path(image_path))
        views = kernel_view(kernel_run(img, kernel, s.value, p.value, padding_mode, d.value, color, display))
    except ValueError as e:
        gr.Warning(str(e))
        views = (gr.skip(),) * 3
    return KernelViews(*views, s.shown, p.shown, d.shown)


def last_sample() -> int:
    return len(load_sample("test")) - 1


def fashion_image(index) -> tuple[Image.Image, str]:
    sample = load_sample("test")
    i = as_int(index, "sample number", 0, len(sample) - 1)
    return Image.fromarray(sample.images[i]), f"Fashion-MNIST test sample #{i}: {CLASSES[sample.labels[i]]}"


def photo_note(source: str, img: Image.Image) -> str:
    """A bundled photo's note: its name and size, how to use one's own (the image box's label is too short to say
    it at 800 px), and where its licence is."""
    return (f"{source}, {img.width} × {img.height}; drop your own picture on it. Licences in "
            "assets/photos/LICENSES.md.")


@user_errors
def pick_source(source, index):
    """The chosen bundled input, shown in the image box (uploading there replaces it)."""
    if source == FASHION:
        i = FASHION_INDEX.read(index, hi=last_sample())
        img, caption = fashion_image(i.value)
        note = f"{caption}, 28 × 28 grayscale ({load_sample('test').source})."
        return img, i.update(visible=True), note
    path = PHOTOS[as_choice(source, "source", SOURCES)]
    img = open_image(path)
    return img, gr.Slider(visible=False), photo_note(source, img)


@user_errors
def upload_source(path):
    """An upload replaces the bundled input: no bundled choice stays selected, and the note describes the upload
    at the size the kernel runs on."""
    img = open_image(uploaded_path(path))
    note = (f"Your image, {img.height} × {img.width} (height × width, as the output counts) as the kernel reads it "
            f"(larger uploads are scaled down to {MAX_SIDE} pixels on their longer side). Choose an input above to "
            "go back to a bundled one.")
    return gr.Radio(value=None), gr.Slider(visible=False), note


EDIT_HINT = "Edit any cell; fractions such as 1/9 are fine."


def preset_cells(name) -> tuple[list[list[str]], str]:
    kernel, what = conv.PRESETS[as_choice(name, "preset kernel", conv.PRESETS)]
    return kernel_grid(kernel), f"*{name}:* {what}. {EDIT_HINT}"


def kernel_note(name, rows) -> str:
    """The note under a kernel grid: the preset's description while the grid holds the preset, otherwise what the
    edited kernel is, or what is wrong with a cell (the views then keep the last output)."""
    _, note = preset_cells(name)
    try:
        values = np.asarray(grid_values(rows, "kernel"), dtype=np.float32)
    except ValueError as e:  # a cell that is not a number, or rows of unequal length
        return f"⚠️ **{e}** The output keeps the last kernel that worked. *Your own kernel*, edited from {name}."
    if np.array_equal(values, np.asarray(conv.preset(name), dtype=np.float32)):
        return note
    return (f"*Your own kernel*, {values.shape[0]}×{values.shape[1]}, edited from {name}: its weights sum to "
            f"{fmt(values.sum(dtype=np.float64))}. {EDIT_HINT}")


@user_errors
def kernel_note_ui(name, rows):
    return kernel_note(name, rows)


@user_errors
def preset_ui(name):
    rows, note = preset_cells(name)
    return grid_update(rows), note


def display_for(kernel) -> str:
    """The display a kernel's output reads best in: "signed" (diverging around 0) when some weight is negative, so
    that the output can be; "minmax" when none is (a blur's output is a picture in [0, 1], which the signed display
    would wash out to pale grey around its white 0)."""
    return "signed" if np.min(kernel) < 0 else "minmax"


@user_errors
def image_preset_ui(name):
    """A preset for the image: its grid, its note, and the display its output reads best in (display_for)."""
    rows, note = preset_cells(name)
    return grid_update(rows), note, display_for(conv.preset(name))


def patch_cells(index) -> tuple[list[list[int]], str]:
    img, caption = fashion_image(index)
    patch, top, left = conv.contrast_patch(np.asarray(img), 7)
    note = (f"The 7 × 7 patch of {caption} with the most contrast (rows {top}–{top + 6}, "
            f"columns {left}–{left + 6}); pixel values 0–255. Edit any cell.")
    return patch.astype(int).tolist(), note


@user_errors
def take_patch_ui(index):
    i = SAMPLE.read(index, hi=last_sample())
    rows, note = patch_cells(i.value)
    return grid_update(rows), note, i.shown


def checked_grids(matrix, kernel, stride, padding, padding_mode, dilation):
    """The two grids as arrays and their geometry; ValueError if the settings do not make a convolution."""
    x = as_matrix(grid_values(matrix, "matrix"), "matrix", max_side=conv.MAX_MATRIX)
    w = conv.as_kernel(grid_values(kernel, "kernel"))
    return x, w, conv.geometry(*x.shape, w, stride, padding, padding_mode, dilation)


def arithmetic_view(matrix, kernel, stride, padding, padding_mode, dilation, row, col):
    """(figure, markdown, output shape, row, col), with row and col clamped into the output."""
    x, w, g = checked_grids(matrix, kernel, stride, padding, padding_mode, dilation)
    row = min(max(as_int(row, "row"), 0), g.out_h - 1)
    col = min(max(as_int(col, "col"), 0), g.out_w - 1)
    a = conv.conv_arithmetic(x, w, stride, padding, padding_mode, dilation, row, col)
    return arithmetic_figure(a), arithmetic_markdown(a), [g.out_h, g.out_w], row, col


class ArithmeticViews(NamedTuple):
    figure: object
    summary: str
    out_shape: list
    row: object
    col: object
    stride: object
    padding: object
    dilation: object


def arithmetic_boxes(stride, padding, dilation, row, col, shape):
    """The step-through's boxes as read: row and column within the output the sliders show (`shape`);
    arithmetic_view then fits them, without a warning, into the output of the new settings."""
    return (ARITH_STRIDE.read(stride), ARITH_PADDING.read(padding), ARITH_DILATION.read(dilation),
            ROW.read(row, hi=shape[0] - 1), COL.read(col, hi=shape[1] - 1))


def _arithmetic_outputs(view, asked_row, asked_col, s, p, d) -> ArithmeticViews:
    """Slider values are sent back only when they changed (clamped, or moved by play): a person may already be
    moving the other slider, and echoing its old value would undo that."""
    fig, md, shape, row, col = view
    return ArithmeticViews(fig, md, shape,
                           gr.Slider(maximum=shape[0] - 1, **({"value": row} if row != asked_row else {})),
                           gr.Slider(maximum=shape[1] - 1, **({"value": col} if col != asked_col else {})),
                           s.shown, p.shown, d.shown)


def _flagged(error: ValueError, s, p, d, r, c) -> ArithmeticViews:
    """Outputs for settings that make no convolution: the reason in place of the sum; the sliders stay put."""
    return ArithmeticViews(message_figure("No output for these settings"), f"⚠️ **Invalid combination.** {error}",
                           gr.skip(), r.shown, c.shown, s.shown, p.shown, d.shown)


@user_errors
def arithmetic_ui(matrix, kernel, stride, padding, padding_mode, dilation, row, col, shape) -> ArithmeticViews:
    """Invalid combinations are flagged in place, not raised: a person exploring them should see why."""
    s, p, d, r, c = arithmetic_boxes(stride, padding, dilation, row, col, shape)
    try:
        view = arithmetic_view(matrix, kernel, s.value, p.value, padding_mode, d.value, r.value, c.value)
        return _arithmetic_outputs(view, row, col, s, p, d)
    except ValueError as e:
        return _flagged(e, s, p, d, r, c)


@user_errors
def play_start(row, col, shape):
    """Start the walk from the current cell; from the last cell it starts over at (0, 0)."""
    row, col = ROW.read(row, hi=shape[0] - 1).value, COL.read(col, hi=shape[1] - 1).value
    at_end = row >= shape[0] - 1 and col >= shape[1] - 1
    return gr.Timer(active=True), (0 if at_end else row), (0 if at_end else col)


@user_errors
def play_step(matrix, kernel, stride, padding, padding_mode, dilation, row, col, shape):
    """One tick: move to the next output cell in reading order; stop at the last one or on invalid settings."""
    s, p, d, r, c = arithmetic_boxes(stride, padding, dilation, row, col, shape)
    try:
        _, _, g = checked_grids(matrix, kernel, s.value, p.value, padding_mode, d.value)
    except ValueError as e:
        return (*_flagged(e, s, p, d, r, c), gr.Timer(active=False))
    last = g.out_h * g.out_w - 1
    index = min(min(r.value, g.out_h - 1) * g.out_w + min(c.value, g.out_w - 1) + 1, last)
    view = arithmetic_view(matrix, kernel, s.value, p.value, padding_mode, d.value, *divmod(index, g.out_w))
    return (*_arithmetic_outputs(view, row, col, s, p, d), gr.Timer(active=index < last))


def pool_markdown(kind: str, g: conv.Geometry, what: str) -> str:
    how = "the largest value" if kind == "max" else "the mean"
    return (f"{kind} pooling of {what}: each {g.k_h}×{g.k_w} window becomes {how} of its cells, and the window "
            f"moves {g.stride} at a time.\n\n"
            f"height: `{g.formula()['height']}`  \nwidth: `{g.formula()['width']}`")


class PoolViews(NamedTuple):
    figure: object
    picture: object
    info: str
    size: object
    stride: object


@user_errors
def pool_ui(source, kind, size, stride, matrix, image_path, color) -> PoolViews:
    """The window is at most the input's shorter side (a 7×7 matrix takes up to 7), so the box says so."""
    s = POOL_STRIDE.read(stride)
    if source == POOL_SOURCES[0]:
        x = as_matrix(grid_values(matrix, "matrix"), "matrix", max_side=conv.MAX_MATRIX)
        k = POOL_SIZE.read(size, hi=min(POOL_SIZE.hi, *x.shape))
        out, g = conv.pool(x, kind, k.value, s.value)
        return PoolViews(gr.Plot(pool_figure(x, out, g), visible=True), gr.Image(visible=False),
                         pool_markdown(kind, g, MATRIX_POOL_WHAT), k.shown, s.shown)
    img = open_image(uploaded_path(image_path))
    k = POOL_SIZE.read(size, hi=min(POOL_SIZE.hi, img.height, img.width))
    out, g = conv.pool_image(img, kind, k.value, s.value, color)
    pixels = np.clip(np.round(out.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    what = f"the {img.height}×{img.width} image, per channel (shown as pixels, no rescaling)"
    return PoolViews(gr.Plot(visible=False), gr.Image(render.upscale(picture, 256), visible=True),
                     pool_markdown(kind, g, what), k.shown, s.shown)
