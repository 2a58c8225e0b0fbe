"""Every `core.train` entry point runs a few steps on a tiny subset, writes loadable weights and a model card,
and resumes from its own run state, so the training code cannot rot."""
import importlib
import json
import math

import pytest
import torch

from core import checkpoints
from core.models import MODELS
from core.models.unet import UNet
from core.train.__main__ import TRAINERS
from core.train.__main__ import main as train_main
from core.train.common import EMA, load_run_state, save_run_state

EPOCH_MODELS = ["cnn", "vit", "vae2", "vae16", "ae2", "dcgan"]


@pytest.mark.parametrize("name", EPOCH_MODELS)
def test_trainer_runs_and_writes_verified_weights(name, tmp_path):
    result = train_main([name, "--epochs", "1", "--limit", "256", "--batch-size", "64",
                         "--out", str(tmp_path), "--run-dir", str(tmp_path / "run")])
    assert result["steps"] == 256 // 64
    model = checkpoints.load_into(MODELS[name].build(), tmp_path / MODELS[name].weights, root=tmp_path)
    assert sum(p.numel() for p in model.parameters()) == result["params"]
    if name == "dcgan":
        checkpoints.load_into(MODELS["dcgan_d"].build(), tmp_path / MODELS["dcgan_d"].weights, root=tmp_path)
    card = (tmp_path / "MODELS.md").read_text()
    assert f"`{name}` training record" in card and "--limit 256" in card
    resumed = train_main([name, "--epochs", "2", "--limit", "256", "--batch-size", "64", "--resume",
                          "--out", str(tmp_path), "--run-dir", str(tmp_path / "run")])
    assert resumed["steps"] == 2 * (256 // 64)
    with pytest.raises(SystemExit, match="already done 2 epochs; ask for more"):
        train_main([name, "--epochs", "2", "--limit", "256", "--resume", "--out", str(tmp_path),
                    "--run-dir", str(tmp_path / "run")])


@pytest.mark.parametrize("name", ["cnn", "vae2", "dcgan"])
def test_an_interrupted_run_resumes_to_the_same_weights(name, tmp_path, monkeypatch):
    """A run cut off after its first epoch and resumed ends bit-for-bit where an uninterrupted run does,
    because the run state carries the data-order generator and torch's global random state (dropout,
    sampling) as well as the weights and optimizer."""
    run = ["--epochs", "2", "--limit", "128", "--batch-size", "32", "--device", "cpu"]
    train_main([name, *run, "--out", str(tmp_path / "a"), "--run-dir", str(tmp_path / "ra")])
    trainer = importlib.import_module(TRAINERS[name])
    save = trainer.save_run_state

    def save_then_die(*args, **kwargs):
        save(*args, **kwargs)
        raise KeyboardInterrupt  # the machine goes away right after the first checkpoint
    monkeypatch.setattr(trainer, "save_run_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_main([name, *run, "--out", str(tmp_path / "b"), "--run-dir", str(tmp_path / "rb")])
    monkeypatch.setattr(trainer, "save_run_state", save)
    train_main([name, *run, "--resume", "--out", str(tmp_path / "b"), "--run-dir", str(tmp_path / "rb")])
    weights = MODELS[name].weights
    straight = checkpoints.load(tmp_path / "a" / weights, root=tmp_path / "a")
    resumed = checkpoints.load(tmp_path / "b" / weights, root=tmp_path / "b")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_an_interrupted_ddpm_run_resumes_mid_epoch_to_the_same_weights(tmp_path, monkeypatch):
    """The DDPM checkpoints on a timer, mid-epoch: the run state also keeps the epoch's permutation and the
    position in it, so the resumed run sees the batches the uninterrupted one saw (6 steps cross an epoch)."""
    import core.train.ddpm as trainer
    run = ["ddpm", "--steps", "6", "--limit", "64", "--batch-size", "16", "--checkpoint-minutes", "0",
           "--device", "cpu"]
    train_main([*run, "--out", str(tmp_path / "a"), "--run-dir", str(tmp_path / "ra")])
    save, saves = trainer.save_run_state, []

    def save_then_die(*args, **kwargs):
        save(*args, **kwargs)
        saves.append(1)
        if len(saves) == 3:
            raise KeyboardInterrupt  # cut off after step 3, in the middle of the first epoch of 4 batches
    monkeypatch.setattr(trainer, "save_run_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_main([*run, "--out", str(tmp_path / "b"), "--run-dir", str(tmp_path / "rb")])
    monkeypatch.setattr(trainer, "save_run_state", save)
    train_main([*run, "--resume", "--out", str(tmp_path / "b"), "--run-dir", str(tmp_path / "rb")])
    straight = checkpoints.load(tmp_path / "a" / "ddpm" / "unet.safetensors", root=tmp_path / "a")
    resumed = checkpoints.load(tmp_path / "b" / "ddpm" / "unet.safetensors", root=tmp_path / "b")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


@pytest.mark.parametrize("args,message", [
    (["cnn", "--steps", "5"], "--steps is for ddpm"),
    (["vae2", "--minutes", "1"], "--minutes is for ddpm"),
    (["ddpm", "--epochs", "3"], "--epochs is for the epoch-based trainers"),
    (["cnn", "--device", "cuda"], "torch sees no CUDA GPU"),
])
def test_flags_that_do_not_apply_are_refused(args, message, tmp_path, capsys):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit):
        train_main([*args, "--out", str(tmp_path)])
    assert message in capsys.readouterr().err


def test_ddpm_trainer_writes_diffusers_style_folder_and_resumes(tmp_path):
    args = ["ddpm", "--steps", "2", "--limit", "64", "--batch-size", "16", "--out", str(tmp_path),
            "--run-dir", str(tmp_path / "run")]
    assert train_main(args)["steps"] == 2
    folder = tmp_path / "ddpm"
    config = json.loads((folder / "config.json").read_text())
    scheduler = json.loads((folder / "scheduler_config.json").read_text())
    assert scheduler["num_train_timesteps"] == 1000 and scheduler["beta_schedule"] == "linear"
    assert (scheduler["beta_start"], scheduler["beta_end"]) == (1e-4, 0.02)
    unet = UNet(tuple(config["channels"]), config["num_classes"], config["in_channels"])
    checkpoints.load_into(unet, folder / "unet.safetensors", root=tmp_path)
    assert train_main([*args[:2], "4", *args[3:], "--resume"])["steps"] == 4


def test_run_state_round_trip_restores_weights_and_optimizer(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    ema = EMA(model)
    save_run_state(tmp_path / "s.safetensors", 7, {"model": model, "ema": ema.model}, {"opt": opt}, {"elapsed_s": 1.5})
    model2, ema2 = torch.nn.Linear(3, 2), EMA(torch.nn.Linear(3, 2))
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-3)
    step, extra = load_run_state(tmp_path / "s.safetensors", {"model": model2, "ema": ema2.model}, {"opt": opt2})
    assert (step, extra) == (7, {"elapsed_s": 1.5})
    assert torch.equal(model.weight, model2.weight)
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert torch.equal(s1["exp_avg"], s2["exp_avg"]) and torch.equal(s1["exp_avg_sq"], s2["exp_avg_sq"])


def test_ema_warm_up_then_tracks_slowly():
    model = torch.nn.Linear(1, 1, bias=False)
    ema = EMA(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
        ema.model.weight.fill_(0.0)
    ema.update(model, step=0)  # warm-up decay min(0.999, 1/10) = 0.1: moves 90% of the way
    assert torch.allclose(ema.model.weight, torch.tensor([[0.9]]))


def test_a_state_file_without_random_state_resumes_on_a_fresh_stream(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "s.safetensors"
    save_run_state(path, 40, {"model": model}, {"opt": opt}, generator=torch.Generator().manual_seed(3))
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    old = {k: v for k, v in load_file(str(path)).items() if not k.startswith("rng/")}
    save_file(old, str(path), metadata=meta)  # as written before the random state was kept
    gen = torch.Generator().manual_seed(3)
    load_run_state(path, {"model": model}, {"opt": opt}, gen)
    assert torch.equal(torch.rand(4, generator=gen), torch.rand(4, generator=torch.Generator().manual_seed(43)))


def test_resuming_with_another_limit_is_refused():
    from core.train.common import Batches
    order = Batches(64, 16, torch.Generator().manual_seed(0))
    next(order)
    with pytest.raises(SystemExit, match="shuffles 64 images but this run has 128: resume with the same --limit"):
        Batches(128, 16, torch.Generator()).load_state(order.state())


def test_the_gpt_trains_on_a_given_corpus_seeded_and_resumes_to_the_same_weights(tmp_path):
    """The language model's trainer on a small corpus the test writes (--corpus; Debian's King James Bible
    otherwise): 6 steps straight, and 3 + 3 resumed, end on the same weights; its record has the validation loss
    and the bigram baseline."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("In the beginning was the word, and the word was with the reader.\n" * 80)
    common = ["--corpus", str(corpus), "--batch-size", "4", "--device", "cpu"]
    train_main(["gpt", "--steps", "6", *common, "--out", str(tmp_path / "a"), "--run-dir", str(tmp_path / "ra")])
    train_main(["gpt", "--steps", "3", *common, "--out", str(tmp_path / "b"), "--run-dir", str(tmp_path / "rb")])
    result = train_main(["gpt", "--steps", "6", "--resume", *common, "--out", str(tmp_path / "b"),
                         "--run-dir", str(tmp_path / "rb")])
    assert result["steps"] == 6
    straight = checkpoints.load(tmp_path / "a" / "gpt" / "gpt.safetensors", root=tmp_path / "a")
    resumed = checkpoints.load(tmp_path / "b" / "gpt" / "gpt.safetensors", root=tmp_path / "b")
    assert straight.keys() == resumed.keys() and all(torch.equal(straight[k], resumed[k]) for k in straight)
    card = (tmp_path / "a" / "MODELS.md").read_text()
    assert "`gpt` training record" in card and "validation loss" in card and "bigram baseline" in card


def test_the_gpt_corpus_split_and_bigram_baseline():
    from core.train import gpt
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    train, val = gpt.split(text)
    assert len(train) == 900 and val == "".join(text[k:k + 10] for k in range(90, 1000, 100))
    ids = torch.tensor([ord(c) - ord("a") for c in text])
    # the alphabet repeats, so counting bigrams predicts every next letter almost surely: add-α leaves a little
    nats = gpt.bigram_nats(ids[:900], ids[900:], vocab=26, alpha=0.01)
    # each letter is followed by the next 34 or 35 times, and by nothing else
    assert -math.log(35.01 / 35.26) <= nats <= -math.log(34.01 / 34.26)
