"""The forward (noising) process: a cosine β schedule over T steps (Nichol & Dhariwal, s = 0.008)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

# Noisy poses are clamped to ±1.1 m (root-relative) before the network sees them, as in D3DP: with the
# unit-variance noise of early steps, a pose far outside the body's range carries no information.
CLAMP_M = 1.1


def cosine_alphas_cumprod(steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """ᾱ_t for t = 0 … steps−1 (float64), from f(t) = cos²(((t/T) + s) / (1 + s) · π/2)."""
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = torch.clamp(1 - f[1:] / f[:-1], max=max_beta)
    return torch.cumprod(1 - betas, dim=0)


@dataclass(frozen=True)
class NoiseSchedule:
    alphas_cumprod: Tensor  # [T] float64

    @classmethod
    def cosine(cls, steps: int = 1000, s: float = 0.008) -> NoiseSchedule:
        return cls(cosine_alphas_cumprod(steps, s))

    @property
    def steps(self) -> int:
        return int(self.alphas_cumprod.shape[0])

    def alpha_bar(self, t: Tensor) -> Tensor:
        """ᾱ_t for integer t [B]; t = −1 stands for "no noise" (ᾱ = 1)."""
        table = torch.cat([self.alphas_cumprod.new_ones(1), self.alphas_cumprod]).to(t.device)
        return table[t + 1]

    def add_noise(self, clean: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """q(Y_t | Y_0) = √ᾱ_t Y_0 + √(1 − ᾱ_t) ε, per sample t [B]; float32 like the poses."""
        alpha_bar = self.alpha_bar(t).to(clean.dtype).view(-1, *([1] * (clean.ndim - 1)))
        return alpha_bar.sqrt() * clean + (1 - alpha_bar).sqrt() * noise

    def sample_timesteps(self, batch: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randint(0, self.steps, (batch,), generator=generator)
