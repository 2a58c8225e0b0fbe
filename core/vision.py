"""What every image classifier an explorer opens shares: the preprocessing each model really applies (torchvision's
own transforms, or making any picture look like Fashion-MNIST for the bundled models), and torchvision's ImageNet
weights from the torch hub cache, else a download with a tqdm progress bar, else one line saying why not."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image, ImageOps
from torch import nn

from core import offline
from core.device import device
from core.models.cnn import MEAN as CNN_MEAN
from core.models.cnn import STD as CNN_STD
from core.registry import DownloadFailed, ModelUnavailable
from core.uploads import to_rgb

LIGHT_BORDER = 0.5   # a grayscale border brighter than this means dark-on-light: Fashion-MNIST is light-on-dark


@dataclass(eq=False)
class VisionModel:
    """An image classifier as an explorer opens it: the network, its labels, and the preprocessing it really
    applies. Requests that hook or retrace it hold `lock`."""
    name: str
    module: nn.Module               # private copy, eval mode, parameters frozen
    labels: tuple[str, ...]
    input_size: tuple[int, int, int]
    description: str
    transform: nn.Module | None     # torchvision's own preprocessing; None for a bundled Fashion-MNIST model
    lock: threading.RLock = field(default_factory=threading.RLock)

    def preprocess(self, img: Image.Image) -> tuple[torch.Tensor, Image.Image, str]:
        """(input tensor [1, C, H, W] on the device, the picture the model sees, the steps in words)."""
        if self.transform is None:
            x, seen, steps = fashion_preprocess(img)
        else:
            x = self.transform(to_rgb(img)).unsqueeze(0)
            mean, std = (torch.tensor(v).view(3, 1, 1) for v in (self.transform.mean, self.transform.std))
            seen = Image.fromarray((x[0] * std + mean).clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy())
            t = self.transform
            steps = (f"RGB → resize the short side to {t.resize_size[0]} ({t.interpolation.value}) → centre crop "
                     f"{t.crop_size[0]}×{t.crop_size[0]} → per channel (x − mean)/std with ImageNet mean "
                     f"{tuple(t.mean)} and std {tuple(t.std)} (torchvision's weights.transforms())")
        return x.to(device()), seen, steps


def fashion_preprocess(img: Image.Image) -> tuple[torch.Tensor, Image.Image, str]:
    """Make any picture look like Fashion-MNIST: grayscale, light garment on black, centred, 28×28, in [0, 1]."""
    gray = to_rgb(img).convert("L")
    steps = ["grayscale"]
    a = np.asarray(gray, dtype=np.float64) / 255
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean()
    if border > LIGHT_BORDER:
        gray = ImageOps.invert(gray)
        steps.append(f"inverted (the border is light, mean {border:.2f}; Fashion-MNIST is light on black)")
    if gray.size != (28, 28):
        side = max(gray.size)
        square = Image.new("L", (side, side), 0)
        square.paste(gray, ((side - gray.width) // 2, (side - gray.height) // 2))
        gray = square.resize((28, 28), Image.Resampling.LANCZOS)
        steps.append("padded to a square with black and resized to 28×28 (Lanczos)")
    steps.append(f"pixels scaled to [0, 1], then the model's own first layer computes (x − {CNN_MEAN})/{CNN_STD}")
    x = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255).view(1, 1, 28, 28)
    return x, gray, " → ".join(steps)


def checkpoint_path(name: str) -> Path:
    """Where torch hub keeps (or will keep) the ImageNet weights of torchvision model `name`."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def imagenet_state_dict(name: str) -> dict:
    """The ImageNet weights of torchvision model `name`: from the torch hub cache, else downloaded into it (unless
    core.offline forbids it); ModelUnavailable with one line when neither works. Either way the file is loaded
    with weights_only=True, a restricted unpickler that admits tensors only (torchvision's own get_state_dict
    would unpickle a download in full)."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    path = checkpoint_path(name)
    if not path.is_file():
        forbidden = offline.forbidden_by()
        if forbidden:
            raise ModelUnavailable(f"{name}'s ImageNet weights are not in the torch hub cache, and {forbidden} "
                                   "forbids downloading them.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # torchvision publishes the first hex digits of each file's sha256 in its name (no full digest); torch
            # hub checks them and moves the file into place only when they match. Its tqdm bar becomes the UI's
            # progress bar through gr.Progress(track_tqdm=True).
            prefix = torch.hub.HASH_REGEX.search(path.name).group(1)
            torch.hub.download_url_to_file(weights.url, str(path), hash_prefix=prefix, progress=True)
        except Exception as e:  # offline machines fail in many ways: DNS, refused connections, timeouts, proxies
            raise DownloadFailed(f"{name}'s ImageNet weights are not cached and could not be downloaded "
                                 f"({type(e).__name__}: {str(e)[:80]}).") from e
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelUnavailable(f"The cached weights for {name} ({path.name}) could not be read "
                               f"({type(e).__name__}); delete the file to download them again.") from e


def imagenet_availability(name: str) -> str:
    """How torchvision model `name`'s ImageNet weights would open right now, in a few words."""
    if checkpoint_path(name).is_file():
        return "ImageNet, cached"
    size = torchvision.models.get_model_weights(name).DEFAULT.meta["_file_size"]
    return f"ImageNet, {size:.0f} MB download"
