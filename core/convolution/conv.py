"""The maths of the convolution playground: preset kernels, padding, 2-D convolution, pooling, and the
output-size formula, with the bounds that keep a request from a person cheap.

Semantics are exactly PyTorch's: the input is padded with `F.pad`, then `F.conv2d` slides the kernel without
flipping it (cross-correlation) and without a bias. Everything runs on the CPU: these are single small images
and matrices, where a device transfer would cost more than the arithmetic. Matrices use float64, so the
hand-checkable sums are exact; images use float32, which is 10-25x faster for large kernels and far more precise
than the 8-bit pixels it is computed from.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.validate import as_choice, as_int, as_matrix

MAX_KERNEL = 15    # largest kernel side
MAX_MATRIX = 64    # largest side of a matrix for the step-through and pooling
MAX_STRIDE = 16
MAX_PADDING = 32
MAX_DILATION = 8
MAX_POOL = 16      # largest pooling window side

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
POOL_KINDS = ("max", "avg")
COLOR_MODES = ("rgb", "grayscale")

# F.pad's name for each of nn.Conv2d's padding_mode values.
_F_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _k(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


_BINOMIAL_5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0])

# name -> (kernel, what it does). Sobel x/y are written for cross-correlation, so a positive output means the
# intensity grows to the right (x) or downwards (y).
PRESETS: dict[str, tuple[np.ndarray, str]] = {
    "identity 3x3": (_k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), "copies the input: a starting point for editing"),
    "identity 5x5": (np.pad(_k([[1]]), 2), "copies the input: a 5x5 starting point for editing"),
    "box blur 3x3": (np.full((3, 3), 1 / 9), "the plain average of the 3x3 neighbourhood"),
    "box blur 5x5": (np.full((5, 5), 1 / 25), "the plain average of the 5x5 neighbourhood"),
    "Gaussian blur 3x3": (_k([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
                          "a weighted average that favours the centre (binomial approximation of a Gaussian)"),
    "Gaussian blur 5x5": (np.outer(_BINOMIAL_5, _BINOMIAL_5) / 256,
                          "a wider weighted average (outer product of the binomial row 1 4 6 4 1, over 256)"),
    "sharpen 3x3": (_k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
                    "the input plus the Laplacian kernel's output (centre 5 = 1 + 4): boosts differences from "
                    "the neighbours"),
    "Laplacian 3x3": (_k([[0, -1, 0], [-1, 4, -1], [0, -1, 0]]),
                      "4 x centre minus the 4 neighbours: 0 on flat regions and steady ramps, signed near edges"),
    "Sobel x 3x3": (_k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
                    "horizontal gradient: positive where brightness increases to the right"),
    "Sobel y 3x3": (_k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
                    "vertical gradient: positive where brightness increases downwards"),
    "emboss 3x3": (_k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
                   "the input plus a diagonal gradient (positive where brightness rises towards the bottom right): "
                   "looks like a relief"),
    "outline 3x3": (_k([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
                    "8 x centre minus all 8 neighbours: highlights every boundary"),
}
PRESET_KERNELS: dict[str, np.ndarray] = {name: kernel for name, (kernel, _) in PRESETS.items()}


def preset(name: str) -> np.ndarray:
    """A copy of the named preset kernel (copies, so callers cannot edit the table)."""
    return PRESET_KERNELS[as_choice(name, "preset kernel", PRESET_KERNELS)].copy()


# ---------------------------------------------------------------- output size


def output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output length along one axis: floor((i + 2p - d(k-1) - 1) / s) + 1 (nn.Conv2d's documented formula).

    Zero or less means the dilated kernel does not fit in the padded input."""
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


def size_formula(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> str:
    """The formula with the numbers filled in, e.g. "floor((28 + 2·1 − 1·(3 − 1) − 1) / 1) + 1 = 28"."""
    return f"floor(({i} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1 = {output_size(i, k, s, p, d)}"


@dataclass(frozen=True)
class Geometry:
    """Validated convolution settings for one input size; everything the formula and F.conv2d need."""
    in_h: int
    in_w: int
    k_h: int
    k_w: int
    stride: int
    padding: int
    padding_mode: str
    dilation: int

    @property
    def out_h(self) -> int:
        return output_size(self.in_h, self.k_h, self.stride, self.padding, self.dilation)

    @property
    def out_w(self) -> int:
        return output_size(self.in_w, self.k_w, self.stride, self.padding, self.dilation)

    def formula(self) -> dict[str, str]:
        return {"height": size_formula(self.in_h, self.k_h, self.stride, self.padding, self.dilation),
                "width": size_formula(self.in_w, self.k_w, self.stride, self.padding, self.dilation)}


def geometry(in_h: int, in_w: int, kernel: np.ndarray, stride=1, padding=0, padding_mode="zeros",
             dilation=1) -> Geometry:
    """Check the settings against each other and the bounds; every ValueError says what to change."""
    stride = as_int(stride, "stride", 1, MAX_STRIDE)
    padding = as_int(padding, "padding", 0, MAX_PADDING)
    dilation = as_int(dilation, "dilation", 1, MAX_DILATION)
    padding_mode = as_choice(padding_mode, "padding_mode", PADDING_MODES)
    k_h, k_w = kernel.shape
    small = min(in_h, in_w)
    # F.pad's own limits: reflect mirrors without repeating the edge, so it needs p < size; circular may wrap once.
    if padding_mode == "reflect" and padding >= small:
        raise ValueError(f"reflect padding of {padding} needs the input to be larger than {padding} on each side, "
                         f"but it is {in_h}x{in_w}. Use padding at most {small - 1}, or replicate/zeros padding.")
    if padding_mode == "circular" and padding > small:
        raise ValueError(f"circular padding of {padding} would wrap around a {in_h}x{in_w} input more than once. "
                         f"Use padding at most {small}.")
    g = Geometry(in_h, in_w, k_h, k_w, stride, padding, padding_mode, dilation)
    span_h, span_w = dilation * (k_h - 1) + 1, dilation * (k_w - 1) + 1
    if g.out_h < 1 or g.out_w < 1:
        raise ValueError(f"The kernel does not fit: a {k_h}x{k_w} kernel at dilation {dilation} spans "
                         f"{span_h}x{span_w}, but the padded input is only {in_h + 2 * padding}x{in_w + 2 * padding}. "
                         "Add padding, or use a smaller kernel or dilation.")
    return g


def as_kernel(value, name: str = "kernel") -> np.ndarray:
    """A kernel from a person or API caller: a rectangular matrix of finite numbers, at most MAX_KERNEL a side."""
    return as_matrix(value, name, max_side=MAX_KERNEL)


# ---------------------------------------------------------------- padding and convolution


def pad(x: torch.Tensor, padding: int, padding_mode: str) -> torch.Tensor:
    """Pad the last two dims of [N, C, H, W] by `padding` on every side, as nn.Conv2d's padding_mode does."""
    if padding == 0:
        return x
    return F.pad(x, (padding, padding, padding, padding), mode=_F_PAD_MODE[padding_mode])


def _conv(x: torch.Tensor, kernel: np.ndarray, g: Geometry) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad then convolve every channel of [C, H, W] with the same kernel; returns (padded, output), both [C, ., .]."""
    channels = x.shape[0]
    padded = pad(x[None], g.padding, g.padding_mode)
    weight = torch.as_tensor(kernel, dtype=x.dtype).expand(channels, 1, g.k_h, g.k_w)
    # groups=C: each channel is convolved on its own, the way the playground shows a kernel acting on R, G and B.
    out = F.conv2d(padded, weight, stride=g.stride, dilation=g.dilation, groups=channels)
    return padded[0], out[0]


def convolve(x: np.ndarray, kernel: np.ndarray, stride=1, padding=0, padding_mode="zeros", dilation=1,
             dtype=np.float64) -> tuple[np.ndarray, Geometry]:
    """Convolve a [H, W] or [C, H, W] array (each channel separately); returns the output and its geometry."""
    a = np.asarray(x, dtype=dtype)
    planes = a[None] if a.ndim == 2 else a
    g = geometry(planes.shape[1], planes.shape[2], kernel, stride, padding, padding_mode, dilation)
    _, out = _conv(torch.from_numpy(planes), kernel, g)
    out = out.numpy()
    return (out[0] if a.ndim == 2 else out), g


@dataclass(frozen=True)
class Arithmetic:
    """One output cell of a convolution, taken apart: what the step-through shows."""
    padded: np.ndarray     # [Hp, Wp], the input after F.pad
    output: np.ndarray     # [Ho, Wo], F.conv2d's output
    kernel: np.ndarray     # [kh, kw]
    row: int
    col: int
    taps: np.ndarray       # [kh, kw, 2], the (row, col) in `padded` that each kernel weight multiplies
    inputs: np.ndarray     # [kh, kw], the padded-input values at those taps
    products: np.ndarray   # [kh, kw], kernel * inputs
    geometry: Geometry

    @property
    def value(self) -> float:
        """The sum of the products: by construction the same number as output[row, col]."""
        return float(self.products.sum())

    @property
    def receptive_field(self) -> dict[str, int]:
        """The rectangle of `padded` the dilated kernel covers at (row, col), inclusive bounds."""
        return {"top": int(self.taps[0, 0, 0]), "left": int(self.taps[0, 0, 1]),
                "bottom": int(self.taps[-1, -1, 0]), "right": int(self.taps[-1, -1, 1])}


def conv_arithmetic(matrix, kernel, stride=1, padding=0, padding_mode="zeros", dilation=1, row=0,
                    col=0) -> Arithmetic:
    """Convolve a small matrix with F.conv2d and take output cell (row, col) apart into its products."""
    x = as_matrix(matrix, "matrix", max_side=MAX_MATRIX)
    w = as_kernel(kernel)
    g = geometry(*x.shape, w, stride, padding, padding_mode, dilation)
    row = as_int(row, "row", 0, g.out_h - 1)
    col = as_int(col, "col", 0, g.out_w - 1)
    padded, out = _conv(torch.from_numpy(x)[None], w, g)
    padded, out = padded[0].numpy(), out[0].numpy()
    # Output (row, col) reads the padded input at (row*s + i*d, col*s + j*d) for kernel index (i, j).
    rows = row * g.stride + g.dilation * np.arange(g.k_h)
    cols = col * g.stride + g.dilation * np.arange(g.k_w)
    taps = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1)
    inputs = padded[np.ix_(rows, cols)]
    return Arithmetic(padded, out, w, row, col, taps, inputs, w * inputs, g)


# ---------------------------------------------------------------- images


def image_planes(img: Image.Image, color: str = "rgb") -> np.ndarray:
    """A PIL image as [C, H, W] float32 in [0, 1] (ToTensor's scaling); grayscale uses PIL's ITU-R 601 luma."""
    color = as_choice(color, "color", COLOR_MODES)
    if color == "grayscale":
        return (np.asarray(img.convert("L"), dtype=np.float32) / 255.0)[None]
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1)) / 255.0


def convolve_image(img: Image.Image, kernel, stride=1, padding=1, padding_mode="zeros", dilation=1,
                   color: str = "rgb") -> tuple[np.ndarray, Geometry]:
    """Run one kernel over an image, per channel (RGB) or on its grayscale; returns [C, Ho, Wo] and the geometry."""
    return convolve(image_planes(img, color), as_kernel(kernel), stride, padding, padding_mode, dilation,
                    dtype=np.float32)


# ---------------------------------------------------------------- pooling


def pool_geometry(in_h: int, in_w: int, kind="max", size=2, stride=2) -> Geometry:
    """Pooling has no padding or dilation here, so its output size is the same formula with p = 0, d = 1."""
    as_choice(kind, "kind", POOL_KINDS)
    size = as_int(size, "size", 1, MAX_POOL)
    stride = as_int(stride, "stride", 1, MAX_STRIDE)
    if size > min(in_h, in_w):
        raise ValueError(f"A {size}x{size} pooling window does not fit in a {in_h}x{in_w} input. "
                         f"Use size at most {min(in_h, in_w)}.")
    return Geometry(in_h, in_w, size, size, stride, 0, "zeros", 1)


def pool(x: np.ndarray, kind="max", size=2, stride=2, dtype=np.float64) -> tuple[np.ndarray, Geometry]:
    """Max or average pooling (F.max_pool2d / F.avg_pool2d) of a [H, W] or [C, H, W] array, each channel alone."""
    a = np.asarray(x, dtype=dtype)
    planes = a[None] if a.ndim == 2 else a
    g = pool_geometry(planes.shape[1], planes.shape[2], kind, size, stride)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    out = fn(torch.from_numpy(planes)[None], kernel_size=g.k_h, stride=g.stride)[0].numpy()
    return (out[0] if a.ndim == 2 else out), g


def pool_matrix(matrix, kind="max", size=2, stride=2) -> tuple[np.ndarray, Geometry]:
    """Pool a matrix sent by a person or API caller (checked like the step-through's matrix)."""
    return pool(as_matrix(matrix, "matrix", max_side=MAX_MATRIX), kind, size, stride)


def pool_image(img: Image.Image, kind="max", size=2, stride=2, color: str = "rgb") -> tuple[np.ndarray, Geometry]:
    """Pool an image per channel (RGB) or its grayscale, in [0, 1]; returns [C, Ho, Wo] and the geometry."""
    return pool(image_planes(img, color), kind, size, stride, dtype=np.float32)


# ---------------------------------------------------------------- defaults for the playground


def contrast_patch(image: np.ndarray, size: int = 7) -> tuple[np.ndarray, int, int]:
    """The size x size window of `image` with the largest standard deviation (where something happens),
    with its top-left corner; a step-through on a blank patch would teach nothing."""
    a = np.asarray(image, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(a, (size, size))
    top, left = np.unravel_index(np.argmax(windows.std(axis=(-2, -1))), windows.shape[:2])
    return a[top:top + size, left:left + size].copy(), int(top), int(left)
