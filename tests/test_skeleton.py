"""Human3.6M-17 constants and the MediaPipe-33 → Human3.6M-17 conversion, on hand-made landmark sets."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from finepose_core import skeleton as sk
from finepose_core.skeleton import MP, ConversionConfig, mediapipe_to_h36m


def test_h36m_tree_is_the_design_order() -> None:
    assert sk.H36M_JOINTS[0] == "Hip" and sk.H36M_JOINTS[10] == "Head" and sk.H36M_JOINTS[16] == "RWrist"
    assert sk.NUM_H36M_JOINTS == 17
    assert sk.H36M_PARENTS[sk.ROOT] == -1
    # every parent comes before its child, so forward kinematics can run in joint order
    assert all(parent < child for child, parent in enumerate(sk.H36M_PARENTS) if parent >= 0)
    assert len(sk.h36m_bones()) == 16
    assert (8, 11) in sk.h36m_bones() and (8, 14) in sk.h36m_bones() and (9, 10) in sk.h36m_bones()


def test_flip_pairs_swap_left_and_right_names() -> None:
    for left, right in sk.H36M_FLIP_PAIRS:
        assert sk.H36M_JOINTS[left].startswith("L") and sk.H36M_JOINTS[right].startswith("R")
        assert sk.H36M_JOINTS[left][1:] == sk.H36M_JOINTS[right][1:]
    permutation = sk.flip_permutation()
    assert sorted(permutation) == list(range(17))
    assert [permutation[i] for i in permutation] == list(range(17))  # an involution
    assert permutation[0] == 0 and permutation[13] == 16 and permutation[3] == 6


def test_body_parts_cover_every_joint_once() -> None:
    joints = [j for part in sk.BODY_PARTS.values() for j in part]
    assert sorted(joints) == list(range(17))
    assert set(sk.BODY_PARTS) == {"head", "body", "arms", "legs"}
    assert sk.BODY_PARTS["head"] == (9, 10)


def test_mediapipe_names() -> None:
    assert len(sk.MEDIAPIPE_LANDMARKS) == 33
    assert MP["nose"] == 0 and MP["left_shoulder"] == 11 and MP["right_hip"] == 24
    assert MP["right_foot_index"] == 32


def _standing_person() -> NDArray[np.float64]:
    """A hand-placed upright person in pixels (x right, y down), facing the camera."""
    lm = np.full((33, 2), np.nan)
    lm[MP["nose"]] = (100, 40)
    lm[MP["left_eye"]] = (104, 36)
    lm[MP["right_eye"]] = (96, 36)
    lm[MP["left_ear"]] = (110, 40)
    lm[MP["right_ear"]] = (90, 40)
    lm[MP["left_shoulder"]] = (120, 70)
    lm[MP["right_shoulder"]] = (80, 70)
    lm[MP["left_elbow"]] = (130, 100)
    lm[MP["right_elbow"]] = (70, 100)
    lm[MP["left_wrist"]] = (135, 130)
    lm[MP["right_wrist"]] = (65, 130)
    lm[MP["left_hip"]] = (112, 140)
    lm[MP["right_hip"]] = (88, 140)
    lm[MP["left_knee"]] = (114, 190)
    lm[MP["right_knee"]] = (86, 190)
    lm[MP["left_ankle"]] = (115, 240)
    lm[MP["right_ankle"]] = (85, 240)
    return lm


def test_conversion_of_a_hand_made_person() -> None:
    joints, conf = mediapipe_to_h36m(_standing_person())
    assert joints.shape == (17, 2) and conf.shape == (17,)
    assert joints.dtype == np.float32
    np.testing.assert_allclose(joints[0], (100, 140))  # pelvis = mid-hips
    np.testing.assert_allclose(joints[8], (100, 70))  # thorax = mid-shoulders
    np.testing.assert_allclose(joints[7], (100, 105))  # spine halfway
    np.testing.assert_allclose(joints[9], (100, 40))  # head pivot: between the ears
    # top of the head: the pivot moved half of the thorax → pivot distance (30 px) further up
    np.testing.assert_allclose(joints[10], (100, 25))
    np.testing.assert_allclose(joints[1], (88, 140))  # RHip is MediaPipe's right hip
    np.testing.assert_allclose(joints[11], (120, 70))  # LShoulder
    np.testing.assert_allclose(joints[16], (65, 130))  # RWrist
    np.testing.assert_allclose(conf, 1.0)


def test_confidence_of_derived_joints_is_the_weakest_source() -> None:
    lm = _standing_person()
    vis = np.ones(33)
    vis[MP["left_hip"]] = 0.3
    vis[MP["right_shoulder"]] = 0.6
    vis[MP["right_wrist"]] = 0.1
    _, conf = mediapipe_to_h36m(lm, vis)
    assert conf[0] == pytest.approx(0.3)  # pelvis ← left hip
    assert conf[4] == pytest.approx(0.3)  # LHip itself
    assert conf[8] == pytest.approx(0.6)  # thorax ← right shoulder
    assert conf[7] == pytest.approx(0.3)  # spine ← pelvis and thorax
    assert conf[10] == pytest.approx(0.6)  # head ← thorax
    assert conf[16] == pytest.approx(0.1)
    assert conf[1] == pytest.approx(1.0)


def test_head_from_the_eyes_when_the_ears_are_unknown() -> None:
    lm = _standing_person()
    lm[MP["left_ear"]] = np.nan
    joints, conf = mediapipe_to_h36m(lm)
    # pivot = eyes (100, 36); thorax → pivot is 34 px; half of it further → (100, 19)
    np.testing.assert_allclose(joints[9], (100, 36))
    np.testing.assert_allclose(joints[10], (100, 19))
    assert conf[10] == pytest.approx(1.0)


def test_head_from_the_nose_when_ears_and_eyes_are_unknown() -> None:
    lm = _standing_person()
    vis = np.ones(33)
    vis[MP["nose"]] = 0.7
    lm[MP["left_ear"]] = lm[MP["right_eye"]] = np.nan
    joints, conf = mediapipe_to_h36m(lm, vis)
    np.testing.assert_allclose(joints[9], (100, 40))
    np.testing.assert_allclose(joints[10], (100, 25))
    assert conf[9] == pytest.approx(0.7) and conf[10] == pytest.approx(0.7)
    lm[MP["nose"]] = np.nan
    joints, conf = mediapipe_to_h36m(lm, vis)
    assert np.isnan(joints[9:11]).all() and conf[9] == conf[10] == 0


def test_head_in_profile_stays_between_the_ears() -> None:
    """Turned to its left, the face (nose, eyes) swings 12 px off the head's pivot and the right ear is
    hidden behind the head (low visibility, position still predicted): the pivot stays between the ears
    and keeps the visible ear's confidence."""
    lm = _standing_person()
    lm[MP["nose"]] = (112, 40)
    lm[MP["left_eye"]], lm[MP["right_eye"]] = (110, 36), (108, 36)
    lm[MP["left_ear"]], lm[MP["right_ear"]] = (98, 39), (102, 41)
    vis = np.ones(33)
    vis[MP["right_ear"]] = 0.2
    joints, conf = mediapipe_to_h36m(lm, vis)
    np.testing.assert_allclose(joints[9], (100, 40))
    np.testing.assert_allclose(joints[10], (100, 25))
    assert conf[9] == pytest.approx(1.0)


def test_unknown_sources_give_nan_with_zero_confidence() -> None:
    lm = _standing_person()
    lm[MP["right_hip"]] = np.nan
    lm[MP["left_knee"]] = np.nan
    joints, conf = mediapipe_to_h36m(lm)
    for joint in (0, 1, 5, 7):  # pelvis, RHip, LKnee, spine
        assert np.isnan(joints[joint]).all() and conf[joint] == 0
    assert conf[8] == 1 and not np.isnan(joints[8]).any()


def test_batched_3d_landmarks_and_config() -> None:
    rng = np.random.default_rng(0)
    lm = rng.normal(size=(4, 5, 33, 3))
    vis = rng.uniform(size=(4, 5, 33))
    joints, conf = mediapipe_to_h36m(lm, vis, ConversionConfig(spine_fraction=0.25, head_extension=0.0))
    assert joints.shape == (4, 5, 17, 3) and conf.shape == (4, 5, 17)
    pelvis = 0.5 * (lm[..., MP["left_hip"], :] + lm[..., MP["right_hip"], :])
    thorax = 0.5 * (lm[..., MP["left_shoulder"], :] + lm[..., MP["right_shoulder"], :])
    np.testing.assert_allclose(joints[..., 7, :], pelvis + 0.25 * (thorax - pelvis), rtol=1e-5, atol=1e-6)
    # with no extension the top of the head is the pivot: the ears' midpoint, as confident as the better ear
    ears = 0.5 * (lm[..., MP["left_ear"], :] + lm[..., MP["right_ear"], :])
    np.testing.assert_allclose(joints[..., 9, :], ears, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(joints[..., 10, :], ears, rtol=1e-5, atol=1e-6)
    better_ear = np.maximum(vis[..., MP["left_ear"]], vis[..., MP["right_ear"]])
    np.testing.assert_allclose(conf[..., 9], better_ear, rtol=1e-6)


def test_wrong_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="33"):
        mediapipe_to_h36m(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="visibility"):
        mediapipe_to_h36m(np.zeros((33, 2)), np.ones(17))
