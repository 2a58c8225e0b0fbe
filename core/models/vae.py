"""Convolutional VAE and its plain-autoencoder twin for 28x28 images (pytorch/examples style).

Encoder: 28 -> 14 -> 7 with two stride-2 convs, then a dense layer to the latent. The decoder mirrors it and
ends in a sigmoid, so outputs are pixel intensities in [0, 1]. `AutoEncoder` has exactly the same layers but
maps each image to one point instead of a Gaussian, which is why its latent space has holes.
"""
import torch
from torch import nn


class Encoder(nn.Module):
    def __init__(self, latent_dim: int, hidden: int = 256, outputs_per_dim: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.ReLU(),   # 14x14
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),  # 7x7
            nn.Flatten(), nn.Linear(64 * 7 * 7, hidden), nn.ReLU(),
            nn.Linear(hidden, outputs_per_dim * latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, latent_dim: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 64 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),  # 14x14
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1), nn.Sigmoid())  # 28x28

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    variational = True

    def __init__(self, latent_dim: int = 16):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder, self.decoder = Encoder(latent_dim), Decoder(latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior q(z|x) = N(mu, exp(logvar))."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encode(x)
        # A CPU generator keeps runs seeded on any device.
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        z = mu + (0.5 * logvar).exp() * eps  # the reparameterisation trick keeps sampling differentiable
        return self.decode(z), mu, logvar


class AutoEncoder(nn.Module):
    variational = False

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder, self.decoder = Encoder(latent_dim, outputs_per_dim=1), Decoder(latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.encoder(x), None

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        z, _ = self.encode(x)
        return self.decode(z), z, None
