"""core.checkpoints: safetensors round trips, the sha256 manifest, and every way a weight file can be wrong."""
import hashlib
import json
import pickle
import re

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from core import checkpoints
from core.checkpoints import CheckpointError
from core.data import ASSETS


def tensors():
    g = torch.Generator().manual_seed(0)
    return {"layer.weight": torch.randn(4, 3, generator=g), "layer.bias": torch.randn(4, generator=g),
            "steps": torch.tensor([7, 8], dtype=torch.int64)}


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.safetensors"
    checkpoints.save(tensors(), path, metadata={"step": "7"}, root=tmp_path)
    return path


def test_round_trip_fp32_is_exact(saved, tmp_path):
    loaded = checkpoints.load(saved, root=tmp_path)
    assert set(loaded) == set(tensors())
    for k, v in tensors().items():
        assert loaded[k].dtype == v.dtype
        assert torch.equal(loaded[k], v)


def test_fp16_storage_restores_fp32(tmp_path):
    path = tmp_path / "half.safetensors"
    checkpoints.save(tensors(), path, half=True, root=tmp_path)
    with safe_open(str(path), framework="pt") as f:
        assert f.get_slice("layer.weight").get_dtype() == "F16"
        assert f.get_slice("steps").get_dtype() == "I64"  # integers are never halved
    loaded = checkpoints.load(path, root=tmp_path)
    assert loaded["layer.weight"].dtype == torch.float32
    assert torch.equal(loaded["layer.weight"], tensors()["layer.weight"].half().float())
    assert torch.equal(loaded["steps"], torch.tensor([7, 8]))
    # fp16 keeps about 3 significant digits: close, but not identical, to the fp32 weights.
    torch.testing.assert_close(loaded["layer.weight"], tensors()["layer.weight"], rtol=1e-3, atol=1e-3)


def test_saved_files_are_readable_by_others(saved, tmp_path):
    assert saved.stat().st_mode & 0o777 == 0o644  # not the 0600 of the temporary file it was written as
    assert (tmp_path / "manifest.json").stat().st_mode & 0o044 == 0o044


def test_manifest_records_sha256_and_size(saved, tmp_path):
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest == {"files": {"model.safetensors": {
        "sha256": hashlib.sha256(saved.read_bytes()).hexdigest(), "bytes": saved.stat().st_size}}}
    assert checkpoints.read_manifest(tmp_path)["model.safetensors"]["sha256"] == checkpoints.sha256_file(saved)


def test_record_keeps_other_entries_and_nested_paths(saved, tmp_path):
    nested = tmp_path / "ddpm" / "unet.safetensors"
    checkpoints.save({"w": torch.ones(2)}, nested, root=tmp_path)
    assert sorted(checkpoints.read_manifest(tmp_path)) == ["ddpm/unet.safetensors", "model.safetensors"]
    assert torch.equal(checkpoints.load(nested, root=tmp_path)["w"], torch.ones(2))


def test_metadata_is_stored(saved):
    with safe_open(str(saved), framework="pt") as f:
        assert f.metadata() == {"step": "7"}


def test_tampered_file_is_refused(saved, tmp_path):
    raw = bytearray(saved.read_bytes())
    raw[-1] ^= 0xFF  # one flipped byte in the last tensor's data
    saved.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=re.escape("model.safetensors does not match its recorded checksum")):
        checkpoints.load(saved, root=tmp_path)


def test_truncated_file_that_matches_its_manifest_is_still_refused(saved, tmp_path):
    saved.write_bytes(saved.read_bytes()[:-10])
    checkpoints.record(saved, tmp_path)  # e.g. someone re-recorded a broken download
    with pytest.raises(CheckpointError, match=re.escape("model.safetensors could not be read as safetensors")):
        checkpoints.load(saved, root=tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"Weight file gone\.safetensors is missing.*python -m core\.train"):
        checkpoints.load(tmp_path / "gone.safetensors", root=tmp_path)


def test_unlisted_file_is_refused(tmp_path):
    path = tmp_path / "stray.safetensors"
    save_file({"w": torch.ones(1)}, str(path))
    with pytest.raises(CheckpointError, match=r"stray\.safetensors is not listed in .*manifest\.json; refusing"):
        checkpoints.load(path, root=tmp_path)


def test_broken_manifest(saved, tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is not a valid manifest"):
        checkpoints.load(saved, root=tmp_path)


class _Payload:
    """Unpickling this runs code: it writes a marker file. A loader that unpickles would leave the marker."""
    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    _Payload.marker = str(marker)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Payload()}))
    checkpoints.record(path, tmp_path)  # listed, with a matching checksum: only the format can stop it
    with pytest.raises(CheckpointError, match=re.escape("evil.safetensors could not be read as safetensors")):
        checkpoints.load(path, root=tmp_path)
    assert not marker.exists()


def test_torch_save_file_is_refused(tmp_path):
    path = tmp_path / "torch.safetensors"
    torch.save({"w": torch.ones(2)}, path)
    checkpoints.record(path, tmp_path)
    with pytest.raises(CheckpointError, match="could not be read as safetensors"):
        checkpoints.load(path, root=tmp_path)


def test_load_into_strict_and_eval(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5))
    path = tmp_path / "seq.safetensors"
    checkpoints.save(model.state_dict(), path, root=tmp_path)
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5)).train()
    loaded = checkpoints.load_into(fresh, path, root=tmp_path)
    assert loaded is fresh and not loaded.training
    assert torch.equal(loaded[0].weight, model[0].weight)


@pytest.mark.parametrize("other", [
    torch.nn.Sequential(torch.nn.Linear(3, 5)),                          # a shape differs
    torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)),   # a key is missing from the file
    torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False)),              # the file has an unexpected key
])
def test_load_into_wrong_architecture(tmp_path, other):
    path = tmp_path / "seq.safetensors"
    checkpoints.save(torch.nn.Sequential(torch.nn.Linear(3, 4)).state_dict(), path, root=tmp_path)
    with pytest.raises(CheckpointError, match=re.escape("seq.safetensors does not fit Sequential")):
        checkpoints.load_into(other, path, root=tmp_path)


def test_bundled_cnn_matches_the_manifest():
    checkpoints.verify(ASSETS / "cnn.safetensors")
    state = checkpoints.load(ASSETS / "cnn.safetensors")
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())


def test_a_failed_save_leaves_the_listed_file_whole(saved, tmp_path, monkeypatch):
    before, manifest = saved.read_bytes(), (tmp_path / "manifest.json").read_text()

    def killed_mid_write(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x00" * 10)  # the first bytes of a file that never gets finished
        raise KeyboardInterrupt
    monkeypatch.setattr(checkpoints, "save_file", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save({"w": torch.ones(3)}, saved, root=tmp_path)
    assert saved.read_bytes() == before and (tmp_path / "manifest.json").read_text() == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == [".manifest.lock", "manifest.json", "model.safetensors"]
    torch.testing.assert_close(checkpoints.load(saved, root=tmp_path)["layer.bias"], tensors()["layer.bias"])


def test_ddpm_configs_are_checked_against_the_manifest(tmp_path):
    import shutil

    from core.models import _ddpm_config, ddpm_scheduler_config
    shutil.copytree(ASSETS / "ddpm", tmp_path / "ddpm")
    for name in ("config.json", "scheduler_config.json"):
        checkpoints.record(tmp_path / "ddpm" / name, tmp_path)
    assert ddpm_scheduler_config(tmp_path)["beta_end"] == 0.02 and _ddpm_config(tmp_path)["num_classes"] == 10
    path = tmp_path / "ddpm" / "scheduler_config.json"
    path.write_text(path.read_text().replace('"beta_end": 0.02', '"beta_end": 0.03'))
    with pytest.raises(CheckpointError, match=re.escape("scheduler_config.json does not match its recorded checksum")):
        ddpm_scheduler_config(tmp_path)
