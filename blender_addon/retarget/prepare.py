"""One person's joints before solving: smoothing, standing on the floor, foot locking, which frames keep
the feet flat (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bones import LANKLE, RANKLE
from .contacts import ContactOptions, lock_feet
from .feet import ANKLE_HEIGHT_M, planted_weights
from .filters import gaussian_smooth, strength_to_sigma
from .rotations import Array

# Smoothing strength: 0 is off, 1 a Gaussian of 0.1 s.
SMOOTHING_RANGE = (0.0, 1.0)


@dataclass(frozen=True)
class MotionOptions:
    root_motion: bool = True  # keep the walk across the room; False: in place
    put_on_floor: bool = True  # lowest planted ankles at ankle height over z = 0 (people and camera move)
    foot_locking: bool = True
    flat_feet: bool = True  # planted feet kept flat on the floor (feet.py); False: feet follow the shins
    smoothing: float = 0.3  # within SMOOTHING_RANGE

    def __post_init__(self) -> None:
        if not SMOOTHING_RANGE[0] <= self.smoothing <= SMOOTHING_RANGE[1]:
            raise ValueError(
                f"smoothing strength must be within {SMOOTHING_RANGE[0]:g}–{SMOOTHING_RANGE[1]:g}"
            )


@dataclass
class PreparedMotion:
    joints: Array  # [F, 17, 3] world, metres
    contacts: dict[str, Array]  # "L"/"R" → [F] booleans (empty without foot locking)
    planted: dict[str, Array] | None = None  # "L"/"R" → [F] 0–1, how flat each foot is kept (None: off)


# Fewer planted ankle-frames than this in a whole result, and the floor is judged from the lowest ankles.
MIN_PLANTED_SAMPLES = 10


def floor_offset(people: list[Array], contacts: list[Array | None] | None = None) -> float:
    """The height to add to everyone (and to the camera, so that the overlay on the video still holds) for
    the planted ankles to sit at ankle height over z = 0.

    `contacts`, per person, [F, 2] booleans (right, left ankle planted) as the result's placement found
    them: where there are enough, their median height is the level that goes to ankle height. The lowest
    ankles are the fallback, and a poor one where a lifted ankle dips under its planted level now and then
    (a crouch, a noisy frame): the 5th percentile then sits under the stance and everyone floats."""
    masks = contacts if contacts is not None else [None] * len(people)
    planted = [
        joints[:, [RANKLE, LANKLE], 2][mask]
        for joints, mask in zip(people, masks, strict=True)
        if mask is not None
    ]
    samples = np.concatenate(planted) if planted else np.zeros(0)
    if len(samples) >= MIN_PLANTED_SAMPLES:
        return ANKLE_HEIGHT_M - float(np.median(samples))
    lowest = [np.minimum(joints[:, LANKLE, 2], joints[:, RANKLE, 2]) for joints in people if len(joints)]
    if not lowest:
        return 0.0
    return ANKLE_HEIGHT_M - float(np.percentile(np.concatenate(lowest), 5))


def prepare(
    joints_world: Array,
    fps: float,
    options: MotionOptions | None = None,
    z_offset: float = 0.0,
    foot_contacts: Array | None = None,
) -> PreparedMotion:
    """Smoothing, the floor offset (see floor_offset; applied when options.put_on_floor) and foot locking,
    of the result's own contacts `foot_contacts` [F, 2] (right, left) where it has them (lock_feet)."""
    options = options or MotionOptions()
    joints = np.array(joints_world, dtype=np.float64)
    if options.smoothing > 0:
        joints = gaussian_smooth(joints, strength_to_sigma(options.smoothing, fps))
    if options.put_on_floor:
        joints[..., 2] += z_offset
    contacts: dict[str, Array] = {}
    if options.foot_locking and len(joints) >= 3:
        joints, contacts = lock_feet(joints, fps, ContactOptions(), foot_contacts)
    planted = planted_weights(joints, fps, contacts or None) if options.flat_feet else None
    return PreparedMotion(joints, contacts, planted)
