"""The DDIM sampler (paper eqs. 2–3), a small object separate from the network like diffusers' schedulers.

    ε_t     = (Y_t − √ᾱ_t Ŷ_0) / √(1 − ᾱ_t)
    σ_t     = η · √((1 − ᾱ_prev) / (1 − ᾱ_t)) · √(1 − ᾱ_t / ᾱ_prev)
    Y_prev  = √ᾱ_prev Ŷ_0 + √(1 − ᾱ_prev − σ_t²) ε_t + σ_t ε,     ε ~ N(0, I)

η = 0 is deterministic DDIM, η = 1 the DDPM-like stochastic sampler. The K timesteps run from T − 1
down to the last, after which the prediction Ŷ_0 itself is the result (the "previous" step is t = −1).
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from finepose_core.diffusion.schedule import NoiseSchedule


class DDIMScheduler:
    def __init__(self, schedule: NoiseSchedule, eta: float = 0.0) -> None:
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must be within [0, 1], got {eta}")
        self.schedule = schedule
        self.eta = eta
        self.timesteps: list[int] = []

    def set_timesteps(self, count: int) -> list[tuple[int, int]]:
        """Choose K evenly spaced timesteps, T−1 first; returns (t, t_prev) pairs, t_prev = −1 at the end."""
        if count < 1:
            raise ValueError(f"need at least one sampling step, got {count}")
        total = self.schedule.steps
        grid = torch.linspace(-1, total - 1, count + 1).round().long().tolist()[::-1]
        self.timesteps = grid[:-1]
        return list(itertools.pairwise(grid))

    def step(
        self,
        predicted_clean: Tensor,
        t: int,
        t_prev: int,
        sample: Tensor,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """One reverse step from Y_t (sample) given the network's Ŷ_0; returns Y_{t_prev}."""
        if t_prev < 0:
            return predicted_clean
        alpha = self.schedule.alphas_cumprod[t].item()
        alpha_prev = self.schedule.alphas_cumprod[t_prev].item()
        eps = (sample - alpha**0.5 * predicted_clean) / (1 - alpha) ** 0.5
        sigma = self.eta * ((1 - alpha_prev) / (1 - alpha)) ** 0.5 * (1 - alpha / alpha_prev) ** 0.5
        direction = max(1 - alpha_prev - sigma**2, 0.0) ** 0.5
        out = alpha_prev**0.5 * predicted_clean + direction * eps
        if sigma > 0:
            noise = torch.randn(sample.shape, generator=generator, dtype=sample.dtype, device="cpu")
            out = out + sigma * noise.to(sample.device)
        result: Tensor = out
        return result
