"""Foot contacts and foot locking (pure numpy).

A foot is in contact while its ankle is near its lowest level and nearly still. Locking pins the ankle to
one point for each contact (its mean position there), eases in and out over a few frames, and moves the
knee by two-bone IK so that the thigh and shin keep their lengths and the knee its bend plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .bones import LANKLE, LHIP, LKNEE, RANKLE, RHIP, RKNEE
from .filters import gaussian_smooth
from .rotations import Array, normalize

LEGS = {"L": (LHIP, LKNEE, LANKLE), "R": (RHIP, RKNEE, RANKLE)}


@dataclass(frozen=True)
class ContactOptions:
    height_m: float = 0.06  # above the ankle's low level (its 5th percentile over the clip)
    speed_m_s: float = 0.35
    min_frames: int = 3  # shorter contacts are noise
    blend_frames: int = 3  # easing in and out of a lock
    # a contact of the result's own (foot_contacts) is locked where the ankle is within this of where it was
    # held (its median over the contact): the placement held it there, unless it judged the contact wrong
    held_m: float = 0.02


def runs(mask: Array) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def long_runs(mask: Array, min_frames: int) -> Array:
    """[F] booleans: the runs of True in `mask` at least `min_frames` long (shorter contacts are noise)."""
    out = np.zeros(len(mask), bool)
    for start, end in runs(mask):
        if end - start >= min_frames:
            out[start:end] = True
    return out


def detect_contacts(ankle: Array, fps: float, options: ContactOptions | None = None) -> Array:
    """[F] booleans: the ankle [F, 3] (metres, z up) is low and slow."""
    options = options or ContactOptions()
    # a light zero-phase smoothing first: frame-to-frame jitter of a few millimetres reads as speed
    ankle = gaussian_smooth(np.asarray(ankle, np.float64), 0.06 * fps)
    low = np.percentile(ankle[:, 2], 5)
    speed = (
        np.linalg.norm(np.gradient(ankle, axis=0), axis=-1) * fps if len(ankle) > 1 else np.zeros(len(ankle))
    )
    return long_runs((ankle[:, 2] - low < options.height_m) & (speed < options.speed_m_s), options.min_frames)


def held_contacts(ankle: Array, contact: Array, options: ContactOptions | None = None) -> Array:
    """[F] booleans: the frames of a result's contacts `contact` [F] where the ankle [F, 3] is still where the
    placement held it — within `held_m` of its median over each contact. A contact the placement judged
    wrong (a foot swinging towards the camera barely moves in the image) was let go there, and the foot
    moves: locking it would stop a swinging foot."""
    options = options or ContactOptions()
    ankle = np.asarray(ankle, np.float64)
    out = np.zeros(len(ankle), bool)
    for start, end in runs(np.asarray(contact, bool)):
        spot = np.median(ankle[start:end], axis=0)
        out[start:end] = np.linalg.norm(ankle[start:end] - spot, axis=-1) < options.held_m
    return long_runs(out, options.min_frames)


def two_bone_ik(hip: Array, target: Array, pole: Array, thigh: float, shin: float) -> tuple[Array, Array]:
    """Knee and ankle [F, 3] reaching for target with fixed segment lengths, bending towards pole."""
    reach = target - hip
    distance = np.linalg.norm(reach, axis=-1, keepdims=True)
    u = reach / np.maximum(distance, 1e-9)
    d = np.clip(distance, max(abs(thigh - shin), 1e-9), thigh + shin)
    along = (thigh**2 - shin**2 + d**2) / (2 * d)
    height = np.sqrt(np.maximum(thigh**2 - along**2, 0.0))
    side = pole - hip
    side = side - np.sum(side * u, -1, keepdims=True) * u
    bend = normalize(side)
    knee = hip + along * u + height * bend
    return knee, hip + d * u


def eased_contacts(mask: Array, blend_frames: int) -> tuple[Array, NDArray[np.int64]]:
    """Per frame [F]: how much a contact holds it (1 during each contact, fading linearly over
    `blend_frames` before and after it), and which contact (its index among `runs(mask)`, −1: none); where
    two fades meet, the stronger one holds the frame."""
    weight = np.zeros(len(mask))
    owner = np.full(len(mask), -1, dtype=np.int64)
    for index, (start, end) in enumerate(runs(mask)):
        weight[start:end] = 1.0
        owner[start:end] = index
        for k in range(1, blend_frames + 1):
            fade = 1.0 - k / (blend_frames + 1)
            for frame in (start - k, end - 1 + k):
                if 0 <= frame < len(mask) and fade > weight[frame]:
                    weight[frame] = fade
                    owner[frame] = index
    return weight, owner


def lock_feet(
    joints: Array, fps: float, options: ContactOptions | None = None, found: Array | None = None
) -> tuple[Array, dict[str, Array]]:
    """Joints [F, 17, 3] with each planted ankle pinned, and the contact masks per side ("L", "R"): the
    result's own contacts `found` [F, 2] (right, left; see held_contacts) where it has them, else those
    found on the joints (detect_contacts)."""
    options = options or ContactOptions()
    out = np.array(joints, dtype=np.float64)
    contacts: dict[str, Array] = {}
    for side, (hip, knee, ankle) in LEGS.items():
        if found is not None:
            mask = held_contacts(out[:, ankle], np.asarray(found)[:, 0 if side == "R" else 1], options)
        else:
            mask = detect_contacts(out[:, ankle], fps, options)
        contacts[side] = mask
        if not mask.any():
            continue
        target = out[:, ankle].copy()
        weight, owner = eased_contacts(mask, options.blend_frames)
        for index, (start, end) in enumerate(runs(mask)):
            target[owner == index] = out[start:end, ankle].mean(axis=0)  # the pin of each contact
        goal = out[:, ankle] + weight[:, None] * (target - out[:, ankle])
        thigh = float(np.median(np.linalg.norm(out[:, knee] - out[:, hip], axis=-1)))
        shin = float(np.median(np.linalg.norm(out[:, ankle] - out[:, knee], axis=-1)))
        new_knee, new_ankle = two_bone_ik(out[:, hip], goal, out[:, knee], thigh, shin)
        changed = weight > 0
        out[changed, knee] = new_knee[changed]
        out[changed, ankle] = new_ankle[changed]
    return out, contacts
