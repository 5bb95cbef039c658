"""Sliding windows and blending; camera conversions and the least-squares root translation."""

from __future__ import annotations

import numpy as np
import pytest

from finepose_core.data.windows import WindowPlan
from finepose_core.geometry import camera
from finepose_core.sequence import interpolate_missing


def test_window_starts_cover_the_sequence() -> None:
    plan = WindowPlan.create(frames=100, size=27, overlap=6)
    # ⌈73 / 21⌉ + 1 = 5 windows spread evenly: overlaps of 8 or 9 frames, the last ending at frame 99
    assert plan.starts == (0, 18, 36, 55, 73)
    assert plan.starts[-1] + 27 == 100
    short = WindowPlan.create(frames=10, size=27, overlap=6)
    assert short.starts == (0,) and (short.pad_before, short.pad_after) == (8, 9)
    with pytest.raises(ValueError):
        WindowPlan.create(frames=10, size=27, overlap=27)


@pytest.mark.parametrize("frames", [5, 27, 28, 100, 301])
def test_cut_then_blend_reproduces_the_sequence(frames: int) -> None:
    sequence = np.random.default_rng(frames).normal(size=(frames, 17, 3))
    plan = WindowPlan.create(frames, 27, 6)
    windows = plan.cut(sequence)
    assert windows.shape == (plan.count, 27, 17, 3)
    np.testing.assert_allclose(plan.blend(windows), sequence, atol=1e-12)
    # with a leading hypothesis axis
    stacked = np.stack([windows, 2 * windows])
    np.testing.assert_allclose(plan.blend(stacked, axis=1)[1], 2 * sequence, atol=1e-12)


def test_short_sequences_are_edge_padded() -> None:
    sequence = np.arange(4.0)[:, None]
    windows = WindowPlan.create(4, 9, 2).cut(sequence)
    np.testing.assert_array_equal(windows[0, :, 0], [0, 0, 0, 1, 2, 3, 3, 3, 3])


def test_blending_makes_window_hand_overs_continuous() -> None:
    """Worst case: every window predicts a different constant. Without blending the sequence would step
    by the full difference (1) at each hand-over; with it, the step is spread over the overlap."""
    plan = WindowPlan.create(frames=120, size=27, overlap=9)
    values = np.arange(plan.count, dtype=np.float64)  # window w predicts w everywhere
    windows = np.repeat(values[:, None], 27, axis=1)
    blended = plan.blend(windows)
    jumps = np.abs(np.diff(blended))
    assert jumps.max() <= 1.0 / (plan.overlap + 1) + 1e-9
    assert blended[0] == 0 and blended[-1] == plan.count - 1


def test_intrinsics_and_projection() -> None:
    K = camera.intrinsics_from_fov(1920, 1080, 90.0)
    assert K[0, 0] == pytest.approx(960.0) and K[0, 2] == 960 and K[1, 2] == 540
    np.testing.assert_allclose(camera.project(np.array([1.0, 0.5, 2.0]), K), [960 + 480, 540 + 240])
    with pytest.raises(ValueError):
        camera.intrinsics_from_fov(100, 100, 0.0)


def test_screen_normalisation_round_trip() -> None:
    pixels = np.array([[0.0, 0.0], [640.0, 480.0], [320.0, 240.0]])
    normalised = camera.normalize_screen(pixels, 640, 480)
    np.testing.assert_allclose(normalised, np.array([[-1, -0.75], [1, 0.75], [0, 0]]))
    np.testing.assert_allclose(camera.unnormalize_screen(normalised, 640, 480), pixels)


def test_root_translation_is_recovered_exactly_from_exact_2d() -> None:
    rng = np.random.default_rng(1)
    pose = rng.normal(scale=0.3, size=(6, 17, 3))
    pose -= pose[:, :1]
    translation = np.column_stack([rng.uniform(-1, 1, 6), rng.uniform(-0.5, 0.5, 6), rng.uniform(3, 9, 6)])
    K = camera.intrinsics_from_fov(1280, 720, 70)
    pixels = camera.project(pose + translation[:, None], K)
    np.testing.assert_allclose(camera.estimate_root_translation(pose, pixels, K), translation, atol=1e-6)
    # unknown joints are left out; a frame with under two known joints has no answer
    pixels[0, 3:] = np.nan
    pixels[1, 1:] = np.nan
    estimate = camera.estimate_root_translation(pose, pixels, K)
    np.testing.assert_allclose(estimate[0], translation[0], atol=1e-6)
    assert np.isnan(estimate[1]).all()


def test_interpolate_missing() -> None:
    sequence = np.zeros((5, 2, 2))
    sequence[:, 0, 0] = [np.nan, 1.0, np.nan, 3.0, np.nan]
    sequence[:, 1] = np.nan
    filled, missing = interpolate_missing(sequence)
    np.testing.assert_allclose(filled[:, 0, 0], [1, 1, 2, 3, 3])
    np.testing.assert_array_equal(missing[:, 0], [True, False, True, False, True])
    assert np.isnan(filled[:, 1]).all()
