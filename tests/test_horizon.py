"""The focal length from the horizon and the vertical vanishing point that people draw in the image."""

from __future__ import annotations

import numpy as np
import pytest

from finepose_core.geometry.camera import (
    from_virtual,
    intrinsics_from_fov,
    person_rotations,
    project,
    to_virtual,
)
from finepose_core.geometry.horizon import focal_from_horizon, horizon_lens
from finepose_core.geometry.lens import LensEstimate, combined
from tests.test_placement_result import FPS, _camera, _gliding, _swaying, _walker

DEFAULT = intrinsics_from_fov(1280, 720, 60)


def _lifted(
    height: float,
    pitch: float,
    fov: float,
    walks: list[tuple[tuple[float, float], tuple[float, float]]],
    seed: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Walkers filmed through a lens of `fov` from a camera `height` m up, pitched `pitch`° down, lifted as
    the lifter would with the default 60° lens: each person sways and leans a few degrees, the 2D has a
    pixel of noise, the root-relative pose a centimetre."""
    rng = np.random.default_rng(seed)
    R, t = _camera(height, pitch)
    K = intrinsics_from_fov(1280, 720, fov)
    joints, pixels = [], []
    for start, velocity in walks:
        camera = _swaying(_gliding(_walker(150, start, velocity)), seed) @ R.T + t
        seen = project(camera, K) + rng.normal(scale=1.0, size=(150, 17, 2))
        relative = camera - camera[:, :1] + rng.normal(scale=0.01, size=camera.shape)
        joints.append(
            from_virtual(to_virtual(relative, person_rotations(seen, K)), person_rotations(seen, DEFAULT))
        )
        pixels.append(seen)
    return joints, pixels


def test_a_high_camera_gives_the_focal_length_from_the_horizon() -> None:
    """A walker seen from 3.3 m up, pitched 30° down, through a 70° lens lifted as if it were 60°: the
    body's share of the camera's height, constant only under the true horizon, puts the horizon, its
    lines the vertical vanishing point; measured over seeds 0–2: 4.5–7.8 % short of the true focal length
    (the walkers sway and lean), relative uncertainty 0.12–0.15."""
    truth = intrinsics_from_fov(1280, 720, 70)[0, 0]
    for seed in range(3):
        joints, pixels = _lifted(3.3, 30.0, 70.0, [((-1.5, 6.0), (0.9, -0.4))], seed)
        fit = focal_from_horizon(joints, pixels, None, DEFAULT, (1280, 720), FPS)
        assert fit is not None and fit.sure
        assert fit.focal_px == pytest.approx(truth, rel=0.1)
        assert fit.uncertainty < 0.15
        # the horizon f · tan 30° above the principal point, the vertical vanishing point f / tan 30° below
        assert fit.horizon_px == pytest.approx(truth * np.tan(np.radians(30)), rel=0.15)
        assert fit.vertical_px == pytest.approx(truth / np.tan(np.radians(30)), rel=0.15)


def test_a_level_camera_leaves_the_horizon_unsure() -> None:
    """Filmed level, the horizon runs through the principal point and the vertical vanishing point is at
    infinity: every focal length fits, and the fit says so (measured relative uncertainty 1.4–2.0)."""
    for seed in range(3):
        joints, pixels = _lifted(1.5, 0.0, 60.0, [((-1.5, 6.0), (0.9, -0.4))], seed)
        fit = focal_from_horizon(joints, pixels, None, DEFAULT, (1280, 720), FPS)
        assert fit is not None and not fit.sure and fit.uncertainty > 0.5


def test_sure_estimates_are_joined_and_unsure_ones_left_out() -> None:
    feet = LensEstimate(1000.0, 0.1, True, 40)
    horizon = LensEstimate(1210.0, 0.1, True, 150, "horizon")
    joined = combined([feet, horizon])
    assert joined is not None and joined.sure and joined.method == "planted feet + horizon"
    assert joined.focal_px == pytest.approx(1100.0)  # the geometric mean of two equally sure ones
    assert joined.uncertainty == pytest.approx(0.1 / np.sqrt(2))
    unsure = LensEstimate(700.0, 0.6, False, 150, "horizon")
    assert combined([feet, unsure]) == feet
    assert combined([None, unsure]) == unsure and combined([None, None]) is None
    assert horizon_lens(None) is None


def test_the_cross_ratio_gives_a_persons_height_as_a_share_of_the_cameras() -> None:
    """Exact geometry: a camera 3 m up, pitched 25° down and rolled 5°; vertical segments from 0.08 m (the
    ankles) to 1.45 m (the neck) anywhere on the floor. Under the true horizon and vanishing point every
    segment gives (1.45 − 0.08) / (3 − 0.08); under a wrong horizon the shares spread with the distance."""
    from finepose_core.data.cameras import look_rotation
    from finepose_core.geometry.horizon import _shares

    R = look_rotation(np.pi / 2, np.radians(25.0), np.radians(5.0))
    centre = np.array([0.0, 0.0, 3.0])
    K = intrinsics_from_fov(1280, 720, 60)
    rng = np.random.default_rng(0)
    ground = np.column_stack([rng.uniform(-3, 3, 40), rng.uniform(4, 12, 40)])
    feet = np.column_stack([ground, np.full(40, 0.08)])
    neck = np.column_stack([ground, np.full(40, 1.45)])
    feet_px, neck_px = (project((points - centre) @ R.T, K) - K[:2, 2] for points in (feet, neck))
    up = R @ np.array([0.0, 0.0, 1.0])  # the world's up in camera coordinates
    f = K[0, 0]
    vanishing = f * up[:2] / up[2]
    down = -up[:2] / np.linalg.norm(up[:2])
    # the horizon: image points whose ray is level, (x, y, f) · up = 0, at signed distance -e along down
    e = -f * up[2] / np.linalg.norm(up[:2])
    assert np.degrees(np.arctan(e / f)) == pytest.approx(25.0, abs=1.0)  # about the pitch (roll aside)
    shares = _shares(feet_px, neck_px, vanishing, down, -e)
    assert shares == pytest.approx(np.full(40, (1.45 - 0.08) / (3 - 0.08)), rel=1e-6)
    wrong = _shares(feet_px, neck_px, vanishing, down, -1.3 * e)
    assert np.std(wrong) > 100 * np.std(shares)
