"""core.diffusion.hub against tiny UNet2DModel repos that the tests save into a real Hugging Face cache layout
(refs/main, snapshots/<hash>/unet, scheduler) under a temporary HF_HUB_CACHE, with HF_HUB_OFFLINE=1: nothing is
downloaded, and the hub's own cache lookup is what finds them."""
import json
import shutil
import time

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from huggingface_hub import constants

from core.diffusion import denoisers as pipelines
from core.diffusion import hub_unets as hub
from core.registry import ModelUnavailable

COMMIT = "0" * 40
TINY = {"sample_size": 8, "in_channels": 3, "out_channels": 3, "block_out_channels": (8, 16), "layers_per_block": 1,
        "norm_num_groups": 8, "down_block_types": ("DownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "UpBlock2D")}


def _snapshot(cache, repo_id: str):
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny UNet and DDPM scheduler saved once; each test copies them into its own cache."""
    folder = tmp_path_factory.mktemp("tiny-ddpm")
    torch.manual_seed(0)
    UNet2DModel(**TINY).save_pretrained(folder / "unet", safe_serialization=True)
    UNet2DModel(**TINY, num_class_embeds=4).save_pretrained(folder / "cond", safe_serialization=True)
    UNet2DModel(**TINY).save_pretrained(folder / "bin", safe_serialization=False)
    DDPMScheduler(num_train_timesteps=50).save_pretrained(folder / "scheduler")
    DDPMScheduler(num_train_timesteps=50, prediction_type="v_prediction").save_pretrained(folder / "v")
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch, saved):
    """An offline Hugging Face cache holding test/tiny, test/cond, test/bin, test/v and test/vae."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("GLASSBOX_DIFFUSION_MODELS", raising=False)
    monkeypatch.delenv("GLASSBOX_MAX_PARAMS", raising=False)
    for repo_id, unet, scheduler in [("test/tiny", "unet", "scheduler"), ("test/cond", "cond", "scheduler"),
                                     ("test/bin", "bin", "scheduler"), ("test/v", "unet", "v")]:
        snapshot = _snapshot(tmp_path, repo_id)
        shutil.copytree(saved / unet, snapshot / "unet")
        shutil.copytree(saved / scheduler, snapshot / "scheduler")
    vae = _snapshot(tmp_path, "test/vae") / "vae"
    vae.mkdir()
    (vae / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKL"}))
    shutil.copytree(vae, vae.parent / "unet")
    hub.clear_cache()
    yield tmp_path
    hub.clear_cache()
    constants.HF_HUB_OFFLINE = False  # hub.py told huggingface_hub to be offline; other tests expect the default


def test_loads_and_predicts_noise(cache):
    pipeline, note = hub.open_denoiser("test/tiny")
    assert note is None
    assert pipeline.name == "test/tiny" and pipeline.shape == (3, 8, 8)
    assert not pipeline.conditional and pipeline.classes == ()
    assert "_class_name" not in pipeline.scheduler_config
    assert pipeline.scheduler_config["num_train_timesteps"] == 50
    assert not any(p.requires_grad for p in pipeline.network.parameters())
    assert not pipeline.network.training
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        eps = pipeline.epsilon(x, 10, None)
    assert eps.shape == x.shape and torch.isfinite(eps).all()
    assert hub.open_denoiser("test/tiny")[0] is pipeline  # the registry keeps it


def test_one_ddim_step(cache):
    pipeline, _ = hub.open_denoiser("test/tiny")
    scheduler = DDIMScheduler.from_config(pipeline.scheduler_config)
    scheduler.set_timesteps(5)
    x = torch.randn(1, *pipeline.shape, generator=torch.Generator().manual_seed(0))
    t = scheduler.timesteps[0]
    with torch.no_grad():
        out = scheduler.step(pipeline.epsilon(x, t, None), t, x)
    assert out.prev_sample.shape == x.shape and torch.isfinite(out.prev_sample).all()
    assert out.pred_original_sample.shape == x.shape


def test_conditional(cache):
    pipeline, _ = hub.open_denoiser("test/cond")
    assert pipeline.num_classes == 4 and pipeline.conditional and len(pipeline.classes) == 4
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert pipeline.epsilon(x, 3, torch.tensor([0, 3])).shape == x.shape
    with pytest.raises(ValueError, match="no class"):
        pipeline.epsilon(x, 3, torch.tensor([4, 4]))


def test_cap_refuses_before_any_weights_are_read(cache, monkeypatch):
    monkeypatch.setenv("GLASSBOX_MAX_PARAMS", "1000")
    asked = []
    real = hub._download
    monkeypatch.setattr(hub, "_download", lambda m, f, s: asked.append(f) or real(m, f, s))
    monkeypatch.setattr(UNet2DModel, "from_pretrained",
                        classmethod(lambda *a, **k: pytest.fail("weights were loaded")))
    with pytest.raises(ValueError, match=r"test/tiny has 0\.\d M parameters; this server loads at most 0\.0 M "
                                         r"\(GLASSBOX_MAX_PARAMS\)"):
        hub.open_denoiser("test/tiny")
    assert hub.WEIGHTS not in asked and asked[0] == "config.json"


def test_refuses_other_classes(cache):
    with pytest.raises(ValueError, match="is a 'AutoencoderKL'; this tab opens diffusers UNet2DModel pipelines only"):
        hub.open_denoiser("test/vae")


def test_refuses_bin_weights(cache):
    with pytest.raises(ValueError, match=r"has no diffusion_pytorch_model\.safetensors: .* never \.bin"):
        hub.open_denoiser("test/bin")


def test_refuses_v_prediction(cache):
    with pytest.raises(ValueError, match=r"predicts .v_prediction.; .*epsilon"):
        hub.open_denoiser("test/v")


def test_allow_list_names_the_allowed_ids(cache, monkeypatch):
    monkeypatch.setenv("GLASSBOX_DIFFUSION_MODELS", "test/tiny, google/ddpm-cifar10-32")
    with pytest.raises(ValueError, match=r"test/cond is not on this server's list of diffusion models "
                                         r"\(GLASSBOX_DIFFUSION_MODELS\): google/ddpm-cifar10-32, test/tiny"):
        hub.open_denoiser("test/cond")
    assert hub.open_denoiser("test/tiny")[0].name == "test/tiny"


def test_offline_and_not_cached_is_one_quick_line(cache):
    for _attempt in range(2):  # the second answer comes from the registry's memory of the failure
        start = time.monotonic()
        with pytest.raises(ModelUnavailable) as e:
            hub.open_denoiser("google/ddpm-cifar10-32")
        assert time.monotonic() - start < 1
        assert str(e.value) == ("google/ddpm-cifar10-32 is not in this machine's Hugging Face cache and "
                                "HF_HUB_OFFLINE=1 forbids downloading it.")


@pytest.mark.parametrize("bad", ["../etc/passwd", "a" * 200, "x--y", 3])
def test_refuses_malformed_ids(bad):
    with pytest.raises(ValueError, match="Hugging Face"):
        hub.open_denoiser(bad)


@pytest.mark.parametrize("name", ["default", "", "  "])
def test_default_is_the_bundled_pipeline(name):
    pipeline, note = hub.open_denoiser(name)
    assert pipeline is pipelines.bundled() and note is None
