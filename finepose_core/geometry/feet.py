"""Feet that stay planted: foot contacts found on the lifted motion and honoured where it is placed.

The lifter's root-relative poses are good; what makes feet slide is mostly the root's depth, which a
single camera measures poorly (a centimetre of 2D noise is several centimetres of depth at a few metres).
The image, on the other hand, sees a planted foot sharply: its ankle stands still in the picture. So a
contact is an ankle that is still in 2D (in body heights per second, so it holds at any distance) and not
clearly higher than the other one. Each contact pins its ankle to one point on the floor (its median
position, lowered onto the floor), and the whole body is shifted frame by frame by the mean pull of its
planted ankles, eased between contacts, so the motion keeps its shape and every client — the JSON, the
add-on, the batch script — gets feet that stay where they were put down, soles on the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import solveh_banded
from scipy.ndimage import binary_dilation, gaussian_filter1d

FloatArray = NDArray[np.float64]
ANKLES = (3, 6)
# the ankle joint centre stands this far above the floor (a typical adult's malleolus height; rigs differ:
# the rendered clips' ankle joints stand 7.5–15 cm up); placement's floor uses it too
ANKLE_HEIGHT_M = 0.08


@dataclass(frozen=True)
class FeetConfig:
    still_2d: float = 0.3  # body heights per second: at most this fast in the image
    slower_share: float = 0.5  # and at most this share of the other ankle's speed
    both_still_2d: float = 0.2  # unless both are this still (standing; MediaPipe's jitter reads as speed)
    above_other_m: float = 0.1  # and at most this much higher than the other ankle (a foot held up is not)
    min_frames: int = 3  # shorter contacts are noise
    smoothing_seconds: float = 0.07  # of the 2D ankle tracks before speeds are read
    # λ of plant_feet: 0 pins exactly (the root's per-frame depth noise is what moves a planted foot, so
    # following it frame by frame is the fix); larger smooths the shift at the cost of some sliding
    smoothness: float = 0.02
    on_floor: bool = True  # planted ankles lowered or raised onto the floor (z = ankle height)
    # where the ankle is hidden (confidence under `seen_confidence`: behind someone, or a filled frame), a
    # contact is carried on into the hidden frames up to the person's typical contact length, and two
    # contacts of one ankle either side of a mostly hidden stretch are one if the ankle is at the same
    # place in the image (within `same_spot` body heights) at both
    seen_confidence: float = 0.3
    through_hidden: bool = True
    typical_seconds: float = 0.5  # the typical contact length where fewer than `typical_runs` were seen
    typical_runs: int = 2
    same_spot: float = 0.05


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


def still_ankles(
    keypoints2d: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None,
    fps: float,
    config: FeetConfig | None = None,
) -> NDArray[np.bool_]:
    """[F, 2] where each ankle (right, left) stands still in the image (seen, for `min_frames` or more):
    the image's own evidence of a planted foot, before any 3D."""
    config = config or FeetConfig()
    pixels = np.asarray(keypoints2d, dtype=np.float64)
    out = np.zeros((len(pixels), len(ANKLES)), bool)
    if len(pixels) < config.min_frames:
        return out
    height = float(np.nanmedian(np.ptp(pixels[..., 1], axis=1)))
    if not np.isfinite(height) or height <= 0:
        return out
    seen = _seen(pixels, confidence, config)
    sigma = config.smoothing_seconds * fps
    tracks = [pixels[:, ankle] for ankle in ANKLES]
    if not all(np.isfinite(track).all() for track in tracks):
        return out
    speeds = [_speed(track, fps, sigma) / height for track in tracks]
    for side in range(len(ANKLES)):
        other = speeds[1 - side]
        # a foot walking towards the camera moves little in the image; the planted one moves less still,
        # so a foot counts only while it is also clearly the slower of the two (or both are nearly still)
        still = (speeds[side] < config.still_2d) & (
            speeds[side] <= np.maximum(config.slower_share * other, config.both_still_2d)
        )
        for start, end in mask_runs(still & seen[:, ANKLES[side]], config.min_frames):
            out[start:end, side] = True
    return out


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
    pixels: NDArray[np.floating[Any]], confidence: NDArray[np.floating[Any]] | None, config: FeetConfig
) -> NDArray[np.bool_]:
    """[F, 17] where each joint was seen (confident enough; every joint when no confidence is given)."""
    if confidence is None:
        return np.ones(np.asarray(pixels).shape[:2], bool)
    return np.asarray(confidence) > config.seen_confidence


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
    if confidence is None or len(out) == 0:
        return out
    pixels = np.asarray(keypoints2d, dtype=np.float64)
    seen = _seen(pixels, confidence, config)
    height = float(np.nanmedian(np.ptp(pixels[..., 1], axis=1)))
    if not np.isfinite(height) or height <= 0:
        return out
    # the frames next to a hidden stretch count as hidden too: the ankle is being covered or uncovered
    # there, and its speed is read over a few frames
    hidden = ~seen[:, list(ANKLES)]
    if config.min_frames > 1:  # (iterations=0 would dilate until nothing changes)
        hidden = binary_dilation(hidden, structure=np.ones((3, 1), bool), iterations=config.min_frames - 1)
    if not hidden.any():
        return out
    # how long this person's feet stay down: the contacts seen whole (not cut short by a hidden frame)
    whole = [
        end - start
        for side in range(len(ANKLES))
        for start, end in mask_runs(out[:, side])
        if not hidden[max(start - 1, 0), side] and not hidden[min(end, len(out) - 1), side]
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
) -> FloatArray:
    """World joints [F, 17, 3] shifted frame by frame so that each contact's ankle stays at one point
    (on the floor when `on_floor`).

    The shift s_t is the least-squares balance of the planted ankles' pulls and smoothness:
        Σ_t Σ_planted |a_t + s_t − pin|² + λ Σ_t |s_{t+1} − s_t|²,
    a tridiagonal system: the pins hold where a foot is down, and between contacts the shift glides
    linearly from one contact's to the next."""
    config = config or FeetConfig()
    joints = np.array(world, dtype=np.float64)
    frames = len(joints)
    pull = np.zeros((frames, 3))
    count = np.zeros(frames)
    for side, ankle in enumerate(ANKLES):
        for start, end in mask_runs(contacts[:, side]):
            pin = np.median(joints[start:end, ankle], axis=0)
            if config.on_floor:
                pin[2] = ANKLE_HEIGHT_M
            pull[start:end] += pin - joints[start:end, ankle]
            count[start:end] += 1
    if not count.any():
        return joints
    if frames == 1:  # no smoothness to balance: the pull itself
        return np.asarray(joints + (pull / count[:, None])[:, None])
    smooth = max(config.smoothness, 1e-6)
    # the symmetric tridiagonal matrix diag(count) + λ·(path Laplacian) in solveh_banded's upper form
    bands = np.zeros((2, frames))
    bands[0, 1:] = -smooth
    bands[1] = count + smooth * np.r_[1.0, np.full(frames - 2, 2.0), 1.0] + 1e-9
    shift = solveh_banded(bands, pull)
    return np.asarray(joints + shift[:, None])
