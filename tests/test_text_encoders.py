"""Text encoders: the offline MiniLM default, a tiny random open_clip text tower, and the feature cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from finepose_core.model.text_encoders import (
    MINILM_ID,
    PROMPT_TOKENS,
    MiniLMTextEncoder,
    OpenClipTextConfig,
    OpenClipTextEncoder,
    TextEncoderError,
    TextFeatureCache,
    UnknownPromptError,
    load_text_encoder,
    minilm_files,
)


@pytest.fixture(scope="module")
def minilm() -> MiniLMTextEncoder:
    return MiniLMTextEncoder()


def test_minilm_files_are_found_and_verified_without_network() -> None:
    folder = minilm_files()
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()


def test_minilm_features_are_a_function_of_the_text(minilm: MiniLMTextEncoder) -> None:
    assert minilm.id == MINILM_ID and minilm.width == 384
    alone = minilm.encode(["walking"])
    batched = minilm.encode(["arms raised overhead while jumping", "walking", "sit"])
    assert alone.shape == (1, PROMPT_TOKENS, 384) and batched.shape == (3, PROMPT_TOKENS, 384)
    torch.testing.assert_close(batched[1], alone[0], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(batched[0], batched[2], atol=1e-3)
    assert not alone.requires_grad


def test_tiny_open_clip_text_tower_from_a_local_file(tmp_path: Path) -> None:
    """open_clip's text tower with tiny random weights saved as safetensors (no weights can be
    downloaded here); the encoder reads only the text part of a CLIP-style state dict."""
    from open_clip.transformer import TextTransformer
    from safetensors.torch import save_file

    torch.manual_seed(0)
    tower = TextTransformer(width=64, heads=2, layers=2, output_dim=32)
    state = {key: value.contiguous() for key, value in tower.state_dict().items()}
    state["visual.proj"] = torch.zeros(3)  # a full CLIP file also holds the vision tower
    weights = tmp_path / "tiny_clip.safetensors"
    save_file(state, str(weights))
    config = OpenClipTextConfig(width=64, heads=2, layers=2, quick_gelu=False)
    encoder = OpenClipTextEncoder(weights, config=config)
    features = encoder.encode(["a person walks", "a person jumps"])
    assert features.shape == (2, PROMPT_TOKENS, 64)
    assert encoder.id.startswith("open_clip:ViT-B-32:")
    # the tokens are the tower's own, after its final LayerNorm
    tower.eval()
    import open_clip

    with torch.no_grad():
        x = tower.token_embedding(open_clip.tokenize(["a person walks"])) + tower.positional_embedding
        x = tower.ln_final(tower.transformer(x, attn_mask=tower.attn_mask))
    torch.testing.assert_close(features[0], x[0, :PROMPT_TOKENS], rtol=1e-4, atol=1e-5)


def test_open_clip_weights_must_be_local(tmp_path: Path) -> None:
    with pytest.raises(TextEncoderError, match="never downloaded"):
        OpenClipTextEncoder(tmp_path / "missing.bin", config=OpenClipTextConfig(width=64, heads=2, layers=2))
    with pytest.raises(TextEncoderError, match="open_clip:MODEL:PATH"):
        load_text_encoder("open_clip:ViT-B-32")
    with pytest.raises(TextEncoderError, match="unknown text encoder"):
        load_text_encoder("bert")


class CountingEncoder:
    """A deterministic stand-in encoder that counts calls (the cache's behaviour is what is tested)."""

    id = "counting:1"
    width = 6

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        self.texts.extend(texts)
        return torch.stack([torch.full((PROMPT_TOKENS, self.width), float(len(t))) for t in texts])


def test_cache_encodes_each_distinct_text_once() -> None:
    encoder = CountingEncoder()
    cache = TextFeatureCache.for_encoder(encoder)
    first = cache.features(["walk", "run", "walk"])
    second = cache.features(["run", "walk", "jump"])
    assert sorted(encoder.texts) == ["jump", "run", "walk"]
    assert cache.encoder_calls == 2
    torch.testing.assert_close(first[0], second[1])
    assert cache.known_texts == ["jump", "run", "walk"]


def test_unknown_prompt_without_encoder_lists_the_known_texts() -> None:
    cache = TextFeatureCache("counting:1", 6, {"walk": torch.zeros(PROMPT_TOKENS, 6)})
    assert cache.features(["walk"]).shape == (1, PROMPT_TOKENS, 6)
    with pytest.raises(UnknownPromptError, match=r"'dance'.*known texts: 'walk'"):
        cache.features(["dance"])


def test_cache_refuses_an_encoder_of_another_model() -> None:
    with pytest.raises(TextEncoderError, match="not interchangeable"):
        TextFeatureCache("minilm:other", 6, encoder=CountingEncoder())


def test_prompt_features_never_encode_nulled_texts() -> None:
    encoder = CountingEncoder()
    cache = TextFeatureCache.for_encoder(encoder)
    features = cache.prompt_features(
        [["person", "", "slow"], ["person", "run", "fast"]], [[False, True, False], [False] * 3]
    )
    assert features.shape == (2, 3, PROMPT_TOKENS, 6)
    assert "" not in encoder.texts and sorted(encoder.texts) == ["fast", "person", "run", "slow"]
    assert features[0, 1].abs().sum() == 0
    torch.testing.assert_close(features[1, 1], torch.full((PROMPT_TOKENS, 6), 3.0))  # len("run")
