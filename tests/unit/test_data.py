"""core.data: the IDX reader on files written here, the source order of docs/ARCHITECTURE.md, and the bundled sample."""
import gzip
import struct

import numpy as np
import pytest

from core import data


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file as LeCun's format defines it: 0, 0, type code, ndim, big-endian sizes, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_split(directory, split: str, images: np.ndarray, labels: np.ndarray, gz: bool = True):
    directory.mkdir(parents=True, exist_ok=True)
    prefix = data.SPLIT_PREFIX[split]
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        raw = idx_bytes(array.astype(np.uint8))
        path = directory / f"{prefix}-{kind}-ubyte{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(raw) if gz else raw)


def fake_split(n_per_class: int, seed: int):
    """n images per class, labels interleaved (0, 1, ..., 9, 0, 1, ...), pixels random but reproducible."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(10), n_per_class)
    return rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8), labels


@pytest.fixture(autouse=True)
def isolated_sources(monkeypatch, tmp_path):
    """No real source leaks in: no GLASSBOX_DATA, an empty Debian dir, and a cleared load_split cache."""
    monkeypatch.delenv("GLASSBOX_DATA", raising=False)
    monkeypatch.delenv("GLASSBOX_OFFLINE", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    data.load_split.cache_clear()
    yield
    data.load_split.cache_clear()


@pytest.fixture
def no_download(monkeypatch):
    """torchvision's FashionMNIST replaced by one that records calls and fails as an offline machine does."""
    calls = []

    class Offline:
        def __init__(self, root, train, download):
            calls.append((root, train, download))
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: [Errno -3] name resolution failed")

    monkeypatch.setattr("torchvision.datasets.FashionMNIST", Offline)
    return calls


# ---------------------------------------------------------------- the IDX reader

@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_uint8_round_trip(tmp_path, gz):
    images, _ = fake_split(1, seed=0)
    raw = idx_bytes(images)
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = data.read_idx(path)
    assert out.shape == (10, 28, 28) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, images)


def test_read_idx_big_endian_int32_and_float(tmp_path):
    # Values whose bytes differ under the two byte orders: a little-endian misread would change them.
    ints = np.array([[1, -2, 70000], [256, 0, -70000]], dtype=np.int32)
    floats = np.array([0.5, -3.25, 1e10], dtype=np.float32)
    for array, code in ((ints, 0x0C), (floats, 0x0D)):
        path = tmp_path / f"a{code}.idx"
        path.write_bytes(idx_bytes(array, code))
        out = data.read_idx(path)
        np.testing.assert_array_equal(out, array)
        assert out.dtype.isnative and out.dtype.kind == array.dtype.kind


@pytest.mark.parametrize("raw,message", [
    (b"\x08\x03\x00\x00" + b"\x00" * 16, "bad magic number"),
    (b"\x00\x00", "bad magic number"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated inside its header"),
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x01\x02\x03", "holds 3 bytes of data, but its header promises 5"),
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + b"\x01\x02\x03", "holds 3 bytes of data, but its header promises 2"),
])
def test_read_idx_rejects_bad_files(tmp_path, raw, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(data.DataError, match=message):
        data.read_idx(path)


def test_read_idx_truncated_gzip(tmp_path):
    images, _ = fake_split(1, seed=1)
    path = tmp_path / "cut.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:200])
    with pytest.raises(data.DataError, match="could not be read"):
        data.read_idx(path)


def test_directory_with_mismatched_labels_is_an_error(tmp_path, monkeypatch):
    images, labels = fake_split(2, seed=2)
    write_split(tmp_path / "d", "test", images, labels[:-1])
    monkeypatch.setenv("GLASSBOX_DATA", str(tmp_path / "d"))
    with pytest.raises(data.DataError, match=r"holds images of shape \(20, 28, 28\) and 19 labels"):
        data.load_split("test")


# ---------------------------------------------------------------- the source order

def test_glassbox_data_comes_first(tmp_path, monkeypatch, no_download):
    named, debian = tmp_path / "named", tmp_path / "debian"
    write_split(named, "train", *fake_split(3, seed=3))
    write_split(debian, "train", *fake_split(4, seed=4))
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    monkeypatch.setenv("GLASSBOX_DATA", str(named))
    split = data.load_split("train")
    np.testing.assert_array_equal(split.images, fake_split(3, seed=3)[0])
    assert len(split) == 30 and split.labels.dtype == np.int64
    assert split.source == f"full Fashion-MNIST train split (30 images) from GLASSBOX_DATA at {named}"
    assert no_download == []


def test_debian_directory_when_glassbox_data_is_unset(tmp_path, monkeypatch, no_download):
    debian = tmp_path / "debian"
    write_split(debian, "test", *fake_split(4, seed=4), gz=False)  # the reader also takes uncompressed files
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    split = data.load_split("test")
    np.testing.assert_array_equal(split.labels, fake_split(4, seed=4)[1])
    assert split.source == f"full Fashion-MNIST test split (40 images) from Debian's dataset-fashion-mnist at {debian}"
    assert no_download == []


def test_glassbox_data_not_a_directory_falls_through(tmp_path, monkeypatch, caplog, no_download):
    monkeypatch.setenv("GLASSBOX_DATA", str(tmp_path / "missing"))
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    split = data.load_split("test")
    assert split.source.startswith("bundled Fashion-MNIST sample")
    assert f"GLASSBOX_DATA={tmp_path / 'missing'} is not a directory" in caplog.text


def test_torchvision_download_is_third(monkeypatch):
    calls = []
    images, labels = fake_split(5, seed=5)

    class Downloaded:  # what torchvision's dataset exposes: .data and .targets tensors
        def __init__(self, root, train, download):
            import torch
            calls.append((root, train, download))
            self.data, self.targets = torch.from_numpy(images), torch.from_numpy(labels)

    monkeypatch.setattr("torchvision.datasets.FashionMNIST", Downloaded)
    split = data.load_split("train")
    assert calls == [(str(data.CACHE_DIR), True, True)]
    np.testing.assert_array_equal(split.images, images)
    assert split.source == f"full Fashion-MNIST train split (50 images) downloaded by torchvision into {data.CACHE_DIR}"


def test_offline_skips_the_download(monkeypatch, no_download):
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    split = data.load_split("test")
    assert no_download == []
    assert split.source == "bundled Fashion-MNIST sample, test split (1,000 images, 100 per class)"


def test_failed_download_falls_back_to_the_sample(no_download, caplog):
    caplog.set_level("INFO", logger="core.data")
    split = data.load_split("train")
    assert no_download == [(str(data.CACHE_DIR), True, True)]
    assert split.source == "bundled Fashion-MNIST sample, train split (5,000 images, 500 per class)"
    assert "torchvision could not download Fashion-MNIST" in caplog.text
    assert f"Fashion-MNIST: {split.source}" in caplog.text


def test_allow_download_false_skips_torchvision(no_download):
    assert data.load_split("test", allow_download=False).source.startswith("bundled")
    assert no_download == []


def test_no_source_at_all_is_a_clear_error(monkeypatch, tmp_path, no_download):
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    monkeypatch.setattr(data, "SAMPLE_PATH", tmp_path / "gone.npz")
    with pytest.raises(data.DataError, match=r"No Fashion-MNIST source is available.*gone\.npz is missing"):
        data.load_split("test")


def test_unknown_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', not 'val'"):
        data.load_split("val")


# ---------------------------------------------------------------- the bundled sample

@pytest.mark.parametrize("split,minimum", [("train", 500), ("test", 100)])
def test_bundled_sample_is_class_balanced(split, minimum):
    with np.load(data.SAMPLE_PATH, allow_pickle=False) as z:
        images, labels = z[f"{split}_images"], z[f"{split}_labels"]
    assert images.dtype == np.uint8 and labels.dtype == np.uint8  # stored compactly
    assert images.shape[1:] == (28, 28) and len(images) == len(labels)
    counts = np.bincount(labels, minlength=10)
    assert len(counts) == 10 and counts.min() == counts.max() >= minimum
    # Real Fashion-MNIST pixels, not blank or uniform noise (its mean is about 73 and uniform noise's 127.5).
    assert 60 < images.mean() < 90 and images.std() > 50


def test_bundled_sample_test_split_is_disjoint_from_train():
    with np.load(data.SAMPLE_PATH, allow_pickle=False) as z:
        train = {img.tobytes() for img in z["train_images"]}
        assert not any(img.tobytes() in train for img in z["test_images"])


def test_balanced_subset_order_and_shortage():
    images, labels = fake_split(3, seed=6)
    sub_images, sub_labels = data.balanced_subset(images, labels, 2)
    np.testing.assert_array_equal(sub_labels, np.repeat(np.arange(10), 2))
    # Class 0's first two images are dataset positions 0 and 10 (labels are interleaved).
    np.testing.assert_array_equal(sub_images[:2], images[[0, 10]])
    with pytest.raises(data.DataError, match="class 0 has only 3 images; 4 were asked for"):
        data.balanced_subset(images, labels, 4)


def test_make_sample_from_a_full_source(tmp_path, monkeypatch, no_download):
    source = tmp_path / "full"
    for split, seed in (("train", 7), ("test", 8)):
        write_split(source, split, *fake_split(3, seed=seed))
    monkeypatch.setenv("GLASSBOX_DATA", str(source))
    monkeypatch.setattr(data, "SAMPLE_PER_CLASS", {"train": 2, "test": 1})
    out = data.make_sample(tmp_path / "sample.npz")
    with np.load(out, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["train_labels"], np.repeat(np.arange(10), 2))
        np.testing.assert_array_equal(z["test_images"], fake_split(3, seed=8)[0][:10])
        assert z["train_images"].dtype == np.uint8


def test_make_sample_needs_a_full_source(monkeypatch, tmp_path):
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    with pytest.raises(data.DataError, match="make_sample needs a full Fashion-MNIST source"):
        data.make_sample(tmp_path / "sample.npz")


def test_a_limit_spreads_over_the_classes_of_the_class_sorted_sample(monkeypatch, no_download):
    from core.train.common import image_tensors
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    for limit in (20, 300, 400, 999):
        x, y, source = image_tensors("test", limit)
        assert "bundled" in source and x.shape == (limit, 1, 28, 28)
        assert sorted(set(y.tolist())) == list(range(10))  # the first 20 would all be class 0
        assert max(abs(y.bincount(minlength=10) - limit / 10)) <= 1  # and every class about equally
