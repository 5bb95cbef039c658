"""Training's prompt texts (finepose_core/train.py: window_texts, make_batch): each window's part texts are
the describer's words for its own true 3D — mirrored with the window — mixed with bare part words and
nulls, and a set share of windows has every text nulled."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from finepose_core.data.mocap import Window
from finepose_core.geometry.camera import intrinsics_from_fov, project
from finepose_core.model.prompts import PART_KEYS, PROMPT_KEYS
from finepose_core.train import TrainConfig, make_batch, window_texts
from tests.test_captions import OVERHEAD, T_POSE, clip, pose

ARMS = PROMPT_KEYS.index("arms")
RIGHT_ARM_UP = pose(RElbow=(0.2, 0, 1.7), RWrist=(0.2, 0, 1.96))


def window(world: np.ndarray, seed: int = 0) -> Window:
    """The pose filmed by a camera 4 m away at a random yaw and a slight pitch."""
    rng = np.random.default_rng(seed)
    yaw = rng.uniform(0, 2 * np.pi)
    to_camera = Rotation.from_euler("x", -90 - rng.uniform(0, 20), degrees=True) * Rotation.from_euler(
        "z", yaw
    )
    R = to_camera.as_matrix()
    joints = clip(world, frames=27) @ R.T + np.array([0.0, 0.2, 4.0])
    K = intrinsics_from_fov(640, 480, 60.0)
    exact = project(joints, K)
    return Window(joints, exact, exact, K, (640, 480), "walk", "01", up=R @ np.array([0.0, 0.0, 1.0]))


def test_part_texts_follow_each_windows_pose() -> None:
    config = TrainConfig(described_parts=1.0, bare_parts=0.0, prompt_all_null=0.0, flip_probability=0.0)
    rng = np.random.default_rng(0)
    windows = [window(T_POSE, 1), window(OVERHEAD, 2), window(RIGHT_ARM_UP, 3)]
    batch = make_batch(windows, config, rng, torch.device("cpu"))
    arms = [texts[ARMS] for texts in batch.texts]
    assert not batch.nulled[:, ARMS].any()
    assert (
        "shoulder height" in arms[0]
        or "to the side" in arms[0]
        or "level" in arms[0]
        or "sideways" in arms[0]
    )
    assert any(words in arms[1] for words in ("above the head", "overhead"))
    assert any(words in arms[2] for words in ("right arm raised above", "right arm up", "right hand above"))


def test_a_mirrored_window_gets_mirrored_words() -> None:
    """Flip augmentation swaps left and right in the 2D and the 3D: the words must swap too."""
    config = TrainConfig(described_parts=1.0, bare_parts=0.0, prompt_all_null=0.0, phrasings=0)
    plain, _ = window_texts(window(RIGHT_ARM_UP, 4), config, np.random.default_rng(1), flipped=False)
    mirrored, _ = window_texts(window(RIGHT_ARM_UP, 4), config, np.random.default_rng(1), flipped=True)
    assert "right arm raised above the head" in plain[ARMS] and "left arm down" in plain[ARMS]
    assert "left arm raised above the head" in mirrored[ARMS] and "right arm down" in mirrored[ARMS]


def test_shares_of_described_bare_nulled_and_fully_nulled() -> None:
    config = TrainConfig(described_parts=0.6, bare_parts=0.3, prompt_all_null=0.1)
    rng = np.random.default_rng(5)
    sample = window(T_POSE, 6)
    full, parts = 0, {"described": 0, "bare": 0, "null": 0}
    trials = 3000
    for _ in range(trials):
        texts, nulled = window_texts(sample, config, rng)
        if all(nulled):
            full += 1
            continue
        for part in PART_KEYS:
            k = PROMPT_KEYS.index(part)
            parts["null" if nulled[k] else "bare" if texts[k] == part else "described"] += 1
    assert abs(full / trials - 0.1) < 0.02  # the share of windows with no prompt at all
    counted = sum(parts.values())
    # the T-pose's head has nothing to say, so its described text is the bare word
    described_share = parts["described"] / counted
    assert abs(described_share - 0.6 * 3 / 4) < 0.03 and abs(parts["null"] / counted - 0.1) < 0.02
    validation, nulled = window_texts(sample, replace(config, prompt_all_null=1.0), None)
    assert validation[ARMS] == "arms" and not any(nulled[k] for k in (0, 2))  # no randomness there


def test_validation_texts_are_bare_or_the_canonical_description() -> None:
    """The trainer's check runs with the bare part words and with the describer's canonical words for the
    true pose, the same every time (it chooses the checkpoint)."""
    config = TrainConfig()
    sample = window(OVERHEAD, 7)
    bare, _ = window_texts(sample, config, None)
    described, nulled = window_texts(sample, config, None, described=True)
    again, _ = window_texts(sample, config, None, described=True)
    assert bare[ARMS] == "arms" and described == again and not any(nulled)
    assert described[ARMS].startswith("arms ") and "above the head" in described[ARMS]


def test_the_text_pathway_can_learn_faster_than_the_pose_network() -> None:
    from finepose_core.model.denoiser import FinePoseDenoiser, preset
    from finepose_core.train import parameter_groups

    model = FinePoseDenoiser(preset("small"))
    text, backbone = parameter_groups(model, 0.2)
    names = {id(p): n for n, p in model.named_parameters()}
    text_names = {names[id(p)].split(".")[0] for p in text["params"]}
    assert text_names == {
        "prompt_learner",
        "part_conditioning",
        "cross_norm",
        "cross_attention",
        "stylization",
    }
    assert text["lr_scale"] == 1.0 and backbone["lr_scale"] == 0.2
    assert len(text["params"]) + len(backbone["params"]) == len(list(model.parameters()))
    assert not any(names[id(p)].startswith("prompt_learner") for p in backbone["params"])

    # naming only the part path: everything the model already knew moves at the backbone's rate
    text, backbone = parameter_groups(model, 0.05, ("part_conditioning",))
    assert {names[id(p)].split(".")[0] for p in text["params"]} == {"part_conditioning"}
    assert any(names[id(p)].startswith("prompt_learner") for p in backbone["params"])


def test_standardised_text_features_let_a_few_steps_tell_close_sentences_apart() -> None:
    """Descriptions that differ in one word ("in front of" / "behind") share most of their MiniLM features;
    standardised on the run's texts, a linear map learns to tell them apart in a few optimiser steps, where
    on the raw features it hardly starts (the reason the prompt learner standardises)."""
    from finepose_core.model.prompts import PromptLearner
    from finepose_core.model.text_encoders import MiniLMTextEncoder, TextFeatureCache

    cache = TextFeatureCache.for_encoder(MiniLMTextEncoder(), 5)
    front = [
        f"arms {s} arm in front of the body, elbow {e}"
        for s in ("right", "left")
        for e in ("bent", "straight")
    ]
    behind = [t.replace("in front of", "behind") for t in front]
    others = ["arms", "legs", "head", "body", "arms both arms down, elbows straight", "legs knees bent"]
    learner = PromptLearner(cache.width, 32, 2, 1, 2.0, 5)
    learner.standardize(cache.features(front + behind + others))
    inputs = cache.features(front + behind)[:, 4]  # the pooled sentence features
    target = torch.tensor([1.0] * len(front) + [-1.0] * len(behind))[:, None]

    def loss_after_steps(x: torch.Tensor) -> float:
        torch.manual_seed(0)
        probe = torch.nn.Linear(x.shape[-1], 1)
        optimiser = torch.optim.Adam(probe.parameters(), lr=1e-3)
        for _ in range(30):
            loss = torch.nn.functional.mse_loss(probe(x), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            return float(torch.nn.functional.mse_loss(probe(x), target))

    raw = loss_after_steps(inputs)
    standardised = loss_after_steps((inputs - learner.feature_mean[4]) / learner.feature_scale[4])
    print(f"loss after 30 steps: raw {raw:.3f}, standardised {standardised:.3f}")
    assert standardised < 0.5 * raw, (raw, standardised)


def test_checkpoints_without_a_standardisation_load_unchanged() -> None:
    from finepose_core.model.prompts import PromptLearner

    learner = PromptLearner(16, 8, 2, 1, 2.0, 5)
    state = {k: v for k, v in learner.state_dict().items() if not k.startswith("feature_")}
    fresh = PromptLearner(16, 8, 2, 1, 2.0, 5)
    fresh.load_state_dict(state)
    assert not fresh.standardized
    learner.standardize(torch.randn(20, 5, 16) * 3 + 1)
    again = PromptLearner(16, 8, 2, 1, 2.0, 5)
    again.load_state_dict(learner.state_dict())
    assert again.standardized and torch.equal(again.feature_scale, learner.feature_scale)


def test_the_part_path_standardises_its_own_sentence_features() -> None:
    """The part path's statistics are its own: set from raw sentence features, saved and loaded with the
    model, and a fresh path (identity statistics) says so."""
    from finepose_core.model.part_conditioning import PartConditioning

    path = PartConditioning(16, 8)
    assert not path.standardized
    sentences = torch.randn(40, 16) * 3 + 2
    path.standardize(sentences)
    assert path.standardized
    torch.testing.assert_close(path.sentence_mean, sentences.mean(dim=0))
    again = PartConditioning(16, 8)
    again.load_state_dict(path.state_dict())
    assert torch.equal(again.sentence_scale, path.sentence_scale)
