"""Placing lifted people in the scene: root translation per frame, the floor, and the world frame.

- Root translation: per frame, the camera-space translation that best reprojects the lifted root-relative
  pose onto its 2D keypoints (`camera.estimate_root_translation`, weighted by confidence), then smoothed
  over time, so people walking across the room keep their relative depths.
- Up and floor: the world's up from the people's upright frames (`gravity.estimate_up`), refined by where
  their feet → neck lines meet in the image (`vanishing.image_up`), so the camera's pitch and roll are
  known without foot contacts; then the floor along that up, through everybody's lowest ankles over time
  and the ankles in contact with the ground (slow and low along that up) together, fitted along the
  viewing rays. Only when nobody is upright at all is a plane through contacts along a guessed level
  camera tried, and failing that a level camera assumed (and said), as high as puts the floor under the
  lifted feet (a default height only with too few frames).
- World frame: z up along the floor normal, the floor at z = 0, the origin under the camera, x along the
  camera's x projected onto the floor; `world_from_camera` is the 4×4 transform of docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.signal import savgol_filter

from finepose_core.geometry.camera import estimate_root_translation
from finepose_core.geometry.feet import ANKLE_HEIGHT_M
from finepose_core.geometry.gravity import (
    GravityConfig,
    UpEstimate,
    angle_deg,
    camera_pitch_roll,
    estimate_up,
    up_from_pitch_roll,
)
from finepose_core.geometry.vanishing import VanishingConfig, fuse, image_up

FloatArray = NDArray[np.float64]
ANKLES = (3, 6)
KNEES_ANKLES = (2, 3, 5, 6)


@dataclass(frozen=True)
class PlacementConfig:
    smoothing_seconds: float = 0.3  # Savitzky–Golay window for the root path
    # … and, once the floor is found, for the root's distance from the camera alone (steady_depth)
    depth_smoothing_seconds: float = 0.7
    # … over this many seconds where the legs are hidden (seen in under `legs_seen_share` of the frames):
    # the depth then rests on the upper body's image size, which a bend or an arm swung across the body
    # changes for a second or more, and no planted foot holds the body in place; wider everywhere, the
    # window would flatten a walker's turn towards or away from the camera (docs/pipeline.md)
    hidden_legs_depth_seconds: float = 2.0
    legs_seen_share: float = 0.5
    legs_seen_confidence: float = 0.5  # knees and ankles this sure, in the picture, count as seen
    contact_speed: float = 0.25  # m/s: an ankle slower than this may be on the floor
    contact_height: float = 0.08  # m: and no higher than this above the lowest ankle nearby
    default_camera_height: float = 1.5  # m, when nobody is upright: no up, no floor
    default_pitch_deg: float = 5.0
    max_camera_height: float = 30.0  # m: a floor further below is not believed
    # with the people's up, the floor rests on contacts (a fitted floor) when at least this many ankle
    # positions are in contact; without it, a plane through contacts is kept when its normal is within
    # `level_agrees_deg` of the default level camera's up
    min_contacts: int = 10
    level_agrees_deg: float = 45.0
    # without contacts: the scatter of the lowest ankles about the floor (the lifter's depth noise), metres
    floor_noise_m: float = 0.05
    floor_depth_noise: float = 0.05  # of the lowest ankles' depth, as a share of it, after averaging
    bin_seconds: float = 0.5  # stretches of the lowest ankles averaged into one point
    # the widest prior on the floor's tilt away from the people's up: the lowest ankles of someone who
    # hardly moves over the floor say little about its tilt, however unsure the up is
    tilt_prior_deg: float = 3.0
    gravity: GravityConfig = field(default_factory=GravityConfig)
    vanishing: VanishingConfig = field(default_factory=VanishingConfig)


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


def legs_in_view(
    confidence: NDArray[np.floating[Any]], config: PlacementConfig | None = None
) -> NDArray[np.bool_]:
    """[F] the frames where the 2D saw both knees and both ankles at least `legs_seen_confidence` sure,
    from its confidence [F, 17] with the joints out of the picture at 0 (`feet.in_picture`)."""
    config = config or PlacementConfig()
    knees_ankles = np.asarray(confidence, dtype=np.float64)[:, list(KNEES_ANKLES)]
    return np.asarray((knees_ankles >= config.legs_seen_confidence).all(axis=1))


def steady_depth(
    joints_camera: NDArray[np.floating[Any]],
    fps: float,
    config: PlacementConfig | None = None,
    legs_seen: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Camera-space joints [F, 17, 3] (one run of consecutive frames) with the root's distance from the
    camera smoothed over `depth_smoothing_seconds` (`hidden_legs_depth_seconds` where `legs_seen` [F], the
    frames whose legs the 2D saw, are too few), each pose moved along its root's line of sight.

    A single camera fixes the line a person is seen along well and the distance along it poorly: it comes
    from the body's image size, which a hidden or misread limb changes from frame to frame, and the whole
    body, planted feet too, jitters towards and away from the camera. Real motion in depth is smooth over
    the window (a quadratic fit); the floor is found before this, from the unsmoothed path, which it
    does better with (a dribble's jumps and turns)."""
    config = config or PlacementConfig()
    joints = np.array(joints_camera, dtype=np.float64)
    hidden = (
        legs_seen is not None and len(legs_seen) > 0 and float(np.mean(legs_seen)) < config.legs_seen_share
    )
    seconds = config.hidden_legs_depth_seconds if hidden else config.depth_smoothing_seconds
    window = round(seconds * fps) | 1
    if window < 5 or len(joints) <= window:
        return joints
    root = joints[:, 0]
    depth = root[:, 2]
    steady = np.maximum(savgol_filter(depth, window, 2), 0.1)
    moved = root * (steady / depth)[:, None]
    return np.asarray(joints + (moved - root)[:, None])


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


FloorSource = str  # "contacts" | "body" | "default"


@dataclass
class Floor:
    normal: FloatArray  # unit, in camera space, pointing up (away from the floor)
    offset: float  # normal · x = offset on the floor
    fitted: bool  # True: a plane through foot contacts
    contacts: int  # ankle positions used
    # how up was found: "contacts" (the plane), "body" (upright people, floor under the lowest ankles),
    # "default" (nobody upright: a level camera, its height from the lifted feet or the default)
    source: FloorSource = "contacts"
    uncertainty_deg: float | None = None  # of the up direction; None for the default
    sure: bool = True
    # for the default up: whether the camera's height came from the lifted feet (else the default)
    height_from_feet: bool = False

    @property
    def camera_height(self) -> float:
        """The camera centre's height above the floor, metres."""
        return -self.offset

    @property
    def pitch_roll_deg(self) -> tuple[float, float]:
        return camera_pitch_roll(self.normal)

    def world_from_camera(self) -> FloatArray:
        """4×4: world (z up, floor z = 0, origin under the camera) from camera coordinates."""
        up = self.normal
        x_axis = np.array([1.0, 0.0, 0.0]) - up[0] * up
        x_axis /= np.linalg.norm(x_axis)
        y_axis = np.cross(up, x_axis)
        rotation = np.stack([x_axis, y_axis, up])  # rows: world axes in camera coordinates
        transform = np.eye(4)
        transform[:3, :3] = rotation
        transform[:3, 3] = [0.0, 0.0, self.camera_height]
        return transform


def _contact_points(
    people_joints: list[FloatArray], fps: float, config: PlacementConfig, up: FloatArray
) -> FloatArray:
    """[N, 3] the ankle positions in contact with the floor (found along `up`), everybody's."""
    points = [joints[:, list(ANKLES)][foot_contacts(joints, fps, config, -up)] for joints in people_joints]
    stacked = np.concatenate(points) if points else np.zeros((0, 3))
    return np.asarray(stacked[np.isfinite(stacked).all(axis=-1)])


def _contact_plane(
    people_joints: list[FloatArray], fps: float, config: PlacementConfig, up: FloatArray
) -> tuple[FloatArray, float, int] | None:
    """A plane through the ankles in contact (found along `up`), its normal turned to point up; and how
    many ankle positions it rests on."""
    stacked = _contact_points(people_joints, fps, config, up)
    plane = fit_plane(stacked)
    if plane is None:
        return None
    normal, offset = plane
    if normal @ up < 0:
        normal, offset = -normal, -offset
    return normal, offset, len(stacked)


def _tangent_basis(up: FloatArray) -> tuple[FloatArray, FloatArray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    first = np.cross(up, helper)
    first /= np.linalg.norm(first)
    return first, np.cross(up, first)


def _lowest_ankles_plane(
    people_joints: list[FloatArray],
    up: FloatArray,
    uncertainty_deg: float,
    fps: float,
    config: PlacementConfig,
    contacts: FloatArray | None = None,
) -> tuple[FloatArray, float] | None:
    """The floor under the people's lowest ankles: per frame the lower ankle of each person, a plane
    through the lower envelope of those points (points well above it, a foot in the air or a runner in
    flight, count little) and through the ankles in `contacts` [N, 3], its tilt away from `up` held by a
    prior as wide as up's uncertainty (at most `tilt_prior_deg`).

    A small error in up tilts the floor by the same angle, which at the people's distance moves it by
    distance × angle (7 m × 3° ≈ 0.4 m in camera height); the ankles' heights as the people move about the
    room tell that tilt where they cover ground, and the prior keeps it where they do not."""
    # per person and stretch of `bin_seconds`, the lowest ankles (the lower half of the frames' lower
    # ankle): averaging takes out most of the lifter's frame-to-frame depth noise, which runs along the
    # viewing rays and would otherwise tilt the plane towards them, and each stretch counts once
    span = max(round(config.bin_seconds * fps), 1)
    points = []
    for joints in people_joints:
        ankles = joints[:, list(ANKLES)]
        lower = ankles[np.arange(len(ankles)), np.argmin(ankles @ up, axis=1)]
        lower = lower[np.isfinite(lower).all(axis=-1)]
        for start in range(0, len(lower) - span // 2, span):
            chunk = lower[start : start + span]
            low = chunk[chunk @ up <= np.median(chunk @ up)]
            points.append(low.mean(axis=0))
    binned = len(points)
    if contacts is not None:
        points.extend(contacts)
    if len(points) < 3:
        return None
    stacked = np.stack(points)
    # a contact is the floor: only the binned lowest ankles may be feet in the air
    may_float = np.arange(len(stacked)) < binned
    first, second = _tangent_basis(up)
    depth = np.linalg.norm(stacked, axis=-1)
    rays = stacked / depth[:, None]
    tilt = np.tan(np.radians(min(max(uncertainty_deg, 0.5), config.tilt_prior_deg)))

    def plane(params: FloatArray) -> FloatArray:
        normal = up + params[0] * first + params[1] * second
        return np.asarray(normal / np.linalg.norm(normal))

    def residuals(params: FloatArray, weights: FloatArray) -> FloatArray:
        # a single camera gets the depth along each ray wrong, not the ray: compare depths along the rays
        # (where each ray would meet the floor), in shares of the depth, so the errors do not tilt the fit
        facing = rays @ plane(params)
        meet = params[2] / np.where(np.abs(facing) > 1e-6, facing, 1e-6)
        miss = (depth - meet) / depth / config.floor_depth_noise * weights
        return np.concatenate([miss, params[:2] / tilt])

    heights = stacked @ up
    params = np.array([0.0, 0.0, float(np.median(heights))])
    weights = np.ones(len(stacked))
    for _ in range(3):
        params = least_squares(residuals, params, args=(weights,)).x
        above = stacked @ plane(params) - params[2]
        # the lower envelope: points well above the plane are feet in the air
        weights = np.where((above > config.floor_noise_m) & may_float, 0.2, 1.0)
    return plane(params), float(params[2]) - ANKLE_HEIGHT_M


def fit_floor(
    people_joints: list[FloatArray],
    fps: float,
    config: PlacementConfig | None = None,
    confidences: list[FloatArray] | None = None,
    image: tuple[list[FloatArray], FloatArray] | None = None,
) -> Floor:
    """The floor under everybody's feet, from camera-space joints of each person [F, 17, 3] (and the 2D
    confidence [F, 17] each was lifted from, where known). With `image` — each person's 2D [F, 17, 2]
    and the intrinsics K — the people's up is refined by where their lines meet in the image."""
    config = config or PlacementConfig()
    default_up = up_from_pitch_roll(config.default_pitch_deg)
    body: UpEstimate | None = estimate_up(people_joints, fps, config.gravity, confidences)
    if body is not None and image is not None:
        keypoints2d, K = image
        seen = image_up(people_joints, keypoints2d, K, body, confidences, config.vanishing, config.gravity)
        body = fuse(body, seen, fps, config.vanishing, config.gravity)
    if body is not None:
        # the floor along the people's up, through their lowest ankles and the ankles in contact alike:
        # fitted along the viewing rays, the depth noise of a few contacts cannot tilt it the way it tilts
        # a least-squares plane through the contacts alone (docs/pipeline.md)
        contacts = _contact_points(people_joints, fps, config, body.up)
        lowest = _lowest_ankles_plane(people_joints, body.up, body.uncertainty_deg, fps, config, contacts)
        if lowest is not None and lowest[1] < 0:
            normal, level = lowest
            if len(contacts) >= config.min_contacts:
                return Floor(normal, level, True, len(contacts), "contacts", body.uncertainty_deg, True)
            return Floor(normal, level, False, len(contacts), "body", body.uncertainty_deg, body.sure)
    # nobody upright, or no floor below them along their up: a plane through contacts found along a
    # guessed level camera, if it is roughly level
    plane = _contact_plane(people_joints, fps, config, default_up)
    if plane is not None:
        normal, offset, count = plane
        if float(angle_deg(normal, default_up)) < config.level_agrees_deg and offset < -0.2:
            return Floor(normal, offset - ANKLE_HEIGHT_M, True, count, "contacts", None, True)
    count = 0 if plane is None else plane[2]
    # nobody upright: the camera is taken level, but its height is still the people's to say, from where
    # the lifter puts their feet. Hidden or out of the picture, the legs are its guess, made in proportion
    # to the body it sees; a fixed height would leave everyone floating or sunk by however far it is off.
    under = _under_the_feet(people_joints, default_up)
    if under is not None and -config.max_camera_height < under < 0:
        return Floor(default_up, under, False, count, "default", None, False, height_from_feet=True)
    return Floor(default_up, -config.default_camera_height, False, count, "default", None, False)


def _under_the_feet(people_joints: list[FloatArray], up: FloatArray, min_frames: int = 5) -> float | None:
    """The floor's offset along `up` under everybody's lower ankle frame by frame (their median: the
    planted foot of a walk, both of someone standing), or None with fewer than `min_frames` frames."""
    lower = [(joints[:, list(ANKLES)] @ up).min(axis=1) for joints in people_joints if len(joints)]
    heights = np.concatenate(lower) if lower else np.zeros(0)
    heights = heights[np.isfinite(heights)]
    if len(heights) < min_frames:
        return None
    return float(np.median(heights)) - ANKLE_HEIGHT_M


def floor_warning(floor: Floor) -> str | None:
    """What a user should know about how the world was set upright, or None when it is well founded."""
    pitch, roll = (round(angle) for angle in floor.pitch_roll_deg)
    if floor.source == "default":
        height = (
            f"{floor.camera_height:.1f} m above the floor under the people's feet as lifted (where the legs "
            "are hidden or out of the picture, a guess)"
            if floor.height_from_feet
            else f"{floor.camera_height:.1f} m high"
        )
        return (
            f"nobody stands upright long enough, legs in view, to tell which way is up: a level camera "
            f"(pitch {pitch}°) is assumed, {height}"
        )
    if not floor.sure:
        return (
            f"the floor is estimated from the people's posture, not from foot contacts, and is uncertain "
            f"(camera pitch {pitch}° ± {round(floor.uncertainty_deg or 0)}°, roll {roll}°, height "
            f"{floor.camera_height:.1f} m)"
        )
    return None


def to_world(points_camera: NDArray[np.floating[Any]], world_from_camera: FloatArray) -> FloatArray:
    p = np.asarray(points_camera, dtype=np.float64)
    return np.asarray(p @ world_from_camera[:3, :3].T + world_from_camera[:3, 3])
