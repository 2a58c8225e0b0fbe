"""A small VGG-style Fashion-MNIST classifier: three conv blocks of BatchNorm+ReLU, global average pooling.

Layers are named conv1, relu1, pool1, ... so feature maps read well in the explorer, and the 128-d vector
after global pooling ("features") is the feature space of fid_cnn.
"""
from collections import OrderedDict

import torch
from torch import nn

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST train split pixel statistics on the [0, 1] scale


class Normalize(nn.Module):
    """(x - mean) / std inside the model, so every caller feeds plain [0, 1] grayscale images."""

    def __init__(self, mean: float = MEAN, std: float = STD):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _block(i: int, c_in: int, c_out: int) -> list[tuple[str, nn.Module]]:
    return [(f"conv{i}", nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)),
            (f"bn{i}", nn.BatchNorm2d(c_out)),
            (f"relu{i}", nn.ReLU(inplace=True))]


class CNN(nn.Sequential):
    """28x28x1 -> 10 logits. Widths 32-32 | 64-64 | 128-128, a 2x2 max pool after the first two blocks."""

    input_size = (1, 28, 28)

    def __init__(self, widths=(32, 64, 128), num_classes: int = 10, dropout: float = 0.3):
        layers = [("normalize", Normalize())]
        c_in, n = 1, 1
        for b, w in enumerate(widths, start=1):
            layers += _block(n, c_in, w) + _block(n + 1, w, w)
            c_in, n = w, n + 2
            if b < len(widths):
                layers.append((f"pool{b}", nn.MaxPool2d(2)))
        layers += [("gap", nn.AdaptiveAvgPool2d(1)), ("features", nn.Flatten()),
                   ("dropout", nn.Dropout(dropout)), ("fc", nn.Linear(c_in, num_classes))]
        super().__init__(OrderedDict(layers))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 128-d penultimate features (after global pooling), used for fid_cnn."""
        for name, module in self.named_children():
            x = module(x)
            if name == "features":
                return x
        raise AssertionError("CNN has no 'features' layer")
