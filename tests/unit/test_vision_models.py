"""Loading torchvision weights from the torch hub cache, and the offline fallback, without any network."""
import pytest
import torch
import torchvision

from core import registry, vision
from core.convolution import vision_models


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty TORCH_HOME, no downloads allowed, and no models left over from other tests."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("GLASSBOX_OFFLINE", "1")
    vision_models.clear_cache()
    yield tmp_path
    vision_models.clear_cache()


def test_cached_weights_are_loaded(hub):
    name = "mobilenet_v3_small"
    path = vision.checkpoint_path(name)
    assert path.parent == hub / "hub" / "checkpoints"
    assert path.name == torchvision.models.MobileNet_V3_Small_Weights.DEFAULT.url.rsplit("/", 1)[-1]
    torch.manual_seed(0)
    state = torchvision.models.get_model(name, weights=None).state_dict()
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    assert vision_models.availability(name) == "ImageNet, cached"
    vm = vision_models.load(name)
    assert vm.name == name and len(vm.labels) == 1000 and vm.labels[0] == "tench"
    loaded = vm.module.state_dict()
    assert all(torch.equal(loaded[k].cpu(), v) for k, v in state.items())
    assert vision_models.resolve(name) == (vm, None)


def test_offline_without_cache_falls_back_to_cnn(hub):
    with pytest.raises(registry.ModelUnavailable, match="not in the torch hub cache"):
        vision_models.load("resnet18")
    vm, note = vision_models.resolve("resnet18")
    assert vm.name == "cnn"
    assert "\n" not in note and "resnet18" in note and "bundled Fashion-MNIST cnn" in note
    # Offline, the dropdown says so instead of offering a download that cannot happen.
    assert vision_models.availability("resnet18") == "not available here: ImageNet weights not cached, no download"


def test_a_failed_download_note_keeps_its_words_in_a_toast(hub, monkeypatch):
    """urllib's reason comes in angle brackets, which a toast (HTML) would swallow, cutting the note short."""
    monkeypatch.delenv("GLASSBOX_OFFLINE")

    def unreachable(name):
        raise registry.DownloadFailed(f"{name}'s ImageNet weights are not cached and could not be downloaded "
                                      "(URLError: <urlopen error [Errno -2] Name or service not known>).")

    monkeypatch.setattr(vision_models, "torchvision_model", unreachable)
    vm, note = vision_models.resolve("resnet18")
    assert vm.name == "cnn" and "<" not in note and ">" not in note
    assert "(URLError: urlopen error [Errno -2] Name or service not known). Showing the bundled" in note
    assert vision_models.availability("resnet18").startswith("not available here")


def test_corrupt_or_mismatched_cache_files_are_reported(hub):
    path = vision.checkpoint_path("alexnet")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(registry.ModelUnavailable, match="could not be read"):
        vision_models.load("alexnet")
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(registry.ModelUnavailable, match="do not fit"):
        vision_models.load("alexnet")


def test_unknown_model():
    with pytest.raises(ValueError, match="Unknown model 'lenet'"):
        vision_models.load("lenet")
    with pytest.raises(ValueError, match="no selectable layer 'bn1'"):
        vision_models.load("cnn").layer("bn1")
