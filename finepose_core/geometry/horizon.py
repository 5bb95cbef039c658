"""The lens from two vanishing points that the people draw: the horizon and the vertical.

A person's image scale (pixels per metre, from the lifter's metric body placed by the 2D) falls linearly
towards the horizon: a point of the floor seen at signed distance y below the principal point, along the
image's down, has scale k · (y + e), where e is how far the horizon lies above the principal point and k
depends on the camera's height over the feet and the person's build only. So the people's scales against
where their feet are in the image give the horizon, whatever the focal length. Upright people's lines
meet at the vertical vanishing point, D below the principal point (`vanishing.image_up`, also without
knowing the focal length: it is a place in the image). A camera pitched by θ puts the horizon at f · tan θ
above the principal point and the vertical vanishing point at f / tan θ below it, so f² = e · D.

That needs a camera that looks up or down: level, the horizon runs through the principal point and the
vertical vanishing point is at infinity, so every focal length fits, and the estimate says so. It also
needs the people's feet to move up or down the image (towards or away from the camera), or people at
different distances, so that the scale's slope can be told from its offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from finepose_core.geometry.gravity import GravityConfig, estimate_up, up_from_pitch_roll
from finepose_core.geometry.lens import LensEstimate
from finepose_core.geometry.placement import root_translations
from finepose_core.geometry.vanishing import ANKLES, VanishingConfig, image_up

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class HorizonConfig:
    min_frames: int = 30  # person-frames with both ankles seen, at all
    min_ankle_confidence: float = 0.5
    # the lifter's errors in a person's depth drift slowly: frames within this are one measurement for the
    # estimate's uncertainty, not many
    block_seconds: float = 0.5
    residual_scale: float = 0.05  # a frame's scale off the fit by more than this share counts less (soft L1)
    sure_within: float = 0.15  # relative uncertainty of the focal length up to which it is used
    min_fov_deg: float = 25.0  # answers outside these horizontal fields of view are not believed
    max_fov_deg: float = 110.0
    vanishing: VanishingConfig = field(default_factory=VanishingConfig)
    gravity: GravityConfig = field(default_factory=GravityConfig)


@dataclass(frozen=True)
class HorizonFit:
    """The focal length (pixels) from the horizon and the vertical vanishing point, with its relative
    uncertainty (one standard deviation) and the two distances it came from (pixels, along the image's
    down from the principal point: the horizon at −horizon_px, the vanishing point at vertical_px)."""

    focal_px: float
    uncertainty: float
    sure: bool
    frames: int
    horizon_px: float
    vertical_px: float


@dataclass(frozen=True)
class _Vertical:
    down: FloatArray  # unit image direction from the horizon towards the feet
    distance: float  # signed, along `down`: where the vertical vanishing point lies
    relative_error: float
    roll_error: float  # radians


def _vertical(
    joints: list[FloatArray],
    keypoints2d: list[FloatArray],
    confidences: list[FloatArray] | None,
    K: FloatArray,
    fps: float,
    config: HorizonConfig,
) -> _Vertical | None:
    body = estimate_up(joints, fps, config.gravity, confidences)
    if body is None:
        return None
    seen = image_up(joints, keypoints2d, K, body, confidences, config.vanishing, config.gravity)
    if seen is None:
        return None
    up = up_from_pitch_roll(seen.pitch_deg, seen.roll_deg)
    sideways = float(np.linalg.norm(up[:2]))
    if abs(up[2]) < 1e-6 or sideways < 1e-6:
        return None
    down = -up[:2] / sideways  # the camera's y axis points down: the image's down is against up
    # the vanishing point of up (and down) is K · up: at f · up_xy / up_z from the principal point
    distance = float(K[0, 0] * (up[:2] / up[2]) @ down)
    pitch = math.radians(seen.pitch_deg)
    spread = math.radians(math.sqrt(max(float(seen.covariance[0, 0]), 0.0)))
    # D = f / tan θ: its relative error is σθ / (sin θ cos θ)
    relative = spread / max(abs(math.sin(pitch) * math.cos(pitch)), 1e-9)
    roll = math.radians(math.sqrt(max(float(seen.covariance[1, 1]), 0.0)))
    return _Vertical(down, distance, relative, roll)


def _scales(
    joints: FloatArray,
    keypoints2d: FloatArray,
    confidence: FloatArray | None,
    K: FloatArray,
    fps: float,
    config: HorizonConfig,
) -> tuple[FloatArray, FloatArray] | None:
    """Per usable frame: the feet (mid-ankles) in the image, from the principal point [N, 2], and the
    image scale there (pixels per metre)."""
    try:
        root = root_translations(joints, keypoints2d, K, confidence, fps)
    except ValueError:
        return None
    depth = root[:, 2] + joints[:, list(ANKLES), 2].mean(axis=1)
    feet = np.asarray(keypoints2d, dtype=np.float64)[:, list(ANKLES)].mean(axis=1)
    usable = np.isfinite(feet).all(axis=-1) & np.isfinite(depth) & (depth > 0.1)
    if confidence is not None:
        usable &= (np.asarray(confidence)[:, list(ANKLES)] >= config.min_ankle_confidence).all(axis=1)
    if not usable.any():
        return None
    return feet[usable] - K[:2, 2], K[0, 0] / depth[usable]


def focal_from_horizon(
    joints: list[NDArray[np.floating[Any]]],
    keypoints2d: list[NDArray[np.floating[Any]]],
    confidences: list[NDArray[np.floating[Any]]] | None,
    K: NDArray[np.floating[Any]],
    image_size: tuple[int, int],
    fps: float,
    config: HorizonConfig | None = None,
) -> HorizonFit | None:
    """The focal length from where the people put the horizon and the vertical vanishing point. Each
    entry of the lists is one person's run of frames: root-relative joints [F, 17, 3] as lifted under the
    intrinsics K, their 2D [F, 17, 2] and its confidence [F, 17]. None where there is too little to fit
    (nobody upright, too few frames, a level camera)."""
    config = config or HorizonConfig()
    intrinsics = np.asarray(K, dtype=np.float64)
    poses = [np.asarray(j, dtype=np.float64) for j in joints]
    points = [np.asarray(p, dtype=np.float64) for p in keypoints2d]
    seen = None if confidences is None else [np.asarray(c, dtype=np.float64) for c in confidences]
    vertical = _vertical(poses, points, seen, intrinsics, fps, config)
    if vertical is None:
        return None
    runs = []
    for index, (pose, point) in enumerate(zip(poses, points, strict=True)):
        if len(pose):
            found = _scales(pose, point, None if seen is None else seen[index], intrinsics, fps, config)
            if found is not None:
                runs.append(found)
    frames = sum(len(along) for along, _ in runs)
    if frames < config.min_frames:
        return None
    feet = np.concatenate([a for a, _ in runs])
    scale = np.concatenate([s for _, s in runs])
    person = np.concatenate([np.full(len(a), i) for i, (a, _) in enumerate(runs)])
    sideways = np.array([-vertical.down[1], vertical.down[0]])

    width = float(image_size[0])

    def misses(params: FloatArray) -> FloatArray:
        """Each frame's scale off the fit, as a share of it. The horizon's direction is square to the
        vertical vanishing point's, turned by params[0]; params[1] is the image's width over the
        horizon's distance from the principal point (0 for a horizon at infinity, where the scale does
        not change with the feet's place); each person's build and the camera's height over them give
        their own scale at the principal point."""
        down = np.cos(params[0]) * vertical.down + np.sin(params[0]) * sideways
        at_centre = np.exp(params[2:])[person]
        return np.asarray((scale - at_centre * (1 + params[1] * (feet @ down) / width)) / scale)

    # first along the vanishing point's direction, from a horizon at infinity and each person's median
    # scale: how far the frames scatter about such a fit
    start = np.array([0.0, 0.0] + [float(np.log(np.median(s))) for _, s in runs])
    # trial steps of the solver may overflow a slope's exponential; it rejects them
    with np.errstate(over="ignore"):
        first = least_squares(
            lambda p: misses(np.concatenate([[0.0], p])),
            start[1:],
            loss="soft_l1",
            f_scale=config.residual_scale,
            x_scale="jac",
        )
    spread = max(1.4826 * float(np.median(np.abs(first.fun - np.median(first.fun)))), 1e-4)
    # then the direction too: a walk's lean sways the vanishing point's roll by a degree or two, which
    # across a wide picture moves the feet's distance from the horizon by more than the scale can stand.
    # Where the feet move along one line only, the scale cannot tell the direction and the roll holds it.
    # Frames within a block count as one, so the data weigh against the roll as many times as there are
    # blocks
    block = math.sqrt(max(1.0, config.block_seconds * fps))
    roll_error = max(vertical.roll_error, 1e-3)

    def residuals(params: FloatArray) -> FloatArray:
        return np.concatenate([misses(params) / (spread * block), [params[0] / roll_error]])

    with np.errstate(over="ignore"):
        fit = least_squares(
            residuals,
            np.concatenate([[0.0], first.x]),
            loss="soft_l1",
            f_scale=config.residual_scale / (spread * block),
            x_scale="jac",
        )
    angle, inverse = float(fit.x[0]), float(fit.x[1])
    # a person's slope that the data hardly tell (a run of a few frames at one place) makes the
    # information singular in that direction only; the pseudo-inverse leaves the horizon's variance intact
    covariance = np.linalg.pinv(fit.jac.T @ fit.jac)
    # the vertical vanishing point, seen along the fitted horizon's square
    vertical_px = vertical.distance * math.cos(angle)
    horizon = width / inverse if abs(inverse) > 1e-9 else math.inf
    horizon_error = math.sqrt(max(float(covariance[1, 1]), 0.0)) / max(abs(inverse), 1e-9)
    product = horizon * vertical_px
    if not math.isfinite(product):
        return HorizonFit(float(intrinsics[0, 0]), math.inf, False, frames, horizon, vertical_px)
    if product <= 0:  # horizon and vanishing point on one side: no pinhole camera gives that
        return HorizonFit(float(intrinsics[0, 0]), math.inf, False, frames, horizon, vertical_px)
    focal = math.sqrt(product)
    uncertainty = 0.5 * math.hypot(horizon_error, vertical.relative_error)
    shortest = 0.5 * width / math.tan(math.radians(config.max_fov_deg) / 2)
    longest = 0.5 * width / math.tan(math.radians(config.min_fov_deg) / 2)
    sure = uncertainty <= config.sure_within and shortest <= focal <= longest
    return HorizonFit(focal, uncertainty, sure, frames, horizon, vertical_px)


def horizon_lens(fit: HorizonFit | None) -> LensEstimate | None:
    """The fit as one of the lens's estimates (`lens.combined`)."""
    if fit is None:
        return None
    return LensEstimate(fit.focal_px, fit.uncertainty, fit.sure, fit.frames, "horizon")
