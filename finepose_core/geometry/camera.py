"""Pinhole cameras: intrinsics, projection, root translation from 2D, and model-space normalisation.

Conventions (docs/architecture.md): camera space is OpenCV's (x right, y down, z forward), metres; pixels
have x right, y down, origin at the top-left corner. Model space is root-relative metres for 3D and, for 2D,
pixels normalised by the image width to [−1, 1] (the Human3.6M protocol): x' = 2x/w − 1, y' = 2y/w − h/w.
This module is the one place where those conversions live.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Used when neither a focal length nor a field of view is known: a typical phone or webcam lens.
DEFAULT_HORIZONTAL_FOV_DEG = 60.0


def intrinsics_from_fov(
    width: int, height: int, horizontal_fov_deg: float = DEFAULT_HORIZONTAL_FOV_DEG
) -> FloatArray:
    """K of a centred pinhole camera with square pixels and the given horizontal field of view."""
    if not 1.0 <= horizontal_fov_deg <= 179.0:
        raise ValueError(f"horizontal field of view must be within 1–179°, got {horizontal_fov_deg}")
    return intrinsics_from_focal(width, height, focal_from_fov(width, horizontal_fov_deg))


def focal_from_fov(width: float, horizontal_fov_deg: float) -> float:
    """The focal length (pixels) of an image `width` pixels wide that sees this horizontal field of view."""
    return 0.5 * width / math.tan(math.radians(horizontal_fov_deg) / 2)


def fov_from_focal(width: float, focal_px: float) -> float:
    """The horizontal field of view (degrees) of an image `width` pixels wide at this focal length."""
    return 2 * math.degrees(math.atan(0.5 * width / focal_px))


def intrinsics_from_focal(width: int, height: int, focal_px: float) -> FloatArray:
    if focal_px <= 0:
        raise ValueError(f"focal length must be positive, got {focal_px}")
    return np.array([[focal_px, 0.0, width / 2], [0.0, focal_px, height / 2], [0.0, 0.0, 1.0]])


def project(points: NDArray[np.floating[Any]], K: NDArray[np.floating[Any]]) -> FloatArray:
    """Camera-space points [..., 3] → pixels [..., 2]."""
    p = np.asarray(points, dtype=np.float64)
    z = np.where(np.abs(p[..., 2:3]) < 1e-9, 1e-9, p[..., 2:3])
    uv = p[..., :2] / z
    k = np.asarray(K, dtype=np.float64)
    return np.stack([k[0, 0] * uv[..., 0] + k[0, 2], k[1, 1] * uv[..., 1] + k[1, 2]], axis=-1)


def normalize_screen(pixels: NDArray[np.floating[Any]], width: int, height: int) -> FloatArray:
    """Pixels → model 2D: divided by the width to [−1, 1] in x, aspect ratio kept."""
    p = np.asarray(pixels, dtype=np.float64)
    return np.asarray(p / width * 2 - np.array([1.0, height / width]))


def unnormalize_screen(normalized: NDArray[np.floating[Any]], width: int, height: int) -> FloatArray:
    n = np.asarray(normalized, dtype=np.float64)
    return np.asarray((n + np.array([1.0, height / width])) * width / 2)


INPUT_NORMALIZATIONS = ("image", "person")


def rays(pixels: NDArray[np.floating[Any]], K: NDArray[np.floating[Any]]) -> FloatArray:
    """Pixels [..., 2] → viewing rays [..., 3] (z = 1) of the camera with intrinsics K."""
    p = np.asarray(pixels, dtype=np.float64)
    k = np.asarray(K, dtype=np.float64)
    x = (p[..., 0] - k[0, 2]) / k[0, 0]
    y = (p[..., 1] - k[1, 2]) / k[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def look_at_rotations(directions: NDArray[np.floating[Any]]) -> FloatArray:
    """Rotations [..., 3, 3] that turn each direction [..., 3] onto the optical axis (0, 0, 1), by the
    smallest angle (Rodrigues): the orientation of a virtual camera looking straight at that point."""
    d = np.asarray(directions, dtype=np.float64)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    v = np.stack([d[..., 1], -d[..., 0], np.zeros_like(d[..., 0])], axis=-1)  # d × z
    c = d[..., 2]
    skew = np.zeros((*d.shape[:-1], 3, 3))
    skew[..., 0, 2], skew[..., 1, 2] = v[..., 1], -v[..., 0]
    skew[..., 2, 0], skew[..., 2, 1] = -v[..., 1], v[..., 0]
    skew[..., 0, 1], skew[..., 1, 0] = -v[..., 2], v[..., 2]
    return np.asarray(np.eye(3) + skew + skew @ skew / (1 + c)[..., None, None])


def person_rotations(pixels: NDArray[np.floating[Any]], K: NDArray[np.floating[Any]]) -> FloatArray:
    """Per frame, the camera → virtual-camera rotation [..., N, 3, 3] of 2D poses [..., N, J, 2]."""
    return look_at_rotations(rays(np.asarray(pixels)[..., 0, :], K))


def normalize_window(
    pixels: NDArray[np.floating[Any]],
    mode: str,
    width: int,
    height: int,
    K: NDArray[np.floating[Any]] | None = None,
) -> NDArray[np.float32]:
    """Pixels of one window or a batch of windows [..., N, J, 2] → the model's 2D input.

    "image": the Human3.6M protocol (normalize_screen): the model sees where in the frame the person is.
    "person": every frame as seen by a virtual camera that looks straight at the person's pelvis (the
    rays rotated by `person_rotations`, so the pelvis lands on the optical axis), then divided by the
    window's RMS joint distance from the pelvis. The input, and so the prediction, does not depend on
    where the person stands in the frame, how large they appear, the image's shape or the lens; the 3D
    is predicted in that virtual camera (`to_virtual`) and turned back with the same rotations.
    """
    p = np.asarray(pixels, dtype=np.float64)
    if mode == "image":
        return normalize_screen(p, width, height).astype(np.float32)
    if mode == "person":
        if K is None:
            raise ValueError("person normalisation needs the intrinsics K")
        rotated = rays(p, K) @ np.swapaxes(person_rotations(p, K), -1, -2)  # R · ray for every joint
        plane = rotated[..., :2] / rotated[..., 2:3]
        centred = plane - plane[..., :1, :]
        scale = np.sqrt(np.mean(np.sum(centred**2, axis=-1), axis=(-2, -1), keepdims=True))[..., None]
        return np.asarray(centred / np.maximum(scale, 1e-9), dtype=np.float32)
    raise ValueError(f"unknown input normalisation {mode!r}; use one of {', '.join(INPUT_NORMALIZATIONS)}")


def to_virtual(points: NDArray[np.floating[Any]], rotations: NDArray[np.floating[Any]]) -> FloatArray:
    """Root-relative camera-space joints [..., N, J, 3] → the per-frame virtual cameras' coordinates."""
    return np.asarray(np.asarray(points, dtype=np.float64) @ np.swapaxes(rotations, -1, -2))


def from_virtual(points: NDArray[np.floating[Any]], rotations: NDArray[np.floating[Any]]) -> FloatArray:
    return np.asarray(np.asarray(points, dtype=np.float64) @ rotations)


def estimate_root_translation(
    joints_rel: NDArray[np.floating[Any]],
    pixels: NDArray[np.floating[Any]],
    K: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None = None,
    min_depth: float = 0.1,
) -> FloatArray:
    """Per-frame translation T [F, 3] that best places root-relative joints [F, J, 3] on the 2D [F, J, 2].

    Linear least squares on the pinhole equations multiplied out by depth: for joint j with
    u' = (u − c_x)/f_x and v' = (v − c_y)/f_y,
        T_x − u' T_z = u' Z_j − X_j,     T_y − v' T_z = v' Z_j − Y_j,
    weighted by the 2D confidence. Joints with unknown 2D are left out; a frame with fewer than two
    usable joints gets NaN. Depths are kept at least `min_depth` in front of the camera.
    """
    joints = np.asarray(joints_rel, dtype=np.float64)
    uv = np.asarray(pixels, dtype=np.float64)
    k = np.asarray(K, dtype=np.float64)
    weights = (
        np.ones(uv.shape[:-1]) if confidence is None else np.asarray(confidence, dtype=np.float64).copy()
    )
    usable = np.isfinite(uv).all(axis=-1) & np.isfinite(joints).all(axis=-1) & (weights > 0)
    weights = np.where(usable, weights, 0.0)
    u = np.where(usable, (uv[..., 0] - k[0, 2]) / k[0, 0], 0.0)
    v = np.where(usable, (uv[..., 1] - k[1, 2]) / k[1, 1], 0.0)
    X, Y, Z = (np.where(usable, joints[..., i], 0.0) for i in range(3))
    frames, count = u.shape
    A = np.zeros((frames, 2 * count, 3))
    b = np.zeros((frames, 2 * count))
    A[:, :count, 0] = 1.0
    A[:, :count, 2] = -u
    b[:, :count] = u * Z - X
    A[:, count:, 1] = 1.0
    A[:, count:, 2] = -v
    b[:, count:] = v * Z - Y
    w = np.sqrt(np.concatenate([weights, weights], axis=-1))
    Aw = A * w[..., None]
    bw = b * w
    normal = np.swapaxes(Aw, -1, -2) @ Aw + 1e-9 * np.eye(3)
    rhs = np.swapaxes(Aw, -1, -2) @ bw[..., None]
    translation = np.linalg.solve(normal, rhs)[..., 0]
    translation[..., 2] = np.maximum(translation[..., 2], min_depth)
    translation[usable.sum(axis=-1) < 2] = np.nan
    return np.asarray(translation)
