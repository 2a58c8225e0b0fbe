"""DCGAN for 28x28 images (Radford et al. 2015, as in pytorch/examples/dcgan, resized for Fashion-MNIST).

G: z (100) -> 128x7x7 -> ConvTranspose to 64x14x14 -> ConvTranspose to 1x28x28, BatchNorm+ReLU, tanh output.
D: stride-2 convs 28 -> 14 -> 7 with LeakyReLU(0.2), then one logit (real vs fake).
"""
import torch
from torch import nn

Z_DIM = 100


class Generator(nn.Module):
    def __init__(self, z_dim: int = Z_DIM, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * width * 7 * 7, bias=False), nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU(True),
            nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(True),                                                                    # 14x14
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Tanh())                  # 28x28

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),                  # 14x14
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, True),                                                           # 7x7
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def init_weights(m: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02) and shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
