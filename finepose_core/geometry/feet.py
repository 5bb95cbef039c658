"""Feet that stay planted: foot contacts found on the lifted motion and honoured where it is placed.

The lifter's root-relative poses are good; what makes feet slide is mostly the root's depth, which a
single camera measures poorly (a centimetre of 2D noise is several centimetres of depth at a few metres).
The image, on the other hand, sees a planted foot sharply: its ankle stands still in the picture. So a
contact is an ankle that is still in 2D (in body heights per second, so it holds at any distance) and not
clearly higher than the other one. Each contact pins its ankle to one point on the floor, the points
and a frame-by-frame shift of the whole body found together (plant_feet), and what the shift cannot do
while both feet are down the leg does, bending its knee: the motion keeps its shape and every client —
the JSON, the add-on, the batch script — gets feet that stay where they were put down, soles on the floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import binary_dilation, gaussian_filter1d
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

FloatArray = NDArray[np.float64]
ANKLES = (3, 6)
RIGHT_HIP, LEFT_HIP = 1, 4
# the ankle joint stands this far above the floor on a flat foot, as the lifter places it: its training
# captures put the ankle about 6.5 cm over the toe joint's lowest point, itself a little over the sole, and
# the rendered validation clips' planted ankles stand 9–10 cm up (a person's malleolus is nearer 7 cm);
# placement's floor uses it too
ANKLE_HEIGHT_M = 0.09
# how firmly a contact's point is held at the ankle's height above the floor, against its ankle's pull
_FLOOR_WEIGHT = 1e4


@dataclass(frozen=True)
class FeetConfig:
    still_2d: float = 0.3  # body heights per second: at most this fast in the image
    slower_share: float = 0.5  # and at most this share of the other ankle's speed
    both_still_2d: float = 0.2  # unless both are this still (standing; MediaPipe's jitter reads as speed)
    above_other_m: float = 0.1  # and at most this much higher than the other ankle (a foot held up is not)
    min_frames: int = 3  # shorter contacts are noise
    smoothing_seconds: float = 0.07  # of the 2D ankle tracks before speeds are read
    # the smoothed speed lags where a foot lands or lifts off (by up to two of the smoothing's σ): a
    # contact is grown into those frames where the ankle is already (still) within this share of the
    # body's height of the contact's place in the image
    settled: float = 0.02
    # λ of plant_feet: 0 pins exactly (the root's per-frame depth noise is what moves a planted foot, so
    # following it frame by frame is the fix); larger smooths the shift at the cost of some sliding
    smoothness: float = 0.02
    # how much plant_feet keeps the lifted root's place (per frame, against 1 for a planted ankle): little
    # along the line of sight, where a single camera's depth wanders, more sideways across it, which the
    # image shows
    depth_trust: float = 1e-4
    side_trust: float = 1e-3
    # … and its height, hardly: between contacts a step apart the body keeps the height its planted feet
    # gave it, but some way from any contact (√(smoothness / height_trust) frames) it goes back to the
    # height placement gave it, from the whole clip's floor: a lone contact, perhaps on an ankle the
    # detector guessed behind a desk, does not set the body's height for the whole clip
    height_trust: float = 1e-4
    # while both feet are held, the one moving faster in the image counts less (see _stillness)
    still_scale: float = 0.1
    # contact frames further than this from their contact's point (metres, horizontally) count less
    robust_m: float = 0.015
    robust_iterations: int = 4
    # planted ankles moved onto their points across the floor by bending the leg (see plant_feet)
    reach: bool = True
    # … fully where the ankle is within a few centimetres of its point (the lifted legs' own noise, which
    # robust_m weighs down in the shift), half at this distance (a contact that is likely wrong)
    reach_m: float = 0.1
    on_floor: bool = True  # contacts' points held on the floor (z = ankle height), the body shifted to them
    # where the ankle is hidden (confidence under `seen_confidence`: behind someone, or a filled frame; or
    # behind the other foot, see _seen), a contact is carried on into the hidden frames up to the person's
    # typical contact length, and two contacts of one ankle either side of a mostly hidden stretch are one
    # if the ankle is at the same place in the image (within `same_spot` body heights) at both
    seen_confidence: float = 0.3
    through_hidden: bool = True
    typical_seconds: float = 0.5  # the typical contact length where fewer than `typical_runs` were seen
    typical_runs: int = 2
    same_spot: float = 0.05
    coincide: float = 0.03  # moving ankles this close in the image (body heights) count as hidden (_seen)


def in_picture(
    keypoints2d: NDArray[np.floating[Any]], confidence: NDArray[np.floating[Any]], image_size: tuple[int, int]
) -> FloatArray:
    """The confidence [..., 17] with the joints outside a `image_size` (width, height) picture at 0.
    MediaPipe places the joints the frame cuts off too, and can be sure of them: an ankle out of the picture
    is not seen standing still, however sure it is said to be."""
    points = np.asarray(keypoints2d, dtype=np.float64)
    width, height = image_size
    inside = (
        (points[..., 0] >= 0) & (points[..., 0] < width) & (points[..., 1] >= 0) & (points[..., 1] < height)
    )
    return np.where(inside, np.asarray(confidence, dtype=np.float64), 0.0)


def mask_runs(mask: NDArray[np.bool_], min_frames: int = 1) -> list[tuple[int, int]]:
    """[start, end) of each run of True at least `min_frames` long."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_frames]


def _speed(track: FloatArray, fps: float, sigma: float) -> FloatArray:
    """Per-frame speed [F] of a track [F, D] after a light Gaussian smoothing (jitter reads as speed)."""
    if len(track) < 2:
        return np.zeros(len(track))
    smooth = gaussian_filter1d(track, sigma, axis=0, mode="nearest") if sigma > 0 else track
    return np.asarray(np.linalg.norm(np.gradient(smooth, axis=0), axis=-1) * fps)


def _body_height(pixels: FloatArray) -> float:
    """The person's height in the image (pixels): the median over frames of their keypoints' vertical
    spread; NaN without frames."""
    if len(pixels) == 0:
        return float("nan")
    return float(np.nanmedian(np.ptp(pixels[..., 1], axis=1)))


def _ankle_speeds(pixels: FloatArray, fps: float, config: FeetConfig) -> FloatArray | None:
    """[F, 2] each ankle's (right, left) speed in the image, in body heights per second after a light
    smoothing; None where the body's height or an ankle's track is unknown."""
    height = _body_height(pixels)
    tracks = [pixels[:, ankle] for ankle in ANKLES]
    if not (math.isfinite(height) and height > 0) or not all(np.isfinite(t).all() for t in tracks):
        return None
    sigma = config.smoothing_seconds * fps
    return np.asarray(np.stack([_speed(track, fps, sigma) / height for track in tracks], axis=1))


def still_ankles(
    keypoints2d: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None,
    fps: float,
    config: FeetConfig | None = None,
) -> NDArray[np.bool_]:
    """[F, 2] where each ankle (right, left) stands still in the image, seen in `min_frames` or more of
    those frames: the image's own evidence of a planted foot, before any 3D.

    A still stretch may have unseen frames in it (a frame or two of low confidence, or frames the
    tracker filled in while someone passed in front): they count where the ankle is still across them,
    from its first seen frame to its last, so that a flickering confidence does not cut a contact into
    pieces too short to keep. Each stretch is then grown where the foot lands or lifts off (`_settled`)."""
    config = config or FeetConfig()
    pixels = np.asarray(keypoints2d, dtype=np.float64)
    out = np.zeros((len(pixels), len(ANKLES)), bool)
    if len(pixels) < config.min_frames:
        return out
    speeds = _ankle_speeds(pixels, fps, config)
    if speeds is None:
        return out
    seen = _seen(pixels, confidence, speeds, config)
    reach = config.settled * _body_height(pixels)
    lag = math.ceil(2 * config.smoothing_seconds * fps)  # two of the speed's smoothing σ
    for side in range(len(ANKLES)):
        own, other = speeds[:, side], speeds[:, 1 - side]
        # a foot walking towards the camera moves little in the image; the planted one moves less still,
        # so a foot counts only while it is also clearly the slower of the two (or both are nearly still)
        still = (own < config.still_2d) & (
            own <= np.maximum(config.slower_share * other, config.both_still_2d)
        )
        for start, end in mask_runs(still, config.min_frames):
            visible = start + np.flatnonzero(seen[start:end, ANKLES[side]])
            if len(visible) >= config.min_frames:
                first, after = _settled(pixels[:, ANKLES[side]], visible[0], visible[-1] + 1, reach, lag)
                out[first:after, side] = True
    return out


def _settled(track: FloatArray, start: int, end: int, reach: float, lag: int) -> tuple[int, int]:
    """The still stretch [start, end) of an ankle's 2D track [F, 2] grown by up to `lag` frames either way
    (the smoothed speed lags where the foot lands or lifts off), as far as the ankle stays within `reach`
    pixels of the stretch's median place in the image."""
    if reach <= 0 or lag <= 0:
        return start, end
    place = np.median(track[start:end], axis=0)
    near = np.linalg.norm(track - place, axis=-1) <= reach
    first, after = start, end
    while first > max(start - lag, 0) and near[first - 1]:
        first -= 1
    while after < min(end + lag, len(track)) and near[after]:
        after += 1
    return first, after


def find_contacts(
    world: NDArray[np.floating[Any]],
    keypoints2d: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None,
    fps: float,
    config: FeetConfig | None = None,
) -> NDArray[np.bool_]:
    """[F, 2] whether each ankle (right, left) is planted, from world joints [F, 17, 3] (z up) and the 2D
    [F, 17, 2] the person was lifted from: still in the image, and not clearly higher than the other ankle.

    Both tests are immune to the root's depth noise, which moves both ankles together; a test of the
    ankle's own height or 3D speed is not (on a clip of someone bending over, the lifted ankles wandered
    over 25 cm of height and 0.6 m/s while the feet stood still)."""
    config = config or FeetConfig()
    joints = np.asarray(world, dtype=np.float64)
    still = still_ankles(keypoints2d, confidence, fps, config)
    out = np.zeros_like(still)
    heights = joints[:, list(ANKLES), 2]
    for side in range(len(ANKLES)):
        low = heights[:, side] <= heights[:, 1 - side] + config.above_other_m
        for start, end in mask_runs(still[:, side] & low, config.min_frames):
            out[start:end, side] = True
    return through_hidden(out, keypoints2d, confidence, fps, config) if config.through_hidden else out


def _seen(
    pixels: FloatArray,
    confidence: NDArray[np.floating[Any]] | None,
    speeds: FloatArray | None,
    config: FeetConfig,
) -> NDArray[np.bool_]:
    """[F, 17] where each joint was seen: confident enough (every joint when no confidence is given), and
    for the ankles, not both on one foot. Two ankles within `coincide` body heights of each other in the
    image, both moving (faster than `still_2d`), are the swinging foot passing in front of the planted
    one, seen from the side: the planted one is hidden behind it, and MediaPipe then puts both labels on
    the foot it sees, confidently, so neither says where its own foot is. (Both labels on the planted foot
    stand still, and the planted one's label is right: that is left alone.) `speeds` are _ankle_speeds'."""
    if confidence is None:
        seen = np.ones(pixels.shape[:2], bool)
    else:
        seen = np.asarray(confidence) > config.seen_confidence
    if config.coincide <= 0 or speeds is None:
        return seen
    apart = np.linalg.norm(pixels[:, ANKLES[0]] - pixels[:, ANKLES[1]], axis=-1)
    moving = (speeds > config.still_2d).all(axis=1)
    together = (apart < config.coincide * _body_height(pixels)) & moving
    seen[together, ANKLES[0]] = False
    seen[together, ANKLES[1]] = False
    return seen


def through_hidden(
    contacts: NDArray[np.bool_],
    keypoints2d: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None,
    fps: float,
    config: FeetConfig | None = None,
) -> NDArray[np.bool_]:
    """The contacts [F, 2] carried into the frames where their ankle is hidden.

    Where someone walks behind another person, or the tracker filled frames in, the image cannot show a
    still ankle, and the lifted ankle moves with the guessed root: without a contact there, the foot
    slides by the root's error. A foot that was planted as it went out of sight most likely stays so for
    about as long as this person's feet stay down; a foot planted at the same spot in the image before
    and after a hidden stretch stayed there throughout."""
    config = config or FeetConfig()
    out = np.array(contacts, dtype=bool)
    if len(out) == 0:
        return out
    pixels = np.asarray(keypoints2d, dtype=np.float64)
    seen = _seen(pixels, confidence, _ankle_speeds(pixels, fps, config), config)
    height = _body_height(pixels)
    if not np.isfinite(height) or height <= 0:
        return out
    # the frames next to a hidden stretch count as hidden too: the ankle is being covered or uncovered
    # there, and its speed is read over a few frames
    hidden = ~seen[:, list(ANKLES)]
    if config.min_frames > 1:  # (iterations=0 would dilate until nothing changes)
        hidden = binary_dilation(hidden, structure=np.ones((3, 1), bool), iterations=config.min_frames - 1)
    if not hidden.any():
        return out
    # how long this person's feet stay down: the contacts seen whole (no hidden frame in them or next to
    # them, which could have cut them short or carried them on)
    whole = [
        end - start
        for side in range(len(ANKLES))
        for start, end in mask_runs(out[:, side])
        if not hidden[max(start - 1, 0) : end + 1, side].any()
    ]
    typical = float(np.median(whole)) if len(whole) >= config.typical_runs else config.typical_seconds * fps
    for side, ankle in enumerate(ANKLES):
        for (_, end), (start, _) in pairwise(mask_runs(out[:, side])):
            if hidden[end:start, side].mean() < 0.5:
                continue
            before = np.median(pixels[max(0, end - config.min_frames) : end, ankle], axis=0)
            after = np.median(pixels[start : start + config.min_frames, ankle], axis=0)
            if np.linalg.norm(after - before) <= config.same_spot * height:
                out[end:start, side] = True
        for start, end in mask_runs(out[:, side]):
            room = max(0, round(typical) - (end - start))
            ahead = end
            while ahead < len(out) and hidden[ahead, side] and ahead - end < room:
                ahead += 1
            behind = start
            while behind > 0 and hidden[behind - 1, side] and start - behind < room - (ahead - end):
                behind -= 1
            out[behind:ahead, side] = True
    return out


def plant_feet(
    world: NDArray[np.floating[Any]],
    contacts: NDArray[np.bool_],
    fps: float,
    config: FeetConfig | None = None,
    camera_position: NDArray[np.floating[Any]] | None = None,
    keypoints2d: NDArray[np.floating[Any]] | None = None,
) -> FloatArray:
    """World joints [F, 17, 3] shifted frame by frame so that each contact's ankle stays at one point
    (on the floor when `on_floor`), the legs bent the rest of the way across the floor (`reach`).

    The shifts s_t and the contacts' points p_k are found together, by least squares over
        Σ_t Σ_k planted at t |a_kt + s_t − p_k|²  +  λ Σ_t |s_{t+1} − s_t|²  +  Σ_t s_tᵀ M_t s_t,
    where M_t trusts the lifted root's horizontal place a little along the line of sight (`depth_trust`: a
    single camera's depth is what wanders) and more sideways (`side_trust`: that is what the image shows),
    and its height hardly (`height_trust`): near contacts, the planted feet say it.
    Taking each point where its ankle was on average, alone, would not do: while both feet are down
    the two points disagree by however far the root's depth had wandered between the two contacts, and
    the body jumps by half of it each time a contact begins or ends. Found together, each new contact
    starts where its ankle is as the body stands then, and the depth the image cannot tell is carried
    from one planted foot to the next. `camera_position` (world) gives the line of sight; without it
    the lifted root's horizontal place is trusted as little as along it, in every direction.
    `keypoints2d` [F, 17, 2] (the 2D the person was lifted from) tells which of two held feet to trust
    more (_stillness)."""
    config = config or FeetConfig()
    joints = np.array(world, dtype=np.float64)
    frames = len(joints)
    runs = [(side, start, end) for side in range(len(ANKLES)) for start, end in mask_runs(contacts[:, side])]
    if not runs:
        return joints
    prior = np.ones(contacts.shape) if keypoints2d is None else _stillness(keypoints2d, fps, config)
    shift, points = _shifts(joints, runs, config, camera_position, prior)
    joints += shift.reshape(frames, 1, 3)
    if config.reach:
        # what the shift could not do while both feet are down (the lifted legs move against each other,
        # more so in a bend or a crouch): each planted ankle is moved the rest of the way onto its point
        # over the floor, as far as its contact is trusted there, the knee bending to keep the leg's bones
        # their length. Across the floor only: its height stays where the shift put it, which holds the
        # contacts on the floor on average; bending the knee for the last centimetres of height as well
        # moved the lifted legs away from the true ones (the validation clips' pose error) for almost no
        # gain in the soles' height (docs/pipeline.md)
        for (side, start, end), point in zip(runs, points, strict=True):
            ankle = joints[start:end, ANKLES[side]]
            miss = np.linalg.norm((point - ankle)[:, :2], axis=1)
            weight = prior[start:end, side] / (1.0 + (miss / config.reach_m) ** 2)
            target = ankle.copy()
            target[:, :2] += weight[:, None] * (point - ankle)[:, :2]
            joints[start:end] = _leg_reaching(joints[start:end], side, target)
    return joints


def _stillness(keypoints2d: NDArray[np.floating[Any]], fps: float, config: FeetConfig) -> FloatArray:
    """[F, 2] how much each ankle's contact counts while both feet are held: 1 for the one that is the
    stiller in the image, less for the other the faster it moves (the weight of a speed of `still_scale`
    body heights per second is a half)."""
    pixels = np.asarray(keypoints2d, dtype=np.float64)
    speeds = _ankle_speeds(pixels, fps, config)
    if len(pixels) < 2 or speeds is None or not np.isfinite(pixels).all():
        return np.ones((len(pixels), len(ANKLES)))
    weights = 1.0 / (1.0 + (speeds / config.still_scale) ** 2)
    return np.asarray(weights / weights.max(axis=1, keepdims=True))


def _shifts(
    joints: FloatArray,
    runs: list[tuple[int, int, int]],
    config: FeetConfig,
    camera_position: NDArray[np.floating[Any]] | None,
    prior: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """The per-frame shifts [F, 3] of plant_feet and the contacts' points [K, 3], by iteratively
    reweighted least squares in the unknowns (s_0 … s_{F−1}, p_0 … p_{K−1}), three coordinates each.

    A contact found a few frames too early or too late (a foot swinging towards the camera barely moves
    in the image) would drag the planted foot along while both are held; its frames disagree with the
    rest of its contact, so their weight is lowered the further they are from its point (a Cauchy
    weight of scale `robust_m`), and the planted foot stays where it is."""
    frames = len(joints)
    size = 3 * (frames + len(runs))
    eye = np.eye(3)
    pair = np.block([[eye, -eye], [-eye, eye]])
    axes = np.arange(3)
    fixed = _Normal(size)
    if frames > 1:
        t = np.arange(frames - 1)
        index = np.concatenate([3 * t[:, None] + axes, 3 * (t[:, None] + 1) + axes], 1)
        fixed.add(index, np.broadcast_to(max(config.smoothness, 1e-6) * pair, (len(t), 6, 6)))
    # the lifted root's own place: trusted sideways across the line of sight, less along it, hardly in height
    level = np.diag([1.0, 1.0, 0.0])
    if camera_position is None:
        trust = np.broadcast_to(config.depth_trust * level, (frames, 3, 3))
    else:
        sight = (joints[:, 0] - np.asarray(camera_position, np.float64)) @ level
        sight /= np.maximum(np.linalg.norm(sight, axis=1, keepdims=True), 1e-9)
        along = sight[:, :, None] * sight[:, None, :]
        trust = config.depth_trust * along + config.side_trust * (level - along)
    # (a whisker of trust in every direction keeps the system regular whatever the settings)
    height = np.diag([0.0, 0.0, config.height_trust])
    fixed.add(3 * np.arange(frames)[:, None] + axes, trust + height + 1e-9 * eye)
    for k, (_, start, end) in enumerate(runs):
        if config.on_floor:  # the point held at the ankle's height above the floor
            weight = _FLOOR_WEIGHT * (end - start)
            fixed.add(np.array([[3 * (frames + k) + 2]]), np.array([[[weight]]]))
            fixed.rhs[3 * (frames + k) + 2] += weight * ANKLE_HEIGHT_M
    ankles = [joints[start:end, ANKLES[side]] for side, start, end in runs]
    weights = [prior[start:end, side] for side, start, end in runs]
    shift = np.zeros((frames, 3))
    points = np.zeros((len(runs), 3))
    for iteration in range(config.robust_iterations + 1):
        system = fixed.copy()
        for k, (_, start, end) in enumerate(runs):
            t = np.arange(start, end)
            w = weights[k]
            # w·|a + s − p|²: its quadratic block over (s_t, p_k) and its linear terms
            index = np.concatenate(
                [3 * t[:, None] + axes, np.broadcast_to(3 * (frames + k) + axes, (len(t), 3))], 1
            )
            system.add(index, w[:, None, None] * pair)
            np.subtract.at(system.rhs, (3 * t[:, None] + axes).ravel(), (w[:, None] * ankles[k]).ravel())
            system.rhs[3 * (frames + k) + axes] += (w[:, None] * ankles[k]).sum(axis=0)
        solution = system.solve()
        shift = solution[: 3 * frames].reshape(frames, 3)
        points = solution[3 * frames :].reshape(-1, 3)
        if iteration == config.robust_iterations:
            break
        for k, (side, start, end) in enumerate(runs):
            miss = np.linalg.norm((ankles[k] + shift[start:end] - points[k])[:, :2], axis=1)
            weights[k] = prior[start:end, side] / (1.0 + (miss / config.robust_m) ** 2)
    return shift, points


def _leg_reaching(joints: FloatArray, side: int, target: FloatArray) -> FloatArray:
    """Poses [B, 17, 3] with the leg of `side` bent so that its ankle reaches `target` [B, 3] (or as near
    as the leg's length allows): the hip stays, the thigh and shin keep their lengths, and the knee bends
    in the plane of hip, knee and target, to the side it was bent to."""
    out = np.array(joints, dtype=np.float64)
    ankle = ANKLES[side]
    knee, hip = ankle - 1, ankle - 2
    thigh = np.linalg.norm(out[:, knee] - out[:, hip], axis=1)
    shin = np.linalg.norm(out[:, ankle] - out[:, knee], axis=1)
    reach = target - out[:, hip]
    distance = np.linalg.norm(reach, axis=1)
    distance = np.clip(distance, np.maximum(np.abs(thigh - shin), 1e-9), thigh + shin)
    along = reach / np.maximum(np.linalg.norm(reach, axis=1, keepdims=True), 1e-9)
    bend = out[:, knee] - out[:, hip]
    bend -= (bend * along).sum(axis=1, keepdims=True) * along
    # a leg lifted straight tells no bend direction: the knee then goes forwards (left hip × up)
    forward = np.cross(out[:, LEFT_HIP] - out[:, RIGHT_HIP], np.array([0.0, 0.0, 1.0]))
    forward -= (forward * along).sum(axis=1, keepdims=True) * along
    straight = np.linalg.norm(bend, axis=1) < 1e-3 * (thigh + shin)
    bend = np.where(straight[:, None], forward, bend)
    bend /= np.maximum(np.linalg.norm(bend, axis=1, keepdims=True), 1e-9)
    # the knee where the two bones meet: x along the hip→target line, y off it (law of cosines)
    x = (thigh**2 - shin**2 + distance**2) / (2 * distance)
    y = np.sqrt(np.maximum(thigh**2 - x**2, 0.0))
    out[:, knee] = out[:, hip] + x[:, None] * along + y[:, None] * bend
    out[:, ankle] = out[:, hip] + distance[:, None] * along
    return out


class _Normal:
    """Normal equations A x = b assembled from symmetric blocks over chosen unknowns."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: list[NDArray[np.int64]] = []
        self.cols: list[NDArray[np.int64]] = []
        self.vals: list[FloatArray] = []
        self.rhs = np.zeros(size)

    def add(self, index: NDArray[np.int64], block: NDArray[np.floating[Any]]) -> None:
        """Adds B blocks [B, n, n], each over the unknowns index[b] [n]."""
        width = index.shape[1]
        self.rows.append(np.repeat(index, width, axis=1).ravel())
        self.cols.append(np.tile(index, (1, width)).ravel())
        self.vals.append(np.asarray(block, np.float64).ravel())

    def copy(self) -> _Normal:
        other = _Normal(self.size)
        other.rows, other.cols, other.vals = list(self.rows), list(self.cols), list(self.vals)
        other.rhs = self.rhs.copy()
        return other

    def solve(self) -> FloatArray:
        matrix = coo_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.size, self.size),
        ).tocsc()
        return np.asarray(spsolve(matrix, self.rhs))
