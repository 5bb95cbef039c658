"""The BVH importer against forward kinematics worked by hand, on a real CMU file and on made-up ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from finepose_core.data.bvh import BvhError, BvhMotion, load_bvh, parse_bvh
from finepose_core.data.joint_maps import CMU_MB, JointMap, JointMapError, joint_map
from tests.bvh_factory import bvh_text


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _hand_fk(motion: BvhMotion, frame: int, chain: list[str]) -> np.ndarray:
    """Position of the last joint of `chain` (root first), with Z·Y·X matrices written out by hand."""
    columns = {}
    column = 0
    for name, channels in zip(motion.names, motion.channels, strict=True):
        columns[name] = (column, channels)
        column += len(channels)
    values = motion.values[frame]
    position = np.zeros(3)
    rotation = np.eye(3)
    for depth, name in enumerate(chain):
        offset = motion.offsets[motion.names.index(name)]
        first, channels = columns[name]
        position = values[first : first + 3] + offset if depth == 0 else position + rotation @ offset
        angles = dict(zip(channels, values[first : first + len(channels)], strict=True))
        if "Zrotation" in angles:
            rotation = (
                rotation @ _rz(angles["Zrotation"]) @ _ry(angles["Yrotation"]) @ _rx(angles["Xrotation"])
            )
    return position


def test_parse_the_hierarchy_and_motion() -> None:
    motion = parse_bvh(bvh_text(frames=10), "made-up")
    assert motion.names[0] == "Hips" and motion.parents[0] == -1
    assert motion.names[motion.parents[motion.index("LeftLeg")]] == "LeftUpLeg"
    assert motion.channels[0][:3] == ["Xposition", "Yposition", "Zposition"]
    assert motion.channels[motion.index("Head_End")] == []
    assert motion.values.shape == (10, 6 + 3 * (len(motion.names) - 6))  # five end sites have no channels
    assert motion.fps == pytest.approx(120.0, rel=1e-5)


def test_forward_kinematics_on_a_made_up_file() -> None:
    motion = parse_bvh(bvh_text(frames=5, seed=3), "made-up")
    positions = motion.forward_kinematics()
    chain = ["Hips", "LowerBack", "Spine", "Spine1", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand"]
    for frame in (0, 4):
        np.testing.assert_allclose(
            positions[frame, motion.index("LeftHand")], _hand_fk(motion, frame, chain), atol=1e-9
        )


def test_cmu_file_matches_hand_computed_kinematics(shared_dir: Path) -> None:
    """CMU 02_01 (walk), frames 1, 100 and 300, wrist, ankle and head top by hand."""
    motion = load_bvh(shared_dir / "data/mocap/cmu/02/02_01.bvh")
    assert len(motion.names) == 38 and motion.frames == 344
    positions = motion.forward_kinematics()
    chains = {
        "RightHand": [
            "Hips",
            "LowerBack",
            "Spine",
            "Spine1",
            "RightShoulder",
            "RightArm",
            "RightForeArm",
            "RightHand",
        ],
        "LeftFoot": ["Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot"],
        "Head_End": ["Hips", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head", "Head_End"],
    }
    for frame in (1, 100, 300):
        for joint, chain in chains.items():
            np.testing.assert_allclose(
                positions[frame, motion.index(joint)], _hand_fk(motion, frame, chain), atol=1e-9
            )
    # frame 0 is cgspeed's T-pose: arms out, the hand 6.5 cm below the shoulder (measured), legs straight
    t_pose = positions[0] * CMU_MB.unit_m
    assert abs(t_pose[motion.index("LeftHand"), 1] - t_pose[motion.index("LeftArm"), 1]) < 0.1
    assert abs(t_pose[motion.index("LeftHand"), 0] - t_pose[motion.index("LeftArm"), 0]) > 0.4
    # and the mapped skeleton stands on z-up: head above pelvis above ankles, hip joints about 0.9 m up
    h36m = CMU_MB.world_joints(motion, frames=slice(1, 2))[0]
    assert h36m[10, 2] > h36m[0, 2] > h36m[3, 2]
    assert 0.8 < h36m[0, 2] < 1.05


def test_resampling_keeps_every_fourth_frame_for_120_to_30(shared_dir: Path) -> None:
    motion = load_bvh(shared_dir / "data/mocap/cmu/02/02_01.bvh")
    thirty = motion.resampled(30.0)
    assert thirty.frames == 86
    np.testing.assert_array_equal(thirty.values[5], motion.values[20])
    # a non-integer ratio interpolates: 25 fps lands between source frames
    quarter = motion.resampled(25.0)
    assert quarter.fps == pytest.approx(25.0) and quarter.frames == int((motion.frames - 1) / 120 * 25) + 1
    np.testing.assert_allclose(quarter.values[0], motion.values[0], atol=1e-9)


def test_body_scales_change_bone_lengths_only_where_asked() -> None:
    motion = parse_bvh(bvh_text(frames=3), "made-up")
    scales = np.ones(len(motion.names))
    scales[motion.index("LeftForeArm")] = 2.0  # the upper arm: LeftArm → LeftForeArm
    normal = CMU_MB.world_joints(motion)
    longer = CMU_MB.world_joints(motion, scales)
    upper_arm = lambda p: np.linalg.norm(p[:, 12] - p[:, 11], axis=-1)  # noqa: E731
    forearm = lambda p: np.linalg.norm(p[:, 13] - p[:, 12], axis=-1)  # noqa: E731
    np.testing.assert_allclose(upper_arm(longer), 2 * upper_arm(normal))
    np.testing.assert_allclose(forearm(longer), forearm(normal))


ONE_JOINT = "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\n"


ONE_JOINT = "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ends early"),
        ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0\n", "ends early"),
        ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Wrotation\n}\nMOTION\n", "unknown channels"),
        (
            ONE_JOINT + "Frames: 3\nFrame Time: 0.1\n1 2\n",
            "2 complete frames",
        ),
        (
            ONE_JOINT + "Frames: 1\nFrame Time: 0.1\nabc\n",
            "not a number",
        ),
    ],
)
def test_bad_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(BvhError, match=message):
        parse_bvh(text, "bad.bvh")


def test_missing_file_and_unknown_joint_map(tmp_path: Path) -> None:
    with pytest.raises(BvhError, match="cannot read"):
        load_bvh(tmp_path / "none.bvh")
    with pytest.raises(JointMapError, match="unknown joint map"):
        joint_map("mixamo")
    motion = parse_bvh(bvh_text(frames=2).replace("Neck1", "NeckA"), "renamed.bvh")
    with pytest.raises(JointMapError, match="Neck1"):
        CMU_MB.check(motion)
    with pytest.raises(JointMapError, match=r"lacks Human3\.6M joints"):
        JointMap(name="partial", joints={"Hip": ("Hips",)}, unit_m=1.0)
