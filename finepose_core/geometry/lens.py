"""The lens's focal length from the people, when the user gives none.

With the lifter's metric body, a focal length f places each person at depth Z = f · size / pixels; the
sideways and vertical positions do not depend on f, but every distance along the optical axis scales with
it. A wrong f therefore stretches a walk's depth travel while the legs keep their metric stride, and a
foot that stands still in the image slides towards or away from the camera in 3D. So the focal length is
the one under which the feet that are planted (still in the image) stay put in 3D: each candidate f
re-places the people (root by least squares, as in placement) and is scored by how far their planted
ankles wander about each contact's median position, in units of f (the lifter's own errors move a root's
depth in proportion to the depth, so they weigh alike for every candidate).

People who stand still, or move only across the image, do not tell f apart: the score is then flat, the
estimate is reported as unsure, and the default field of view stays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finepose_core.geometry.camera import (
    focal_from_fov,
    from_virtual,
    intrinsics_from_focal,
    person_rotations,
    to_virtual,
)
from finepose_core.geometry.feet import ANKLES, FeetConfig, mask_runs, still_ankles
from finepose_core.geometry.placement import root_translations

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LensConfig:
    min_fov_deg: float = 25.0  # horizontal field of view searched
    max_fov_deg: float = 110.0
    candidates: int = 29  # focal lengths tried, evenly in log f
    min_contact_frames: int = 20  # planted-ankle frames needed at all
    # the focal lengths whose score is within this share of the best one are "as good": their spread is
    # the estimate's uncertainty
    tolerance: float = 0.5
    sure_within: float = 0.2  # relative uncertainty up to which the estimate replaces the default
    # which ankles count as planted: stricter than placement's (which would rather hold a foot too many),
    # since a swinging foot taken for a planted one pulls the estimate
    still: FeetConfig = field(default_factory=lambda: FeetConfig(smoothing_seconds=0.05, both_still_2d=0.1))


@dataclass(frozen=True)
class LensEstimate:
    focal_px: float
    uncertainty: float  # relative: the focal lengths scoring as well lie within focal × (1 ± this)
    sure: bool
    frames: int  # the person-frames it rests on
    method: str = "planted feet"  # or "horizon" (geometry/horizon.py), or both joined by " + "


@dataclass(frozen=True)
class PersonSample:
    """One run of consecutive frames of one person: the lifted root-relative joints [F, 17, 3] in the
    camera's orientation under `K`, the 2D [F, 17, 2] and its confidence [F, 17]."""

    joints: FloatArray
    keypoints2d: FloatArray
    confidence: FloatArray | None


def reoriented(sample: PersonSample, K_old: FloatArray, K_new: FloatArray) -> FloatArray:
    """The lifted pose as it would come out with intrinsics K_new: the lifter predicts in a virtual camera
    looking straight at the pelvis, whose rotation from the real camera depends on the intrinsics."""
    return from_virtual(_virtual(sample, K_old), person_rotations(sample.keypoints2d, K_new))


def _virtual(sample: PersonSample, K: FloatArray) -> FloatArray:
    """The lifted pose in the virtual cameras it was predicted in, under intrinsics K."""
    return to_virtual(sample.joints, person_rotations(sample.keypoints2d, K))


def _wander(joints: FloatArray, still: NDArray[np.bool_]) -> tuple[float, int]:
    """Sum of squared distances of planted ankles from each contact's median, and the frames counted."""
    total, count = 0.0, 0
    for side, ankle in enumerate(ANKLES):
        for start, end in mask_runs(still[:, side]):
            points = joints[start:end, ankle]
            total += float(np.sum((points - np.median(points, axis=0)) ** 2))
            count += end - start
    return total, count


def estimate_focal(
    samples: list[PersonSample],
    K: NDArray[np.floating[Any]],
    image_size: tuple[int, int],
    fps: float,
    config: LensConfig | None = None,
) -> LensEstimate | None:
    """The focal length (pixels) under which the planted feet stay put; None without planted feet."""
    config = config or LensConfig()
    K_old = np.asarray(K, dtype=np.float64)
    width, height = image_size
    still = [still_ankles(s.keypoints2d, s.confidence, fps, config.still) for s in samples]
    frames = sum(int(mask.sum()) for mask in still)
    if frames < config.min_contact_frames:
        return None
    focals = np.geomspace(
        focal_from_fov(width, config.max_fov_deg),
        focal_from_fov(width, config.min_fov_deg),
        config.candidates,
    )
    virtual = [_virtual(sample, K_old) for sample in samples]  # what the lifter predicted, once
    scores = np.zeros(len(focals))
    for i, focal in enumerate(focals):
        K_new = intrinsics_from_focal(width, height, float(focal))
        total, count = 0.0, 0
        for sample, mask, pose in zip(samples, still, virtual, strict=True):
            if not mask.any():
                continue
            relative = from_virtual(pose, person_rotations(sample.keypoints2d, K_new))
            try:
                root = root_translations(relative, sample.keypoints2d, K_new, sample.confidence, fps)
            except ValueError:
                continue
            part, n = _wander(relative + root[:, None], mask)
            total, count = total + part, count + n
        # the lifter's own errors move a root's depth in proportion to the depth, which grows with f: in
        # units of f the noise is the same for every candidate, and only the slide a wrong f causes differs
        scores[i] = total / max(count, 1) / focal**2
    best = int(np.argmin(scores))
    good = focals[scores <= scores[best] * (1 + config.tolerance)]
    step = float(focals[1] / focals[0]) - 1  # the grid's resolution
    uncertainty = max(float(max(good.max() / focals[best] - 1, 1 - good.min() / focals[best])), step / 2)
    at_edge = best in (0, len(focals) - 1)
    sure = not at_edge and uncertainty <= config.sure_within
    return LensEstimate(float(focals[best]), uncertainty, sure, frames)


def combined(estimates: list[LensEstimate | None]) -> LensEstimate | None:
    """One focal length from several ways of estimating it: the sure ones averaged in log f, weighted by
    their inverse squared uncertainties; where none is sure, the least unsure (for the user's warning)."""
    found = [e for e in estimates if e is not None]
    sure = [e for e in found if e.sure]
    if not sure:
        return min(found, key=lambda e: e.uncertainty, default=None)
    if len(sure) == 1:
        return sure[0]
    weights = np.array([1.0 / max(e.uncertainty, 1e-3) ** 2 for e in sure])
    log_focal = float(np.sum(weights * np.log([e.focal_px for e in sure])) / weights.sum())
    return LensEstimate(
        math.exp(log_focal),
        float(1.0 / math.sqrt(weights.sum())),
        True,
        max(e.frames for e in sure),
        " + ".join(e.method for e in sure),
    )
