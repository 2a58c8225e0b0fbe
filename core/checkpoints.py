"""Weights on disk: safetensors only (never pickle), each file's sha256 recorded in assets/manifest.json
and checked before a single byte is handed to torch."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.data import ASSETS

MANIFEST = "manifest.json"


class CheckpointError(RuntimeError):
    """A weight file is missing, altered or unreadable."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest_path(root: Path) -> Path:
    return root / MANIFEST


def _replace_atomically(path: Path, write) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it over `path`.

    A training run exports into assets/ while it runs; a kill mid-write must leave the old, listed file
    whole rather than a half-written one the app then refuses to load."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)  # not mkstemp's 0600, which would hide the weights from an app run as another user
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # on disk before the rename, so even a power cut leaves one whole version
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_text_atomically(path: Path, text: str) -> None:
    _replace_atomically(path, lambda tmp: Path(tmp).write_text(text))


def read_manifest(root: Path = ASSETS) -> dict[str, dict]:
    path = _manifest_path(root)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())["files"]
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"{path} is not a valid manifest: {e}") from e


def record(path: Path, root: Path = ASSETS) -> str:
    """Add or refresh `path`'s sha256 and size in the manifest of `root`; returns the digest."""
    path, root = Path(path).resolve(), Path(root).resolve()
    digest = sha256_file(path)
    # Several training runs may record files at once; the lock keeps their read-modify-write apart.
    with open(root / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files = read_manifest(root)
        files[path.relative_to(root).as_posix()] = {"sha256": digest, "bytes": path.stat().st_size}
        text = json.dumps({"files": dict(sorted(files.items()))}, indent=2) + "\n"
        _write_text_atomically(_manifest_path(root), text)
    return digest


def verify(path: Path, root: Path = ASSETS) -> None:
    """Raise CheckpointError unless `path` exists and matches the sha256 the manifest records for it."""
    path, root = Path(path).resolve(), Path(root).resolve()
    key = path.relative_to(root).as_posix()
    if not path.is_file():
        raise CheckpointError(f"Weight file {key} is missing from {root}. Re-clone the repository or retrain "
                              f"it with `python -m core.train`.")
    entry = read_manifest(root).get(key)
    if entry is None:
        raise CheckpointError(f"Weight file {key} is not listed in {root / MANIFEST}; refusing to load it.")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise CheckpointError(f"Weight file {key} does not match its recorded checksum (sha256 {actual[:12]}… "
                              f"instead of {entry['sha256'][:12]}…): it is corrupt or was altered. "
                              "Restore it from the repository or retrain it.")


def save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None,
         half: bool = False, root: Path = ASSETS) -> str:
    """Write tensors as safetensors (fp16 when `half`, to stay small) and record the file in the manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
           for k, v in tensors.items()}
    _replace_atomically(path, lambda tmp: save_file(out, tmp, metadata=metadata))
    return record(path, root)


def write_json(path: Path, obj: dict, root: Path = ASSETS) -> str:
    """Write a JSON config atomically and record it in the manifest (the DDPM's configs are checked on load)."""
    path = Path(path)
    _write_text_atomically(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
    return record(path, root)


def read_json(path: Path, root: Path = ASSETS) -> dict:
    """Verify, then parse a JSON file listed in the manifest (the DDPM's model and scheduler configs)."""
    verify(path, root)
    return json.loads(Path(path).read_text())


def load(path: Path, root: Path = ASSETS, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Verify, then load a safetensors file. Floating tensors are returned as fp32 whatever their storage."""
    verify(path, root)
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"Weight file {Path(path).name} could not be read as safetensors: {e}") from e
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}


def load_into(model: torch.nn.Module, path: Path, root: Path = ASSETS) -> torch.nn.Module:
    """Load verified weights into `model` (strict: every key must match) and put it in eval mode."""
    try:
        model.load_state_dict(load(path, root))
    except RuntimeError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"Weight file {Path(path).name} does not fit {type(model).__name__}: {e}") from e
    return model.eval()
