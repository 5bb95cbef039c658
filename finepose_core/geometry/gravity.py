"""Which way is up, from the people themselves: camera pitch and roll without foot contacts.

A person who stands, walks or runs holds the line from the feet to the neck close to vertical when it is
averaged over a clip (the lean of a walk, a step's swing and the lifter's noise average out to a few
degrees). So the mean over frames of that direction, in camera space, estimates the world's up however
the camera is held — pitched 30° down from a balcony or looking up from the floor — where the fixed "level
camera" guess would be off by the pitch itself.

Frames that do not look like standing (bent over, crouching, lying, a leg far from the trunk's line) are
left out, so a clip of someone picking things up is judged on its upright moments; a clip with no upright
moment gives no estimate, and placement says so instead of guessing silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
PELVIS, THORAX = 0, 8
ANKLES = (3, 6)
LEGS = (1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class GravityConfig:
    # a frame counts as upright when its trunk and its legs point the same way within this angle
    upright_within_deg: float = 25.0
    # frames further than this from the running estimate are dropped before the next pass
    outlier_deg: float = 20.0
    # the floor of the uncertainty however many frames: a walk's lean, and the lifter's own tilt of the
    # bodies it lifts, which does not average out (measured against the validation scenes' true up:
    # 1.5–13° off, the larger errors from high cameras)
    systematic_deg: float = 6.0
    # a frame counts only where the 2D saw the legs (hips, knees, ankles) at least this confidently: legs
    # hidden behind a desk are the lifter's guess, and a guessed leg is no plumb line
    min_leg_confidence: float = 0.5
    # seconds of upright frames below which the estimate is not trusted
    min_seconds: float = 1.0
    # above this uncertainty the estimate is reported as unsure
    sure_within_deg: float = 5.0


@dataclass(frozen=True)
class UpEstimate:
    up: FloatArray  # unit vector in camera space pointing away from the floor
    uncertainty_deg: float  # about one standard deviation of the direction
    frames: int  # upright person-frames it rests on
    sure: bool

    @property
    def pitch_deg(self) -> float:
        return camera_pitch_roll(self.up)[0]

    @property
    def roll_deg(self) -> float:
        return camera_pitch_roll(self.up)[1]


def camera_pitch_roll(up: NDArray[np.floating[Any]]) -> tuple[float, float]:
    """The camera's pitch (positive: looking down) and roll (positive: the image turned clockwise, the
    world's up leaning to the image's right) in degrees, from the world's up in camera space (OpenCV axes:
    x right, y down, z forward)."""
    u = np.asarray(up, dtype=np.float64)
    u = u / np.linalg.norm(u)
    pitch = math.degrees(math.asin(float(np.clip(-u[2], -1.0, 1.0))))
    roll = math.degrees(math.atan2(float(u[0]), float(-u[1])))
    return pitch, roll


def up_from_pitch_roll(pitch_deg: float, roll_deg: float = 0.0) -> FloatArray:
    """The inverse of camera_pitch_roll."""
    pitch, roll = math.radians(pitch_deg), math.radians(roll_deg)
    return np.array([math.cos(pitch) * math.sin(roll), -math.cos(pitch) * math.cos(roll), -math.sin(pitch)])


def _unit(vectors: FloatArray) -> FloatArray:
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / np.where(norm > 1e-9, norm, np.nan))


def angle_deg(a: FloatArray, b: FloatArray) -> FloatArray:
    """Degrees between unit vectors [..., 3], along the last axis."""
    return np.asarray(np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0))))


def upright_directions(joints: NDArray[np.floating[Any]], config: GravityConfig) -> FloatArray:
    """Per frame of one person [F, 17, 3], the unit feet → neck direction where the body is upright
    (trunk and legs aligned), NaN elsewhere."""
    p = np.asarray(joints, dtype=np.float64)
    feet = p[:, list(ANKLES)].mean(axis=1)
    trunk = _unit(p[:, THORAX] - p[:, PELVIS])
    legs = _unit(p[:, PELVIS] - feet)
    whole = _unit(p[:, THORAX] - feet)
    upright = angle_deg(trunk, legs) < config.upright_within_deg
    return np.where(upright[:, None], whole, np.nan)


def estimate_up(
    people_joints: list[NDArray[np.floating[Any]]],
    fps: float,
    config: GravityConfig | None = None,
    confidences: list[NDArray[np.floating[Any]]] | None = None,
) -> UpEstimate | None:
    """The world's up in camera space from everybody's camera-space joints [F, 17, 3] (and the 2D
    confidence [F, 17] each was lifted from, where known); None when nobody is upright, legs seen, in any
    frame."""
    config = config or GravityConfig()
    rows = []
    for index, joints in enumerate(people_joints):
        if not len(joints):
            continue
        directions = upright_directions(joints, config)
        if confidences is not None:
            legs = np.asarray(confidences[index])[:, list(LEGS)]
            directions[(legs < config.min_leg_confidence).any(axis=1)] = np.nan
        rows.append(directions)
    if not rows:
        return None
    directions = np.concatenate(rows)
    directions = directions[np.isfinite(directions).all(axis=-1)]
    if len(directions) == 0:
        return None
    # a camera is never upside down relative to the people it films: up points to the image's top half
    directions = directions[directions[:, 1] < 0.5]
    if len(directions) == 0:
        return None
    up = _unit(directions.mean(axis=0))
    kept = directions
    for _ in range(3):
        kept = directions[angle_deg(directions, up[None]) < config.outlier_deg]
        if len(kept) == 0:
            return None
        up = _unit(kept.mean(axis=0))
    spread = float(np.sqrt(np.mean(angle_deg(kept, up[None]) ** 2)))
    # neighbouring frames are not independent: count about one independent look per person-second
    independent = max(len(kept) / max(fps, 1.0), 1.0)
    uncertainty = math.hypot(spread / math.sqrt(independent), config.systematic_deg)
    sure = len(kept) >= config.min_seconds * fps and uncertainty <= config.sure_within_deg
    return UpEstimate(up=np.asarray(up), uncertainty_deg=uncertainty, frames=len(kept), sure=sure)
