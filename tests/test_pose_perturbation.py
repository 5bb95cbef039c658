"""Pose perturbation: bends joints by smooth random rotations before forward kinematics, keeping bones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from finepose_core.data.bvh import parse_bvh
from finepose_core.data.joint_maps import CMU_MB
from finepose_core.data.mocap import WindowSampler, load_descriptions, load_library
from finepose_core.data.pose_perturbation import PosePerturbation, perturbation
from tests.bvh_factory import bvh_text, write_library

ALWAYS = PosePerturbation(probability=1.0, joint_probability=1.0)
# Human3.6M bones that are one BVH bone each (the trunk's span several, which bend between their ends)
SINGLE_BONES = [
    (0, 1),
    (1, 2),
    (2, 3),
    (0, 4),
    (4, 5),
    (5, 6),
    (9, 10),
    (11, 12),
    (12, 13),
    (14, 15),
    (15, 16),
]


def test_bent_joints_keep_every_bone_length_and_the_pelvis() -> None:
    motion = parse_bvh(bvh_text(frames=40), "made-up")
    rng = np.random.default_rng(5)
    extra = perturbation(motion.names, motion.frames, rng, ALWAYS)
    # every joint of the config that the skeleton has is bent; the rest are not touched
    assert {motion.names[j] for j in extra} == set(ALWAYS.limits_deg) & set(motion.names)
    plain = CMU_MB.world_joints(motion)
    bent = CMU_MB.world_joints(motion, extra_rotations=extra)
    for parent, child in SINGLE_BONES:
        np.testing.assert_allclose(
            np.linalg.norm(bent[:, child] - bent[:, parent], axis=-1),
            np.linalg.norm(plain[:, child] - plain[:, parent], axis=-1),
            atol=1e-9,
        )
    np.testing.assert_allclose(bent[:, 0], plain[:, 0], atol=1e-12)  # the pelvis is the root's
    moved = np.linalg.norm(bent - plain, axis=-1).mean(axis=0)
    assert moved[[13, 16]].min() > 0.02  # both wrists move by centimetres at least


def test_bends_drift_smoothly_within_their_limits() -> None:
    names = ["Hips", "LeftArm"]
    config = PosePerturbation(
        probability=1.0, joint_probability=1.0, keys=(3, 3), limits_deg={"LeftArm": 60.0}
    )
    frames = 41
    for seed in range(20):
        matrices = perturbation(names, frames, np.random.default_rng(seed), config)[1]
        angles = np.degrees(Rotation.from_matrix(matrices).magnitude())
        assert angles.max() <= 60.0 + 1e-6
        steps = Rotation.from_matrix(matrices[1:]) * Rotation.from_matrix(matrices[:-1]).inv()
        # two keys at most 120° apart, 20 frames between keys
        assert np.degrees(steps.magnitude()).max() <= 120.0 / 20 + 1e-6


def test_off_unknown_names_and_determinism() -> None:
    names = ["Hips", "LeftArm"]
    assert perturbation(names, 9, np.random.default_rng(0), PosePerturbation(probability=0.0)) == {}
    unknown = PosePerturbation(probability=1.0, joint_probability=1.0, limits_deg={"NoSuchBone": 30.0})
    assert perturbation(names, 9, np.random.default_rng(0), unknown) == {}
    a = perturbation(names, 9, np.random.default_rng(3), ALWAYS)
    b = perturbation(names, 9, np.random.default_rng(3), ALWAYS)
    np.testing.assert_array_equal(a[1], b[1])


def test_sampler_perturbs_only_when_asked(tmp_path: Path) -> None:
    root = write_library(tmp_path, {"01": 2}, frames=120)
    train = load_library(root, CMU_MB, 30.0, load_descriptions(root / "descriptions.csv"))
    plain = WindowSampler(train, CMU_MB, 9, seed=3)
    bent = WindowSampler(train, CMU_MB, 9, seed=3, perturb=ALWAYS)
    # without perturbation the windows are what they always were (validation sets do not change)
    again = WindowSampler(train, CMU_MB, 9, seed=3, perturb=None)
    np.testing.assert_array_equal(plain.sample(4).joints3d, again.sample(4).joints3d)
    np.testing.assert_array_equal(bent.sample(4).joints3d, bent.sample(4).joints3d)
    differences = [
        float(np.abs(plain.sample(i).joints3d[:, 13] - bent.sample(i).joints3d[:, 13]).max())
        for i in range(5)
    ]
    assert min(differences) > 0.0  # the bent sampler's wrists differ in every window
