"""The describer (finepose_core/captions.py) on constructed poses: each pose's words, the same words from any
camera, the motion of a window, varied phrasing under a seed, and two poses with identical 2D in one camera
whose words differ where the 3D does."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from finepose_core.captions import caption, describe, measure, speed_class, with_described_parts
from finepose_core.model.prompts import PartPrompt, Prompts
from finepose_core.skeleton import H36M_INDEX as J

UP = np.array([0.0, 0.0, 1.0])  # world: z up; the person faces +y, their right is +x


def standing() -> dict[str, np.ndarray]:
    """A person standing with the arms down, in world metres (z up, facing +y)."""
    points = {
        "Hip": (0, 0, 0.95), "RHip": (0.1, 0, 0.95), "RKnee": (0.1, 0.01, 0.52), "RAnkle": (0.1, 0, 0.08),
        "LHip": (-0.1, 0, 0.95), "LKnee": (-0.1, 0.01, 0.52), "LAnkle": (-0.1, 0, 0.08),
        "Spine": (0, 0, 1.2), "Thorax": (0, 0, 1.45), "Neck/Nose": (0, 0, 1.6), "Head": (0, 0, 1.75),
        "LShoulder": (-0.18, 0, 1.42), "LElbow": (-0.2, 0, 1.15), "LWrist": (-0.21, 0, 0.9),
        "RShoulder": (0.18, 0, 1.42), "RElbow": (0.2, 0, 1.15), "RWrist": (0.21, 0, 0.9),
    }  # fmt: skip
    return {name: np.array(p, float) for name, p in points.items()}


def pose(**changes: tuple[float, float, float]) -> np.ndarray:
    points = standing()
    for name, value in changes.items():
        points[name] = np.array(value, float)
    out = np.zeros((17, 3))
    for name, p in points.items():
        out[J[name]] = p
    return out


def clip(*poses: np.ndarray, frames: int = 8) -> np.ndarray:
    """Each pose held for `frames` frames."""
    return np.concatenate([np.repeat(p[None], frames, axis=0) for p in poses])


def words(joints: np.ndarray, up: np.ndarray | None = UP) -> dict[str, str]:
    prompts = describe(joints, fps=30.0, up=up)
    return {part: prompts.part(part).description for part in ("head", "body", "arms", "legs")}


T_POSE = pose(LElbow=(-0.45, 0, 1.42), LWrist=(-0.7, 0, 1.42), RElbow=(0.45, 0, 1.42), RWrist=(0.7, 0, 1.42))
OVERHEAD = pose(LElbow=(-0.2, 0, 1.7), LWrist=(-0.2, 0, 1.96), RElbow=(0.2, 0, 1.7), RWrist=(0.2, 0, 1.96))
SQUAT = pose(
    Hip=(0, -0.15, 0.42), RHip=(0.1, -0.15, 0.42), LHip=(-0.1, -0.15, 0.42),
    RKnee=(0.14, 0.28, 0.5), LKnee=(-0.14, 0.28, 0.5), RAnkle=(0.12, 0.05, 0.08), LAnkle=(-0.12, 0.05, 0.08),
    Spine=(0, -0.05, 0.65), Thorax=(0, 0.05, 0.88), **{"Neck/Nose": (0, 0.1, 1.02)}, Head=(0, 0.14, 1.17),
    LShoulder=(-0.18, 0.05, 0.85), RShoulder=(0.18, 0.05, 0.85),
    LElbow=(-0.2, 0.3, 0.8), LWrist=(-0.2, 0.55, 0.8), RElbow=(0.2, 0.3, 0.8), RWrist=(0.2, 0.55, 0.8),
)  # fmt: skip
LUNGE = pose(
    Hip=(0, 0, 0.72), RHip=(0.1, 0, 0.72), LHip=(-0.1, 0, 0.72),
    LKnee=(-0.1, 0.42, 0.45), LAnkle=(-0.1, 0.45, 0.08),  # front leg: knee over the ankle
    RKnee=(0.1, -0.3, 0.3), RAnkle=(0.1, -0.7, 0.12),  # back leg stretched behind
    Spine=(0, 0, 0.97), Thorax=(0, 0, 1.22), **{"Neck/Nose": (0, 0, 1.37)}, Head=(0, 0, 1.52),
    LShoulder=(-0.18, 0, 1.19), RShoulder=(0.18, 0, 1.19),
    LElbow=(-0.2, 0, 0.92), LWrist=(-0.21, 0, 0.67), RElbow=(0.2, 0, 0.92), RWrist=(0.21, 0, 0.67),
)  # fmt: skip
BENT_OVER = pose(
    Spine=(0, 0.25, 1.0), Thorax=(0, 0.5, 1.02), **{"Neck/Nose": (0, 0.65, 1.0)}, Head=(0, 0.8, 0.98),
    LShoulder=(-0.18, 0.48, 1.02), RShoulder=(0.18, 0.48, 1.02),
    LElbow=(-0.2, 0.5, 0.75), LWrist=(-0.21, 0.52, 0.5), RElbow=(0.2, 0.5, 0.75), RWrist=(0.21, 0.52, 0.5),
)  # fmt: skip
KNEELING = pose(
    Hip=(0, 0, 0.55), RHip=(0.1, 0, 0.55), LHip=(-0.1, 0, 0.55),
    RKnee=(0.1, 0.05, 0.08), LKnee=(-0.1, 0.05, 0.08), RAnkle=(0.1, -0.38, 0.06), LAnkle=(-0.1, -0.38, 0.06),
    Spine=(0, 0, 0.8), Thorax=(0, 0, 1.05), **{"Neck/Nose": (0, 0, 1.2)}, Head=(0, 0, 1.35),
    LShoulder=(-0.18, 0, 1.02), RShoulder=(0.18, 0, 1.02),
    LElbow=(-0.2, 0, 0.75), LWrist=(-0.21, 0, 0.5), RElbow=(0.2, 0, 0.75), RWrist=(0.21, 0, 0.5),
)  # fmt: skip


def test_t_pose() -> None:
    text = words(clip(T_POSE))
    for side in ("left", "right"):
        assert f"{side} arm raised to shoulder height" in text["arms"]
        assert f"{side} arm out to the side" in text["arms"] and f"{side} elbow straight" in text["arms"]
        assert f"{side} knee straight" in text["legs"]
    assert text["body"] == "upright torso" and text["head"] == ""


def test_parts_the_detector_hardly_saw_get_no_words() -> None:
    joints = clip(OVERHEAD)
    seen = np.full((len(joints), 17), 0.9)
    user = Prompts(parts={"body": PartPrompt("leaning forward")})
    prompts, sources = with_described_parts(user, joints, 30.0, UP, seen)
    assert sources == {"head": "none", "body": "user", "arms": "auto", "legs": "auto"}
    assert "raised above the head" in prompts.part("arms").description
    assert prompts.part("body").description == "leaning forward"  # the user's words stay
    seen[:, [J["LWrist"], J["RWrist"], J["LElbow"], J["RElbow"]]] = 0.2  # arms behind a desk, say
    prompts, sources = with_described_parts(user, joints, 30.0, UP, seen)
    assert sources["arms"] == "none" and prompts.part("arms").description == ""
    assert sources["legs"] == "auto"


def test_arms_overhead() -> None:
    text = words(clip(OVERHEAD))
    assert (
        "left arm raised above the head" in text["arms"] and "right arm raised above the head" in text["arms"]
    )
    assert "out to the side" not in text["arms"]


def test_squat() -> None:
    text = words(clip(SQUAT))
    assert text["body"].startswith("crouching")
    assert "left knee deeply bent" in text["legs"] and "right knee deeply bent" in text["legs"]
    assert "arm in front of the body" in text["arms"]


def test_lunge() -> None:
    text = words(clip(LUNGE))
    assert "left leg forward" in text["legs"] and "right leg back" in text["legs"]
    assert "left knee deeply bent" in text["legs"] or "left knee bent" in text["legs"]
    assert "crouching" not in text["body"] and "kneeling" not in text["body"]


def test_bent_over() -> None:
    text = words(clip(BENT_OVER))
    assert "bent over" in text["body"]
    assert "knee straight" in text["legs"]


def test_kneeling() -> None:
    text = words(clip(KNEELING))
    assert text["body"].startswith("kneeling")
    assert "upright torso" in text["body"]


def test_the_words_hold_from_any_camera() -> None:
    """Rotated and moved into camera frames (right-handed, any orientation), with `up` given in that frame
    or estimated from the body, each pose gets the words it gets in the world."""
    rng = np.random.default_rng(3)
    for world in (T_POSE, OVERHEAD, SQUAT, LUNGE, BENT_OVER, KNEELING):
        expected = words(clip(world))
        for _ in range(3):
            rotation = Rotation.random(random_state=rng).as_matrix()
            camera = clip(world) @ rotation.T + rng.normal(size=3) * 3
            assert words(camera, up=rotation @ UP) == expected
    for world in (T_POSE, OVERHEAD, LUNGE):  # standing poses: up can be estimated from the body
        rotation = Rotation.random(random_state=rng).as_matrix()
        assert words(clip(world) @ rotation.T, up=None) == words(clip(world))


def test_motion_over_a_window_is_said() -> None:
    text = words(clip(pose(), T_POSE, OVERHEAD))
    assert "raises the left arm overhead" in text["arms"] and "raises the right arm overhead" in text["arms"]
    crouch = words(clip(pose(), SQUAT, frames=12))
    assert "crouches down" in crouch["body"]


def test_a_seed_varies_the_phrasing_but_not_the_facts() -> None:
    facts = measure(clip(T_POSE), UP)
    canonical = caption(facts)
    variants = {caption(facts, seed)["arms"] for seed in range(30)}
    assert len(variants) > 10  # synonyms, order and subsets
    assert caption(facts, 7) == caption(facts, 7)  # reproducible
    for text in variants:  # every variant says only true things: nothing about arms down or behind
        assert "down" not in text and "behind" not in text and "above the head" not in text
    assert canonical == caption(facts)


def test_identical_2d_from_one_camera_different_words() -> None:
    """A camera in front of the person cannot tell an arm reaching towards it from one reaching back: both
    project to the same pixels. In 3D (MediaPipe's, at inference) the describer tells them apart."""
    front = pose(RElbow=(0.18, 0.3, 1.42), RWrist=(0.18, 0.58, 1.42))
    eye = np.array([0.0, 4.0, 1.42])  # the camera, 4 m in front, looking along −y
    depth_shoulder = eye[1] - front[J["RShoulder"], 1]
    behind = front.copy()
    for joint in (J["RElbow"], J["RWrist"]):
        ray = front[joint] - eye
        depth = -ray[1]
        mirrored = 2 * depth_shoulder - depth  # as far behind the shoulder's depth as it was in front
        behind[joint] = eye + ray * (mirrored / depth)

    def pixels(points: np.ndarray) -> np.ndarray:
        rel = points - eye
        return rel[:, [0, 2]] / -rel[:, 1:2]

    np.testing.assert_allclose(pixels(front), pixels(behind), atol=1e-12)
    assert "right arm in front of the body" in words(clip(front))["arms"]
    assert "right arm behind the body" in words(clip(behind))["arms"]


def test_speed_from_travel_and_from_limbs() -> None:
    fps = 30.0
    still = clip(pose(), frames=30)
    assert speed_class(still, fps) == "slow"
    t = np.arange(60) / fps
    walk = np.repeat(pose()[None], 60, axis=0) + (1.3 * t)[:, None, None] * np.array([0, 1.0, 0])
    assert speed_class(walk, fps) == "normal"
    run = np.repeat(pose()[None], 60, axis=0) + (3.5 * t)[:, None, None] * np.array([0, 1.0, 0])
    assert speed_class(run, fps) == "fast"
    punch = np.repeat(pose()[None], 60, axis=0)
    punch[:, J["RWrist"], 1] += 0.5 * (1 + np.sin(2 * np.pi * 2.5 * t))  # 2.5 punches a second, in place
    assert speed_class(punch, fps) in ("normal", "fast")
    assert describe(run, fps, UP).speed == "fast" and describe(run, fps, UP).action == ""


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[F, 17, 3\]"):
        describe(np.zeros((5, 16, 3)), 30.0)
    with pytest.raises(ValueError, match="finite"):
        describe(np.full((5, 17, 3), np.nan), 30.0)
