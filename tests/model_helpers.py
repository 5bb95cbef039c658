"""Tiny models and inputs shared by the model tests."""

from __future__ import annotations

import torch

from finepose_core.model.denoiser import DenoiserConfig, FinePoseDenoiser
from finepose_core.model.prompts import PROMPT_KEYS, PromptEmbedding

TEXT_WIDTH = 8


def tiny_config(**overrides: object) -> DenoiserConfig:
    values: dict[str, object] = dict(
        frames=9, width=32, depth=2, heads=2, drop_path=0.0, prompt_layers=1, text_width=TEXT_WIDTH
    )
    values.update(overrides)
    return DenoiserConfig(**values)  # type: ignore[arg-type]


def tiny_model(seed: int = 0, **overrides: object) -> FinePoseDenoiser:
    torch.manual_seed(seed)
    model = FinePoseDenoiser(tiny_config(**overrides))
    # PTS starts as the identity (zero-initialised); give it weights so that tests see its effect.
    for layer in (model.stylization.psi_w, model.stylization.psi_b):
        torch.nn.init.normal_(layer.weight, std=0.1)
    return model.eval()


def random_prompts(model: FinePoseDenoiser, batch: int, seed: int = 0) -> PromptEmbedding:
    generator = torch.Generator().manual_seed(seed)
    width = model.config.text_width
    features = torch.randn(batch, len(PROMPT_KEYS), model.config.encoded_tokens, width, generator=generator)
    nulled = torch.zeros(batch, len(PROMPT_KEYS), dtype=torch.bool)
    with torch.no_grad():
        return model.encode_prompts(features, nulled)
