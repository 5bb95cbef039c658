"""Shared fixtures: where ../shared is, the repository root, and a tiny real checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from finepose_core.checkpoint import Checkpoint
from finepose_core.model.denoiser import DenoiserConfig, FinePoseDenoiser
from finepose_core.model.prompts import PART_KEYS, SPEEDS
from finepose_core.model.text_encoders import MiniLMTextEncoder, TextFeatureCache

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, or a skip with the reason when it is absent (a user's clone)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: this test needs the workplace's shared data (CI always has it)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny model with the real offline text encoder's features (not for accuracy tests)."""
    cache = TextFeatureCache.for_encoder(MiniLMTextEncoder())
    cache.features(["person", "walking", *SPEEDS, *PART_KEYS])
    torch.manual_seed(0)  # untrained weights, but the same ones whatever ran before
    model = FinePoseDenoiser(
        DenoiserConfig(frames=9, width=32, depth=1, heads=2, prompt_layers=1, text_width=cache.width)
    )
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    Checkpoint.from_model(model, cache, "tiny", input_normalization="person").save(path)
    return path
