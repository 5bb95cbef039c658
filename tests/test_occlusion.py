"""Carrying a track's open ends through the frames where another person hides the body."""

from __future__ import annotations

import numpy as np

from finepose_core.detect.occlusion import OcclusionConfig, carried_through_occlusion
from finepose_core.detect.tracking import TrackResult


def _body(centre_x: float, centre_y: float, height: float) -> np.ndarray:
    """17 points spread over a box `height` tall and a third as wide, centred there."""
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-0.5, 0.5, size=(17, 2)) * np.array([height / 3, height])
    offsets[0] = (-height / 6, -height / 2)  # corners, so the box is exactly that size
    offsets[1] = (height / 6, height / 2)
    return np.array([centre_x, centre_y]) + offsets


def _track(track_id: int, frames: range, x0: float, speed: float, height: float) -> TrackResult:
    frame_array = np.array(list(frames), dtype=np.int64)
    points = np.stack([_body(x0 + speed * f, 240.0, height) for f in frame_array])
    return TrackResult(
        id=track_id,
        frames=frame_array,
        keypoints2d=points,
        confidence2d=np.full((len(frame_array), 17), 0.9),
        interpolated=np.zeros(len(frame_array), bool),
        detection=np.zeros(len(frame_array), dtype=np.int64),
    )


def test_a_person_coming_out_from_behind_someone_is_carried_back_to_the_start() -> None:
    # a big person in front, standing at x = 300 (box 100 px wide), seen throughout; a smaller one walking
    # right at 4 px a frame behind them, first seen at frame 12 (x = 290 + 48), last at frame 60
    front = _track(0, range(0, 90), 300.0, 0.0, 300.0)
    behind = _track(1, range(12, 61), 290.0, 4.0, 200.0)
    out = {t.id: t for t in carried_through_occlusion([front, behind], 89, 30.0)}
    carried = out[1]
    # 0.35 s at 30 fps: ten frames back (2–11), all hidden behind the big body
    assert carried.frames[0] == 2 and carried.frames[-1] >= 60
    head = carried.interpolated[:10]
    assert head.all() and not carried.interpolated[10]
    # the carried poses keep walking at the track's pace, with the gap confidence
    centres = carried.keypoints2d[:11].mean(axis=1)[:, 0]
    assert np.allclose(np.diff(centres), 4.0)
    assert np.allclose(carried.confidence2d[:10], 0.2 * 0.9)
    assert carried.detection is not None and (carried.detection[:10] == -1).all()
    # its other end: at frame 60 it is at x = 530, well clear of the front person: nothing added there
    assert carried.frames[-1] == 60
    # the front person, never hidden, is unchanged
    assert np.array_equal(out[0].frames, front.frames)


def test_nobody_in_front_means_no_carrying_and_the_video_bounds_hold() -> None:
    alone = _track(0, range(5, 40), 100.0, 3.0, 200.0)
    assert np.array_equal(carried_through_occlusion([alone], 39, 30.0)[0].frames, alone.frames)
    # hidden at its end, but the video ends two frames after its last sighting
    front = _track(1, range(0, 42), 215.0, 0.0, 300.0)
    behind = _track(2, range(0, 40), 100.0, 3.0, 200.0)
    out = {t.id: t for t in carried_through_occlusion([front, behind], 41, 30.0)}
    assert out[2].frames[-1] == 41 and out[2].interpolated[-2:].all()
    # switched off by a zero duration
    off = carried_through_occlusion([front, behind], 41, 30.0, OcclusionConfig(coast_seconds=0.0))
    assert np.array_equal(off[1].frames, behind.frames)
