"""A small GPT in nanoGPT's shape: token and position embeddings, pre-LayerNorm blocks of causal self-attention
and an MLP, a final LayerNorm and an unembedding tied to the token embedding.

Characters are the tokens (the vocabulary is stored with the weights). `forward(idx, return_internals=True)`
also returns every layer's attention weights softmax(QKᵀ/√d_k + causal mask), [layers, batch, heads, T, T], and
the residual stream after the embedding and after every block, [layers + 1, batch, T, dim], which is what the
logit lens reads.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, block_size: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        # True above the diagonal: position i may not look at j > i.
        self.register_buffer("future", torch.ones(block_size, block_size, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if not return_weights:  # training and plain generation: the fused kernel, same maths
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(out.transpose(1, 2).reshape(b, t, d)), None
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        weights = F.softmax(scores.masked_fill(self.future[:t, :t], float("-inf")), dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, t, d)  # concatenate the heads, then W^O
        return self.proj(out), weights


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, block_size: int):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(dim), CausalSelfAttention(dim, heads, block_size)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        a, weights = self.attn(self.ln1(x), return_weights)
        x = x + a
        return x + self.mlp(self.ln2(x)), weights


class GPT(nn.Module):
    def __init__(self, vocab_size: int, block_size: int = 128, layers: int = 4, heads: int = 4, dim: int = 128):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "layers": layers, "heads": heads,
                       "dim": dim}
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, dim)
        self.pos_emb = nn.Embedding(block_size, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, block_size) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.apply(self._init)
        for block in self.blocks:  # GPT-2's scaled init of the projections that write into the residual stream
            for proj in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """Logits from a residual stream: the final LayerNorm, then the tied unembedding (the logit lens uses
        this on every layer's stream)."""
        return self.ln_f(h) @ self.tok_emb.weight.T

    def forward(self, idx: torch.Tensor, return_internals: bool = False):
        t = idx.shape[1]
        if t > self.block_size:
            raise ValueError(f"{t} tokens are more than this model's context of {self.block_size}.")
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(t, device=idx.device))
        streams, attentions = [x], []
        for block in self.blocks:
            x, weights = block(x, return_internals)
            streams.append(x)
            attentions.append(weights)
        logits = self.unembed(x)
        if not return_internals:
            return logits
        return logits, torch.stack(attentions), torch.stack(streams)


class CharTokenizer:
    """One token per character of the training text; a character the model never saw cannot be encoded."""

    def __init__(self, vocab: str):
        self.vocab = vocab
        self.index = {c: i for i, c in enumerate(vocab)}

    def encode(self, text: str) -> list[int]:
        unknown = sorted({c for c in text if c not in self.index})
        if unknown:
            shown = " ".join(repr(c) for c in unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise ValueError(f"This model's {len(self.vocab)} characters do not include {shown}.")
        return [self.index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)
