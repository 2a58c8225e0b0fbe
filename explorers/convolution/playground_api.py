"""The playground's three gr.api endpoints, conv_kernel, conv_arithmetic and conv_pool: the same functions the
UI's numbers come from (core.convolution.conv does the maths). No `from __future__ import annotations` here, for
the reason given in explorers/convolution/__init__.py.
"""
from gradio.data_classes import FileData

from core.convolution import conv
from core.render import to_data_url
from core.uploads import open_image
from explorers.common import uploaded_path, user_errors
from explorers.convolution.playground import kernel_run


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

