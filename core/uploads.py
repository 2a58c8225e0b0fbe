"""Opening images that people upload: every odd format becomes a plain RGB (or L) PIL image of bounded size,
and everything that cannot be used becomes one clear ImageError instead of a traceback."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.validate import ECHO, echo

# Headers are read before pixels, so an image over this many pixels is refused without being decoded.
MAX_PIXELS = 40_000_000
MAX_SIDE = 1024  # what the explorers compute on; larger images are downscaled (aspect kept)


class ImageError(ValueError):
    """The upload is missing, unreadable, or unreasonable; the message says which, for a person."""


def _flatten_alpha(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _high_bit_depth_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float images: PIL's convert("L") clips at 255, so rescale by the real range instead.
    float32 and in-place steps, because this runs before the downscale, on up to MAX_PIXELS pixels."""
    a = np.array(img, dtype=np.float32)  # a writable copy, even of an "F" image
    if img.mode.startswith("I;16") or (img.mode == "I" and a.max(initial=0) <= 65535 and a.min(initial=0) >= 0):
        a /= 65535.0
    else:
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if hi > lo:
            a -= lo
            a /= hi - lo
        else:
            a[...] = 0
    np.nan_to_num(a, copy=False)
    a *= 255
    a += 0.5
    np.clip(a, 0, 255, out=a)
    return Image.fromarray(a.astype(np.uint8), mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to RGB: alpha is composited on white, CMYK/P/LA/1 converted, 16-bit rescaled."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        return _flatten_alpha(img)
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return _high_bit_depth_to_8bit(img).convert("RGB")
    return img.convert("RGB")


def open_image(path: str | Path | None, max_side: int = MAX_SIDE) -> Image.Image:
    """Open an uploaded file as RGB, rotated by its EXIF orientation and downscaled to at most `max_side`."""
    if path is None or str(path).strip() == "":
        raise ImageError("No image was given. Upload an image or pick one from the gallery.")
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"The image file {echo(path.name)} does not exist on the server (the upload may have "
                         "expired).")
    try:
        img = Image.open(path)
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"The image is {w}x{h} ({w * h / 1e6:.0f} megapixels); the limit is "
                             f"{MAX_PIXELS / 1e6:.0f} megapixels. Please downscale it first.")
        if w < 1 or h < 1:
            raise ImageError("The image has no pixels.")
        img.draft("RGB", (max_side, max_side))  # JPEG decodes at a reduced scale directly: cheap for huge photos
        img = ImageOps.exif_transpose(img)
        img.load()
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        # PIL's messages name the whole server path (gradio's upload folder); the person needs only the file name.
        reason = str(e).replace(str(path), path.name)[:ECHO]
        raise ImageError(f"{echo(path.name)} could not be read as an image ({type(e).__name__}: {reason}). "
                         "It may be truncated or not an image at all.") from e
    img = to_rgb(img)
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return img

