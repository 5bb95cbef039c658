"""The FinePOSE denoiser D(Y_t, X, t, P) → Ŷ_0: FPC and PTS on a MixSTE backbone.

Data flow (paper eq. 5 and section 3.2), for a batch of clips of N frames and J = 17 joints:

    Z_t  = Linear(concat(Y_t, X)) + spatial position + P[L] + F(t)           [B, N, J, C]
           (+ each joint's part description, for models with part conditioning)
    Z^s  = spatial block (attention over the joints of each frame)
    Z^sp = Z^s + CrossAttention(queries: pose tokens of a clip, keys/values: that clip's 77 prompt tokens)
    Z̃^sp = PTS(Z^sp, v = P[L] + F(t))
    then temporal position + temporal block (attention over the frames of each joint),
    then depth − 1 more spatial/temporal pairs, LayerNorm, Linear(C → 3): Ŷ_0 for all N frames.

The cross-attention runs per clip (a [B, N·J, C] query set against that clip's [B, 77, C] prompt), so a
batch of clips with different prompts routes each prompt to its own clip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Final

import torch
from torch import Tensor, nn

from finepose_core.model.blocks import (
    Attention,
    Block,
    from_spatial,
    from_temporal,
    spatial_tokens,
    temporal_tokens,
)
from finepose_core.model.part_conditioning import PART_TEXT_INDEX, PartConditioning
from finepose_core.model.prompts import PromptEmbedding, PromptLearner
from finepose_core.model.pts import PromptTimestepStylization
from finepose_core.model.text_encoders import ENCODED_TOKENS, PROMPT_TOKENS
from finepose_core.model.timestep import TimestepEmbedding
from finepose_core.skeleton import NUM_H36M_JOINTS


@dataclass(frozen=True)
class DenoiserConfig:
    frames: int = 81  # N, the window length
    width: int = 128  # C
    depth: int = 4  # spatial/temporal block pairs, the first of which belongs to FPC
    heads: int = 4
    mlp_ratio: float = 2.0
    drop_path: float = 0.1
    prompt_layers: int = 2  # the prompt learner's transformer encoder
    text_width: int = 384  # D_text of the frozen text encoder
    joints: int = NUM_H36M_JOINTS
    # features per text: 4 (the paper's first four tokens; checkpoints that name none) or 5 (and the pooled
    # sentence feature, so that all of a description reaches the model)
    text_tokens: int = PROMPT_TOKENS
    # each part's description also added to its joints' tokens (part_conditioning.py); False for
    # checkpoints that name none
    part_conditioning: bool = False

    @property
    def encoded_tokens(self) -> int:
        """Features per text the encoder supplies: the prompt learner's `text_tokens`, and the pooled
        sentence feature too where part conditioning reads it (even beside a 4-token prompt learner)."""
        return ENCODED_TOKENS if self.part_conditioning else self.text_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DenoiserConfig:
        return cls(**values)


PRESETS: Final[dict[str, DenoiserConfig]] = {
    # The paper's (D3DP/MixSTE) denoiser: 243 frames, C = 512, depth 8, 8 heads, MLP ratio 2.
    "paper": DenoiserConfig(
        frames=243,
        width=512,
        depth=8,
        heads=8,
        mlp_ratio=2.0,
        drop_path=0.1,
        text_tokens=ENCODED_TOKENS,
        part_conditioning=True,
    ),
    # Small enough to train on a laptop's CPU. On a CPU the cost per frame hardly depends on N, so short
    # windows give several times as many different training windows per minute as long ones
    # (docs/model.md has the measurement).
    "small": DenoiserConfig(
        frames=27,
        width=128,
        depth=4,
        heads=4,
        mlp_ratio=2.0,
        drop_path=0.1,
        text_tokens=ENCODED_TOKENS,
        part_conditioning=True,
    ),
}


def preset(name: str, **overrides: Any) -> DenoiserConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets are {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


class FinePoseDenoiser(nn.Module):
    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.prompt_learner = PromptLearner(
            c.text_width, c.width, c.heads, c.prompt_layers, c.mlp_ratio, c.text_tokens
        )
        self.part_conditioning = (
            PartConditioning(c.text_width, c.width, c.joints) if c.part_conditioning else None
        )
        self.embed = nn.Linear(3 + 2, c.width)
        self.spatial_position = nn.Parameter(torch.zeros(1, 1, c.joints, c.width))
        self.temporal_position = nn.Parameter(torch.zeros(1, c.frames, 1, c.width))
        self.time_embedding = TimestepEmbedding(c.width)
        rates = torch.linspace(0, c.drop_path, 2 * c.depth).tolist()
        self.spatial_blocks = nn.ModuleList(
            [Block(c.width, c.heads, c.mlp_ratio, rates[2 * i]) for i in range(c.depth)]
        )
        self.temporal_blocks = nn.ModuleList(
            [Block(c.width, c.heads, c.mlp_ratio, rates[2 * i + 1]) for i in range(c.depth)]
        )
        self.cross_norm = nn.LayerNorm(c.width)
        self.cross_attention = Attention(c.width, c.heads)
        self.stylization = PromptTimestepStylization(c.width)
        self.head = nn.Sequential(nn.LayerNorm(c.width), nn.Linear(c.width, 3))
        nn.init.trunc_normal_(self.spatial_position, std=0.02)
        nn.init.trunc_normal_(self.temporal_position, std=0.02)

    def encode_prompts(self, text_features: Tensor, nulled: Tensor) -> PromptEmbedding:
        """P for a batch of prompt sets; a pure function of its inputs, computed once per lift."""
        embedding: PromptEmbedding = self.prompt_learner(
            text_features[:, :, : self.config.text_tokens], nulled
        )
        if self.part_conditioning is not None:
            embedding.joints = self.part_conditioning(
                self.sentence_features(text_features[:, PART_TEXT_INDEX]), nulled[:, PART_TEXT_INDEX]
            )
        return embedding

    @staticmethod
    def sentence_features(text_features: Tensor) -> Tensor:
        """The raw sentence feature of texts [..., tokens, D_text] → [..., D_text]: the pooled feature (the
        last of five), or the mean of the tokens where only four are encoded."""
        return (
            text_features[..., -1, :] if text_features.shape[-2] > PROMPT_TOKENS else text_features.mean(-2)
        )

    def forward(self, noisy: Tensor, keypoints: Tensor, t: Tensor, prompt: PromptEmbedding) -> Tensor:
        """noisy Y_t [B, n, J, 3], keypoints X [B, n, J, 2] (n ≤ N), t [B] → Ŷ_0 [B, n, J, 3]."""
        batch, frames = noisy.shape[:2]
        if frames > self.config.frames:
            raise ValueError(f"{frames} frames exceed the model's window of {self.config.frames}")
        guide = prompt.pooled + self.time_embedding(t)  # P[L] + F(t), [B, C]
        z = self.embed(torch.cat([noisy, keypoints], dim=-1)) + self.spatial_position + guide[:, None, None]
        if prompt.joints is not None:
            z = z + prompt.joints[:, None]

        # FPC: first spatial block, prompt-pose cross-attention, PTS, first temporal block.
        z = from_spatial(self.spatial_blocks[0](spatial_tokens(z)), batch)
        width = z.shape[-1]
        queries = z.reshape(batch, -1, width)
        attended = queries + self.cross_attention(self.cross_norm(queries), prompt.tokens)
        z = self.stylization(attended, guide).reshape(z.shape)
        z = z + self.temporal_position[:, :frames]
        z = from_temporal(self.temporal_blocks[0](temporal_tokens(z)), batch)

        for spatial, temporal in zip(self.spatial_blocks[1:], self.temporal_blocks[1:], strict=True):
            z = from_spatial(spatial(spatial_tokens(z)), batch)
            z = from_temporal(temporal(temporal_tokens(z)), batch)
        out: Tensor = self.head(z)
        return out


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
