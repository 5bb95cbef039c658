"""A tracked person's 2D keypoints cleaned over time before they are lifted.

MediaPipe looks at each frame on its own. Two of its mistakes are plain once frames are seen in a row:

- **Legs swapped.** Seen from the side, or half hidden behind someone, it sometimes calls the left leg
  the right one for a few frames. The lifter then swings both legs across the body in one frame, and the
  planted foot seems to jump, so no contact is found on it. Which leg is which is decided over the whole
  track at once (a two-state Viterbi pass): each frame keeps or swaps the knees and ankles, paying for
  every pixel its legs jump from the frame before and a little for overruling the detector. A frame whose
  legs are wrong whichever way round (the other person's legs, a collapsed skeleton) pays a capped cost
  both ways, so it cannot drag a run of good frames into a swap.
- **Jumps.** A joint that leaves the course of its neighbours in time for a frame or three (far from their
  running median, in body heights) is taken out, filled in from its neighbours, and its confidence
  halved.

The thresholds were chosen on the validation scenes' tracks against their 2D ground truth
(docs/validation-video.md#the-2d-cleanup).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter

from finepose_core.detect.tracking import TrackResult
from finepose_core.sequence import consecutive_runs, interpolate_missing
from finepose_core.skeleton import H36M_INDEX

FloatArray = NDArray[np.float64]
# the right and left knee and ankle (Human3.6M-17): what a swap exchanges
LEG_PAIRS = ((H36M_INDEX["RKnee"], H36M_INDEX["LKnee"]), (H36M_INDEX["RAnkle"], H36M_INDEX["LAnkle"]))


@dataclass(frozen=True)
class CleanupConfig:
    # a leg point's jump between frames is measured in this share of the body's height and costs its
    # square in those units
    jump_scale: float = 0.05
    jump_cap: float = 9.0  # the most one point's jump can cost (three units): a bad frame says little
    swap_cost: float = 2.0  # for overruling the detector's left and right in one frame
    # a joint this far (body heights) from the median of its track over `median_frames` frames is a jump
    outlier_share: float = 0.04
    median_frames: int = 7
    outlier_confidence: float = 0.5  # the filled joint's confidence, as a share of the detector's


@dataclass(frozen=True)
class Cleaned:
    keypoints2d: FloatArray  # [F, 17, 2]
    confidence2d: FloatArray  # [F, 17]
    legs_swapped: NDArray[np.bool_]  # [F]
    outliers: NDArray[np.bool_]  # [F, 17]


def _body_height(points: FloatArray) -> float:
    spans = np.ptp(points[..., 1], axis=1)
    spans = spans[np.isfinite(spans)]
    return float(np.median(spans)) if len(spans) else 0.0


def with_legs_swapped(points: NDArray[np.floating[Any]], frames: NDArray[np.bool_]) -> FloatArray:
    """`points` [F, 17, D] with the knees and ankles of the flagged frames exchanged left for right."""
    out = np.array(points, dtype=np.float64)
    for right, left in LEG_PAIRS:
        out[frames, right], out[frames, left] = out[frames, left], out[frames, right].copy()
    return out


def untangle_legs(
    points: NDArray[np.floating[Any]], config: CleanupConfig | None = None
) -> NDArray[np.bool_]:
    """[F] the frames of consecutive 2D poses [F, 17, 2] whose legs should be swapped to run on smoothly.
    A frame with fewer than two of its knees and ankles known keeps the detector's labelling.

    The detector's confidence is not consulted: legs half hidden behind another person are the ones it
    swaps, and it gives them little confidence (on the validation scenes, leaving legs under 0.5 alone
    kept most of the swaps of the person passing behind)."""
    config = config or CleanupConfig()
    pose = np.asarray(points, dtype=np.float64)
    frames = len(pose)
    height = _body_height(pose)
    if frames < 2 or not height > 0:
        return np.zeros(frames, bool)
    legs = [index for pair in LEG_PAIRS for index in pair]
    everywhere = np.ones(frames, bool)
    # [2, F, 4, 2]: the leg points as detected and swapped
    labellings = np.stack([pose[:, legs], with_legs_swapped(pose, everywhere)[:, legs]])
    scale = config.jump_scale * height
    # cost[a, b, t]: frame t − 1 labelled a, frame t labelled b; an unknown point costs nothing
    jumps = np.linalg.norm(labellings[None, :, 1:] - labellings[:, None, :-1], axis=-1) / scale
    step = np.nansum(np.minimum(jumps**2, config.jump_cap), axis=-1)
    known = np.isfinite(pose[:, legs]).all(axis=-1).sum(axis=-1) >= 2
    unary = np.zeros((frames, 2))
    unary[:, 1] = np.where(known, config.swap_cost, np.inf)
    total = unary[0].copy()
    back = np.zeros((frames, 2), np.int64)
    for t in range(1, frames):
        options = total[:, None] + step[:, :, t - 1]
        back[t] = np.argmin(options, axis=0)
        total = options[back[t], [0, 1]] + unary[t]
    state = np.zeros(frames, np.int64)
    state[-1] = int(np.argmin(total))
    for t in range(frames - 1, 0, -1):
        state[t - 1] = back[t, state[t]]
    return state.astype(bool)


def jumps(points: NDArray[np.floating[Any]], config: CleanupConfig | None = None) -> NDArray[np.bool_]:
    """[F, 17] the joints of consecutive 2D poses [F, 17, 2] that leave their neighbours' course for a few
    frames."""
    config = config or CleanupConfig()
    pose = np.asarray(points, dtype=np.float64)
    height = _body_height(pose)
    if len(pose) < config.median_frames or not height > 0:
        return np.zeros(pose.shape[:2], bool)
    course = median_filter(pose, size=(config.median_frames, 1, 1), mode="nearest")
    away = np.linalg.norm(pose - course, axis=-1)
    return np.asarray(np.isfinite(away) & (away > config.outlier_share * height))


def clean(
    points: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]],
    config: CleanupConfig | None = None,
) -> Cleaned:
    """Consecutive 2D poses [F, 17, 2] and their confidence [F, 17] with swapped legs put back and jumps
    filled in from their neighbours."""
    config = config or CleanupConfig()
    swapped = untangle_legs(points, config)
    pose = with_legs_swapped(points, swapped)
    trust = with_legs_swapped(np.asarray(confidence, dtype=np.float64)[..., None], swapped)[..., 0]
    outliers = jumps(pose, config)
    # a joint known in fewer than two other frames has nothing to be filled in from: it stays as it is
    outliers &= (~outliers & np.isfinite(pose).all(axis=-1)).sum(axis=0) >= 2
    filled, _ = interpolate_missing(np.where(outliers[..., None], np.nan, pose))
    pose[outliers] = filled[outliers]
    trust[outliers] *= config.outlier_confidence
    return Cleaned(pose, trust, swapped, outliers)


def clean_track(track: TrackResult, config: CleanupConfig | None = None) -> TrackResult:
    """The track with its keypoints cleaned run by run of consecutive frames (nothing is carried across a
    gap the tracker did not bridge) and the frames whose legs were swapped marked."""
    config = config or CleanupConfig()
    pieces = [
        clean(track.keypoints2d[run], track.confidence2d[run], config)
        for run in consecutive_runs(track.frames)
    ]
    return replace(
        track,
        keypoints2d=np.concatenate([p.keypoints2d for p in pieces]),
        confidence2d=np.concatenate([p.confidence2d for p in pieces]),
        legs_swapped=np.concatenate([p.legs_swapped for p in pieces]),
    )
