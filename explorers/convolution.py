"""The Convolution tab's playground: a kernel on an image, the arithmetic of one output cell, pooling, and an
Explain panel. The three gr.api endpoints (conv_arithmetic, conv_pool, conv_kernel) are the same functions the
UI's numbers come from; core.conv does the maths.

No `from __future__ import annotations` here: gr.api reads the return annotation without resolving strings, and
real types give the API page a real schema.
"""
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import gradio as gr
import numpy as np
from gradio.data_classes import FileData
from PIL import Image

from core import render
from core.convolution import conv
from core.convolution.kernel_figures import arithmetic_figure, fmt, histogram, pool_figure
from core.data import ASSETS, CLASSES, load_sample
from core.images import MAX_SIDE, open_image, to_data_url
from core.validate import ECHO, as_choice, as_float32, as_int, as_matrix, echo
from explorers.common import LATEX, Box, api, explain, message_figure, outputs, uploaded_path, user_errors

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
# The number boxes (explorers.common.Box): ranges of the UI, within what the endpoints accept.
FASHION_INDEX = Box("Fashion-MNIST test sample #", 0, None, DEFAULT_FASHION_INDEX)
STRIDE, PADDING, DILATION = Box("Stride", 1, 8, 1), Box("Padding", 0, 16, 1), Box("Dilation", 1, 6, 1)
SAMPLE = Box("Fashion-MNIST test sample # (step-through)", 0, None, DEFAULT_FASHION_INDEX,
             label="Fashion-MNIST test sample #")
ARITH_STRIDE = Box("Stride (step-through)", 0, 4, 1, label="Stride")  # 0 is there to be flagged as invalid
ARITH_PADDING = Box("Padding (step-through)", 0, 4, 1, label="Padding")
ARITH_DILATION = Box("Dilation (step-through)", 1, 4, 1, label="Dilation")
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


@user_errors
def conv_kernel(image: FileData, kernel: list[list[float]], stride: int = 1, padding: int = 1,
                padding_mode: str = "zeros", dilation: int = 1, color: str = "rgb", display: str = "signed") -> dict:
    """Convolve an image with a kernel (F.pad then F.conv2d, each channel separately, pixels scaled to [0, 1]).

    Parameters:
        image: an image file (gradio_client: handle_file(path)), any format PIL reads; ≤ 40 MP, downscaled to 1024 px
        kernel: the weights, a rectangular list of rows of finite numbers, 1 to 15 a side; applied without flipping
        stride: the step between output pixels, in input pixels: a whole number from 1 to 16
        padding: pixels added on every side, 0 to 32 (reflect: less than the image's shorter side)
        padding_mode: what the padding holds: "zeros", "reflect", "replicate" or "circular" (as nn.Conv2d)
        dilation: the spacing of the kernel's taps, 1 to 8; the dilated kernel must fit in the padded image
        color: "rgb" (R, G and B convolved separately: 3 channels) or "grayscale" (ITU-R 601 luma: 1 channel)
        display: how the output's values become the picture's colours: "signed", "abs" (|x|) or "minmax"

    Returns:
        A dict: "image", the output coloured by `display` (PNG data URL); "input_shape" [height, width] in pixels
        that the kernel ran on (after the downscale); "output_shape" [height, width]; "channels" (3 or 1); "min",
        "max" and "mean" of the output values (input pixels scaled to [0, 1]); "formula", {"height", "width"}: the
        output-size formula with the numbers filled in; "display", what the picture's colours mean, with numbers."""
    run = kernel_run(open_image(uploaded_path(image)), kernel, stride, padding, padding_mode, dilation, color,
                     display)
    out = run.output
    return {"image": to_data_url(run.picture), "input_shape": list(run.input_size),
            "output_shape": [run.geometry.out_h, run.geometry.out_w], "channels": int(out.shape[0]),
            "min": float(out.min()), "max": float(out.max()), "mean": float(out.mean()),
            "formula": run.geometry.formula(), "display": run.display_note}


# ---------------------------------------------------------------- arithmetic and pooling endpoints


def arithmetic_json(a: conv.Arithmetic) -> dict:
    return {"padded": a.padded.tolist(), "output": a.output.tolist(),
            "output_shape": [a.geometry.out_h, a.geometry.out_w], "row": a.row, "col": a.col,
            "inputs": a.inputs.tolist(), "products": a.products.tolist(), "value": a.value,
            "taps": a.taps.tolist(), "receptive_field": a.receptive_field, "formula": a.geometry.formula()}


@user_errors
def conv_arithmetic(matrix: list[list[float]], kernel: list[list[float]], stride: int = 1, padding: int = 0,
                    padding_mode: str = "zeros", dilation: int = 1, row: int = 0, col: int = 0) -> dict:
    """Convolve a small matrix (F.pad then F.conv2d: cross-correlation, no bias) and take output cell (row, col)
    apart: the padded input, the full output, the kernel x input products at that cell and their sum.

    Parameters:
        matrix: the input, a rectangular list of rows of finite numbers, 1 to 64 a side
        kernel: the weights, a rectangular list of rows of finite numbers, 1 to 15 a side; applied without flipping
        stride: the step between output cells, in input cells: a whole number from 1 to 16
        padding: cells added on every side, 0 to 32 (reflect: less than the matrix's shorter side; circular: ≤ it)
        padding_mode: what the padding holds: "zeros", "reflect", "replicate" or "circular" (as nn.Conv2d)
        dilation: the spacing of the kernel's taps, 1 to 8; the dilated kernel must fit in the padded matrix
        row: the output cell's row, counted from 0, up to the output's height - 1
        col: the output cell's column, counted from 0, up to the output's width - 1

    Returns:
        A dict: "padded", the input after F.pad; "output", the whole output; "output_shape" [height, width];
        "row" and "col", the cell; "inputs", the kernel-sized block of padded values the kernel meets there;
        "products", kernel x inputs, element by element; "value", their sum (= output[row][col]); "taps",
        [kernel rows][kernel columns][2], the (row, col) in the padded input each weight multiplies;
        "receptive_field", {"top", "left", "bottom", "right"}, inclusive, in padded-input coordinates; "formula",
        {"height", "width"}: the output-size formula with the numbers filled in."""
    return arithmetic_json(conv.conv_arithmetic(matrix, kernel, stride, padding, padding_mode, dilation, row, col))


@user_errors
def conv_pool(matrix: list[list[float]], kind: str = "max", size: int = 2, stride: int = 2) -> dict:
    """Max or average pooling (F.max_pool2d / F.avg_pool2d, no padding) of a matrix.

    Parameters:
        matrix: the input, a rectangular list of rows of finite numbers, 1 to 64 a side
        kind: "max" (each window's largest value) or "avg" (its mean)
        size: the square window's side, in cells: 1 to 16, and at most the matrix's shorter side
        stride: the step between windows, in cells: a whole number from 1 to 16

    Returns:
        A dict: "output", the pooled matrix; "output_shape" [height, width]; "formula", {"height", "width"}: the
        output-size formula with the numbers filled in."""
    out, g = conv.pool_matrix(matrix, kind, size, stride)
    return {"output": out.tolist(), "output_shape": [g.out_h, g.out_w], "formula": g.formula()}


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
    note = f"{source}, {img.width} × {img.height}; licences in assets/photos/LICENSES.md."
    return img, gr.Slider(visible=False), note


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


# ---------------------------------------------------------------- layout

EXPLAIN = explain("convolution")


def _kernel_section(default_img: Image.Image, default_preset: str):
    """Kernel on an image. Returns the components pooling reuses (image and channel choice)."""
    gr.Markdown("### A kernel on an image\nPick a picture and a kernel; the output, its size and its value range "
                "update as you change anything.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            source = gr.Radio(SOURCES, value=SOURCES[0], label="Input", elem_id="conv-source")
            fashion_index = FASHION_INDEX.slider(hi=last_sample(), visible=False, elem_id="conv-fashion-index")
            image = gr.Image(default_img, type="filepath", format="png", sources=["upload", "clipboard"],
                             label="Input image (or drop your own)", height=300, elem_id="conv-input-image")
            source_note = gr.Markdown(f"{SOURCES[0]}, {default_img.width} × {default_img.height}; licences in "
                                      "assets/photos/LICENSES.md.", elem_id="conv-source-note")
        with gr.Column(scale=1, min_width=300):
            preset = gr.Dropdown(list(conv.PRESETS), value=default_preset, label="Preset kernel",
                                 elem_id="conv-preset")
            grid, note = preset_cells(default_preset)
            kernel = gr.Dataframe(grid, headers=column_headers(grid), datatype="str", type="array",
                                  label="Kernel (editable)", elem_id="conv-kernel-grid", max_height=260)
            preset_note = gr.Markdown(note, elem_id="conv-preset-note")
            with gr.Row():
                stride = STRIDE.slider(elem_id="conv-stride")
                padding = PADDING.slider(elem_id="conv-padding")
                dilation = DILATION.slider(elem_id="conv-dilation")
            padding_mode = gr.Radio(list(conv.PADDING_MODES), value="zeros", label="Padding mode",
                                    elem_id="conv-padding-mode")
            color = gr.Radio(COLOR_CHOICES, value="grayscale", label="Channels", elem_id="conv-color")
            display = gr.Radio(DISPLAY_CHOICES, value="signed", label="Display mapping", elem_id="conv-display")
            run = gr.Button("Run kernel", variant="primary", elem_id="conv-run")
        with gr.Column(scale=1, min_width=300):
            picture, info, hist = kernel_view(kernel_run(default_img, conv.preset(default_preset), 1, 1, "zeros",
                                                         1, "grayscale", "signed"))
            output = gr.Image(picture, type="pil", format="png", label="Output", height=300, interactive=False,
                              elem_id="conv-output-image")
            output_info = gr.Markdown(info, elem_id="conv-output-info")
            histogram_plot = gr.Plot(hist, label="Value histogram", elem_id="conv-histogram")

    settings = [image, kernel, stride, padding, padding_mode, dilation, color, display]
    results = outputs(KernelViews, dict(output=output, output_info=output_info, histogram=histogram_plot,
                                        stride=stride, padding=padding, dilation=dilation))
    private = dict(api_visibility="private")
    # .input, not .change: an upload clears the choice, and that must not bring a bundled picture back.
    source.input(pick_source, [source, fashion_index], [image, fashion_index, source_note], **private).then(
        kernel_ui, settings, results, **private)
    fashion_index.release(pick_source, [source, fashion_index], [image, fashion_index, source_note],
                          **private).then(kernel_ui, settings, results, **private)
    image.upload(upload_source, image, [source, fashion_index, source_note], **private).success(
        kernel_ui, settings, results, **private)
    preset.input(preset_ui, preset, [kernel, preset_note], **private)
    # The grid's .change covers an edited cell and a preset's new grid alike, so a preset pick runs the kernel once.
    kernel.change(kernel_note_ui, [preset, kernel], preset_note, **private)
    gr.on([run.click, kernel.change, stride.release, padding.release, dilation.release, padding_mode.input,
           color.input, display.input],
          kernel_ui, settings, results, trigger_mode="always_last", **private)
    return image, color


def _arithmetic_section(patch: list[list[int]], patch_note: str, default_preset: str):
    """Step-through arithmetic. Returns the matrix grid, which pooling reuses."""
    gr.Markdown("### Step through the arithmetic\nOne output cell at a time: the kernel's receptive field in the "
                "padded input, the element-wise products, and their sum.")
    kernel_cells, kernel_text = preset_cells(default_preset)
    # Open on the cell with the largest response, where the sum has something to show.
    first = conv.conv_arithmetic(patch, conv.preset(default_preset), 1, 1, "zeros", 1)
    start_row, start_col = (int(i) for i in np.unravel_index(np.argmax(np.abs(first.output)), first.output.shape))
    view = arithmetic_view(patch, kernel_cells, 1, 1, "zeros", 1, start_row, start_col)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            matrix = gr.Dataframe(patch, headers=column_headers(patch), datatype="number", type="array",
                                  label="Input matrix (editable)", elem_id="conv-arith-matrix", max_height=320)
            matrix_note = gr.Markdown(patch_note, elem_id="conv-arith-matrix-note")
            with gr.Row():
                sample = SAMPLE.number(hi=last_sample(), elem_id="conv-arith-sample")
                take = gr.Button("Take its 7×7 patch", elem_id="conv-arith-take-patch")
            preset = gr.Dropdown(list(conv.PRESETS), value=default_preset, label="Preset kernel",
                                 elem_id="conv-arith-preset")
            kernel = gr.Dataframe(kernel_cells, headers=column_headers(kernel_cells), datatype="str", type="array",
                                  label="Kernel (editable)", elem_id="conv-arith-kernel")
            kernel_info = gr.Markdown(kernel_text, elem_id="conv-arith-kernel-note")
            with gr.Row():
                stride = ARITH_STRIDE.slider(elem_id="conv-arith-stride")
                padding = ARITH_PADDING.slider(elem_id="conv-arith-padding")
                dilation = ARITH_DILATION.slider(elem_id="conv-arith-dilation")
            padding_mode = gr.Radio(list(conv.PADDING_MODES), value="zeros", label="Padding mode",
                                    elem_id="conv-arith-padding-mode")
        with gr.Column(scale=2, min_width=480):
            fig, md, shape, _, _ = view
            with gr.Row():
                row = ROW.slider(start_row, hi=shape[0] - 1, elem_id="conv-arith-row")
                col = COL.slider(start_col, hi=shape[1] - 1, elem_id="conv-arith-col")
            with gr.Row():
                play = gr.Button("▶ Play: walk every position", elem_id="conv-arith-play")
                stop = gr.Button("■ Stop", elem_id="conv-arith-stop")
            figure = gr.Plot(fig, label="Padded input, kernel, products, output", elem_id="conv-arith-figure")
            summary = gr.Markdown(md, elem_id="conv-arith-sum")
    out_shape = gr.State(shape)
    timer = gr.Timer(PLAY_SECONDS, active=False)

    settings = [matrix, kernel, stride, padding, padding_mode, dilation, row, col, out_shape]
    results = outputs(ArithmeticViews, dict(figure=figure, summary=summary, out_shape=out_shape, row=row, col=col,
                                            stride=stride, padding=padding, dilation=dilation))
    private = dict(api_visibility="private")
    gr.on([take.click, sample.submit], take_patch_ui, sample, [matrix, matrix_note, sample], **private).then(
        arithmetic_ui, settings, results, **private)
    preset.input(preset_ui, preset, [kernel, kernel_info], **private).then(arithmetic_ui, settings, results,
                                                                            **private)
    kernel.input(kernel_note_ui, [preset, kernel], kernel_info, **private)
    gr.on([matrix.input, kernel.input, stride.release, padding.release, dilation.release, padding_mode.input,
           row.release, col.release], arithmetic_ui, settings, results, trigger_mode="always_last", **private)
    play.click(play_start, [row, col, out_shape], [timer, row, col], **private).then(
        arithmetic_ui, settings, results, **private)
    stop.click(lambda: gr.Timer(active=False), None, timer, **private)
    timer.tick(play_step, settings, [*results, timer], **private)
    return matrix


def _pool_section(matrix, patch: list[list[int]], image, color):
    gr.Markdown("### Pooling\nMax or average pooling of the matrix above or of the input image (with its "
                "channel choice).")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            source = gr.Radio(POOL_SOURCES, value=POOL_SOURCES[0], label="Pool", elem_id="conv-pool-source")
            kind = gr.Radio(list(conv.POOL_KINDS), value="max", label="Kind", elem_id="conv-pool-kind")
            with gr.Row():
                size = POOL_SIZE.slider(elem_id="conv-pool-size")
                stride = POOL_STRIDE.slider(elem_id="conv-pool-stride")
            run = gr.Button("Pool", variant="primary", elem_id="conv-pool-run")
        with gr.Column(scale=2, min_width=480):
            x = np.asarray(patch, dtype=np.float64)
            out, g = conv.pool(x, "max", 2, 2)
            figure = gr.Plot(pool_figure(x, out, g), label="Pooling", elem_id="conv-pool-figure")
            picture = gr.Image(type="pil", format="png", label="Pooled image", visible=False, height=300,
                               interactive=False, elem_id="conv-pool-image")
            info = gr.Markdown(pool_markdown("max", g, MATRIX_POOL_WHAT), elem_id="conv-pool-info")
    gr.on([run.click, source.input, kind.input, size.release, stride.release], pool_ui,
          [source, kind, size, stride, matrix, image, color],
          outputs(PoolViews, dict(figure=figure, picture=picture, info=info, size=size, stride=stride)),
          trigger_mode="always_last", api_visibility="private")


def build() -> None:
    """The playground section of the Convolution tab, and the conv_* API endpoints."""
    default_img = open_image(PHOTOS[SOURCES[0]])
    image, color = _kernel_section(default_img, "Sobel x 3x3")
    patch, patch_note = patch_cells(DEFAULT_FASHION_INDEX)
    matrix = _arithmetic_section(patch, patch_note, "Laplacian 3x3")
    _pool_section(matrix, patch, image, color)
    with gr.Accordion("Explain: the convolution sum, output size, PyTorch, padding, the Laplacian", open=False,
                      elem_id="conv-explain"):
        gr.Markdown(EXPLAIN, latex_delimiters=LATEX, elem_id="conv-explain-text")
    api(conv_arithmetic, "conv_arithmetic")
    api(conv_pool, "conv_pool")
    api(conv_kernel, "conv_kernel")
