"""2D augmentation that makes exact projections of mocap joints look like a real detector's output.

Three effects, each measured or modelled on MediaPipe:
- systematic offsets: MediaPipe's hips, shoulders and head are surface landmarks, not joint centres;
  the per-joint offsets measured on the rendered clips (scripts/measure_mediapipe_offsets.py, stored in
  mediapipe_offsets.json) are applied in the body's own 2D frame, scaled by a random factor per window;
- per-joint jitter: Gaussian, a random fraction of the torso length per window, in every frame;
- dropped joints: short runs of frames where a joint is lost; they are filled the way the pipeline fills
  gaps (linear interpolation over time), plus extra noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finepose_core.sequence import interpolate_missing

FloatArray = NDArray[np.float64]
OFFSETS_PATH = Path(__file__).resolve().parent / "mediapipe_offsets.json"


@dataclass(frozen=True)
class NoiseConfig:
    offset_factor: tuple[float, float] = (0.0, 1.3)  # × the measured MediaPipe offsets
    jitter: tuple[float, float] = (0.0, 0.04)  # standard deviation, in torso lengths
    drop_probability: float = 0.02  # chance per joint and frame that a dropout run starts
    drop_length: tuple[int, int] = (1, 8)  # frames


def body_frame(points: NDArray[np.floating[Any]]) -> tuple[FloatArray, FloatArray, float, float]:
    """For one 2D pose [17, 2]: unit `side` (to the actor's left) and `up` vectors, the torso length, and
    how frontal the view is (left–right separation / torso length; small when seen from the side)."""
    p = np.asarray(points, dtype=np.float64)
    up = p[8] - p[0]
    torso = float(np.linalg.norm(up))
    if torso < 1e-6:
        return np.array([1.0, 0.0]), np.array([0.0, -1.0]), 1e-6, 0.0
    up /= torso
    across = (p[4] - p[1]) + (p[11] - p[14])  # right → left, at the hips and the shoulders
    side = np.array([-up[1], up[0]])
    separation = float(across @ side)
    if separation < 0:
        side = -side
    return side, up, torso, abs(separation) / torso


@cache
def measured_offsets() -> FloatArray:
    """The median (side, up) offsets [17, 2] of MediaPipe's joints, in torso lengths (zeros if unmeasured)."""
    if not OFFSETS_PATH.is_file():
        return np.zeros((17, 2))
    return np.asarray(json.loads(OFFSETS_PATH.read_text())["median"], dtype=np.float64)


def detector_like(
    keypoints: NDArray[np.floating[Any]],
    rng: np.random.Generator,
    config: NoiseConfig | None = None,
    offsets: FloatArray | None = None,
) -> FloatArray:
    """Exact 2D keypoints [T, 17, 2] (pixels) → the same as a detector might report them."""
    config = config or NoiseConfig()
    points = np.array(keypoints, dtype=np.float64)
    offsets = measured_offsets() if offsets is None else offsets
    frames = len(points)
    factor = rng.uniform(*config.offset_factor)
    jitter = rng.uniform(*config.jitter)
    for f in range(frames):
        side, up, torso, _ = body_frame(points[f])
        shift = factor * (offsets[:, :1] * side + offsets[:, 1:] * up) * torso
        points[f] += shift + rng.normal(scale=jitter * torso, size=(17, 2))
    # dropped joints: runs of frames filled by interpolation, as the tracker fills gaps
    dropped = points.copy()
    starts = rng.random((frames, 17)) < config.drop_probability
    for f, j in zip(*np.nonzero(starts), strict=True):
        dropped[f : f + rng.integers(config.drop_length[0], config.drop_length[1] + 1), j] = np.nan
    if np.isnan(dropped).any():
        filled, missing = interpolate_missing(dropped)
        lost = missing & np.isfinite(filled).all(axis=-1)
        torso_px = float(np.median(np.linalg.norm(points[:, 8] - points[:, 0], axis=-1)))
        filled[lost] += rng.normal(scale=0.05 * torso_px, size=(int(lost.sum()), 2))
        points = np.where(np.isfinite(filled), filled, points)
    return points
