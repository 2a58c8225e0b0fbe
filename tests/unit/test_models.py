"""The bundled weights: each loads from assets/ (checksum verified) and gives correctly shaped output;
a corrupt or tampered file is refused; the bundled CNN is evaluated on the bundled sample."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core import checkpoints
from core.data import ASSETS
from core.models import MODELS, load

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_SHAPES = {"cnn": (2, 10), "vit": (2, 10), "dcgan_d": (2,)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bundled_model_loads_and_runs(name):
    model = load(name)
    with torch.no_grad():
        if name in ("cnn", "vit", "dcgan_d"):
            out = model(torch.rand(2, 1, 28, 28))
            assert out.shape == OUTPUT_SHAPES[name]
        elif name in ("vae2", "vae16", "ae2"):
            recon, _, _ = model(torch.rand(2, 1, 28, 28))
            assert recon.shape == (2, 1, 28, 28) and recon.min() >= 0 and recon.max() <= 1
        elif name == "dcgan":
            out = model(torch.randn(2, model.z_dim))
            assert out.shape == (2, 1, 28, 28) and out.abs().max() <= 1
        elif name == "gpt":
            out = model(torch.randint(0, model.config["vocab_size"], (2, 16)))
            assert out.shape == (2, 16, model.config["vocab_size"])
        elif name == "ddpm":
            out = model(torch.randn(2, 1, 28, 28), torch.tensor([10, 900]), torch.tensor([3, 10]))
            assert out.shape == (2, 1, 28, 28)
    assert torch.isfinite(out if name not in ("vae2", "vae16", "ae2") else recon).all()


def _copy_assets(tmp_path: Path, name: str) -> Path:
    weights = ASSETS / MODELS[name].weights
    shutil.copy(weights, tmp_path / weights.name)
    entry = checkpoints.read_manifest()[MODELS[name].weights]
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {weights.name: entry}}))
    return tmp_path / weights.name


def test_tampered_weights_are_refused(tmp_path):
    path = _copy_assets(tmp_path, "cnn")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a weight: still valid safetensors, but not ours
    path.write_bytes(bytes(data))
    with pytest.raises(checkpoints.CheckpointError, match="does not match its recorded checksum"):
        checkpoints.load_into(MODELS["cnn"].build(), path, root=tmp_path)


def test_truncated_weights_are_refused_even_when_the_manifest_agrees(tmp_path):
    path = _copy_assets(tmp_path, "cnn")
    path.write_bytes(path.read_bytes()[:1000])
    checkpoints.record(path, root=tmp_path)  # a manifest that vouches for the broken file
    with pytest.raises(checkpoints.CheckpointError, match="could not be read as safetensors"):
        checkpoints.load_into(MODELS["cnn"].build(), path, root=tmp_path)


def test_weights_for_another_architecture_are_refused(tmp_path):
    path = _copy_assets(tmp_path, "cnn")
    with pytest.raises(checkpoints.CheckpointError, match="does not fit ViT"):
        checkpoints.load_into(MODELS["vit"].build(), path, root=tmp_path)


def test_evaluate_cnn_on_the_bundled_sample(tmp_path):
    env = {**os.environ, "GLASSBOX_DATA": str(tmp_path), "GLASSBOX_OFFLINE": "1"}  # an empty dir: no full data
    card = tmp_path / "MODELS.md"
    out = subprocess.run([sys.executable, "-m", "core.evaluate", "cnn", "--record", "--models-md", str(card)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "bundled Fashion-MNIST sample" in result["data"] and "1,000 images" in result["data"]
    assert result["test_accuracy"] >= 0.88
    record = card.read_text()
    assert "### `cnn` evaluation record" in record and f"- test_accuracy: {result['test_accuracy']}" in record
    assert "python -m core.evaluate cnn --record --models-md" in record


def test_ddpm_samples_are_chunked_seeded_and_resume_from_the_cache(tmp_path, monkeypatch):
    from core import evaluate
    monkeypatch.setattr(evaluate, "CHUNK", 3)
    alone, _ = evaluate.ddpm_samples(2, 1.5, 3, seed=7, kind="ddim")
    made, labels = evaluate.ddpm_samples(2, 1.5, 5, seed=7, kind="ddim", cache=tmp_path)
    assert made.shape == (5, 1, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
    assert made.min() >= 0 and made.max() <= 1
    assert torch.equal(made[:3], alone)  # a chunk does not depend on the chunks made before it
    assert not torch.equal(made[:2], made[3:])
    assert len(list(tmp_path.glob("*.safetensors"))) == 2

    def no_sampling(*args, **kwargs):
        raise AssertionError("a cached chunk was sampled again")
    monkeypatch.setattr(evaluate.sampling, "sample", no_sampling)
    again, _ = evaluate.ddpm_samples(2, 1.5, 5, seed=7, kind="ddim", cache=tmp_path)
    assert torch.equal(again, made)
