"""FPP, fine-grained part-aware prompt learning: prompt texts, the learnable modifiers r_k, and P.

Seven texts per clip, k = person, action, speed, head, body, arms, legs. Paper eq. 4:
    p̃_k = E_tx(text_k)[:4],    p_k = Concat(r_k, p̃_k),
with learnable r_k of L_k − 4 tokens (L = 7, 12, 10, 10, 10, 14, 14; 77 tokens in all). A small trainable
transformer encoder runs over the 77 tokens; P[L] is its output at the last token of the action prompt.
A model with `text_tokens` = 5 also takes each text's pooled sentence feature after the four (r_k one token
shorter, the 77 unchanged), so that all of a description reaches it, not only its first words.

Unlike the official code, the frozen encoder's features are inputs here (computed once per text and
cached), and r_k sit after the encoder in the order of eq. 4b, so they receive gradients and train.
Each text can be replaced by a learned null embedding: prompt dropout in training, and the "prompt off"
branch of per-part classifier-free guidance at inference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, get_args

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from finepose_core.model.text_encoders import PROMPT_TOKENS
from finepose_core.skeleton import BODY_PARTS

PROMPT_KEYS: Final = ("person", "action", "speed", "head", "body", "arms", "legs")
PROMPT_LENGTHS: Final = (7, 12, 10, 10, 10, 14, 14)
PART_KEYS: Final[tuple[str, ...]] = tuple(BODY_PARTS)
ACTION_INDEX: Final = PROMPT_KEYS.index("action")
# P[L]: the output at the action prompt's last token.
POOL_TOKEN: Final = sum(PROMPT_LENGTHS[: ACTION_INDEX + 1]) - 1
SpeedName = Literal["slow", "normal", "fast"]
SPEEDS: Final[tuple[str, ...]] = get_args(SpeedName)
# A part's guidance strength: 0 ignores its prompt, 1 is plain conditioning, above 1 exaggerates.
MIN_STRENGTH: Final = 0.0
MAX_STRENGTH: Final = 2.0

# speed="auto": the median over frames of the mean joint speed in 2D, in body heights per second.
# Standing or gesturing stays under SLOW_BELOW; walking seen from the side is about 0.5–1.2; running is
# above FAST_FROM. Motion towards the camera shows less 2D speed, so "auto" is a hint, not a measurement.
SLOW_BELOW: Final = 0.3
FAST_FROM: Final = 1.5


@dataclass(frozen=True)
class PartPrompt:
    """Extra words for one body part and the guidance strength of its prompt (0 = ignore, 1 = plain)."""

    description: str = ""
    strength: float = 1.0

    def __post_init__(self) -> None:
        if not MIN_STRENGTH <= self.strength <= MAX_STRENGTH:
            raise ValueError(
                f"a part's guidance strength must be within [{MIN_STRENGTH:g}, {MAX_STRENGTH:g}], "
                f"got {self.strength}"
            )


@dataclass(frozen=True)
class Prompts:
    """The prompt controls of one clip."""

    action: str = ""  # free text; "" = unknown (the action prompt is nulled)
    speed: str = "auto"  # slow | normal | fast | auto
    parts: dict[str, PartPrompt] = field(default_factory=dict)  # keys from PART_KEYS
    off: bool = False  # every text nulled: the model without prompts (for comparisons)

    def __post_init__(self) -> None:
        if self.speed not in (*SPEEDS, "auto"):
            raise ValueError(f"speed must be one of {', '.join((*SPEEDS, 'auto'))}, got {self.speed!r}")
        unknown = set(self.parts) - set(PART_KEYS)
        if unknown:
            raise ValueError(f"unknown body parts {sorted(unknown)}; parts are {', '.join(PART_KEYS)}")

    def part(self, name: str) -> PartPrompt:
        return self.parts.get(name, PartPrompt())

    def texts(self, speed: str) -> tuple[list[str], list[bool]]:
        """The seven texts, given the resolved speed, and which of them are nulled."""
        if speed not in SPEEDS:
            raise ValueError(f"resolve speed='auto' first; got {speed!r}")
        texts = ["person", self.action.strip(), speed]
        for name in PART_KEYS:
            description = self.part(name).description.strip()
            texts.append(f"{name} {description}" if description else name)
        nulled = [self.off, self.off or not texts[ACTION_INDEX], *[self.off] * 5]
        return texts, nulled

    def mirrored(self) -> Prompts:
        """The same prompts for the left/right mirror image of the person (flip augmentation)."""
        parts = {k: replace(v, description=mirror_words(v.description)) for k, v in self.parts.items()}
        return replace(self, action=mirror_words(self.action), parts=parts)

    def guided_parts(self) -> list[str]:
        """Parts whose strength differs from 1 and so need a prompt-off prediction."""
        return [name for name in PART_KEYS if self.part(name).strength != 1.0]


_SIDE = re.compile(r"\b(left|right)\b", re.IGNORECASE)
_OTHER_SIDE: Final = {"left": "right", "right": "left"}


def mirror_words(text: str) -> str:
    """ "left" and "right" swapped: the words for the mirror image of what `text` describes."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        other = _OTHER_SIDE[word.lower()]
        return other.capitalize() if word[0].isupper() else other

    return _SIDE.sub(swap, text)


def speed_from_keypoints(keypoints2d: NDArray[np.floating[Any]], fps: float) -> str:
    """Classify the 2D motion of one person [F, J, 2] (pixels) as slow, normal or fast."""
    points = np.asarray(keypoints2d, dtype=np.float64)
    if len(points) < 2 or fps <= 0:
        return "normal"
    extent = np.nanmax(points[..., 1], axis=-1) - np.nanmin(points[..., 1], axis=-1)
    height = float(np.nanmedian(extent))
    if not np.isfinite(height) or height <= 0:
        return "normal"
    step = np.linalg.norm(np.diff(points, axis=0), axis=-1)  # [F-1, J]
    per_frame = np.nanmean(step, axis=-1)
    speed = float(np.nanmedian(per_frame)) * fps / height
    if not np.isfinite(speed):
        return "normal"
    if speed < SLOW_BELOW:
        return "slow"
    return "fast" if speed >= FAST_FROM else "normal"


def prompt_dropout(
    nulled: Tensor, probability: float = 0.1, generator: torch.Generator | None = None
) -> Tensor:
    """Training: null each text of [B, 7] independently with `probability`, on top of those already nulled.

    This teaches the learned null embeddings, which per-part guidance and unknown actions rely on.
    """
    drop = torch.rand(nulled.shape, generator=generator) < probability
    return nulled | drop.to(nulled.device)


@dataclass
class PromptEmbedding:
    """P: tokens [B, 77, C] (keys/values of the cross-attention), pooled P[L] [B, C], and for models with
    part conditioning each joint's share of its part's description [B, J, C]."""

    tokens: Tensor
    pooled: Tensor
    joints: Tensor | None = None

    def _map(self, function: Callable[[Tensor], Tensor]) -> PromptEmbedding:
        joints = None if self.joints is None else function(self.joints)
        return PromptEmbedding(function(self.tokens), function(self.pooled), joints)

    def __getitem__(self, index: Tensor | slice) -> PromptEmbedding:
        return self._map(lambda t: t[index])

    def repeat_interleave(self, repeats: int) -> PromptEmbedding:
        return self._map(lambda t: t.repeat_interleave(repeats, dim=0))

    def tile(self, repeats: int) -> PromptEmbedding:
        """The whole batch `repeats` times over (batch-major copies)."""
        return self._map(lambda t: t.repeat(repeats, *([1] * (t.ndim - 1))))

    @staticmethod
    def cat(embeddings: list[PromptEmbedding]) -> PromptEmbedding:
        with_joints = [e.joints is not None for e in embeddings]
        if any(with_joints) and not all(with_joints):
            raise ValueError("cannot join prompt embeddings with and without part conditioning")
        joints = (
            torch.cat([e.joints for e in embeddings if e.joints is not None]) if all(with_joints) else None
        )
        return PromptEmbedding(
            torch.cat([e.tokens for e in embeddings]), torch.cat([e.pooled for e in embeddings]), joints
        )


def standardisation(sample: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and scale per feature of a sample [T, ...] of text features; the scale is kept at least a
    tenth of its mean, so that a feature (nearly) constant over the sample is not blown up."""
    scale = sample.std(dim=0)
    return sample.mean(dim=0), scale.clamp_min(0.1 * float(scale.mean()))


def is_standardisation(mean: Tensor, scale: Tensor) -> bool:
    """Whether a mean and scale have been set (they start as zero and one: no change)."""
    return bool((scale != 1).any() or (mean != 0).any())


class PromptLearner(nn.Module):
    """Text features [B, 7, 4, D_text] (+ which are nulled) → P."""

    feature_mean: Tensor
    feature_scale: Tensor

    def __init__(
        self,
        text_width: int,
        width: int,
        heads: int,
        layers: int = 2,
        mlp_ratio: float = 2.0,
        text_tokens: int = PROMPT_TOKENS,
    ) -> None:
        super().__init__()
        self.text_width = text_width
        self.text_tokens = text_tokens
        self.project = nn.Linear(text_width, width)  # the trainable map from the frozen encoder to C
        self.modifiers = nn.ParameterList(
            [nn.Parameter(torch.randn(length - text_tokens, width) * 0.02) for length in PROMPT_LENGTHS]
        )
        self.null = nn.Parameter(torch.randn(len(PROMPT_KEYS), text_tokens, width) * 0.02)
        self.position = nn.Parameter(torch.randn(sum(PROMPT_LENGTHS), width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width,
            heads,
            int(width * mlp_ratio),
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        # Standardisation of the frozen encoder's features (per token position and channel), set from the
        # training texts: sentences about one body part share most of their features (MiniLM puts "arm in
        # front of the body" and "arm behind the body" at cosine 0.98), and an optimiser working on the raw
        # features spends its steps on the shared part. Zero and one (no change) until set.
        self.register_buffer("feature_mean", torch.zeros(text_tokens, text_width))
        self.register_buffer("feature_scale", torch.ones(text_tokens, text_width))

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # checkpoints made before the standardisation existed load as unstandardised
        state_dict.setdefault(prefix + "feature_mean", torch.zeros_like(self.feature_mean))
        state_dict.setdefault(prefix + "feature_scale", torch.ones_like(self.feature_scale))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def standardized(self) -> bool:
        return is_standardisation(self.feature_mean, self.feature_scale)

    @torch.no_grad()
    def standardize(self, features: Tensor) -> None:
        """Set the standardisation from a sample of text features [T, text_tokens, D_text]."""
        mean, scale = standardisation(features)
        self.feature_mean.copy_(mean)
        self.feature_scale.copy_(scale)

    def standardized_features(self, text_features: Tensor) -> Tensor:
        return (text_features - self.feature_mean) / self.feature_scale

    def forward(self, text_features: Tensor, nulled: Tensor) -> PromptEmbedding:
        """text_features: [B, 7, text_tokens, D_text]; nulled: [B, 7] bool, True where a text is replaced
        by null."""
        batch = text_features.shape[0]
        expected = (len(PROMPT_KEYS), self.text_tokens, self.text_width)
        if tuple(text_features.shape[1:]) != expected:
            raise ValueError(f"text features must be [B, {expected}], got {tuple(text_features.shape)}")
        projected = self.project(self.standardized_features(text_features))  # [B, 7, 4, C]
        projected = torch.where(nulled[:, :, None, None], self.null.expand_as(projected), projected)
        pieces = []
        for k, modifier in enumerate(self.modifiers):
            pieces.append(modifier.expand(batch, -1, -1))
            pieces.append(projected[:, k])
        tokens = torch.cat(pieces, dim=1) + self.position  # [B, 77, C]
        tokens = self.norm(self.encoder(tokens))
        return PromptEmbedding(tokens=tokens, pooled=tokens[:, POOL_TOKEN])


def adapt_text_tokens(state: dict[str, Tensor], old: int, new: int) -> dict[str, Tensor]:
    """A denoiser's weights for `new` features per text from weights trained with `old` ≤ `new` (fine-tuning
    a 4-token checkpoint into a 5-token model). Each segment of the 77 keeps its length: r_k gives up its
    first tokens, and the position table is rearranged so that every token that stays keeps its embedding
    (the freed rows go to the added text tokens); an added token's null embedding is the mean of the
    others'. Fine-tuning adapts the rest."""
    if new < old:
        raise ValueError(f"cannot adapt weights from {old} to fewer ({new}) features per text")
    if old == new:
        return state
    prefix = "prompt_learner."
    added = new - old
    out = dict(state)
    position, rows, start = state[prefix + "position"], [], 0
    for k, length in enumerate(PROMPT_LENGTHS):
        segment = position[start : start + length]
        out[f"{prefix}modifiers.{k}"] = state[f"{prefix}modifiers.{k}"][added:].clone()
        rows.append(torch.cat([segment[added:], segment[:added]]))  # r_k's remaining rows, the text's, freed
        start += length
    out[prefix + "position"] = torch.cat(rows)
    null = state[prefix + "null"]
    out[prefix + "null"] = torch.cat([null, null.mean(dim=1, keepdim=True).repeat(1, added, 1)], dim=1)
    return out
