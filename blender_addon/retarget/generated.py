"""The generated skeleton: one bone per logical bone, sized by a person's median bone lengths, in a T-pose
facing −Y (Blender's front view), feet on the floor. Pure numpy; the Blender glue turns it into edit bones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rotations as rot
from .bones import (
    GENERATED,
    HEAD,
    HIP,
    LANKLE,
    LELBOW,
    LHIP,
    LKNEE,
    LOGICAL_BONES,
    LSHOULDER,
    LWRIST,
    NECK,
    RANKLE,
    RELBOW,
    RHIP,
    RKNEE,
    RSHOULDER,
    RWRIST,
    SPINE,
    THORAX,
)
from .rotations import Array

# parent of each generated bone (logical names)
PARENTS = {
    "pelvis": None,
    "spine": "pelvis",
    "neck": "spine",
    "head": "neck",
    "clavicle.L": "spine",
    "upper_arm.L": "clavicle.L",
    "forearm.L": "upper_arm.L",
    "clavicle.R": "spine",
    "upper_arm.R": "clavicle.R",
    "forearm.R": "upper_arm.R",
    "thigh.L": "pelvis",
    "shin.L": "thigh.L",
    "thigh.R": "pelvis",
    "shin.R": "thigh.R",
}
# the foot: a short bone forward from the ankle, so that the shin has a child and the rig looks whole
FOOT_LENGTH_OF_SHIN = 0.45


@dataclass(frozen=True)
class BoneSpec:
    name: str
    head: Array  # [3] armature space, metres
    tail: Array
    parent: str | None
    connected: bool


def median_lengths(joints: Array) -> dict[tuple[int, int], float]:
    """Median length of every Human3.6M segment over the frames where both ends are known."""
    pairs = [(b.head, b.tail) for b in LOGICAL_BONES] + [(HIP, RHIP), (HIP, LHIP)]
    out = {}
    for a, b in pairs:
        lengths = np.linalg.norm(joints[:, b] - joints[:, a], axis=-1)
        lengths = lengths[np.isfinite(lengths)]
        out[(a, b)] = float(np.median(lengths)) if len(lengths) else 0.1
    return out


def rest_joints(lengths: dict[tuple[int, int], float]) -> Array:
    """Joint positions [17, 3] of a T-pose with these lengths: z up, facing −Y, left side at +X, soles on
    the floor (z = 0 at the ankles)."""
    j = np.zeros((17, 3))
    up, left = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    j[LHIP] = j[HIP] + left * lengths[(HIP, LHIP)]
    j[RHIP] = j[HIP] - left * lengths[(HIP, RHIP)]
    for hip, knee, ankle in ((LHIP, LKNEE, LANKLE), (RHIP, RKNEE, RANKLE)):
        j[knee] = j[hip] - up * lengths[(hip, knee)]
        j[ankle] = j[knee] - up * lengths[(knee, ankle)]
    j[SPINE] = j[HIP] + up * lengths[(HIP, SPINE)]
    j[THORAX] = j[SPINE] + up * lengths[(SPINE, THORAX)]
    j[NECK] = j[THORAX] + up * lengths[(THORAX, NECK)]
    j[HEAD] = j[NECK] + up * lengths[(NECK, HEAD)]
    for side, shoulder, elbow, wrist in ((1.0, LSHOULDER, LELBOW, LWRIST), (-1.0, RSHOULDER, RELBOW, RWRIST)):
        offset = lengths[(THORAX, shoulder)]
        # the clavicle slopes a little down from the thorax, as on a body (and as in the capture data)
        j[shoulder] = j[THORAX] + side * left * offset * 0.95 - up * offset * 0.3
        j[elbow] = j[shoulder] + side * left * lengths[(shoulder, elbow)]
        j[wrist] = j[elbow] + side * left * lengths[(elbow, wrist)]
    j[:, 2] -= min(j[LANKLE, 2], j[RANKLE, 2])
    return j


def skeleton_bones(joints_rest: Array) -> list[BoneSpec]:
    """Bones of the generated skeleton (rig names from the GENERATED map), parents first, plus feet."""
    specs = []
    for bone in LOGICAL_BONES:
        parent = PARENTS[bone.name]
        connected = (
            parent is not None and next(b for b in LOGICAL_BONES if b.name == parent).tail == bone.head
        )
        specs.append(
            BoneSpec(
                GENERATED[bone.name],
                joints_rest[bone.head].copy(),
                joints_rest[bone.tail].copy(),
                GENERATED[parent] if parent else None,
                connected,
            )
        )
    for side, knee, ankle in (("L", LKNEE, LANKLE), ("R", RKNEE, RANKLE)):
        shin = float(np.linalg.norm(joints_rest[ankle] - joints_rest[knee]))
        tail = joints_rest[ankle] + np.array([0.0, -FOOT_LENGTH_OF_SHIN * shin, 0.0])
        specs.append(
            BoneSpec(f"Foot.{side}", joints_rest[ankle].copy(), tail, GENERATED[f"shin.{side}"], True)
        )
    return specs


def bone_matrix(head: Array, tail: Array, roll: float = 0.0) -> Array:
    """Blender's rest matrix of a bone from head, tail and roll (Y along the bone; roll about Y)."""
    direction = rot.normalize(np.asarray(tail, np.float64) - np.asarray(head, np.float64))
    q = rot.between(np.array([0.0, 1.0, 0.0]), direction)
    q = rot.multiply(q, rot.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.array(roll)))
    m = np.eye(4)
    m[:3, :3] = rot.to_matrix(q)
    m[:3, 3] = head
    return m


# Where each Human3.6M joint is on the generated skeleton: (rig bone, "head" | "tail").
JOINT_SOURCES: dict[int, tuple[str, str]] = {
    HIP: ("Hips", "head"),
    SPINE: ("Hips", "tail"),
    THORAX: ("Chest", "tail"),
    NECK: ("Neck", "tail"),
    HEAD: ("Head", "tail"),
    LSHOULDER: ("Shoulder.L", "tail"),
    LELBOW: ("UpperArm.L", "tail"),
    LWRIST: ("Forearm.L", "tail"),
    RSHOULDER: ("Shoulder.R", "tail"),
    RELBOW: ("UpperArm.R", "tail"),
    RWRIST: ("Forearm.R", "tail"),
    LHIP: ("Thigh.L", "head"),
    LKNEE: ("Thigh.L", "tail"),
    LANKLE: ("Shin.L", "tail"),
    RHIP: ("Thigh.R", "head"),
    RKNEE: ("Thigh.R", "tail"),
    RANKLE: ("Shin.R", "tail"),
}
