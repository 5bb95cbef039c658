"""The public inference API: checkpoints, prompts, batching of people, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from finepose_core.checkpoint import Checkpoint, CheckpointError
from finepose_core.geometry.camera import intrinsics_from_fov
from finepose_core.lifter import Lifter, LiftOptions, PersonInput
from finepose_core.model.prompts import PartPrompt, Prompts, mirror_words, speed_from_keypoints
from finepose_core.model.text_encoders import TextFeatureCache, UnknownPromptError
from tests.model_helpers import tiny_model
from tests.test_text_encoders import CountingEncoder

K = intrinsics_from_fov(640, 480, 60)
SIZE = (640, 480)


def _keypoints(frames: int, seed: int = 0) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    base = rng.uniform([250, 100], [390, 400], size=(17, 2))
    drift = np.linspace(0, 40, frames)[:, None, None] * np.array([1.0, 0.0])
    return np.asarray(base[None] + drift + rng.normal(scale=1.0, size=(frames, 17, 2)), dtype=np.float64)


def _lifter(encoder: CountingEncoder | None = None) -> Lifter:
    model = tiny_model(text_width=CountingEncoder.width)
    cache = TextFeatureCache.for_encoder(encoder or CountingEncoder())
    return Lifter(model, cache, device="cpu", name="tiny")


def test_lift_returns_joints_uncertainty_and_hypotheses() -> None:
    lifter = _lifter()
    result = lifter.lift(
        _keypoints(30),
        K,
        SIZE,
        prompts=Prompts(action="walking"),
        options=LiftOptions(hypotheses=4, steps=2, return_hypotheses=True),
    )
    assert result.joints3d.shape == (30, 17, 3) and result.uncertainty.shape == (30, 17)
    assert result.hypotheses is not None and result.hypotheses.shape == (4, 30, 17, 3)
    assert (result.uncertainty[:, 1:] > 0).all() and (result.uncertainty[:, 0] == 0).all()  # root-relative
    assert result.texts["action"] == "walking" and result.texts["arms"] == "arms"
    assert result.root_translation.shape == (30, 3)
    # root-relative by contract: the pelvis of the output and of every hypothesis is exactly the origin
    assert np.abs(result.joints3d[:, 0]).max() == 0.0 and np.abs(result.hypotheses[:, :, 0]).max() == 0.0
    assert np.abs(result.joints3d[:, 1:]).max() > 0.01
    assert lifter.device.type == "cpu"


def test_prompt_features_and_embeddings_are_computed_once_per_lift() -> None:
    encoder = CountingEncoder()
    lifter = _lifter(encoder)
    calls: list[int] = []
    lifter.model.prompt_learner.register_forward_hook(lambda *args: calls.append(1))
    steps: list[int] = []
    lifter.model.register_forward_hook(lambda *args: steps.append(1))
    prompts = Prompts(action="boxing", parts={"arms": PartPrompt("punching", 1.5)})
    one_batch = LiftOptions(hypotheses=3, steps=6, max_batch=1024)
    lifter.lift(_keypoints(20), K, SIZE, prompts=prompts, options=one_batch)
    assert len(calls) == 1  # P computed once, not at each of the 6 steps
    assert len(steps) == 6  # one network call per step for all hypotheses, variants and flips
    # on a CPU the default splits a step into calls of at most 32 sequences (measured faster there)
    sizes: list[int] = []
    lifter.model.register_forward_hook(lambda module, args, out: sizes.append(args[0].shape[0]))
    lifter.lift(_keypoints(20), K, SIZE, prompts=prompts, options=LiftOptions(hypotheses=3, steps=6))
    assert max(sizes) <= 32 and len(sizes) > 6
    assert lifter.cache.encoder_calls == 1  # the second lift re-uses every text's features
    assert "arms punching" in encoder.texts


def test_windows_that_share_their_prompts_share_one_embedding() -> None:
    """A person's windows all carry the person's prompts: one embedding (per guidance variant) serves them
    all; only windows whose words differ get their own."""
    lifter = _lifter()
    rows: list[int] = []
    lifter.model.prompt_learner.register_forward_hook(lambda module, args, out: rows.append(args[0].shape[0]))
    prompts = Prompts(action="boxing", parts={"arms": PartPrompt("punching", 1.5)})
    options = LiftOptions(hypotheses=2, steps=1)
    batch = lifter.prepare([PersonInput(_keypoints(40), prompts=prompts)], K, SIZE, 30.0, options)
    assert len(batch.prompt_sets) >= 4 and set(batch.prompt_sets.tolist()) == {0}
    assert rows == [2]  # one set × (full, arms off) variants, not one per window
    two = [PersonInput(_keypoints(40), prompts=prompts), PersonInput(_keypoints(30, 1), prompts=prompts)]
    assert set(lifter.prepare(two, K, SIZE, 30.0, options).prompt_sets.tolist()) == {0}
    other = Prompts(action="boxing", parts={"arms": PartPrompt("guarding", 1.5)})
    mixed = [PersonInput(_keypoints(40), prompts=prompts), PersonInput(_keypoints(30, 1), prompts=other)]
    sets = lifter.prepare(mixed, K, SIZE, 30.0, options).prompt_sets.tolist()
    assert sorted(set(sets)) == [0, 1] and rows[-1] == 4


def test_several_people_in_one_batch() -> None:
    lifter = _lifter()
    calls: list[int] = []
    lifter.model.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    people = [
        PersonInput(_keypoints(25, seed=1), prompts=Prompts(action="walking")),
        PersonInput(_keypoints(4, seed=2), prompts=Prompts(action="", speed="slow")),
    ]
    options = LiftOptions(hypotheses=2, steps=1, flip=False)
    results = lifter.lift_people(people, K, SIZE, fps=10, options=options)
    assert [r.joints3d.shape[0] for r in results] == [25, 4]
    # window 9 with overlap 2: 25 frames → 4 windows, 4 frames → 1 padded window; × 2 hypotheses
    assert calls == [(4 + 1) * 2]
    assert results[1].texts["speed"] == "slow" and results[1].texts["action"] == ""


def test_missing_keypoints_are_interpolated_and_unseen_joints_refused() -> None:
    lifter = _lifter()
    keypoints = _keypoints(12)
    keypoints[3:6, 13] = np.nan
    result = lifter.lift(keypoints, K, SIZE, options=LiftOptions(hypotheses=1, steps=1))
    assert np.isfinite(result.joints3d).all()
    keypoints[:, 10] = np.nan
    with pytest.raises(ValueError, match="Head are unknown in every frame"):
        lifter.lift(keypoints, K, SIZE)
    with pytest.raises(ValueError, match=r"\[F, 17, 2\]"):
        lifter.lift(np.zeros((5, 16, 2)), K, SIZE)


def test_checkpoint_round_trip_needs_no_encoder_for_known_prompts(tmp_path: Path) -> None:
    lifter = _lifter()
    prompts = Prompts(action="walking")
    options = LiftOptions(hypotheses=2, steps=2, seed=3)
    expected = lifter.lift(_keypoints(15), K, SIZE, prompts=prompts, options=options)
    path = tmp_path / "tiny.pt"
    Checkpoint.from_model(lifter.model, lifter.cache, "tiny", validation={"mpjpe_mm": 1.0}).save(path)

    loaded = Lifter.from_checkpoint(path, device="cpu")  # no encoder: id "counting:1" is not MiniLM
    again = loaded.lift(_keypoints(15), K, SIZE, prompts=prompts, options=options)
    np.testing.assert_allclose(again.joints3d, expected.joints3d, atol=1e-6)
    assert loaded.name == "tiny" and len(loaded.sha256) == 64
    assert Checkpoint.load(path).validation == {"mpjpe_mm": 1.0}
    with pytest.raises(UnknownPromptError, match=r"known texts: .*'walking'"):
        loaded.lift(_keypoints(15), K, SIZE, prompts=Prompts(action="dancing"))


def test_bad_checkpoints_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        Checkpoint.load(tmp_path / "none.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        Checkpoint.load(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something/9"}, foreign)
    with pytest.raises(CheckpointError, match="something/9"):
        Checkpoint.load(foreign)


def test_speed_from_keypoints() -> None:
    frames, fps = 40, 20.0
    person = np.zeros((frames, 17, 2))
    person[:, :, 1] = np.linspace(0, 200, 17)  # 200 px tall
    assert speed_from_keypoints(person, fps) == "slow"
    walking = person + np.arange(frames)[:, None, None] * np.array([200 * 0.8 / fps, 0])  # 0.8 heights/s
    assert speed_from_keypoints(walking, fps) == "normal"
    running = person + np.arange(frames)[:, None, None] * np.array([200 * 2.5 / fps, 0])
    assert speed_from_keypoints(running, fps) == "fast"


def test_prompt_validation() -> None:
    with pytest.raises(ValueError, match="speed"):
        Prompts(speed="quick")
    with pytest.raises(ValueError, match="within"):
        PartPrompt("up", strength=2.5)
    with pytest.raises(ValueError, match="unknown body parts"):
        Prompts(parts={"tail": PartPrompt()})
    with pytest.raises(ValueError, match="aggregation"):
        LiftOptions(aggregation="best")


def test_lift_reports_progress_per_group_of_windows_and_stops_when_the_callback_raises() -> None:
    lifter = _lifter()
    # 100 frames in windows of the tiny model's N with overlap: several windows; H=2, flip → 4 sequences
    # per window, so max_batch=8 makes groups of 2 windows
    options = LiftOptions(hypotheses=2, steps=2, max_batch=8)
    seen: list[float] = []
    lifter.lift_people([PersonInput(_keypoints(100))], K, SIZE, options=options, progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0 and seen[0] < 1.0

    class StopError(Exception):
        pass

    def stop_after_first(fraction: float) -> None:
        raise StopError

    with pytest.raises(StopError):
        lifter.lift_people(
            [PersonInput(_keypoints(100))], K, SIZE, options=options, progress=stop_after_first
        )


def test_guidance_strength_changes_the_guidance_not_the_noise() -> None:
    """A window draws the same sampling noise whatever its guidance: a strength a hair above 1 adds a
    prompt-off variant but gives the plain lift's poses, so a strength sweep compares strengths only.
    (Groups used to shrink with the number of variants, which redrew every window's noise.)"""
    lifter = _lifter()
    options = LiftOptions(hypotheses=3, steps=2, max_batch=12)
    people = [PersonInput(_keypoints(100), prompts=Prompts(action="walking"))]
    plain = lifter.lift_people(people, K, SIZE, options=options)[0].joints3d
    nudged = Prompts(action="walking", parts={"arms": PartPrompt(strength=1.0 + 1e-6)})
    guided = lifter.lift_people([PersonInput(_keypoints(100), prompts=nudged)], K, SIZE, options=options)
    assert np.abs(guided[0].joints3d - plain).max() < 1e-4
    stronger = Prompts(action="walking", parts={"arms": PartPrompt(strength=2.0)})
    moved = lifter.lift_people([PersonInput(_keypoints(100), prompts=stronger)], K, SIZE, options=options)
    assert np.abs(moved[0].joints3d - plain).max() > 1e-3  # the guidance itself does act


def test_words_are_mirrored_for_the_flipped_copy_only_when_they_name_a_side() -> None:
    assert Prompts(
        action="turns right", parts={"arms": PartPrompt("Right arm raised, left arm down")}
    ).mirrored() == Prompts(
        action="turns left", parts={"arms": PartPrompt("Left arm raised, right arm down")}
    )
    assert mirror_words("upright, bright light, leftover") == "upright, bright light, leftover"
    lifter = _lifter()
    sided = Prompts(parts={"arms": PartPrompt("right arm raised")})
    people = [PersonInput(_keypoints(30), prompts=sided)]
    batch = lifter.prepare(people, K, SIZE, 30.0, LiftOptions(flip=True))
    assert batch.mirrored is not None
    expected, _ = lifter.encode_prompts([sided.mirrored()], batch.speeds)
    torch.testing.assert_close(batch.mirrored.tokens, expected.tokens)
    assert lifter.prepare(people, K, SIZE, 30.0, LiftOptions(flip=False)).mirrored is None
    plain = [PersonInput(_keypoints(30), prompts=Prompts(parts={"arms": PartPrompt("raised")}))]
    assert lifter.prepare(plain, K, SIZE, 30.0, LiftOptions(flip=True)).mirrored is None
