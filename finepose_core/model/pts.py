"""PTS, prompt-driven timestep stylisation: features modulated by v = P[L] + F(t).

Z̃ = Z ⊙ (1 + ψ_w(φ(v))) + ψ_b(φ(v)). The paper writes Z ⊙ ψ_w(·) + ψ_b(·); with ψ_w and ψ_b initialised
to zero the "1 +" makes the block the identity when training starts (as MotionDiffuse's stylisation block,
which the paper cites), instead of erasing the features.
"""

from __future__ import annotations

from torch import Tensor, nn

from finepose_core.model.blocks import zero_init


class PromptTimestepStylization(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.SiLU(), nn.Linear(width, width))
        self.psi_w = zero_init(nn.Linear(width, width))
        self.psi_b = zero_init(nn.Linear(width, width))

    def forward(self, z: Tensor, v: Tensor) -> Tensor:
        """z: [B, ..., C] features; v: [B, C] = P[L] + F(t)."""
        hidden = self.phi(v)
        shape = (hidden.shape[0],) + (1,) * (z.ndim - 2) + (hidden.shape[-1],)
        scale = self.psi_w(hidden).view(shape)
        shift = self.psi_b(hidden).view(shape)
        out: Tensor = z * (1 + scale) + shift
        return out
