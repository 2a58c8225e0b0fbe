"""A small Vision Transformer for 28x28 images, with attention written out so its weights can be returned.

Patches of 7x7 give a 4x4 grid: 16 patch tokens plus a CLS token. Each block is pre-norm:
x + MHSA(LN(x)), then x + MLP(LN(x)). `forward(x, return_attention=True)` also returns every layer's
softmax(QK^T / sqrt(d_k)) as a [layers, batch, heads, tokens, tokens] tensor.
"""
import torch
import torch.nn.functional as F
from torch import nn

from core.models.cnn import Normalize


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        weights = F.softmax(q @ k.transpose(-2, -1) / self.head_dim ** 0.5, dim=-1)  # [b, heads, n, n]
        out = (weights @ v).transpose(1, 2).reshape(b, n, d)  # concatenate the heads, then W^O
        return self.proj(out), weights


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int = 2, dropout: float = 0.1):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp_ratio * dim, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, weights = self.attn(self.norm1(x))
        x = x + a
        return x + self.mlp(self.norm2(x)), weights


class ViT(nn.Module):
    input_size = (1, 28, 28)

    def __init__(self, patch: int = 7, dim: int = 96, depth: int = 6, heads: int = 4, num_classes: int = 10):
        super().__init__()
        self.patch, self.grid = patch, 28 // patch
        self.normalize = Normalize()
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)  # one linear map per non-overlapping patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.grid ** 2 + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    @property
    def num_heads(self) -> int:
        return self.blocks[0].attn.heads

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        tokens = self.patch_embed(self.normalize(x)).flatten(2).transpose(1, 2)   # [b, 16, dim]
        x = torch.cat([self.cls_token.expand(len(tokens), -1, -1), tokens], 1) + self.pos_embed
        attentions = []
        for block in self.blocks:
            x, weights = block(x)
            attentions.append(weights)
        logits = self.head(self.norm(x[:, 0]))
        return (logits, torch.stack(attentions)) if return_attention else logits
