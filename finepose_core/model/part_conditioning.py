"""Part conditioning: each body part's description added straight to the tokens of that part's joints.

In the paper's FPC the pose tokens reach the 77 prompt tokens only through one cross-attention, and a
model trained on fixed part words learns to treat that attention's output as a constant. A description
such as "right arm behind the body" then has a long way to go before it moves a wrist. This path gives
every joint the (standardised) sentence feature of its own part's text, through a small MLP whose last
layer starts at zero: a new model, or one fine-tuned from a checkpoint without it, starts with exactly
the old function and learns how much each part's words should move its joints.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from finepose_core.model.blocks import zero_init
from finepose_core.model.prompts import PART_KEYS, PROMPT_KEYS, is_standardisation, standardisation
from finepose_core.skeleton import BODY_PARTS, NUM_H36M_JOINTS

PART_TEXT_INDEX = tuple(PROMPT_KEYS.index(name) for name in PART_KEYS)


def joint_parts(joints: int = NUM_H36M_JOINTS) -> Tensor:
    """The index into PART_KEYS of every joint's part, [J]."""
    owner = torch.full((joints,), -1, dtype=torch.long)
    for k, name in enumerate(PART_KEYS):
        owner[list(BODY_PARTS[name])] = k
    if (owner < 0).any():
        raise ValueError("every joint must belong to a body part")
    return owner


class PartConditioning(nn.Module):
    """Sentence features of the part texts [B, 4, D_text] (+ which are nulled) → [B, J, C].

    The features are standardised here, with statistics of its own, rather than by the prompt learner:
    a checkpoint whose prompt learner was trained on raw features can then gain this path without its
    prompt embeddings changing at all, and this path still hears the faint differences between sentences
    about one part (model/prompts.py says why standardising matters).
    """

    owner: Tensor
    sentence_mean: Tensor
    sentence_scale: Tensor

    def __init__(self, text_width: int, width: int, joints: int = NUM_H36M_JOINTS) -> None:
        super().__init__()
        self.read = nn.Linear(text_width, width)
        self.part = nn.Parameter(torch.randn(len(PART_KEYS), width) * 0.02)  # which part is speaking
        self.null = nn.Parameter(torch.zeros(len(PART_KEYS), width))
        self.mix = nn.Sequential(nn.LayerNorm(width), nn.GELU(), nn.Linear(width, width))
        self.out = zero_init(nn.Linear(width, width))
        self.register_buffer("owner", joint_parts(joints), persistent=False)
        self.register_buffer("sentence_mean", torch.zeros(text_width))
        self.register_buffer("sentence_scale", torch.ones(text_width))

    @property
    def standardized(self) -> bool:
        return is_standardisation(self.sentence_mean, self.sentence_scale)

    @torch.no_grad()
    def standardize(self, sentences: Tensor) -> None:
        """Set the standardisation from a sample of raw sentence features [T, D_text]."""
        mean, scale = standardisation(sentences)
        self.sentence_mean.copy_(mean)
        self.sentence_scale.copy_(scale)

    def forward(self, sentences: Tensor, nulled: Tensor) -> Tensor:
        """sentences: raw [B, 4, D_text] in PART_KEYS order; nulled: [B, 4] bool."""
        hidden = self.read((sentences - self.sentence_mean) / self.sentence_scale)
        hidden = torch.where(nulled[..., None], self.null.expand_as(hidden), hidden) + self.part
        per_part: Tensor = self.out(self.mix(hidden))  # [B, 4, C]
        return per_part[:, self.owner]
