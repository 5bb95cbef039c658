"""One person's joints before solving: smoothing, standing on the floor, foot locking (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bones import LANKLE, RANKLE
from .contacts import ContactOptions, lock_feet
from .filters import gaussian_smooth, strength_to_sigma
from .rotations import Array

# The ankle joint's height over the floor when the foot is flat (the server's placement uses the same).
ANKLE_HEIGHT_M = 0.08


@dataclass(frozen=True)
class MotionOptions:
    root_motion: bool = True  # keep the walk across the room; False: in place
    put_on_floor: bool = True  # lowest planted ankle at ankle height over z = 0
    foot_locking: bool = True
    smoothing: float = 0.3  # 0 (off) to 1 (a Gaussian of 0.1 s)

    def __post_init__(self) -> None:
        if not 0.0 <= self.smoothing <= 1.0:
            raise ValueError("smoothing strength must be within 0–1")


@dataclass
class PreparedMotion:
    joints: Array  # [F, 17, 3] world, metres
    contacts: dict[str, Array]  # "L"/"R" → [F] booleans (empty without foot locking)


def prepare(joints_world: Array, fps: float, options: MotionOptions | None = None) -> PreparedMotion:
    options = options or MotionOptions()
    joints = np.array(joints_world, dtype=np.float64)
    if options.smoothing > 0:
        joints = gaussian_smooth(joints, strength_to_sigma(options.smoothing, fps))
    if options.put_on_floor:
        lowest = np.minimum(joints[:, LANKLE, 2], joints[:, RANKLE, 2])
        joints[..., 2] += ANKLE_HEIGHT_M - float(np.percentile(lowest, 5))
    contacts: dict[str, Array] = {}
    if options.foot_locking and len(joints) >= 3:
        joints, contacts = lock_feet(joints, fps, ContactOptions())
    return PreparedMotion(joints, contacts)
