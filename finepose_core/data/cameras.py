"""Virtual cameras for training: film world-space motion from random viewpoints, lenses and framings.

Every sample gets its own camera: an image shape (landscape, square or portrait), a horizontal field of
view of 40–90°, a view direction (any yaw around the person, pitch from slightly up to steeply down), a
distance at which the person fills a random 10–90 % of the image height, and a sideways/vertical shift
that puts the person anywhere in the frame. The camera is static over a window, as a tripod would be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from finepose_core.geometry.camera import intrinsics_from_fov, project

FloatArray = NDArray[np.float64]

IMAGE_SHAPES: Final = (
    (1920, 1080),
    (1280, 720),
    (640, 480),
    (1080, 1080),
    (720, 1280),
    (1080, 1920),
    (480, 640),
)


@dataclass(frozen=True)
class CameraRanges:
    fov_deg: tuple[float, float] = (40.0, 90.0)
    pitch_down_deg: tuple[float, float] = (-10.0, 35.0)
    height_fraction: tuple[float, float] = (0.1, 0.9)  # person height / image height
    roll_deg: float = 3.0  # small hand-held roll, either way


@dataclass
class VirtualCamera:
    K: FloatArray  # [3, 3]
    R: FloatArray  # world → camera rotation (camera x right, y down, z forward)
    t: FloatArray  # X_cam = R X_world + t
    image_size: tuple[int, int]

    def to_camera(self, world: FloatArray) -> FloatArray:
        return np.asarray(world @ self.R.T + self.t)

    def project(self, world: FloatArray) -> FloatArray:
        return project(self.to_camera(world), self.K)


def look_rotation(yaw: float, pitch_down: float, roll: float) -> FloatArray:
    """World (z up) → OpenCV camera rotation for a camera looking along `yaw`, tilted down by `pitch_down`."""
    forward = np.array(
        [math.cos(pitch_down) * math.cos(yaw), math.cos(pitch_down) * math.sin(yaw), -math.sin(pitch_down)]
    )
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    c, s = math.cos(roll), math.sin(roll)
    return np.asarray(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ rotation)


def sample_camera(
    world: FloatArray, rng: np.random.Generator, ranges: CameraRanges | None = None
) -> VirtualCamera:
    """A camera that films the joints [T, 17, 3] (metres, z up) of one window."""
    ranges = ranges or CameraRanges()
    width, height = IMAGE_SHAPES[rng.integers(len(IMAGE_SHAPES))]
    K = intrinsics_from_fov(width, height, rng.uniform(*ranges.fov_deg))
    focal = K[0, 0]
    yaw = rng.uniform(0, 2 * math.pi)
    pitch = math.radians(rng.uniform(*ranges.pitch_down_deg))
    roll = math.radians(rng.uniform(-ranges.roll_deg, ranges.roll_deg))
    R = look_rotation(yaw, pitch, roll)

    centre = world.reshape(-1, 3).mean(axis=0)
    body_height = max(float(np.ptp(world[..., 2])), 1.0)
    fraction = rng.uniform(*ranges.height_fraction)
    distance = focal * body_height / (fraction * height)
    # keep the whole window in front of the camera, however far the person moves in it
    reach = float(np.max(np.linalg.norm(world[..., :2] - centre[:2], axis=-1)))
    distance = max(distance, reach + 1.0)

    # where in the image the person's centre lands: anywhere the body still (mostly) fits
    person_px = focal * body_height / distance
    free_x = max(width - 0.5 * person_px, 0.0) / 2
    free_y = max(height - person_px, 0.0) / 2
    shift_px = np.array([rng.uniform(-free_x, free_x), rng.uniform(-free_y, free_y)])
    # camera-space position of the centre: straight ahead, moved so that it projects to the shift
    centre_camera = np.array([shift_px[0] * distance / focal, shift_px[1] * distance / focal, distance])
    t = centre_camera - R @ centre
    return VirtualCamera(K=K, R=R, t=t, image_size=(int(width), int(height)))
