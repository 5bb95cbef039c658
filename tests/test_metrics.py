"""Metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from finepose_core import metrics
from finepose_core.geometry.procrustes import procrustes


def _pose(seed: int = 0, frames: int = 1) -> NDArray[np.float64]:
    return np.random.default_rng(seed).normal(scale=0.3, size=(frames, 17, 3))


def test_mpjpe_by_hand() -> None:
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[0.3, 0.4, 0.0], [0.0, 0.0, 0.1]]])  # errors 0.5 and 0.1
    assert metrics.mpjpe(pred, gt) == pytest.approx(0.3)
    np.testing.assert_allclose(metrics.joint_errors(pred, gt), [[0.5, 0.1]])


def test_rotated_scaled_translated_copy_has_zero_p_mpjpe() -> None:
    gt = _pose(frames=3)
    rotation = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()
    pred = 1.7 * gt @ rotation.T + np.array([0.5, -2.0, 4.0])
    assert metrics.mpjpe(pred, gt) > 0.5
    assert metrics.p_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-9)
    transform = procrustes(pred, gt)
    np.testing.assert_allclose(transform.scale, 1 / 1.7)
    np.testing.assert_allclose(np.linalg.det(transform.rotation), 1.0)


def test_mirror_image_is_not_aligned_away() -> None:
    """Procrustes must not use a reflection: a mirrored pose is a different pose."""
    gt = _pose(seed=3)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert metrics.p_mpjpe(mirrored, gt) > 0.02
    transform = procrustes(mirrored, gt)
    np.testing.assert_allclose(np.linalg.det(transform.rotation), 1.0)


def test_p_mpjpe_by_hand() -> None:
    # Two joints at ±1 on x; prediction at ±2 on x shifted by 5 on y: similarity alignment is exact.
    gt = np.array([[[-1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]]])
    pred = np.array([[[-2.0, 5, 0], [2.0, 5, 0], [0, 7.0, 0]]])
    assert metrics.p_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-12)
    # Squash the third joint onto the origin. By hand: centroids (0,0,0) and (0,1/3,0); the cross-covariance
    # is diag(2, 0, 0), so R = I, s = 2/2 = 1 and t = (0,1/3,0); the aligned joints sit at y = 1/3 and
    # miss by 1/3, 1/3 and 2/3: P-MPJPE = 4/9. Least squares can exceed the unaligned MPJPE (1/3).
    pred2 = np.array([[[-1.0, 0, 0], [1.0, 0, 0], [0, 0.0, 0]]])
    assert metrics.mpjpe(pred2, gt) == pytest.approx(1 / 3)
    assert metrics.p_mpjpe(pred2, gt) == pytest.approx(4 / 9)
    np.testing.assert_allclose(metrics.procrustes_aligned(pred2, gt)[0, :, 1], [1 / 3] * 3, atol=1e-12)


def test_n_mpjpe_removes_scale_only() -> None:
    gt = _pose(seed=1, frames=2)
    assert metrics.n_mpjpe(0.5 * gt, gt) == pytest.approx(0.0, abs=1e-12)
    # s = <p,g>/<p,p>; p = [1,0,0], g = [2,1,0] → s = 2, residual |[0,1,0]| = 1
    pred = np.array([[[1.0, 0, 0]]])
    gt1 = np.array([[[2.0, 1, 0]]])
    assert metrics.n_mpjpe(pred, gt1) == pytest.approx(1.0)
    # translation is not removed
    assert metrics.n_mpjpe(gt + np.array([0, 0, 1.0]), gt) > 0.1


def test_velocity_and_acceleration_errors_by_hand() -> None:
    gt = np.zeros((4, 1, 3))
    pred = np.zeros((4, 1, 3))
    pred[:, 0, 0] = [0.0, 0.1, 0.3, 0.6]  # velocities 0.1 0.2 0.3, accelerations 0.1 0.1
    assert metrics.mpjve(pred, gt) == pytest.approx(0.2)
    assert metrics.acceleration_error(pred, gt) == pytest.approx(0.1)
    # a constant offset has no velocity or acceleration error
    assert metrics.mpjve(pred + 1.0, pred) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="frames"):
        metrics.acceleration_error(pred[:2], gt[:2])


def test_pck_and_auc_by_hand() -> None:
    gt = np.zeros((1, 4, 3))
    pred = np.zeros((1, 4, 3))
    pred[0, :, 0] = [0.0, 0.05, 0.15, 0.30]
    assert metrics.pck(pred, gt) == pytest.approx(0.75)  # 150 mm is inclusive
    assert metrics.pck(pred, gt, threshold=0.1) == pytest.approx(0.5)
    # thresholds 0,5,…,150 mm: joint errors 0 (all 31), 50 mm (21 of 31: 50..150), 150 mm (1), 300 mm (0)
    assert metrics.auc(pred, gt) == pytest.approx((31 + 21 + 1 + 0) / (31 * 4))


def test_per_action_aggregation_weights() -> None:
    result = metrics.aggregate_by_action(
        [
            ("Walk", np.array([1.0, 1.0, 1.0])),
            ("Walk", np.array([5.0])),  # frame-weighted inside Walk: (1+1+1+5)/4 = 2
            ("Sit", np.array([4.0, 6.0])),  # 5
        ]
    )
    assert result["Walk"] == pytest.approx(2.0)
    assert result["Sit"] == pytest.approx(5.0)
    assert result["average"] == pytest.approx(3.5)  # unweighted across actions, not 14/6
    with pytest.raises(ValueError):
        metrics.aggregate_by_action([])


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="must both be"):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
