"""Feet flat on the floor while they stand on it (pure numpy).

The Human3.6M joints end at the ankles, so nothing says how a foot is pitched. A foot bone that simply
follows its shin tips with it: through a stance the shin swings from leaning back to leaning forward,
and a rigid foot would dig its toes, then its heel, into the floor. While a foot is planted it is
therefore kept as it is at rest (a rig's rest pose stands on flat feet), turned only about the vertical to
point where the leg points; in the air it follows the shin again, which gives the toes-down push-off and
the heel-first landing of a step. The change is eased over the same frames as the foot locking's.
"""

from __future__ import annotations

import numpy as np

from . import rotations as rot
from .contacts import LEGS, ContactOptions, detect_contacts, eased_contacts
from .rotations import Array

# The ankle joint's height over the floor when the foot is flat (the server's placement uses the same).
ANKLE_HEIGHT_M = 0.09
# A planted foot is flattened only while its shin is within about this much of upright: kneeling puts the
# shin on the floor and the instep down, where a flat foot would stick out forward.
FLAT_UP_TO_DEG = 45.0
FLAT_FADE_DEG = 15.0  # … fading out over this many degrees beyond


def planted_weights(
    joints: Array, fps: float, contacts: dict[str, Array] | None = None, options: ContactOptions | None = None
) -> dict[str, Array]:
    """How planted each foot is per frame ("L"/"R" → [F] in 0–1): the foot locking's contacts where it ran,
    else contacts found on these joints [F, 17, 3] (metres, z up) the same way."""
    options = options or ContactOptions()
    out = {}
    for side, (_, _, ankle) in LEGS.items():
        if contacts is not None and side in contacts:
            mask = np.asarray(contacts[side], bool)
        elif len(joints) >= 3:
            mask = detect_contacts(joints[:, ankle], fps, options)
        else:
            mask = np.zeros(len(joints), bool)
        out[side] = eased_contacts(mask, options.blend_frames)[0]
    return out


def flat_foot_delta(shin_delta: Array, foot_rest: Array, up: Array, fallback: Array) -> Array:
    """The world delta [F, 4] that keeps a foot as at rest, turned about `up` as its shin turns it.

    `shin_delta` [F, 4]: the rotation carrying the shin (and a foot riding on it) from rest; `foot_rest`
    [3, 3]: the foot bone's rest axes (columns) in the same space; `fallback` [F, 4]: a rotation whose turn
    about the vertical stands in where the shin points the foot nearly straight up or down (the hips').
    """
    up = rot.normalize(up)
    # the foot's heading at rest: along the bone, or along its Z axis for a bone that points down
    reference = foot_rest[:, 1] if _flat(foot_rest[:, 1], up) > 0.2 else foot_rest[:, 2]
    heading = _horizontal(reference, up)
    carried = _horizontal(rot.rotate(shin_delta, reference), up)
    spare = _horizontal(rot.rotate(fallback, reference), up)
    usable = np.linalg.norm(carried, axis=-1, keepdims=True) > 0.2 * np.linalg.norm(heading)
    target = np.where(usable, carried, spare)
    angle = np.arctan2(
        np.sum(np.cross(rot.normalize(heading), rot.normalize(target)) * up, -1),
        np.sum(rot.normalize(heading) * rot.normalize(target), -1),
    )
    return rot.from_axis_angle(np.broadcast_to(up, target.shape), angle)


def flat_share(shin_direction: Array, up: Array) -> Array:
    """[F] in 0–1: 1 while the shin (knee → ankle) is within FLAT_UP_TO_DEG of hanging straight down."""
    tilt = np.degrees(rot.angle_between(shin_direction, -rot.normalize(up)))
    return np.asarray(np.clip((FLAT_UP_TO_DEG + FLAT_FADE_DEG - tilt) / FLAT_FADE_DEG, 0.0, 1.0))


def _horizontal(v: Array, up: Array) -> Array:
    return np.asarray(v - np.sum(v * up, -1, keepdims=True) * up)


def _flat(v: Array, up: Array) -> float:
    return float(np.linalg.norm(_horizontal(np.asarray(v, np.float64), up)))
