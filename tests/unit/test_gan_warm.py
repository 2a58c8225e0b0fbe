"""The GAN tab's 2-D warm starts: every built-in dataset's bundled run loads, checked against the manifest, and
is closer to its data than the same run untrained; drawn points, unknown datasets and missing, unlisted or altered
files are refused with a message; `python -m core.train gan2d` writes loadable warm starts and its record."""
import shutil

import pytest
import torch

from core import checkpoints, toy2d
from core.gan import toy
from core.train import gan2d
from core.train.__main__ import main as train_main


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread, as in test_gan.py: torch's second thread only slows these tiny networks down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("dataset", toy2d.DATASETS)
def test_each_warm_start_loads_and_beats_the_untrained_run(dataset):
    run = toy.warm_start(dataset)
    assert run.settings.dataset == dataset and run.step_count > 0
    assert run.history["js"] == [] and run.diverged is None   # a loaded run starts its own curve
    # trained by plain iterations at k = 1: as many D and G updates as iterations, counted from the start
    assert (run.d_updates, run.g_updates, run.counted_from) == (run.step_count, run.step_count, 0)
    fresh = toy.Run(run.settings)                            # same seed: same initial weights, same fixed samples
    kl, js = run.kl_js()
    fresh_kl, fresh_js = fresh.kl_js()
    assert js < fresh_js - 0.1 and kl < fresh_kl
    run.step()                                               # and it trains on from there
    assert run.step_count == toy.warm_start(dataset).step_count + 1


@pytest.mark.parametrize("dataset,message", [
    ("drawn", "no warm start for drawn points: draw your data"),
    ("spiral", "dataset must be one of ring, grid, moons, line, blobs, not 'spiral'"),
    (["ring"], "dataset must be one of"),
])
def test_drawn_and_unknown_datasets_are_refused(dataset, message):
    with pytest.raises(ValueError, match=message):
        toy.warm_start(dataset)


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """The ring's warm start copied into a folder of its own, listed in that folder's manifest."""
    folder = tmp_path / "gan2d"
    folder.mkdir()
    shutil.copy(toy.WARM_STARTS / "ring.safetensors", folder / "ring.safetensors")
    checkpoints.record(folder / "ring.safetensors", root=tmp_path)
    monkeypatch.setattr(toy, "WARM_STARTS", folder)
    return folder / "ring.safetensors"


def test_a_listed_copy_loads(copied):
    assert toy.warm_start("ring").step_count > 0


def test_an_altered_file_is_refused(copied):
    data = bytearray(copied.read_bytes())
    data[-1] ^= 0x01                                         # one bit of one weight
    copied.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"ring warm start cannot be loaded: .*does not match its recorded checksum"):
        toy.warm_start("ring")


def test_a_missing_or_unlisted_file_is_refused(copied):
    shutil.copy(copied, copied.with_name("grid.safetensors"))  # present, but not in the manifest
    with pytest.raises(ValueError, match=r"grid warm start cannot be loaded: .*not listed"):
        toy.warm_start("grid")
    with pytest.raises(ValueError, match=r"moons warm start cannot be loaded: .*missing"):
        toy.warm_start("moons")


def test_trainer_writes_verified_warm_starts_and_a_record(tmp_path, monkeypatch):
    monkeypatch.setitem(gan2d.SETTINGS, "gan2d", {"steps": 20})
    result = train_main(["gan2d", "--seed", "3", "--out", str(tmp_path)])
    assert result["steps"] == 20 * len(toy2d.DATASETS) and len(result["files"]) == len(toy2d.DATASETS)
    monkeypatch.setattr(toy, "WARM_STARTS", tmp_path / "gan2d")
    for dataset in toy2d.DATASETS:
        run = toy.warm_start(dataset)
        assert run.step_count == 20 and run.settings.seed == 3
        assert run.settings.g_neurons == run.settings.d_neurons == gan2d.NEURONS[dataset]
    card = (tmp_path / "MODELS.md").read_text()
    assert "`gan2d` training record" in card and "command: `python -m core.train gan2d --seed 3" in card
    assert all(f"- {dataset}: 1 x " in card and f"gan2d/{dataset}.safetensors" in card for dataset in toy2d.DATASETS)


@pytest.mark.parametrize("args,message", [
    (["--epochs", "1"], "--epochs does not apply"),
    (["--resume"], "keeps no run state"),
])
def test_trainer_refuses_flags_that_do_not_apply(args, message, tmp_path):
    with pytest.raises(SystemExit, match=message):
        train_main(["gan2d", *args, "--out", str(tmp_path)])
