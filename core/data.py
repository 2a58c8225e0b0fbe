"""Fashion-MNIST: the IDX reader, the three sources in the order of docs/ARCHITECTURE.md, and the bundled
class-balanced sample.

Sources, tried in order:
  1. the directory in GLASSBOX_DATA, else Debian's `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist);
  2. torchvision's FashionMNIST(download=True) into a cache directory (skipped where core.offline forbids it);
  3. the sample bundled in assets/ (500 train + 100 test images per class).
"""
from __future__ import annotations

import functools
import gzip
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import offline, settings

log = logging.getLogger(__name__)

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_PATH = ASSETS / "fashion_mnist_sample.npz"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CACHE_DIR = settings.CACHE.get()
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
SAMPLE_PER_CLASS = {"train": 500, "test": 100}

# The IDX type codes (http://yann.lecun.com/exdb/mnist/ format), big-endian on disk.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data source exists but cannot be read."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8, [N, 28, 28]
    labels: np.ndarray  # int64, [N]
    source: str         # one line naming where the images came from

    def __len__(self) -> int:
        return len(self.labels)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a numpy array of its declared type and shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path} could not be read: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an IDX file (bad magic number).")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise DataError(f"{path} has unknown IDX type code 0x{type_code:02x}.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path} holds {len(raw) - header} bytes of data, but its header promises {expected}.")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _read_idx_dir(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    prefix = SPLIT_PREFIX[split]
    found = {}
    for kind, ndim in (("images", 3), ("labels", 1)):
        candidates = [directory / f"{prefix}-{kind}-idx{ndim}-ubyte{ext}" for ext in (".gz", "")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return None
        found[kind] = read_idx(path)
    images, labels = found["images"], found["labels"].astype(np.int64)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(f"{directory} holds images of shape {images.shape} and {len(labels)} labels; "
                        "expected [N, 28, 28] with one label each.")
    return images.astype(np.uint8), labels


def _from_directory(split: str) -> Split | None:
    named = settings.DATA.get()
    directory = named or DEBIAN_DIR
    if not directory.is_dir():
        if named:
            log.warning("GLASSBOX_DATA=%s is not a directory; trying the next source.", named)
        return None
    pair = _read_idx_dir(directory, split)
    if pair is None:
        return None
    what = "GLASSBOX_DATA" if named else "Debian's dataset-fashion-mnist"
    return Split(*pair, source=f"full Fashion-MNIST {split} split ({len(pair[1]):,} images) from {what} at {directory}")


def _from_torchvision(split: str) -> Split | None:
    if offline.forbidden_by():
        return None
    try:
        from torchvision.datasets import FashionMNIST
        ds = FashionMNIST(str(CACHE_DIR), train=(split == "train"), download=True)
    except Exception as e:  # offline machines fail here in many ways (DNS, refused, timeouts)
        log.info("torchvision could not download Fashion-MNIST (%s); using the bundled sample.", e)
        return None
    images, labels = ds.data.numpy().astype(np.uint8), ds.targets.numpy().astype(np.int64)
    return Split(images, labels, source=f"full Fashion-MNIST {split} split ({len(labels):,} images) "
                                        f"downloaded by torchvision into {CACHE_DIR}")


def _from_sample(split: str) -> Split:
    if not SAMPLE_PATH.is_file():
        raise DataError(f"No Fashion-MNIST source is available, and the bundled sample {SAMPLE_PATH} is missing.")
    with np.load(SAMPLE_PATH, allow_pickle=False) as z:
        images, labels = z[f"{split}_images"], z[f"{split}_labels"].astype(np.int64)
    return Split(images, labels, source=f"bundled Fashion-MNIST sample, {split} split "
                                        f"({len(labels):,} images, {len(labels) // 10} per class)")


@functools.lru_cache(maxsize=4)
def load_split(split: str = "train", allow_download: bool = True) -> Split:
    """The best available Fashion-MNIST split: a full local copy, a download, else the bundled sample."""
    if split not in SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    result = _from_directory(split) or (_from_torchvision(split) if allow_download else None) or _from_sample(split)
    log.info("Fashion-MNIST: %s", result.source)
    return result


@functools.lru_cache(maxsize=2)
def load_sample(split: str = "test") -> Split:
    """Always the bundled sample: what the app shows in galleries, identical on every machine. Read once per
    process (each tab's gallery reads it while the app starts) and shared, so its arrays are read-only."""
    sample = _from_sample(split)
    sample.images.flags.writeable = sample.labels.flags.writeable = False
    return sample


def balanced_subset(images: np.ndarray, labels: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `per_class` images of each class, in class order then dataset order (deterministic)."""
    picks = []
    for c in range(len(CLASSES)):
        idx = np.flatnonzero(labels == c)[:per_class]
        if len(idx) < per_class:
            raise DataError(f"class {c} has only {len(idx)} images; {per_class} were asked for.")
        picks.append(idx)
    order = np.concatenate(picks)
    return images[order], labels[order]


def make_sample(out: Path = SAMPLE_PATH) -> Path:
    """Write the bundled sample from a full source (run once; the result is committed)."""
    arrays = {}
    for split, per_class in SAMPLE_PER_CLASS.items():
        full = _from_directory(split) or _from_torchvision(split)
        if full is None:
            raise DataError("make_sample needs a full Fashion-MNIST source (Debian package or download).")
        images, labels = balanced_subset(full.images, full.labels, per_class)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels.astype(np.uint8)
    np.savez_compressed(out, **arrays)
    return out


if __name__ == "__main__":
    print(f"wrote {make_sample()}")
