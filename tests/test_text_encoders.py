"""Text encoders: the offline MiniLM default, a tiny random open_clip text tower, and the feature cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from finepose_core.model.text_encoders import (
    ENCODED_TOKENS,
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
    assert alone.shape == (1, ENCODED_TOKENS, 384) and batched.shape == (3, ENCODED_TOKENS, 384)
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
    assert features.shape == (2, ENCODED_TOKENS, 64)
    assert encoder.id.startswith("open_clip:ViT-B-32:")
    # the tokens are the tower's own, after its final LayerNorm
    tower.eval()
    import open_clip

    with torch.no_grad():
        x = tower.token_embedding(open_clip.tokenize(["a person walks"])) + tower.positional_embedding
        x = tower.ln_final(tower.transformer(x, attn_mask=tower.attn_mask))
    torch.testing.assert_close(features[0, :PROMPT_TOKENS], x[0, :PROMPT_TOKENS], rtol=1e-4, atol=1e-5)
    # then the whole text's feature: the end-of-text token's (the tokenizer's highest id)
    end = int(open_clip.tokenize(["a person walks"])[0].argmax())
    torch.testing.assert_close(features[0, PROMPT_TOKENS], x[0, end], rtol=1e-4, atol=1e-5)


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
        return torch.stack([torch.full((ENCODED_TOKENS, self.width), float(len(t))) for t in texts])


def test_cache_encodes_each_distinct_text_once() -> None:
    encoder = CountingEncoder()
    cache = TextFeatureCache.for_encoder(encoder)
    first = cache.features(["walk", "run", "walk"])
    second = cache.features(["run", "walk", "jump"])
    assert set(encoder.texts) == {"jump", "run", "walk"}  # each batch is topped up with repeats
    assert cache.encoder_calls == 2
    torch.testing.assert_close(first[0], second[1])
    assert cache.known_texts == ["jump", "run", "walk"]


def test_unknown_prompt_without_encoder_lists_the_known_texts() -> None:
    cache = TextFeatureCache("counting:1", 6, {"walk": torch.zeros(PROMPT_TOKENS, 6)})
    assert cache.features(["walk"]).shape == (1, PROMPT_TOKENS, 6)
    with pytest.raises(UnknownPromptError, match=r"'dance'.*known texts: 'walk'"):
        cache.features(["dance"])


def test_the_encoder_can_be_loaded_ahead_of_the_first_unknown_text() -> None:
    loads: list[CountingEncoder] = []

    def loader() -> CountingEncoder:
        loads.append(CountingEncoder())
        return loads[-1]

    cache = TextFeatureCache("counting:1", 6, {"walk": torch.zeros(PROMPT_TOKENS, 6)}, loader=loader)
    cache.features(["walk"])
    assert not loads  # known texts never load it
    assert cache.load_encoder() and len(loads) == 1
    cache.features(["left arm raised above the head"])
    assert len(loads) == 1 and loads[0].texts[0] == "left arm raised above the head"

    def broken() -> CountingEncoder:
        raise TextEncoderError("MiniLM's files are missing; run make setup")

    bare = TextFeatureCache("counting:1", 6, {"walk": torch.zeros(PROMPT_TOKENS, 6)}, loader=broken)
    assert not bare.load_encoder()  # told, not raised: the caller leaves the parts bare
    with pytest.raises(UnknownPromptError):
        bare.features(["dance"])


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
    assert set(encoder.texts) == {"fast", "person", "run", "slow"}
    assert features[0, 1].abs().sum() == 0
    torch.testing.assert_close(features[1, 1], torch.full((PROMPT_TOKENS, 6), 3.0))  # len("run")


def test_a_bounded_cache_keeps_its_pinned_texts_and_the_recent_ones() -> None:
    encoder = CountingEncoder()
    cache = TextFeatureCache.for_encoder(encoder, tokens=ENCODED_TOKENS, capacity=2)
    cache.pin(["person", "arms"])
    for text in ("a", "bb", "ccc", "bb"):
        assert cache.features([text]).shape == (1, ENCODED_TOKENS, 6)
    assert cache.known_texts == ["arms", "bb", "ccc", "person"]  # "a" was the least recently used
    assert sorted(cache.state()["features"]) == ["arms", "person"]  # checkpoints keep the pinned only
    with pytest.raises(TextEncoderError, match="1–5 features per text"):
        TextFeatureCache("counting:1", 6, tokens=6)


def test_the_whole_description_reaches_the_prompt_embedding(tmp_path: Path) -> None:
    """Two part descriptions that differ only after their third word: through CLIP's causal tower their
    first four token features are identical, so a 4-token model (the paper's eq. 4) cannot tell them apart;
    with the pooled sentence feature (5 tokens) their prompt embeddings differ."""
    from open_clip.transformer import TextTransformer
    from safetensors.torch import save_file

    from finepose_core.model.prompts import PromptLearner

    torch.manual_seed(0)
    tower = TextTransformer(width=64, heads=2, layers=2, output_dim=32)
    weights = tmp_path / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in tower.state_dict().items()}, str(weights))
    encoder = OpenClipTextEncoder(
        weights, config=OpenClipTextConfig(width=64, heads=2, layers=2, quick_gelu=False)
    )
    texts = ["arms raised above the head, elbows bent", "arms raised above the head, elbows straight"]
    features = encoder.encode(texts)
    torch.testing.assert_close(features[0, :PROMPT_TOKENS], features[1, :PROMPT_TOKENS])
    assert (features[0, PROMPT_TOKENS] - features[1, PROMPT_TOKENS]).abs().max() > 1e-3
    nulled = torch.zeros(1, 7, dtype=torch.bool)
    for tokens, differ in ((PROMPT_TOKENS, False), (ENCODED_TOKENS, True)):
        torch.manual_seed(1)
        learner = PromptLearner(64, 32, heads=2, layers=1, text_tokens=tokens).eval()
        prompts = []
        for text in texts:
            rows = torch.zeros(1, 7, tokens, 64)
            rows[0, 5] = features[texts.index(text), :tokens]  # the arms' slot
            prompts.append(learner(rows, nulled))
        gap = (prompts[0].tokens - prompts[1].tokens).abs().max().item()
        assert (gap > 1e-4) is differ, (tokens, gap)
