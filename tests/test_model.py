"""The FinePOSE denoiser: shapes, parameter counts, gradients of r_k, per-clip prompt routing, PTS."""

from __future__ import annotations

import pytest
import torch

from finepose_core.model.denoiser import PRESETS, FinePoseDenoiser, parameter_count, preset
from finepose_core.model.prompts import (
    ACTION_INDEX,
    POOL_TOKEN,
    PROMPT_KEYS,
    PROMPT_LENGTHS,
    PromptLearner,
)
from finepose_core.model.pts import PromptTimestepStylization
from finepose_core.model.text_encoders import PROMPT_TOKENS
from finepose_core.skeleton import BODY_PARTS
from tests.model_helpers import TEXT_WIDTH, random_prompts, tiny_model


def test_prompt_layout_is_the_papers() -> None:
    assert PROMPT_KEYS == ("person", "action", "speed", "head", "body", "arms", "legs")
    assert PROMPT_LENGTHS == (7, 12, 10, 10, 10, 14, 14) and sum(PROMPT_LENGTHS) == 77
    assert POOL_TOKEN == 7 + 12 - 1 and ACTION_INDEX == 1


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_predicts_all_frames(name: str) -> None:
    config = preset(name, text_width=TEXT_WIDTH)
    model = FinePoseDenoiser(config).eval()
    frames = config.frames
    prompt = random_prompts(model, batch=2)
    with torch.no_grad():
        out = model(
            torch.randn(2, frames, 17, 3), torch.randn(2, frames, 17, 2), torch.tensor([0, 999]), prompt
        )
    assert out.shape == (2, frames, 17, 3)
    assert torch.isfinite(out).all()


def test_parameter_counts() -> None:
    """Measured: the paper preset is 41.36 M parameters with the MiniLM width (384): 36.15 M in the
    denoiser (the D3DP/MixSTE denoiser alone is about 34.8 M; FPC's cross-attention, PTS and F(t) add the
    rest), 4.48 M in the prompt learner and 0.73 M in the part conditioning. The small preset (N = 27) is
    1.63 M, 1.55 M without part conditioning (the bundled checkpoint's model)."""
    paper = FinePoseDenoiser(preset("paper", text_width=384))
    learner = parameter_count(paper.prompt_learner)
    parts = parameter_count(paper.part_conditioning) if paper.part_conditioning else 0
    assert parameter_count(paper) == pytest.approx(41.36e6, rel=0.002)
    assert parameter_count(paper) - learner - parts == pytest.approx(36.15e6, rel=0.002)
    assert parts == pytest.approx(0.73e6, rel=0.01)
    small = FinePoseDenoiser(preset("small", text_width=384))
    assert parameter_count(small) == pytest.approx(1.634e6, rel=0.002)
    bare = FinePoseDenoiser(preset("small", text_width=384, part_conditioning=False))
    assert parameter_count(bare) == pytest.approx(1.550e6, rel=0.002)


def test_part_conditioning_starts_as_the_identity_and_routes_each_part_to_its_joints() -> None:
    """A fresh part path changes nothing (so fine-tuning a checkpoint without it starts from its
    function); once trained, a part's text moves that part's joint tokens only."""
    without = tiny_model(text_tokens=5)
    model = tiny_model(text_tokens=5, part_conditioning=True)
    model.load_state_dict({**model.state_dict(), **without.state_dict()})
    noisy, keypoints, t = torch.randn(2, 9, 17, 3), torch.randn(2, 9, 17, 2), torch.tensor([5, 700])
    features = torch.randn(2, 7, 5, TEXT_WIDTH)
    nulled = torch.zeros(2, 7, dtype=torch.bool)
    with torch.no_grad():
        same = model(noisy, keypoints, t, model.encode_prompts(features, nulled))
        reference = without(noisy, keypoints, t, without.encode_prompts(features, nulled))
    torch.testing.assert_close(same, reference)

    assert model.part_conditioning is not None
    torch.nn.init.normal_(model.part_conditioning.out.weight, std=0.5)
    arms = PROMPT_KEYS.index("arms")
    other = features.clone()
    other[:, arms, -1] = torch.randn(2, TEXT_WIDTH)  # another sentence about the arms
    with torch.no_grad():
        a = model.encode_prompts(features, nulled).joints
        b = model.encode_prompts(other, nulled).joints
    assert a is not None and b is not None
    moved = (a - b).abs().amax(dim=(0, 2)) > 1e-4  # [J]
    assert moved.nonzero().flatten().tolist() == list(BODY_PARTS["arms"])


def test_a_four_token_model_gains_a_part_path_that_reads_the_whole_sentence() -> None:
    """A 4-token checkpoint (the paper's E_tx[:4]) fine-tuned with part conditioning keeps its prompt
    embeddings exactly, while the part path reads the pooled sentence feature, the fifth encoded feature:
    a description that changes only after its third word moves the part's joints."""
    without = tiny_model(text_tokens=4)
    model = tiny_model(text_tokens=4, part_conditioning=True)
    model.load_state_dict({**model.state_dict(), **without.state_dict()})
    assert model.config.encoded_tokens == 5 and without.config.encoded_tokens == 4
    features = torch.randn(2, 7, 5, TEXT_WIDTH)
    nulled = torch.zeros(2, 7, dtype=torch.bool)
    with torch.no_grad():
        kept = model.encode_prompts(features, nulled)
        old = without.encode_prompts(features[:, :, :4], nulled)
    torch.testing.assert_close(kept.tokens, old.tokens)
    torch.testing.assert_close(kept.pooled, old.pooled)

    assert model.part_conditioning is not None
    torch.nn.init.normal_(model.part_conditioning.out.weight, std=0.5)
    later_words = features.clone()
    later_words[:, PROMPT_KEYS.index("legs"), 4] = torch.randn(2, TEXT_WIDTH)  # same first tokens
    with torch.no_grad():
        a = model.encode_prompts(features, nulled).joints
        b = model.encode_prompts(later_words, nulled).joints
    assert a is not None and b is not None
    moved = (a - b).abs().amax(dim=(0, 2)) > 1e-4
    assert moved.nonzero().flatten().tolist() == list(BODY_PARTS["legs"])


def test_modifiers_receive_gradient_and_change_after_one_step() -> None:
    learner = PromptLearner(text_width=TEXT_WIDTH, width=32, heads=2, layers=1)
    before = [m.detach().clone() for m in learner.modifiers]
    optimizer = torch.optim.SGD(learner.parameters(), lr=0.1)
    features = torch.randn(3, 7, PROMPT_TOKENS, TEXT_WIDTH)
    embedding = learner(features, torch.zeros(3, 7, dtype=torch.bool))
    (embedding.tokens.pow(2).mean() + embedding.pooled.sum()).backward()
    for modifier in learner.modifiers:
        assert modifier.grad is not None and modifier.grad.abs().sum() > 0
    optimizer.step()
    for old, new in zip(before, learner.modifiers, strict=True):
        assert not torch.equal(old, new.detach())
    # the frozen encoder's features are inputs, not parameters: nothing of the encoder is trained here
    assert learner.modifiers[1].shape == (12 - PROMPT_TOKENS, 32)


def test_nulled_texts_use_the_learned_null_embedding() -> None:
    learner = PromptLearner(text_width=TEXT_WIDTH, width=32, heads=2, layers=1).eval()
    a = torch.randn(1, 7, PROMPT_TOKENS, TEXT_WIDTH)
    b = a.clone()
    b[0, ACTION_INDEX] = torch.randn(PROMPT_TOKENS, TEXT_WIDTH)  # a different action text
    nulled = torch.zeros(1, 7, dtype=torch.bool)
    nulled[0, ACTION_INDEX] = True
    with torch.no_grad():
        assert torch.allclose(learner(a, nulled).tokens, learner(b, nulled).tokens)
        kept = torch.zeros_like(nulled)
        assert not torch.allclose(learner(a, kept).tokens, learner(b, kept).tokens)


def test_prompts_reach_their_own_clip_under_batch_permutation() -> None:
    """Clips with different prompts: permuting the batch permutes the outputs exactly."""
    model = tiny_model()
    batch = 5
    noisy = torch.randn(batch, 9, 17, 3)
    keypoints = torch.randn(batch, 9, 17, 2)
    t = torch.tensor([0, 10, 500, 999, 250])
    prompt = random_prompts(model, batch)
    permutation = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        out = model(noisy, keypoints, t, prompt)
        permuted = model(noisy[permutation], keypoints[permutation], t[permutation], prompt[permutation])
    torch.testing.assert_close(permuted, out[permutation], rtol=1e-5, atol=1e-6)
    # and the prompt matters: the same clip with another clip's prompt gives another pose
    with torch.no_grad():
        swapped = model(noisy, keypoints, t, prompt[permutation])
    assert (swapped - out).abs().max() > 1e-3


def test_pts_starts_as_the_identity_and_modulates_once_trained() -> None:
    pts = PromptTimestepStylization(16)
    z = torch.randn(2, 5, 16)
    v = torch.randn(2, 16)
    torch.testing.assert_close(pts(z, v), z)
    torch.nn.init.normal_(pts.psi_w.weight)
    torch.nn.init.normal_(pts.psi_b.bias)
    out = pts(z, v)
    scale = pts.psi_w(pts.phi(v))[:, None]
    shift = pts.psi_b(pts.phi(v))[:, None]
    torch.testing.assert_close(out, z * (1 + scale) + shift)


def test_windows_shorter_than_n_are_accepted_and_longer_refused() -> None:
    model = tiny_model()
    prompt = random_prompts(model, 1)
    with torch.no_grad():
        assert (
            model(torch.zeros(1, 4, 17, 3), torch.zeros(1, 4, 17, 2), torch.tensor([3]), prompt).shape[1] == 4
        )
        with pytest.raises(ValueError, match="exceed"):
            model(torch.zeros(1, 10, 17, 3), torch.zeros(1, 10, 17, 2), torch.tensor([3]), prompt)


def test_prompt_dropout_nulls_about_the_given_fraction() -> None:
    from finepose_core.model.prompts import prompt_dropout

    already = torch.zeros(4000, 7, dtype=torch.bool)
    already[:, ACTION_INDEX] = True  # unknown actions stay nulled
    dropped = prompt_dropout(already, 0.1, torch.Generator().manual_seed(0))
    assert dropped[:, ACTION_INDEX].all()
    others = torch.cat([dropped[:, :ACTION_INDEX], dropped[:, ACTION_INDEX + 1 :]], dim=1)
    assert 0.09 < others.float().mean().item() < 0.11
    assert not prompt_dropout(torch.zeros(10, 7, dtype=torch.bool), 0.0).any()
