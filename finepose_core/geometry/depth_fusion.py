"""Depth from two estimates: the lifter's, and MediaPipe's own 3D, which sees the image.

The lifter sees only 2D keypoints, so how far a limb reaches towards or away from the camera is ambiguous
to it: a fighting stance's forward leg and a leg tilted back project alike. MediaPipe's pose world
landmarks come from a network that looks at the pixels (shading, occlusion, foreshortening) and carry
depth cues the keypoints lost. Its 3D is noisier in every other respect, so only the depth is blended:

1. MediaPipe's root-relative pose is moved onto the lifted pose by the per-frame similarity transform
   (rotation, scale, translation) that fits it best, so both are in the lifter's frame and scale;
2. the aligned reference is smoothed over time (Savitzky–Golay over each run of frames that have it),
   because MediaPipe's per-frame 3D jitters and keyframes should not;
3. each joint's depth (camera z) becomes the weighted mean of the two; x and y stay the lifter's, which
   the 2D pins down; the pose is re-centred on its root.

Frames without a reference (a gap the tracker bridged) keep the lifter's pose.

The weight is a job option (`JobOptions.mediapipe_depth`, where its default is defined); the default was
chosen on rendered validation video (benchmarks/depth_weight.py; the sweep is in docs/accuracy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.signal import savgol_filter

from finepose_core.geometry.procrustes import procrustes
from finepose_core.sequence import consecutive_runs

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class DepthFusionConfig:
    weight: float  # the reference's share of each joint's depth; 0: the lifter alone, 1: the reference
    smoothing_frames: int = 9  # Savitzky–Golay window for the aligned reference (odd; 0 or 1: none)
    smoothing_order: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"the depth-fusion weight must be within [0, 1], got {self.weight}")
        if self.smoothing_frames < 0:
            raise ValueError("smoothing_frames must be ≥ 0")


def _smoothed(poses: FloatArray, present: NDArray[np.bool_], config: DepthFusionConfig) -> FloatArray:
    out = poses.copy()
    rows = np.flatnonzero(present)
    for run in consecutive_runs(rows):
        window = min(config.smoothing_frames, run.stop - run.start)
        window -= 1 - window % 2  # odd
        if window > config.smoothing_order:
            out[rows[run]] = savgol_filter(poses[rows[run]], window, config.smoothing_order, axis=0)
    return out


def aligned_reference(lifted: NDArray[np.floating[Any]], reference: NDArray[np.floating[Any]]) -> FloatArray:
    """The reference [F, J, 3] moved per frame onto the lifted poses [F, J, 3]; NaN frames stay NaN."""
    lifted = np.asarray(lifted, np.float64)
    reference = np.asarray(reference, np.float64)
    if lifted.shape != reference.shape or lifted.ndim != 3 or lifted.shape[-1] != 3:
        raise ValueError(f"lifted {lifted.shape} and reference {reference.shape} must both be [F, J, 3]")
    present = np.isfinite(reference).all(axis=(1, 2))
    out = np.full_like(lifted, np.nan)
    if present.any():
        transform = procrustes(reference[present], lifted[present], with_scale=True)
        out[present] = transform.apply(reference[present])
    return out


def fuse_depth(
    lifted: NDArray[np.floating[Any]],
    reference: NDArray[np.floating[Any]],
    config: DepthFusionConfig,
) -> FloatArray:
    """Root-relative poses [F, J, 3] whose depth blends the lifter's with the reference's (see module)."""
    lifted = np.asarray(lifted, np.float64)
    if config.weight == 0.0:
        return lifted.copy()
    aligned = aligned_reference(lifted, reference)
    present = np.isfinite(aligned).all(axis=(1, 2))
    if config.smoothing_frames > 1:
        aligned = _smoothed(aligned, present, config)
    fused = lifted.copy()
    fused[present, :, 2] = (1 - config.weight) * lifted[present, :, 2] + config.weight * aligned[
        present, :, 2
    ]
    return np.asarray(fused - fused[:, :1])
