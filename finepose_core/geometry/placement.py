"""Placing lifted people in the scene: root translation per frame, the floor, and the world frame.

- Root translation: per frame, the camera-space translation that best reprojects the lifted root-relative
  pose onto its 2D keypoints (`camera.estimate_root_translation`, weighted by confidence), then smoothed
  over time, so people walking across the room keep their relative depths.
- Floor: a plane fitted to the ankles while the feet are in contact with the ground (slow and low),
  by least squares with outlier rejection, over every person together.
- World frame: z up along the floor normal, the floor at z = 0, the origin under the camera, x along the
  camera's x projected onto the floor; `world_from_camera` is the 4×4 transform of docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.signal import savgol_filter

from finepose_core.geometry.camera import estimate_root_translation

FloatArray = NDArray[np.float64]
ANKLES = (3, 6)
# the ankle joint centre stands this far above the floor (a typical adult's malleolus height)
ANKLE_HEIGHT_M = 0.08


@dataclass(frozen=True)
class PlacementConfig:
    smoothing_seconds: float = 0.3  # Savitzky–Golay window for the root path
    contact_speed: float = 0.25  # m/s: an ankle slower than this may be on the floor
    contact_height: float = 0.08  # m: and no higher than this above the lowest ankle nearby
    default_camera_height: float = 1.5  # m, when no floor can be fitted
    default_pitch_deg: float = 5.0


def root_translations(
    joints_rel: NDArray[np.floating[Any]],
    keypoints2d: NDArray[np.floating[Any]],
    K: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None,
    fps: float,
    config: PlacementConfig | None = None,
) -> FloatArray:
    """Camera-space root position per frame [F, 3]; frames without a solution are interpolated."""
    config = config or PlacementConfig()
    translation = estimate_root_translation(joints_rel, keypoints2d, K, confidence)
    known = np.isfinite(translation).all(axis=-1)
    if not known.any():
        raise ValueError("no frame has enough 2D keypoints to place the person")
    frames = np.arange(len(translation))
    for axis in range(3):
        translation[:, axis] = np.interp(frames, frames[known], translation[known, axis])
    window = round(config.smoothing_seconds * fps) | 1
    if window >= 5 and len(translation) > window:
        translation = savgol_filter(translation, window, 2, axis=0)
    return np.asarray(translation)


def foot_contacts(
    joints_camera: FloatArray, fps: float, config: PlacementConfig, down: FloatArray
) -> NDArray[np.bool_]:
    """[F, 2] whether each ankle is probably on the floor: slow, and near the lowest ankle position."""
    ankles = joints_camera[:, list(ANKLES)]  # [F, 2, 3]
    speed = np.zeros(ankles.shape[:2])
    if len(ankles) > 1:
        step = np.linalg.norm(np.diff(ankles, axis=0), axis=-1) * fps
        speed[1:] = step
        speed[0] = step[0]
    height = -(ankles @ down)  # larger is higher
    lowest = np.nanmin(height, axis=1, keepdims=True)
    return np.asarray((speed < config.contact_speed) & (height - lowest < config.contact_height))


def fit_plane(points: FloatArray, iterations: int = 3) -> tuple[FloatArray, float] | None:
    """Least-squares plane n·x = d through points [P, 3], refitted without the worst 20 % outliers."""
    if len(points) < 10:
        return None
    selected = points
    normal = np.zeros(3)
    offset = 0.0
    for _ in range(iterations):
        centre = selected.mean(axis=0)
        _, _, vt = np.linalg.svd(selected - centre)
        normal = vt[-1]
        offset = float(normal @ centre)
        residual = np.abs(points @ normal - offset)
        selected = points[residual <= np.quantile(residual, 0.8)]
        if len(selected) < 10:
            break
    return normal, offset


@dataclass
class Floor:
    normal: FloatArray  # unit, in camera space, pointing up (away from the floor)
    offset: float  # normal · x = offset on the floor
    fitted: bool  # False: a default (level camera at a default height)
    contacts: int  # ankle positions used

    def world_from_camera(self) -> FloatArray:
        """4×4: world (z up, floor z = 0, origin under the camera) from camera coordinates."""
        up = self.normal
        x_axis = np.array([1.0, 0.0, 0.0]) - up[0] * up
        x_axis /= np.linalg.norm(x_axis)
        y_axis = np.cross(up, x_axis)
        rotation = np.stack([x_axis, y_axis, up])  # rows: world axes in camera coordinates
        camera_height = -self.offset  # the camera centre (origin) is this far above the floor
        transform = np.eye(4)
        transform[:3, :3] = rotation
        transform[:3, 3] = [0.0, 0.0, camera_height]
        return transform


def fit_floor(people_joints: list[FloatArray], fps: float, config: PlacementConfig | None = None) -> Floor:
    """The floor under everybody's feet, from camera-space joints of each person [F, 17, 3]."""
    config = config or PlacementConfig()
    pitch = np.radians(config.default_pitch_deg)
    default_up = np.array([0.0, -np.cos(pitch), -np.sin(pitch)])  # camera y is down; tilted down a little
    points = []
    for joints in people_joints:
        contacts = foot_contacts(joints, fps, config, -default_up)
        ankles = joints[:, list(ANKLES)]
        points.append(ankles[contacts])
    stacked = np.concatenate(points) if points else np.zeros((0, 3))
    plane = fit_plane(stacked[np.isfinite(stacked).all(axis=-1)])
    if plane is not None:
        normal, offset = plane
        if normal @ default_up < 0:
            normal, offset = -normal, -offset
        # a plausible floor is below the camera and roughly horizontal to a tripod or hand-held camera
        if normal @ default_up > np.cos(np.radians(45)) and offset < -0.2:
            return Floor(normal, offset - ANKLE_HEIGHT_M, True, len(stacked))
    return Floor(default_up, -config.default_camera_height, False, len(stacked))


def to_world(points_camera: NDArray[np.floating[Any]], world_from_camera: FloatArray) -> FloatArray:
    p = np.asarray(points_camera, dtype=np.float64)
    return np.asarray(p @ world_from_camera[:3, :3].T + world_from_camera[:3, 3])
