"""Turning H pose hypotheses into one pose, without ground truth; and the per-joint uncertainty.

- `jpma`: joint-wise reprojection-based aggregation (D3DP, FinePOSE eq. 6): for each joint, the
  hypothesis whose reprojection lies nearest the input 2D keypoint. The root translation needed to
  reproject is estimated from the 2D keypoints and the mean hypothesis by least squares with the known
  or estimated intrinsics (no ground truth anywhere).
- `mean`, `median`: per-joint mean and coordinate-wise median of the hypotheses.
- `oracle_joint_best`: per joint, the hypothesis nearest the GROUND TRUTH. It is what FinePOSE and D3DP
  report as J-Best; it cannot run at inference and belongs only to evaluation, labelled "oracle".
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from finepose_core.geometry.camera import estimate_root_translation, project

FloatArray = NDArray[np.float64]
METHODS: Final = ("jpma", "mean", "median")


def mean(hypotheses: NDArray[np.floating[Any]]) -> FloatArray:
    """[H, F, J, 3] → [F, J, 3]."""
    return np.asarray(np.mean(hypotheses, axis=0), dtype=np.float64)


def median(hypotheses: NDArray[np.floating[Any]]) -> FloatArray:
    return np.asarray(np.median(hypotheses, axis=0), dtype=np.float64)


def uncertainty(hypotheses: NDArray[np.floating[Any]]) -> FloatArray:
    """Spread of the hypotheses per joint, metres [F, J]: RMS distance to their mean (0 when H = 1)."""
    h = np.asarray(hypotheses, dtype=np.float64)
    return np.asarray(np.sqrt(np.mean(np.sum((h - h.mean(axis=0)) ** 2, axis=-1), axis=0)))


def _pick_per_joint(hypotheses: FloatArray, distances: FloatArray) -> FloatArray:
    """For each frame and joint the hypothesis with the smallest distance [H, F, J]."""
    best = np.argmin(distances, axis=0)  # [F, J]
    return np.asarray(np.take_along_axis(hypotheses, best[None, ..., None], axis=0)[0])


def jpma(
    hypotheses: NDArray[np.floating[Any]],
    keypoints2d: NDArray[np.floating[Any]],
    K: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None = None,
) -> FloatArray:
    """Root-relative hypotheses [H, F, J, 3], pixels [F, J, 2], intrinsics [3, 3] → [F, J, 3]."""
    h = np.asarray(hypotheses, dtype=np.float64)
    translation = estimate_root_translation(mean(h), keypoints2d, K, confidence)  # [F, 3]
    known = np.isfinite(translation).all(axis=-1)
    translation = np.where(known[:, None], translation, 0.0)
    reprojected = project(h + translation[None, :, None, :], K)  # [H, F, J, 2]
    distances = np.linalg.norm(reprojected - np.asarray(keypoints2d, dtype=np.float64)[None], axis=-1)
    # Where the 2D or the placement is unknown there is nothing to compare: fall back to the mean.
    distances = np.where(np.isfinite(distances) & known[None, :, None], distances, np.inf)
    picked = _pick_per_joint(h, distances)
    undecided = ~np.isfinite(distances).any(axis=0)
    return np.where(undecided[..., None], mean(h), picked)


def oracle_joint_best(
    hypotheses: NDArray[np.floating[Any]], ground_truth: NDArray[np.floating[Any]]
) -> FloatArray:
    """ORACLE (evaluation only): per joint, the hypothesis nearest the ground truth [F, J, 3]."""
    h = np.asarray(hypotheses, dtype=np.float64)
    distances = np.linalg.norm(h - np.asarray(ground_truth, dtype=np.float64)[None], axis=-1)
    return _pick_per_joint(h, distances)


def aggregate(
    method: str,
    hypotheses: NDArray[np.floating[Any]],
    keypoints2d: NDArray[np.floating[Any]] | None = None,
    K: NDArray[np.floating[Any]] | None = None,
    confidence: NDArray[np.floating[Any]] | None = None,
) -> FloatArray:
    if method == "jpma":
        if keypoints2d is None or K is None:
            raise ValueError("JPMA needs the 2D keypoints in pixels and the intrinsics K")
        return jpma(hypotheses, keypoints2d, K, confidence)
    if method == "mean":
        return mean(hypotheses)
    if method == "median":
        return median(hypotheses)
    raise ValueError(f"unknown aggregation {method!r}; use one of {', '.join(METHODS)}")
