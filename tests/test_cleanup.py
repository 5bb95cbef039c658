"""Cleaning a tracked person's 2D over time: legs the detector swapped are put back, jumps filled in."""

from __future__ import annotations

import numpy as np

from finepose_core.detect.cleanup import (
    CleanupConfig,
    clean,
    clean_track,
    jumps,
    untangle_legs,
    with_legs_swapped,
)
from finepose_core.detect.tracking import TrackResult
from finepose_core.pipeline import _reference_poses

FRAMES = 90
FPS = 30.0
RIGHT_LEG, LEFT_LEG = (1, 2, 3), (4, 5, 6)


def _side_walk(seed: int = 0) -> np.ndarray:
    """2D [F, 17, 2] of a person about 300 px tall walking across a side view: the legs swing past each
    other twice a stride, so in the image they cross (the case a swap detector must not be fooled by)."""
    rng = np.random.default_rng(seed)
    t = np.arange(FRAMES)
    hip_x = 150 + 3.0 * t
    swing = np.sin(2 * np.pi * t / FPS)
    pose = np.zeros((FRAMES, 17, 2))
    heights = [200, 200, 280, 360, 200, 280, 360, 150, 100, 80, 60, 105, 150, 190, 105, 150, 190]
    pose[..., 1] = heights
    pose[..., 0] = hip_x[:, None]
    for leg, sign in ((RIGHT_LEG, 1.0), (LEFT_LEG, -1.0)):
        pose[:, leg[1], 0] += sign * 40 * swing  # knee
        pose[:, leg[2], 0] += sign * 70 * swing  # ankle
    for arm, sign in (((12, 13), 1.0), ((15, 16), -1.0)):
        pose[:, arm[0], 0] -= sign * 20 * swing
        pose[:, arm[1], 0] -= sign * 35 * swing
    return pose + rng.normal(0, 1.0, pose.shape)


def test_swapped_legs_are_found_and_put_back_while_legs_that_cross_in_the_image_are_left() -> None:
    truth = _side_walk()
    detected = truth.copy()
    flipped = np.zeros(FRAMES, bool)
    flipped[[20, 21, 22, 23, 51, 52]] = True  # the legs are far apart there (over 100 px)
    detected = with_legs_swapped(detected, flipped)
    # where the legs pass each other (under 10 px apart) either labelling is right and the choice is
    # the noise's; everywhere else it must be the true one
    apart = np.linalg.norm(truth[:, 3] - truth[:, 6], axis=-1) > 10
    found = untangle_legs(detected)
    assert np.array_equal(found[apart], flipped[apart])
    # the legs cross in the image every half stride; as detected, nothing is swapped where they are apart
    assert not untangle_legs(truth)[apart].any()
    cleaned = clean(detected, np.ones((FRAMES, 17)))
    assert np.abs(cleaned.keypoints2d - truth).max() < 10.0
    assert np.median(np.abs(cleaned.keypoints2d - truth)) < 1.0


def test_a_frame_with_somebody_elses_legs_is_filled_in_and_does_not_start_a_run_of_swaps() -> None:
    truth = _side_walk(1)
    detected = truth.copy()
    detected[40, [2, 3, 5, 6], 0] += 150  # both legs wrong whichever way round: another person's
    confidence = np.full((FRAMES, 17), 0.9)
    cleaned = clean(detected, confidence)
    assert np.flatnonzero(cleaned.legs_swapped).tolist() in ([], [40])  # that frame at most, no run
    assert cleaned.outliers[40, [2, 3, 5, 6]].all()
    # besides it, at most a few leg joints whose median the bad frame pulled, filled in as well
    assert cleaned.outliers.sum() <= 8 and not cleaned.outliers[:, 7:].any()
    assert np.abs(cleaned.keypoints2d - truth).max() < 10.0
    assert np.allclose(cleaned.confidence2d[40, [2, 3, 5, 6]], 0.45)
    assert np.allclose(cleaned.confidence2d[30], 0.9)


def test_a_leg_that_wanders_at_the_end_does_not_turn_the_legs_round() -> None:
    """The right knee and ankle scattered by 25 px (a 300 px body) over a track's last half second, as
    MediaPipe's points of a leg hidden behind the other wander, confidently: the legs as detected are the
    right way round and must stay so. Overruling the detector at 0.3 a frame, the pass turned the last 14
    frames round on two of these six walks (measured); at the default, on none."""
    cheap_runs = 0
    for seed in range(6):
        truth = _side_walk(seed)
        detected = truth.copy()
        last = slice(FRAMES - 15, FRAMES)
        rng = np.random.default_rng(seed)
        for joint in (2, 3):  # the right knee, the right ankle
            detected[last, joint] += rng.normal(0, 25, (15, 2))
        apart = np.linalg.norm(truth[:, 3] - truth[:, 6], axis=-1) > 10
        assert not untangle_legs(detected)[apart].any()
        cheap_runs += int(untangle_legs(detected, CleanupConfig(swap_cost=0.3))[apart].sum() >= 10)
    assert cheap_runs >= 1


def test_fast_smooth_motion_is_not_taken_for_a_jump() -> None:
    pose = _side_walk(2)
    pose[:, 16, 0] += 20.0 * np.arange(FRAMES)  # a wrist sweeping 20 px a frame
    assert not jumps(pose)[:, 16].any()


def test_a_track_is_cleaned_run_by_run_and_the_detectors_3d_follows_its_swaps() -> None:
    truth = _side_walk(3)
    frames = np.r_[np.arange(0, 45), np.arange(60, 105)]  # a gap the tracker did not bridge
    flipped = np.zeros(FRAMES, bool)
    flipped[[10, 11, 70, 71]] = True
    track = TrackResult(
        id=1,
        frames=frames,
        keypoints2d=with_legs_swapped(truth, flipped),
        confidence2d=np.ones((FRAMES, 17)),
        interpolated=np.zeros(FRAMES, bool),
        detection=np.zeros(FRAMES, np.int64),
    )
    cleaned = clean_track(track)
    apart = np.linalg.norm(truth[:, 3] - truth[:, 6], axis=-1) > 10
    assert cleaned.legs_swapped is not None
    assert np.array_equal(cleaned.legs_swapped[apart], flipped[apart])
    assert np.abs(cleaned.keypoints2d - truth).max() < 10.0
    assert cleaned.keypoints2d.shape == truth.shape
    # the detector's own 3D of a frame whose legs were swapped is read the same way round
    references = [np.zeros((1, 17, 3)) for _ in range(int(frames[-1]) + 1)]
    for frame in range(len(references)):
        references[frame][0, 3] = [0.1, 0.9, 0.0]  # the detector's right ankle
        references[frame][0, 6] = [-0.1, 0.9, 0.0]
    poses = _reference_poses(cleaned, references)
    assert poses[70, 3, 0] == -0.1 and poses[70, 6, 0] == 0.1  # swapped (frame 85)
    assert poses[5, 3, 0] == 0.1 and poses[5, 6, 0] == -0.1  # as detected
