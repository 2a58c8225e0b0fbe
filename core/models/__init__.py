"""Network definitions, one short file per architecture, and `load(name)` for the bundled, verified weights."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from core import checkpoints
from core.data import ASSETS
from core.device import device
from core.models.cnn import CNN
from core.models.gan import Discriminator, Generator
from core.models.gpt import GPT, CharTokenizer
from core.models.unet import UNet
from core.models.vae import VAE, AutoEncoder
from core.models.vit import ViT


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[[], torch.nn.Module]
    weights: str  # path inside assets/
    description: str


MODELS: dict[str, ModelSpec] = {
    "cnn": ModelSpec(CNN, "cnn.safetensors", "VGG-style Fashion-MNIST classifier"),
    "vit": ModelSpec(ViT, "vit.safetensors", "Vision Transformer, 7x7 patches, Fashion-MNIST classifier"),
    "vae2": ModelSpec(lambda: VAE(2), "vae2.safetensors", "convolutional VAE, 2-D latent"),
    "vae16": ModelSpec(lambda: VAE(16), "vae16.safetensors", "convolutional VAE, 16-D latent"),
    "ae2": ModelSpec(lambda: AutoEncoder(2), "ae2.safetensors", "plain autoencoder, 2-D latent"),
    "dcgan": ModelSpec(Generator, "dcgan.safetensors", "DCGAN generator, z=100"),
    "dcgan_d": ModelSpec(Discriminator, "dcgan_d.safetensors", "DCGAN discriminator"),
    "ddpm": ModelSpec(lambda: UNet(**_ddpm_config()), "ddpm/unet.safetensors",
                      "class-conditional noise-prediction UNet (DDPM, T=1000)"),
    "gpt": ModelSpec(lambda: GPT(**{k: v for k, v in gpt_config().items() if k != "vocab"}), "gpt/gpt.safetensors",
                     "character-level GPT, trained on the King James Bible"),
}


def _ddpm_config(root=ASSETS) -> dict:
    cfg = checkpoints.read_json(root / "ddpm" / "config.json", root)
    return {"channels": tuple(cfg["channels"]), "num_classes": cfg["num_classes"], "in_channels": cfg["in_channels"]}


def ddpm_scheduler_config(root=ASSETS) -> dict:
    """The diffusers scheduler config the DDPM was trained with, checked against the manifest: an edited
    beta_end would change sampling silently."""
    return checkpoints.read_json(root / "ddpm" / "scheduler_config.json", root)


def gpt_config(root=ASSETS) -> dict:
    """The bundled GPT's shape and its vocabulary (the characters it reads), checked against the manifest."""
    return checkpoints.read_json(root / "gpt" / "config.json", root)


def gpt_tokenizer(root=ASSETS) -> CharTokenizer:
    return CharTokenizer(gpt_config(root)["vocab"])


@functools.cache
def load(name: str) -> torch.nn.Module:
    """The bundled model `name`, weights checked against the manifest, in eval mode on the chosen device.

    Cached: one shared copy per process, used read-only under torch.no_grad() by every request.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; the bundled models are {', '.join(MODELS)}.")
    spec = MODELS[name]
    model = checkpoints.load_into(spec.build(), ASSETS / spec.weights)
    return model.to(device()).requires_grad_(False)
