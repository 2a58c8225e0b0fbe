"""A small class-conditional noise-prediction UNet for 28x28 images (the diffusion tab's model).

Hand-written rather than diffusers' UNet2DModel because, timed on this project's 2-core CPU at batch 128 (one
AdamW step on 2 threads; the figures are in assets/MODELS.md), UNet2DModel at a comparable size (0.95M parameters,
channels 32/48/64) took 1.41 s per step against 1.01 s for this one, and the model must train for hours on such
a machine. It keeps UNet2DModel's calling convention, `model(sample, timestep, class_labels)`, and predicts the
noise epsilon, so diffusers' schedulers (DDPM, DDIM, DPM-Solver++, Euler) drive it unchanged.

Class index `num_classes` is the "no class" token: training drops the label to it 10% of the time, which is
what makes classifier-free guidance possible.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """The transformer sinusoidal embedding of integer timesteps, [B] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with the time+class embedding added in between, and a skip connection."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of the 7x7 bottleneck, where it is cheap (49 tokens)."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.norm = nn.GroupNorm(8, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    """28 -> 14 -> 7 and back, one ResBlock per level each way, attention at 7x7; predicts the added noise."""

    def __init__(self, channels=(32, 64, 128), num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.config = {"channels": list(channels), "num_classes": num_classes, "in_channels": in_channels}
        self.num_classes = num_classes
        emb_dim = 4 * c1
        self.time_mlp = nn.Sequential(nn.Linear(c1, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim)
        self.stem = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.down1 = ResBlock(c1, c1, emb_dim)
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.down2 = ResBlock(c1, c2, emb_dim)
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)
        self.down3 = ResBlock(c2, c3, emb_dim)
        self.mid_attn = SelfAttention(c3)
        self.mid = ResBlock(c3, c3, emb_dim)
        self.up3 = ResBlock(c3 + c3, c2, emb_dim)
        self.up2 = ResBlock(c2 + c2, c1, emb_dim)
        self.up1 = ResBlock(c1 + c1, c1, emb_dim)
        self.out = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, in_channels, 3, padding=1))

    def forward(self, sample: torch.Tensor, timestep, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        b = sample.shape[0]
        t = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(b)
        if class_labels is None:
            class_labels = torch.full((b,), self.num_classes, device=sample.device, dtype=torch.long)
        emb = self.time_mlp(timestep_embedding(t, self.stem.out_channels)) + self.class_emb(class_labels)
        h1 = self.down1(self.stem(sample), emb)                   # 28x28
        h2 = self.down2(self.pool1(h1), emb)                      # 14x14
        h3 = self.down3(self.pool2(h2), emb)                      # 7x7
        h = self.mid(self.mid_attn(h3), emb)
        h = self.up3(torch.cat([h, h3], 1), emb)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h2], 1), emb)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h1], 1), emb)
        return self.out(h)
