"""Carrying a person through the frames at either end of their track where someone hides them.

A person who walks behind another at the start of a clip is first seen when they come out; one who walks
behind someone at the end is last seen when they go in. The tracker bridges gaps between two sightings, but
not these open ends, so the person appears out of nowhere or vanishes in mid-stride. Where the frames just
before a track's first sighting (or just after its last) put the body, moving on as it was moving, mostly
inside another tracked person's box, or further inside it than at that sighting, the track is extended
there: the nearest sighting's pose, shifted along the body's image velocity, flagged as filled and given
the tracker's gap confidence. It stops at the first frame where nobody would hide the body, after
`coast_seconds`, and at the ends of the video.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from finepose_core.detect.tracking import TrackResult

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class OcclusionConfig:
    coast_seconds: float = 0.35  # the longest a track is carried on behind someone
    covered: float = 0.2  # share of the body's box inside another person's box that counts as hidden
    deeper: float = 0.02  # … or this much more of it than at the sighting it is carried from
    velocity_frames: int = 5  # sightings the image velocity is measured over
    confidence: float = 0.2  # confidence scale of the carried frames (the tracker's gap confidence)


def _box(points: FloatArray) -> tuple[float, float, float, float] | None:
    finite = points[np.isfinite(points).all(axis=-1)]
    if len(finite) < 3:
        return None
    low, high = finite.min(axis=0), finite.max(axis=0)
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def _covered(box: tuple[float, float, float, float], other: tuple[float, float, float, float]) -> float:
    """Share of `box`'s area inside `other`."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)
    return max(width, 0.0) * max(height, 0.0) / area


def _velocity(track: TrackResult, rows: NDArray[np.int64]) -> FloatArray:
    """Image velocity (pixels a frame) of the body's centre over these rows, by a straight-line fit."""
    centres = np.array([np.nanmean(track.keypoints2d[r], axis=0) for r in rows])
    frames = track.frames[rows].astype(np.float64)
    if len(rows) < 2 or np.ptp(frames) == 0:
        return np.zeros(2)
    return np.array([np.polyfit(frames, centres[:, axis], 1)[0] for axis in range(2)])


def carried_through_occlusion(
    tracks: list[TrackResult], last_frame: int, fps: float, config: OcclusionConfig | None = None
) -> list[TrackResult]:
    """The tracks with their open ends extended where someone hides the person (see module)."""
    config = config or OcclusionConfig()
    limit = max(0, round(config.coast_seconds * fps))
    boxes: dict[int, dict[int, tuple[float, float, float, float]]] = {}
    for track in tracks:
        boxes[track.id] = {}
        for row, frame in enumerate(track.frames):
            box = _box(track.keypoints2d[row])
            if box is not None:
                boxes[track.id][int(frame)] = box
    out = []
    for track in tracks:
        seen = np.flatnonzero(~track.interpolated)
        if len(seen) == 0 or limit == 0:
            out.append(track)
            continue
        before = _carry(track, boxes, seen[: config.velocity_frames], -1, 0, limit, config)
        after = _carry(track, boxes, seen[-config.velocity_frames :], +1, last_frame, limit, config)
        out.append(_joined(track, before, after, config))
    return out


def _carry(
    track: TrackResult,
    boxes: dict[int, dict[int, tuple[float, float, float, float]]],
    rows: NDArray[np.int64],
    direction: int,
    bound: int,
    limit: int,
    config: OcclusionConfig,
) -> list[tuple[int, FloatArray]]:
    """(frame, keypoints) of the frames the track is carried through beyond one end, nearest first."""
    anchor_row = int(rows[0] if direction < 0 else rows[-1])
    anchor_frame = int(track.frames[anchor_row])
    edge = int(track.frames[0] if direction < 0 else track.frames[-1])
    if edge != anchor_frame:  # the end is already a filled frame: leave it
        return []
    velocity = _velocity(track, rows)
    pose = track.keypoints2d[anchor_row]
    at_anchor = _hidden_share(track.id, _box(pose), anchor_frame, boxes)
    carried = []
    for step in range(1, limit + 1):
        frame = anchor_frame + direction * step
        if (direction < 0 and frame < bound) or (direction > 0 and frame > bound):
            break
        moved = pose + velocity * (frame - anchor_frame)
        share = _hidden_share(track.id, _box(moved), frame, boxes)
        # hidden: mostly behind someone, or going further behind them than where last seen (a person
        # stepping behind another is lost while still half visible)
        if share < config.covered and share <= at_anchor + config.deeper:
            break
        carried.append((frame, moved))
    return carried


def _hidden_share(
    track_id: int,
    box: tuple[float, float, float, float] | None,
    frame: int,
    boxes: dict[int, dict[int, tuple[float, float, float, float]]],
) -> float:
    """The largest share of the box inside another tracked person's box at that frame (0: none)."""
    if box is None:
        return 0.0
    shares = [_covered(box, b[frame]) for tid, b in boxes.items() if tid != track_id and frame in b]
    return max(shares, default=0.0)


def _joined(
    track: TrackResult,
    before: list[tuple[int, FloatArray]],
    after: list[tuple[int, FloatArray]],
    config: OcclusionConfig,
) -> TrackResult:
    if not before and not after:
        return track
    first, last = track.confidence2d[0], track.confidence2d[-1]
    head = before[::-1]
    frames = np.concatenate([[f for f, _ in head], track.frames, [f for f, _ in after]]).astype(np.int64)
    points = np.concatenate(
        [np.zeros((0, 17, 2)) if not head else np.stack([p for _, p in head]), track.keypoints2d]
        + ([np.stack([p for _, p in after])] if after else [])
    )
    confidence = np.concatenate(
        [np.repeat(config.confidence * first[None], len(head), 0), track.confidence2d]
        + ([np.repeat(config.confidence * last[None], len(after), 0)] if after else [])
    )
    flags = np.concatenate([np.ones(len(head), bool), track.interpolated, np.ones(len(after), bool)])
    detection = (
        None
        if track.detection is None
        else np.concatenate([np.full(len(head), -1), track.detection, np.full(len(after), -1)]).astype(
            np.int64
        )
    )
    swapped = (
        None
        if track.legs_swapped is None
        else np.concatenate([np.zeros(len(head), bool), track.legs_swapped, np.zeros(len(after), bool)])
    )
    return replace(
        track,
        frames=frames,
        keypoints2d=points,
        confidence2d=confidence,
        interpolated=flags,
        detection=detection,
        legs_swapped=swapped,
    )
