"""The result's camera (intrinsics K, world-from-camera in OpenCV axes) as Blender camera settings (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rotations import Array

SENSOR_WIDTH_MM = 36.0
# OpenCV camera axes (x right, y down, z forward) → Blender's (x right, y up, looking down −z)
OPENCV_TO_BLENDER = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class BlenderCamera:
    matrix_world: Array  # 4 × 4
    lens_mm: float
    sensor_width_mm: float
    shift_x: float
    shift_y: float
    resolution: tuple[int, int]


def blender_camera(K: Array, world_from_camera: Array, width: int, height: int) -> BlenderCamera:
    """Horizontal sensor fit: the focal length in pixels over the image width is lens over sensor width;
    the principal point's offset from the centre becomes the lens shift (in units of the width)."""
    K = np.asarray(K, np.float64)
    return BlenderCamera(
        matrix_world=np.asarray(world_from_camera, np.float64) @ OPENCV_TO_BLENDER,
        lens_mm=float(K[0, 0]) / width * SENSOR_WIDTH_MM,
        sensor_width_mm=SENSOR_WIDTH_MM,
        shift_x=(width / 2.0 - float(K[0, 2])) / width,
        shift_y=(float(K[1, 2]) - height / 2.0) / width,
        resolution=(int(width), int(height)),
    )


def fps_settings(fps: float) -> tuple[int, float]:
    """Blender's (fps, fps_base): 29.97 → (30000, 1001) style for the NTSC rates, else (round, ratio)."""
    for nominal in (24, 30, 60, 120):
        if abs(fps - nominal * 1000 / 1001) < 0.01:
            return nominal * 1000, 1001.0
    rounded = max(1, round(fps))
    return rounded, rounded / fps
