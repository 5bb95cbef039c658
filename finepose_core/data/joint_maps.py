"""Joint-mapping presets: which joints of a BVH skeleton become the 17 Human3.6M joints.

A preset names, for each Human3.6M joint, one BVH joint (its position) or several (their mean), the
length of one file unit in metres, the file's up axis, and groups of bones whose offsets are scaled
together by random factors when training clips are made (body-proportion augmentation).

The first preset, `cmu_mb`, is for the CMU database in Bruce Hahne's "MotionBuilder-friendly" BVH
conversion (31 joints, 1 unit = 0.0254 / 0.45 m, y up). Its joints follow anatomy rather than names:
the pelvis is the middle of the two hip joints (CMU's `Hips` root sits about 10 cm above them), the
thorax is `Neck1` (the base of the neck, just above the shoulder line), Neck/Nose is the `Head` pivot and
Head is the end of the head bone. The CMU skeleton's trunk and neck are short (hip joints to shoulders
0.38 m, versus about 0.49 m on the MakeHuman body of the rendered clips and in Human3.6M), so the
`torso` and `neck_head` groups are scaled up to 1.5× and 1.6×.

To add a preset for another skeleton: load one of its files with `finepose_core.data.bvh.load_bvh`, list
`motion.names`, pick for each Human3.6M joint the BVH joint at the same anatomical place (ends of bones
are "<Joint>_End"), set `unit_m` so that a standing actor's hip-joint height comes out near 0.9 m, and
register the JointMap in PRESETS (or pass a JSON file with the same fields to the training CLI).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from finepose_core.data.bvh import BvhMotion
from finepose_core.skeleton import H36M_JOINTS

FloatArray = NDArray[np.float64]


class JointMapError(ValueError):
    """A joint map does not fit a skeleton, or is not a valid joint map."""


@dataclass(frozen=True)
class ScaleGroup:
    bones: tuple[str, ...]  # BVH joints whose OFFSET (from their parent) is scaled
    low: float
    high: float


@dataclass(frozen=True)
class JointMap:
    name: str
    joints: dict[str, tuple[str, ...]]  # Human3.6M name → BVH joint(s), averaged
    unit_m: float
    up_axis: str = "y"
    skip_first_frame: bool = False  # a T-pose reference frame at the start
    scale_groups: dict[str, ScaleGroup] = field(default_factory=dict)
    # the validation windows' own body proportions, pinned apart from training's (data/validation.py);
    # None: the training groups
    validation_scale_groups: dict[str, ScaleGroup] | None = None

    def __post_init__(self) -> None:
        missing = [name for name in H36M_JOINTS if name not in self.joints]
        if missing:
            raise JointMapError(f"joint map {self.name!r} lacks Human3.6M joints {missing}")
        if self.up_axis not in ("y", "z"):
            raise JointMapError(f"joint map {self.name!r}: up axis must be 'y' or 'z'")

    @classmethod
    def from_json(cls, path: Path) -> JointMap:
        try:
            raw = json.loads(Path(path).read_text())
            groups = _scale_groups(raw.get("scale_groups", {}))
            validation = raw.get("validation_scale_groups")
            return cls(
                name=raw["name"],
                joints={k: tuple(v) if isinstance(v, list) else (v,) for k, v in raw["joints"].items()},
                unit_m=float(raw["unit_m"]),
                up_axis=raw.get("up_axis", "y"),
                skip_first_frame=bool(raw.get("skip_first_frame", False)),
                scale_groups=groups,
                validation_scale_groups=None if validation is None else _scale_groups(validation),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise JointMapError(f"{path}: not a valid joint map ({error})") from None

    def check(self, motion: BvhMotion) -> None:
        needed = {bone for bones in self.joints.values() for bone in bones}
        groups = [*self.scale_groups.values(), *(self.validation_scale_groups or {}).values()]
        needed |= {bone for group in groups for bone in group.bones}
        missing = sorted(needed - set(motion.names))
        if missing:
            raise JointMapError(
                f"{motion.source}: joint map {self.name!r} needs BVH joints {missing} that the file lacks"
            )

    def sample_scales(
        self, motion: BvhMotion, rng: np.random.Generator, groups: Mapping[str, ScaleGroup] | None = None
    ) -> FloatArray:
        """Random per-joint offset factors [J] (1 outside the groups; `groups` replaces training's)."""
        scales = np.ones(len(motion.names))
        for group in (self.scale_groups if groups is None else groups).values():
            factor = rng.uniform(group.low, group.high)
            for bone in group.bones:
                scales[motion.index(bone)] = factor
        return scales

    def h36m_positions(self, positions: FloatArray, motion: BvhMotion) -> FloatArray:
        """BVH joint positions [F, J_bvh, 3] (file units, file axes) → Human3.6M [F, 17, 3] metres, z up."""
        out = np.stack(
            [positions[:, [motion.index(b) for b in self.joints[name]]].mean(axis=1) for name in H36M_JOINTS],
            axis=1,
        )
        out = out * self.unit_m
        if self.up_axis == "y":  # (x, y up, z) → (x, −z, y): right-handed, z up
            out = np.stack([out[..., 0], -out[..., 2], out[..., 1]], axis=-1)
        return np.asarray(out)

    def world_joints(
        self,
        motion: BvhMotion,
        scales: FloatArray | None = None,
        frames: slice | None = None,
        extra_rotations: Mapping[int, FloatArray] | None = None,
    ) -> FloatArray:
        """Human3.6M joints [F, 17, 3] in metres, z up, for (a slice of) the motion."""
        return self.h36m_positions(motion.forward_kinematics(scales, frames, extra_rotations), motion)


def _scale_groups(raw: dict[str, dict[str, object]]) -> dict[str, ScaleGroup]:
    return {
        key: ScaleGroup(tuple(value["bones"]), float(value["low"]), float(value["high"]))  # type: ignore[arg-type]
        for key, value in raw.items()
    }


def _both(name: str) -> tuple[str, str]:
    return (f"Left{name}", f"Right{name}")


CMU_MB: Final = JointMap(
    name="cmu_mb",
    joints={
        "Hip": ("LeftUpLeg", "RightUpLeg"),
        "RHip": ("RightUpLeg",),
        "RKnee": ("RightLeg",),
        "RAnkle": ("RightFoot",),
        "LHip": ("LeftUpLeg",),
        "LKnee": ("LeftLeg",),
        "LAnkle": ("LeftFoot",),
        "Spine": ("Spine",),
        "Thorax": ("Neck1",),
        "Neck/Nose": ("Head",),
        "Head": ("Head_End",),
        "LShoulder": ("LeftArm",),
        "LElbow": ("LeftForeArm",),
        "LWrist": ("LeftHand",),
        "RShoulder": ("RightArm",),
        "RElbow": ("RightForeArm",),
        "RWrist": ("RightHand",),
    },
    unit_m=0.0254 / 0.45,
    up_axis="y",
    skip_first_frame=True,  # frame 0 of every cgspeed file is the T-pose reference
    scale_groups={
        "torso": ScaleGroup(("Spine", "Spine1"), 0.95, 1.5),
        "neck_head": ScaleGroup(("Neck1", "Head", "Head_End"), 0.9, 1.6),
        "shoulder_width": ScaleGroup(_both("Arm"), 0.85, 1.2),
        "hip_width": ScaleGroup(_both("UpLeg"), 0.7, 1.1),
        "upper_arm": ScaleGroup(_both("ForeArm"), 0.8, 1.1),
        "forearm": ScaleGroup(_both("Hand"), 0.9, 1.35),
        "thigh": ScaleGroup(_both("Leg"), 0.9, 1.1),
        # the actors' shins are long for their thighs (shin/thigh 0.96–1.21, most near 1.06); bodies with
        # shorter shins (the rendered clips' MakeHuman body: 0.91) must not look to the lifter like a
        # shin tilted in depth
        "shin": ScaleGroup(_both("Foot"), 0.8, 1.1),
    },
    # written out, not copied from above: changing training's proportions must not change the validation
    # windows (data/validation.py); these are training's as they were when the windows were pinned
    validation_scale_groups={
        "torso": ScaleGroup(("Spine", "Spine1"), 0.95, 1.5),
        "neck_head": ScaleGroup(("Neck1", "Head", "Head_End"), 0.9, 1.6),
        "shoulder_width": ScaleGroup(_both("Arm"), 0.85, 1.2),
        "hip_width": ScaleGroup(_both("UpLeg"), 0.7, 1.1),
        "upper_arm": ScaleGroup(_both("ForeArm"), 0.8, 1.1),
        "forearm": ScaleGroup(_both("Hand"), 0.9, 1.35),
        "thigh": ScaleGroup(_both("Leg"), 0.9, 1.1),
        "shin": ScaleGroup(_both("Foot"), 0.8, 1.1),
    },
)

PRESETS: Final[dict[str, JointMap]] = {CMU_MB.name: CMU_MB}


def joint_map(name_or_path: str) -> JointMap:
    """A preset by name, or a JSON file of the same fields."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return JointMap.from_json(path)
    raise JointMapError(
        f"unknown joint map {name_or_path!r}: use one of {', '.join(PRESETS)} or a .json file"
    )
