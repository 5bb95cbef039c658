"""Pose perturbation: new poses from the library's motion by bending its joints before forward kinematics.

A motion-capture library covers few kinds of motion (the CMU subjects of the default checkpoint mostly
walk, climb and dance), and a lifter trained on it alone meets arm and leg configurations it has never
seen: strikes, throws, reaches. Bending joints by random rotations that drift smoothly through the window
makes arm, trunk and leg configurations (and their motion) that the library lacks, while every bone keeps
its length and the skeleton stays a skeleton — the kind of coverage that more varied capture would give.
docs/training.md has what it changed on validation.

A perturbed window draws, for each joint listed in the config and with `joint_probability`, a few key
rotations (random axis, angle up to the joint's limit) spread evenly over the window and interpolated
between them (spherical linear interpolation); each is applied in the joint's own frame after the
captured rotation, so a perturbed upper arm turns about its shoulder and carries the forearm and hand
with it. Joints the skeleton lacks are skipped, so a config made for CMU's names works on any file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

FloatArray = NDArray[np.float64]


def _cmu_limits() -> dict[str, float]:
    """Largest extra bend in degrees per BVH joint of the CMU MotionBuilder skeleton."""
    limits = {"Spine": 12.0, "Spine1": 12.0, "Neck": 15.0}
    for side in ("Left", "Right"):
        limits[f"{side}Shoulder"] = 12.0  # the clavicle: lifts or pulls the shoulder forward
        limits[f"{side}Arm"] = 75.0  # the upper arm about the shoulder
        limits[f"{side}ForeArm"] = 50.0
        limits[f"{side}UpLeg"] = 30.0
        limits[f"{side}Leg"] = 30.0
    return limits


@dataclass(frozen=True)
class PosePerturbation:
    probability: float = 0.5  # chance that a window is perturbed at all
    joint_probability: float = 0.5  # chance, in a perturbed window, that a listed joint is bent
    keys: tuple[int, int] = (1, 3)  # key rotations per window (inclusive range); 1 = a constant bend
    limits_deg: Mapping[str, float] = field(default_factory=_cmu_limits)


def random_rotation(rng: np.random.Generator, max_degrees: float) -> Rotation:
    """A rotation about a uniformly random axis by an angle uniform in [0, max_degrees]."""
    axis = rng.normal(size=3)
    axis /= max(float(np.linalg.norm(axis)), 1e-12)
    return Rotation.from_rotvec(axis * np.radians(rng.uniform(0.0, max_degrees)))


def perturbation(
    names: list[str], frames: int, rng: np.random.Generator, config: PosePerturbation
) -> dict[int, FloatArray]:
    """Extra local rotations {joint index: [frames, 3, 3]} for one window; empty when it is left as is."""
    if rng.random() >= config.probability:
        return {}
    extra: dict[int, FloatArray] = {}
    for name, limit in config.limits_deg.items():
        if name not in names or rng.random() >= config.joint_probability:
            continue
        count = int(rng.integers(config.keys[0], config.keys[1] + 1))
        keys = Rotation.concatenate([random_rotation(rng, limit) for _ in range(count)])
        if count == 1 or frames == 1:
            matrices = np.broadcast_to(keys[0].as_matrix(), (frames, 3, 3))
        else:
            times = np.linspace(0.0, frames - 1.0, count)
            matrices = Slerp(times, keys)(np.arange(frames, dtype=np.float64)).as_matrix()
        extra[names.index(name)] = np.ascontiguousarray(matrices, dtype=np.float64)
    return extra
