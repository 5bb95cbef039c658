"""Which way is up, from the image: the lines of upright people meet at the vertical vanishing point.

The lifter's bodies give the world's up (`gravity.estimate_up`) but share its own tilt: seen from a
balcony, it lifts people leaning back towards the camera by some 10–15°, so the camera's pitch comes out
that much too small. The image itself knows better. Every upright person is a vertical segment, feet to
neck, and all vertical segments point at one image point, the vertical vanishing point, whose place
relative to the principal point is the camera's pitch and roll (given the focal length). A camera pitched
down makes people near the image's sides lean outwards; the more it is pitched, the more they lean. So
each upright person-frame's feet → neck line in the 2D is one measurement of the up, the fit over all of
them is the image's up, and its uncertainty follows from how far the people spread across the image.

For a level camera the vanishing point is far away and the lines are parallel whatever the small pitch:
the fit then says little about pitch (a large uncertainty) and the lifter's up decides; about roll it
says much in every case. The two are combined by their uncertainties (`fuse`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from finepose_core.geometry.gravity import (
    GravityConfig,
    UpEstimate,
    camera_pitch_roll,
    up_from_pitch_roll,
    upright_directions,
)

FloatArray = NDArray[np.float64]
ANKLES = (3, 6)
THORAX = 8
LEGS = (1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class VanishingConfig:
    # how far an upright person's feet → neck line leans off the true vertical in the image, for reasons
    # other than the camera (a walk's forward lean, a step, a slouch), in degrees. It does not average
    # out over frames (a walker leans the way they walk), so it bounds how sure the image's up can be;
    # measured on the validation scenes' ground truth, the fitted pitch and roll stayed within one such
    # unit of the truth.
    lean_deg: float = 1.2
    # robust scale of a single frame's residual (degrees): beyond it a frame counts less (soft L1)
    residual_scale_deg: float = 5.0
    # segments shorter than this (pixels) say too little about their direction
    min_segment_px: float = 20.0
    min_frames: int = 15
    # the search stays within what a camera filming people does: pitch (down positive) and roll
    pitch_range_deg: tuple[float, float] = (-60.0, 75.0)
    roll_range_deg: tuple[float, float] = (-45.0, 45.0)
    # an image fit further than this many of its own and the body's standard deviations from the body's
    # up is taken for a failure of the model (nobody upright in 2D, a tracking mix-up) and left out
    agree_sigmas: float = 3.0


@dataclass(frozen=True)
class ImageUp:
    pitch_deg: float
    roll_deg: float
    covariance: FloatArray  # [2, 2] of (pitch, roll), degrees²
    frames: int


def upright_segments(
    joints: NDArray[np.floating[Any]],
    keypoints2d: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None,
    gravity: GravityConfig,
) -> tuple[FloatArray, FloatArray]:
    """Feet (mid-ankles) and neck (thorax) image points [N, 2] of one person's upright, legs-seen frames
    (camera-space joints [F, 17, 3] choose them; NaN where the 2D has none)."""
    upright = np.isfinite(upright_directions(joints, gravity)).all(axis=-1)
    if confidence is not None:
        legs = np.asarray(confidence)[:, list(LEGS)]
        upright &= (legs >= gravity.min_leg_confidence).all(axis=1)
    p = np.asarray(keypoints2d, dtype=np.float64)[upright]
    return p[:, list(ANKLES)].mean(axis=1), p[:, THORAX]


def _segments(
    people_joints: list[NDArray[np.floating[Any]]],
    keypoints2d: list[NDArray[np.floating[Any]]],
    confidences: list[NDArray[np.floating[Any]]] | None,
    gravity: GravityConfig,
) -> tuple[FloatArray, FloatArray]:
    """Feet and neck image points [N, 2] of every upright, legs-seen person-frame."""
    feet, necks = [], []
    for index, (joints, points) in enumerate(zip(people_joints, keypoints2d, strict=True)):
        if not len(joints):
            continue
        found = upright_segments(joints, points, None if confidences is None else confidences[index], gravity)
        feet.append(found[0])
        necks.append(found[1])
    if not feet:
        return np.zeros((0, 2)), np.zeros((0, 2))
    return np.concatenate(feet), np.concatenate(necks)


def _leans_deg(pitch_roll: FloatArray, normalised: FloatArray, observed: FloatArray) -> FloatArray:
    """Signed angle (degrees) between each observed feet → neck direction and the image direction that a
    vertical line through the same feet point would have under this pitch and roll."""
    up = up_from_pitch_roll(float(pitch_roll[0]), float(pitch_roll[1]))
    # the image of the 3D line through the ray (x, y, 1) with direction `up` leaves (x, y) along
    # (up_x - x·up_z, up_y - y·up_z): the derivative of the projection
    expected = np.stack([up[0] - normalised[:, 0] * up[2], up[1] - normalised[:, 1] * up[2]], axis=-1)
    cross = expected[:, 0] * observed[:, 1] - expected[:, 1] * observed[:, 0]
    dot = np.sum(expected * observed, axis=-1)
    return np.asarray(np.degrees(np.arctan2(cross, dot)))


def image_up(
    people_joints: list[NDArray[np.floating[Any]]],
    keypoints2d: list[NDArray[np.floating[Any]]],
    K: NDArray[np.floating[Any]],
    start: UpEstimate | None = None,
    confidences: list[NDArray[np.floating[Any]]] | None = None,
    config: VanishingConfig | None = None,
    gravity: GravityConfig | None = None,
) -> ImageUp | None:
    """The camera's pitch and roll from where upright people's lines meet, with their covariance; None
    with too few upright person-frames. `people_joints` (camera space, [F, 17, 3] each) only choose which
    frames are upright; the measurement is the 2D [F, 17, 2]."""
    config = config or VanishingConfig()
    gravity = gravity or GravityConfig()
    feet, necks = _segments(people_joints, keypoints2d, confidences, gravity)
    observed = necks - feet
    usable = np.isfinite(observed).all(axis=-1) & (np.linalg.norm(observed, axis=-1) >= config.min_segment_px)
    feet, observed = feet[usable], observed[usable]
    if len(feet) < config.min_frames:
        return None
    intrinsics = np.asarray(K, dtype=np.float64)
    normalised = (feet - intrinsics[:2, 2]) / np.array([intrinsics[0, 0], intrinsics[1, 1]])
    pitch0, roll0 = camera_pitch_roll(start.up) if start is not None else (0.0, 0.0)
    low = np.array([config.pitch_range_deg[0], config.roll_range_deg[0]])
    high = np.array([config.pitch_range_deg[1], config.roll_range_deg[1]])
    fit = least_squares(
        _leans_deg,
        np.clip([pitch0, roll0], low + 1e-3, high - 1e-3),
        args=(normalised, observed),
        bounds=(low, high),
        loss="soft_l1",
        f_scale=config.residual_scale_deg,
    )
    # how much each frame's lean moves with pitch and roll: the mean information per frame. The lean
    # that does not average out (config.lean_deg) is scaled by it, not divided by the frame count
    information = fit.jac.T @ fit.jac / len(feet)
    try:
        covariance = config.lean_deg**2 * np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return None
    return ImageUp(float(fit.x[0]), float(fit.x[1]), np.asarray(covariance), len(feet))


def fuse(
    body: UpEstimate,
    image: ImageUp | None,
    fps: float,
    config: VanishingConfig | None = None,
    gravity: GravityConfig | None = None,
) -> UpEstimate:
    """The body's up and the image's, weighted by their uncertainties (in pitch and roll); the body's
    alone where the image has none or disagrees beyond both uncertainties."""
    config = config or VanishingConfig()
    gravity = gravity or GravityConfig()
    if image is None or not np.isfinite(image.covariance).all():
        return body
    body_angles = np.array(camera_pitch_roll(body.up))
    image_angles = np.array([image.pitch_deg, image.roll_deg])
    body_covariance = np.eye(2) * body.uncertainty_deg**2
    difference = image_angles - body_angles
    combined = body_covariance + image.covariance
    if float(difference @ np.linalg.solve(combined, difference)) > config.agree_sigmas**2:
        return body
    body_information = np.linalg.inv(body_covariance)
    image_information = np.linalg.inv(image.covariance)
    covariance = np.linalg.inv(body_information + image_information)
    angles = covariance @ (body_information @ body_angles + image_information @ image_angles)
    uncertainty = math.sqrt(float(np.linalg.eigvalsh(covariance).max()))
    enough = body.frames >= gravity.min_seconds * fps
    return UpEstimate(
        up=up_from_pitch_roll(float(angles[0]), float(angles[1])),
        uncertainty_deg=uncertainty,
        frames=body.frames,
        sure=enough and uncertainty <= gravity.sure_within_deg,
    )
