"""Blending the lifter's depth with a second 3D estimate (MediaPipe's) given in its own frame and scale."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from finepose_core.geometry.depth_fusion import DepthFusionConfig, aligned_reference, fuse_depth

FRAMES = 40
HALF = DepthFusionConfig(weight=0.5)  # the reference and the lifter weigh equally


def _poses(seed: int = 0) -> np.ndarray:
    """Root-relative poses [F, 17, 3] of a body-sized point cloud moving smoothly, root at the origin."""
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=0.3, size=(17, 3))
    wave = np.sin(np.linspace(0, 3, FRAMES))[:, None, None] * rng.normal(scale=0.1, size=(1, 17, 3))
    poses = base[None] + wave
    return poses - poses[:, :1]


def _elsewhere(poses: np.ndarray) -> np.ndarray:
    """The same poses as another estimator gives them: its own orientation, scale and origin."""
    rotation = Rotation.from_euler("xyz", [20, -35, 10], degrees=True).as_matrix()
    return 0.8 * poses @ rotation.T + np.array([0.3, -0.2, 1.0])


def test_the_reference_is_brought_into_the_lifters_frame_and_scale() -> None:
    truth = _poses()
    aligned = aligned_reference(truth, _elsewhere(truth))
    np.testing.assert_allclose(aligned, truth, atol=1e-9)


def test_only_depth_moves_halfway_to_the_reference() -> None:
    truth = _poses()
    lifted = truth.copy()
    lifted[:, 1:, 2] += 0.2 * np.sign(lifted[:, 1:, 2])  # limbs at the wrong depth, x and y right
    # the reference is right; half of the lifter's depth error must go, and nothing else may change
    fused = fuse_depth(lifted, _elsewhere(truth), DepthFusionConfig(weight=0.5, smoothing_frames=0))
    np.testing.assert_allclose(fused[..., :2], lifted[..., :2], atol=1e-12)
    np.testing.assert_allclose(fused[:, 0], 0.0, atol=1e-12)  # still root-relative
    before = np.abs(lifted[..., 2] - truth[..., 2]).mean()
    after = np.abs(fused[..., 2] - truth[..., 2]).mean()
    assert before > 0.15 and 0.3 * before < after < 0.7 * before, (before, after)
    full = fuse_depth(lifted, _elsewhere(truth), DepthFusionConfig(weight=1.0, smoothing_frames=0))
    assert np.abs(full[..., 2] - truth[..., 2]).mean() < 0.3 * before


def test_weight_zero_and_missing_frames_keep_the_lifters_pose() -> None:
    lifted = _poses(1)
    reference = _elsewhere(_poses(2))
    reference[10:15] = np.nan  # frames the tracker bridged: no detection, no reference
    np.testing.assert_array_equal(fuse_depth(lifted, reference, DepthFusionConfig(weight=0.0)), lifted)
    fused = fuse_depth(lifted, reference, HALF)
    np.testing.assert_allclose(fused[10:15], lifted[10:15], atol=1e-12)
    assert np.abs(fused[:10, :, 2] - lifted[:10, :, 2]).max() > 0.01
    assert np.isfinite(fused).all()
    everything_missing = np.full_like(lifted, np.nan)
    np.testing.assert_allclose(fuse_depth(lifted, everything_missing, HALF), lifted, atol=1e-12)


def test_the_references_jitter_is_smoothed_before_it_is_blended() -> None:
    truth = _poses(3)
    noisy = truth + np.random.default_rng(4).normal(scale=0.03, size=truth.shape)
    raw = fuse_depth(truth, _elsewhere(noisy), DepthFusionConfig(weight=1.0, smoothing_frames=0))
    smooth = fuse_depth(truth, _elsewhere(noisy), DepthFusionConfig(weight=1.0, smoothing_frames=9))
    jitter = lambda poses: np.abs(np.diff(poses[..., 2], n=2, axis=0)).mean()  # noqa: E731
    assert jitter(smooth) < 0.5 * jitter(raw)
    # and smoothing does not bias it: the smoothed depths are closer to the truth than the raw ones
    assert np.abs(smooth[..., 2] - truth[..., 2]).mean() < np.abs(raw[..., 2] - truth[..., 2]).mean()


def test_bad_configs_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        DepthFusionConfig(weight=1.5)
    with pytest.raises(ValueError, match="must both be"):
        fuse_depth(np.zeros((4, 17, 3)), np.zeros((5, 17, 3)), HALF)
