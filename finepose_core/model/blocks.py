"""Transformer building blocks of the MixSTE backbone: attention, MLP, drop-path, pre-LayerNorm blocks."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class DropPath(nn.Module):
    """Stochastic depth: drops a residual branch for whole samples with probability `rate` in training."""

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: Tensor) -> Tensor:
        if self.rate == 0.0 or not self.training:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        out: Tensor = x * mask / keep
        return out


class Attention(nn.Module):
    """Multi-head attention; self-attention when `context` is None, cross-attention otherwise."""

    def __init__(self, width: int, heads: int, context_width: int | None = None) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key_value = nn.Linear(context_width or width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """x: [B, S, C] queries; context: [B, S', C'] keys/values of the same batch element."""
        batch, length, width = x.shape
        source = x if context is None else context
        q = self.query(x).view(batch, length, self.heads, -1).transpose(1, 2)
        k, v = self.key_value(source).view(batch, source.shape[1], 2, self.heads, -1).unbind(2)
        out = F.scaled_dot_product_attention(q, k.transpose(1, 2), v.transpose(1, 2))
        projected: Tensor = self.out(out.transpose(1, 2).reshape(batch, length, width))
        return projected


class Mlp(nn.Module):
    def __init__(self, width: int, ratio: float) -> None:
        super().__init__()
        hidden = int(width * ratio)
        self.net = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(LN(x)), then x + mlp(LN(x)), both with drop-path."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = Mlp(width, mlp_ratio)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        out: Tensor = x + self.drop_path(self.mlp(self.norm2(x)))
        return out


def spatial_tokens(z: Tensor) -> Tensor:
    """[B, N, J, C] → [B·N, J, C]: attention over the joints of each frame."""
    batch, frames, joints, width = z.shape
    return z.reshape(batch * frames, joints, width)


def temporal_tokens(z: Tensor) -> Tensor:
    """[B, N, J, C] → [B·J, N, C]: attention over the frames of each joint."""
    batch, frames, joints, width = z.shape
    return z.permute(0, 2, 1, 3).reshape(batch * joints, frames, width)


def from_spatial(tokens: Tensor, batch: int) -> Tensor:
    return tokens.reshape(batch, -1, *tokens.shape[1:])


def from_temporal(tokens: Tensor, batch: int) -> Tensor:
    joints = tokens.shape[0] // batch
    return tokens.reshape(batch, joints, *tokens.shape[1:]).permute(0, 2, 1, 3)


def zero_init(layer: nn.Linear) -> nn.Linear:
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer
