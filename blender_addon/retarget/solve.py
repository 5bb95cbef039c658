"""Joint positions → pose-bone rotations for any rig: the retargeting solver (pure numpy, no bpy).

For every rig bone (parents first) a world delta rotation D(t) is found, the rotation that takes the bone
from its rest orientation to its posed one, in the armature's space:
- the pelvis bone: the rotation taking the rig's rest pelvis frame (up: hips → spine, side: right hip → left
  hip) to the observed one;
- the bone mapped to the spine/chest: a swing from where its parent would carry it to the observed
  direction, then a twist about that direction aligning the rig's shoulder line with the observed one;
- other mapped bones: the swing only, so that they keep their parent's twist;
- the feet, where mapped: flat on the floor while planted, turned only about the vertical, and following
  the shin in the air (feet.py);
- unmapped bones: their parent's delta (they ride along).
Pose-bone local rotations then follow from rest matrices, which takes care of any rest pose, bone roll and
parenting: L = R_b⁻¹ · D_parent⁻¹ · D_b · R_b (R: rest rotations in armature space), where D_parent is the
delta of the mapped bone that turns the bone's parent: its nearest mapped ancestor, or on control rigs whose
bones follow others through constraints (Rigify) the "carrier" found by probing the rig in Blender.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import rotations as rot
from .bones import (
    BY_NAME,
    HIP,
    LANKLE,
    LHIP,
    LKNEE,
    LOGICAL_NAMES,
    LSHOULDER,
    RANKLE,
    RHIP,
    RKNEE,
    RSHOULDER,
    SPINE,
)
from .contacts import two_bone_ik
from .feet import ANKLE_HEIGHT_M, flat_foot_delta, flat_share
from .rotations import Array


@dataclass(frozen=True)
class RestBone:
    name: str
    parent: str | None
    matrix: Array  # 4 × 4 rest matrix in armature space (Blender's bone.matrix_local)

    @property
    def head(self) -> Array:
        return np.asarray(self.matrix[:3, 3], np.float64)

    @property
    def rotation(self) -> Array:
        return np.asarray(self.matrix[:3, :3], np.float64)


@dataclass(frozen=True)
class RestPose:
    """What the solver needs of an armature: its bones' rest matrices and its object's world matrix."""

    bones: list[RestBone]  # parents before children
    object_matrix: Array = field(default_factory=lambda: np.eye(4))
    # mapped bone → the mapped bone whose rotation turns its parent (None: nothing does), for rigs driven
    # through constraints; bones not listed use their nearest mapped ancestor
    carriers: dict[str, str | None] | None = None

    def bone(self, name: str) -> RestBone:
        for bone in self.bones:
            if bone.name == name:
                return bone
        raise KeyError(name)


@dataclass(frozen=True)
class SolveOptions:
    root_motion: bool = True  # False: the pelvis stays over its first position (in-place animation)
    leg_length: float | None = None  # the rig's hip-to-ankle length in world units; None: measured
    # "L"/"R" → [F] 0–1: how much each mapped foot bone is kept flat on the floor (feet.py); None: the
    # feet follow their shins throughout
    planted: dict[str, Array] | None = None
    # the legs bent for the rig's ankles to land where the motion's do (at the rig's size) rather than
    # wherever its own pelvis and bone lengths take them (_legs_reaching): locked feet stay locked on the
    # rig; False: the legs are solved as directions, like the other bones
    reach_ankles: bool = False
    # Standing the rig on the floor: the joints' planted ankles stand ANKLE_HEIGHT_M over z = 0 (after
    # put_on_floor); the rig's should stand over it by its own ankle height over its soles (world units,
    # armature.ankle_height_over_soles; None: ANKLE_HEIGHT_M at the rig's size), with its legs hanging
    # from where its thighs start rather than from its pelvis bone. False: the pelvis bone on the pelvis
    # joint, whatever that makes of the feet.
    on_floor: bool = False
    ankle_height: float | None = None


@dataclass
class Motion:
    """Per-frame pose-bone values for one armature."""

    rotations: dict[str, Array]  # mapped rig bone → [F, 4] local quaternions (w, x, y, z), sign-continuous
    root_bone: str
    root_location: Array  # [F, 3] the root pose bone's location (its rest-local space)
    scale: float  # world scale applied to the root trajectory (rig legs / observed legs)


def _leg_length(joints: Array) -> float:
    """The person's hip-to-ankle length (thigh + shin), median over frames, mean of both sides."""
    sides = [
        np.linalg.norm(joints[:, knee] - joints[:, hip], axis=-1)
        + np.linalg.norm(joints[:, ankle] - joints[:, knee], axis=-1)
        for hip, knee, ankle in ((LHIP, LKNEE, LANKLE), (RHIP, RKNEE, RANKLE))
    ]
    return float(np.median(0.5 * (sides[0] + sides[1])))


def rig_leg_length(rest: RestPose, bone_map: dict[str, str]) -> float:
    """Hip to ankle of the rig in world units: thigh head → shin head → the shin's end (the foot's head or,
    lacking a child, the shin's own length taken equal to the thigh's)."""
    scale = float(np.cbrt(abs(np.linalg.det(rest.object_matrix[:3, :3]))))
    thigh = rest.bone(bone_map["thigh.L"]).head
    knee = rest.bone(bone_map["shin.L"]).head
    children = [b for b in rest.bones if b.parent == bone_map["shin.L"]]
    ankle = children[0].head if children else knee + (knee - thigh)
    return scale * float(np.linalg.norm(knee - thigh) + np.linalg.norm(ankle - knee))


def _hip_drop(rest: RestPose, bone_map: dict[str, str]) -> float:
    """How far (world units, along world z) the rig's thighs start below its pelvis bone's head at rest:
    the solver puts that head on the pelvis joint, which lies level with the hip joints, so a rig whose
    pelvis bone starts higher would stand with its feet this much too low."""
    pelvis = rest.bone(bone_map["pelvis"]).head
    thighs = 0.5 * (rest.bone(bone_map["thigh.L"]).head + rest.bone(bone_map["thigh.R"]).head)
    world = rest.object_matrix[:3, :3] @ (pelvis - thighs)
    return float(world[2])


def solve(
    joints_world: Array, rest: RestPose, bone_map: dict[str, str], options: SolveOptions | None = None
) -> Motion:
    """joints_world [F, 17, 3] (metres, z up) → a Motion for the rig described by `rest` and `bone_map`
    (already resolved to the rig's bone names)."""
    options = options or SolveOptions()
    joints = np.asarray(joints_world, np.float64)
    frames = len(joints)
    observed_legs = _leg_length(joints)
    rig_legs = options.leg_length or rig_leg_length(rest, bone_map)
    scale = rig_legs / max(observed_legs, 1e-6)
    # the pose keeps its shape; the root trajectory is scaled to the rig's size (the floor stays at z = 0)
    root = joints[:, HIP].copy()
    if not options.root_motion:
        root[:, :2] = root[:1, :2]
    scaled = joints - joints[:, HIP : HIP + 1] + (scale * root)[:, None]
    # where the rig's ankles go: the observed ones at the rig's size, the legs hanging from its thighs
    ankles = scaled[:, HIP : HIP + 1] + scale * (joints[:, [LANKLE, RANKLE]] - joints[:, HIP : HIP + 1])
    drop = _hip_drop(rest, bone_map)
    if options.on_floor:
        ankle = options.ankle_height if options.ankle_height is not None else scale * ANKLE_HEIGHT_M
        scaled[..., 2] += ankle - scale * ANKLE_HEIGHT_M + drop
        ankles[..., 2] += ankle - scale * ANKLE_HEIGHT_M
    else:  # the pelvis bone on the pelvis joint: the legs, and the feet, hang `drop` lower
        ankles[..., 2] -= drop
    to_armature = np.linalg.inv(rest.object_matrix)
    points = scaled @ to_armature[:3, :3].T + to_armature[:3, 3]  # [F, 17, 3] armature space
    pelvis_delta = _pelvis_delta(points, rest, bone_map)
    if options.reach_ankles:
        targets = ankles @ to_armature[:3, :3].T + to_armature[:3, 3]
        points = _legs_reaching(points, targets, pelvis_delta, rest, bone_map)

    rig_of = {rig: logical for logical, rig in bone_map.items()}
    carriers = {rig: _carrier(rig, rest, rig_of) for rig in rig_of}
    rest_q = {b.name: rot.from_matrix(rot.normalize(b.rotation, axis=0)) for b in rest.bones}
    deltas: dict[str, Array] = {}
    parent_deltas: dict[str, Array] = {}
    for logical in LOGICAL_NAMES:  # parents first
        if logical not in bone_map:
            continue
        bone = rest.bone(bone_map[logical])
        carrier = carriers[bone.name]
        if carrier is not None and carrier not in deltas:
            raise ValueError(
                f"rig bone {bone.name} ({logical}) is turned by {carrier} ({rig_of[carrier]}), which the map "
                "puts below it; map the bones the way the rig nests them"
            )
        parent_delta = deltas[carrier] if carrier is not None else rot.identity(frames)
        parent_deltas[bone.name] = parent_delta
        if logical == "pelvis":
            deltas[bone.name] = pelvis_delta
            continue
        definition = BY_NAME[logical]
        direction = points[:, definition.tail] - points[:, definition.head]
        carried = rot.rotate(
            parent_delta, np.broadcast_to(_rest_direction(logical, rest, bone_map), (frames, 3))
        )
        delta = rot.multiply(rot.between(carried, direction), parent_delta)
        if logical == "spine" and "upper_arm.L" in bone_map and "upper_arm.R" in bone_map:
            rest_side = rest.bone(bone_map["upper_arm.L"]).head - rest.bone(bone_map["upper_arm.R"]).head
            observed_side = points[:, LSHOULDER] - points[:, RSHOULDER]
            twist = rot.twist_to_align(
                delta, direction, np.broadcast_to(rest_side, (frames, 3)), observed_side
            )
            delta = rot.multiply(twist, delta)
        deltas[bone.name] = delta

    if options.planted is not None:
        up = rot.normalize(to_armature[:3, :3] @ np.array([0.0, 0.0, 1.0]))
        for side, knee, ankle in (("L", LKNEE, LANKLE), ("R", RKNEE, RANKLE)):
            foot_name = bone_map.get(f"foot.{side}")
            carrier = carriers.get(foot_name) if foot_name is not None else None
            if foot_name is None or carrier is None or carrier not in deltas or side not in options.planted:
                continue
            ride = deltas[carrier]
            flat = flat_foot_delta(
                ride,
                rot.normalize(rest.bone(foot_name).rotation, axis=0),
                up,
                deltas[bone_map["pelvis"]],
            )
            share = np.asarray(options.planted[side], np.float64) * flat_share(
                points[:, ankle] - points[:, knee], up
            )
            deltas[foot_name] = rot.slerp(ride, flat, share)
            parent_deltas[foot_name] = ride

    rotations: dict[str, Array] = {}  # mapped bones only: the others keep an identity pose and ride along
    for name, delta in deltas.items():
        rb = np.broadcast_to(rest_q[name], (frames, 4))
        local = rot.multiply(
            rot.conjugate(rb), rot.multiply(rot.conjugate(parent_deltas[name]), rot.multiply(delta, rb))
        )
        rotations[name] = rot.make_continuous(rot.normalize(local))

    root_bone = bone_map["pelvis"]
    pelvis = rest.bone(root_bone)
    # with unanimated ancestors the bone's posed head is rest_head + R_rest · location
    location = (points[:, HIP] - pelvis.head) @ rot.normalize(pelvis.rotation, axis=0)
    return Motion(rotations, root_bone, location, scale)


RIG_LEGS = (
    ("thigh.L", "shin.L", "foot.L", LHIP, LKNEE, LANKLE),
    ("thigh.R", "shin.R", "foot.R", RHIP, RKNEE, RANKLE),
)


def _leg_rest(
    rest: RestPose, bone_map: dict[str, str], thigh: str, shin: str, foot: str
) -> tuple[Array, Array, Array]:
    """A rig leg at rest, armature space: its thigh's head, knee (the shin's head) and ankle (the foot's
    head, or the shin's tail where no foot is mapped)."""
    hip, knee = rest.bone(bone_map[thigh]).head, rest.bone(bone_map[shin]).head
    if foot in bone_map:
        return hip, knee, rest.bone(bone_map[foot]).head
    shin_bone = rest.bone(bone_map[shin])
    length = float(np.linalg.norm(knee - hip))  # RestBone keeps no length: the thigh's stands in
    return hip, knee, knee + length * rot.normalize(shin_bone.rotation[:, 1])


def _legs_reaching(
    points: Array, targets: Array, pelvis_delta: Array, rest: RestPose, bone_map: dict[str, str]
) -> Array:
    """Joints [F, 17, 3] (armature space) with each leg's hip moved to where the rig's thigh starts and
    its knee and ankle bent so that the rig's own thigh and shin reach `targets` [F, 2, 3] (left, right
    ankle), or as near as they can, the knee bending the way the observed one does.

    Solving the legs as directions alone would put the rig's ankles wherever its pelvis, hip width and
    bone lengths take them, which is not where the motion's feet are: a planted foot would slide by the
    frame-to-frame differences between the two."""
    out = np.array(points, dtype=np.float64)
    pelvis_head = rest.bone(bone_map["pelvis"]).head
    left, right = rest.bone(bone_map["thigh.L"]).head, rest.bone(bone_map["thigh.R"]).head
    rest_forward = rot.normalize(
        np.cross(left - right, rest.bone(bone_map["spine"]).head - 0.5 * (left + right))
    )
    forward = rot.rotate(pelvis_delta, np.broadcast_to(rest_forward, out[:, HIP].shape))
    for side, (thigh, shin, foot, hip_j, knee_j, ankle_j) in enumerate(RIG_LEGS):
        if thigh not in bone_map or shin not in bone_map:
            continue
        hip_rest, knee_rest, ankle_rest = _leg_rest(rest, bone_map, thigh, shin, foot)
        upper = float(np.linalg.norm(knee_rest - hip_rest))
        lower = float(np.linalg.norm(ankle_rest - knee_rest))
        hip = out[:, HIP] + rot.rotate(
            pelvis_delta, np.broadcast_to(hip_rest - pelvis_head, out[:, HIP].shape)
        )
        reach = rot.normalize(targets[:, side] - hip)
        bend = out[:, knee_j] - out[:, hip_j]
        bend -= np.sum(bend * reach, axis=-1, keepdims=True) * reach
        # a leg seen straight tells no bend direction: the knee then goes forwards
        straight = np.linalg.norm(bend, axis=-1) < 1e-3 * (upper + lower)
        bend = np.where(straight[:, None], forward, bend)
        knee, ankle = two_bone_ik(hip, targets[:, side], hip + bend, upper, lower)
        out[:, hip_j] = hip
        out[:, knee_j] = knee
        out[:, ankle_j] = ankle
    return out


def _rest_direction(logical: str, rest: RestPose, bone_map: dict[str, str]) -> Array:
    """Where the logical bone points on the rig at rest, in armature space: along its rig bone (local +Y),
    except the spine, which runs from its bone's head to the neck bone's head — the thorax joint — since a
    rig's spine bone is often one of several segments, or a control that need not point along them
    (Rigify's chest), and the legs, which run from joint to joint (thigh head → shin head → foot head), as
    _legs_reaching bends them."""
    bone = rest.bone(bone_map[logical])
    for thigh, shin, foot, *_ in RIG_LEGS:
        if logical in (thigh, shin) and thigh in bone_map and shin in bone_map:
            hip, knee, ankle = _leg_rest(rest, bone_map, thigh, shin, foot)
            span = knee - hip if logical == thigh else ankle - knee
            if float(np.linalg.norm(span)) > 1e-6:
                return rot.normalize(span)
    if logical == "spine" and "neck" in bone_map:
        span = rest.bone(bone_map["neck"]).head - bone.head
        if float(np.linalg.norm(span)) > 1e-6:
            return rot.normalize(span)
    return rot.normalize(bone.rotation[:, 1])


def _carrier(name: str, rest: RestPose, rig_of: dict[str, str]) -> str | None:
    """The mapped bone whose rotation turns this mapped bone's parent."""
    if rest.carriers is not None and name in rest.carriers:
        return rest.carriers[name]
    parent = rest.bone(name).parent
    while parent is not None and parent not in rig_of:
        parent = rest.bone(parent).parent
    return parent


def _pelvis_delta(points: Array, rest: RestPose, bone_map: dict[str, str]) -> Array:
    """The rotation taking the rig's rest pelvis frame to the observed one, per frame."""
    frames = len(points)
    left, right = rest.bone(bone_map["thigh.L"]).head, rest.bone(bone_map["thigh.R"]).head
    spine_bone = rest.bone(bone_map["spine"]).head
    rest_up = spine_bone - 0.5 * (left + right)
    rest_side = left - right
    observed_up = points[:, SPINE] - points[:, HIP]
    observed_side = points[:, LHIP] - points[:, RHIP]
    swing = rot.between(np.broadcast_to(rest_up, (frames, 3)), observed_up)
    twist = rot.twist_to_align(swing, observed_up, np.broadcast_to(rest_side, (frames, 3)), observed_side)
    return rot.multiply(twist, swing)
