"""The lens from two vanishing points that the people draw: the horizon and the vertical.

Upright people's lines meet at the vertical vanishing point, D below the principal point along the image's
down (`vanishing.image_up`; D is a place in the image, found without knowing the focal length). The
horizon is the line square to that direction, e above the principal point. A camera pitched by θ puts them
at e = f · tan θ and D = f / tan θ, so f² = e · D: the focal length follows from where the two lie.

The horizon is found from the people's 2D alone: along the image of a vertical line, the feet, the neck,
the point where the line crosses the horizon (at the camera's height) and the vertical vanishing point (at
infinity) have a cross-ratio that the camera does not change, so each upright person-frame gives the
height of their neck over their ankles as a share of the camera's height over the ankles. A person's
share stays the same while they walk nearer or further, and only under the true horizon: the horizon is
the one that keeps every person's share most constant. (The lifter's 3D is not used for this beyond
choosing the upright frames: a person's lifted size, seen from above, changes with the angle it is seen
at, which would pull the horizon.)

That needs a camera that looks up or down: level, the horizon runs through the principal point and the
vertical vanishing point is at infinity, so every focal length fits, and the estimate says so. It also
needs people who move towards or away from the camera, so that their shares are seen at several
distances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from finepose_core.geometry.camera import focal_from_fov
from finepose_core.geometry.gravity import GravityConfig, estimate_up, up_from_pitch_roll
from finepose_core.geometry.lens import LensEstimate
from finepose_core.geometry.vanishing import VanishingConfig, image_up, upright_segments

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class HorizonConfig:
    min_frames: int = 30  # upright person-frames with the legs seen, at all
    # a person's own departures from the model (their lean, the bob of a walk, a foot lifted) drift
    # slowly: frames within this are one measurement for the estimate's uncertainty, not many
    block_seconds: float = 0.5
    # a frame's log share off its person's by more than this counts less (soft L1)
    residual_scale: float = 0.05
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
    return _Vertical(down, distance, relative)


def _shares(
    feet: FloatArray, neck: FloatArray, vanishing: FloatArray, normal: FloatArray, offset: float
) -> FloatArray:
    """Each frame's neck height over the ankles as a share of the camera's, from the cross-ratio of the
    feet, the neck, the horizon and the vertical vanishing point along the line from the vanishing point
    through the feet. Points are relative to the principal point; the horizon is {q : q · normal = offset}."""
    line = feet - vanishing
    length2 = np.maximum(np.sum(line * line, axis=-1), 1e-9)
    # positions along the line: the vanishing point at 0, the feet at 1, the neck projected onto it
    top = np.sum((neck - vanishing) * line, axis=-1) / length2
    facing = line @ normal
    crossing = (offset - vanishing @ normal) / np.where(np.abs(facing) > 1e-9, facing, 1e-9)
    # cross-ratio (feet, neck; horizon, vanishing point) = (h_c - z_feet) / (h_c - z_neck)
    ratio = (crossing - 1) * top / np.where(np.abs(crossing - top) > 1e-9, crossing - top, 1e-9)
    return np.asarray(1 - 1 / np.where(np.abs(ratio) > 1e-9, ratio, 1e-9))


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
            feet, neck = upright_segments(pose, point, None if seen is None else seen[index], config.gravity)
            usable = np.isfinite(feet).all(axis=-1) & np.isfinite(neck).all(axis=-1)
            if usable.any():
                runs.append((feet[usable], neck[usable]))
    frames = sum(len(feet) for feet, _ in runs)
    if frames < config.min_frames:
        return None
    centre = intrinsics[:2, 2]
    feet = np.concatenate([f for f, _ in runs]) - centre
    neck = np.concatenate([n for _, n in runs]) - centre
    person = np.concatenate([np.full(len(f), i) for i, (f, _) in enumerate(runs)])
    vanishing = vertical.distance * vertical.down
    width = float(image_size[0])

    def misses(params: FloatArray) -> FloatArray:
        """Each frame's log share off its person's. params[0] is the image's width over the horizon's
        distance above the principal point (0: a horizon at infinity), the rest each person's log share."""
        offset = -width / (params[0] if abs(params[0]) > 1e-9 else 1e-9)
        share = _shares(feet, neck, vanishing, vertical.down, offset)
        return np.asarray(np.log(np.maximum(share, 1e-3)) - params[1:][person])

    # from a horizon as far above the principal point as the vanishing point is below it (a 45° pitch,
    # safely between level and straight down) and each person's median share under it
    first_guess = width / vertical.distance
    shares = _shares(feet, neck, vanishing, vertical.down, -vertical.distance)
    start = np.array(
        [first_guess]
        + [float(np.log(np.median(np.maximum(shares[person == i], 1e-3)))) for i in range(len(runs))]
    )
    fit = least_squares(misses, start, loss="soft_l1", f_scale=config.residual_scale, x_scale="jac")
    spread = max(1.4826 * float(np.median(np.abs(fit.fun - np.median(fit.fun)))), 1e-4)
    # frames within a block count as one (config.block_seconds)
    block = max(1.0, config.block_seconds * fps)
    # a person hardly seen moving leaves their share free and the information singular in that
    # direction only; the pseudo-inverse leaves the horizon's variance as the others tell it
    covariance = np.linalg.pinv(fit.jac.T @ fit.jac) * spread**2 * block
    inverse = float(fit.x[0])
    horizon = width / inverse if abs(inverse) > 1e-9 else math.inf
    horizon_error = math.sqrt(max(float(covariance[0, 0]), 0.0)) / max(abs(inverse), 1e-9)
    product = horizon * vertical.distance
    # a horizon at infinity, or on the vanishing point's side (no pinhole camera gives that): no focal length
    if not math.isfinite(product) or product <= 0:
        return HorizonFit(float(intrinsics[0, 0]), math.inf, False, frames, horizon, vertical.distance)
    focal = math.sqrt(product)
    uncertainty = 0.5 * math.hypot(horizon_error, vertical.relative_error)
    believable = (
        focal_from_fov(width, config.max_fov_deg) <= focal <= focal_from_fov(width, config.min_fov_deg)
    )
    sure = uncertainty <= config.sure_within and believable
    return HorizonFit(focal, uncertainty, sure, frames, horizon, vertical.distance)


def horizon_lens(fit: HorizonFit | None) -> LensEstimate | None:
    """The fit as one of the lens's estimates (`lens.combined`)."""
    if fit is None:
        return None
    return LensEstimate(fit.focal_px, fit.uncertainty, fit.sure, fit.frames, "horizon")
