"""Tracking people across frames: the same id for the same person through crossings, occlusions, re-entry.

Per frame, live tracks are matched to detections with `scipy.optimize.linear_sum_assignment` on a cost
that compares each track's predicted keypoints (constant velocity from its last two sightings) with the
detection's, in units of the track's body size; pairs above `max_cost` are not matched.

- Birth with hysteresis: a new track is tentative until seen in `min_hits` of its first frames; a
  tentative track that is missed is dropped.
- Death with hysteresis: a confirmed track survives `max_gap_seconds` without detections; after that it
  is lost. Gaps it survived are filled by linear interpolation, flagged and given low confidence.
- Re-entry: when a new track is confirmed, it takes the id of a track lost within `reentry_seconds` whose
  body proportions (ratios of 2D limb lengths, robust over the frames seen) are similar enough, or only
  roughly similar but where that person could have walked to in the meantime.
- Stitching, at the end: a track that starts after another ended (within `reentry_seconds`) continues it
  when their body proportions agree over the whole of both, and the person could have walked from where
  the first left to where the second came in, at about the same size. Online, re-entry decides from the
  few frames after a person comes back, often half out of the picture; a person walking out and back in
  again and again (a corridor, a stage) would otherwise get a new id per pass. The proportions here are
  limb lengths only (not shoulder or hip width, which change as the body turns), and they and the sizes
  come from the sightings where the whole body was seen confidently.
- Duplicates: the multi-person detector sometimes reports one body twice, two skeletons a few pixels
  apart (one perhaps with a limb elsewhere). Before matching, of two detections of a frame that agree on
  most joints (within a small share of the body's size) only the more confident is kept, so the copy can
  neither start a ghost track nor take the person's id.
- Appearance (where the frames' colours are given, `appearance.py`): each track keeps a running colour
  histogram of its clothes from its clean sightings (no other detection in front overlapping it; one
  never seen so, from every sighting until it is). The matching cost adds the histogram distance, so
  that two people crossing at a similar size keep their ids; a detection whose colours are far from a
  track's is not matched to it; re-entry and stitching refuse a body dressed differently and accept,
  among plausible ones, one dressed alike even when the few frames after its return give only rough
  proportions.
- Tracks seen in fewer than `min_frames` frames are dropped at the end, and so are misreadings of a
  person's body (`_misread`) and small things read as people (`_dwarfed`: feet where someone several
  times the size stood, who would be at the same distance from the camera).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from finepose_core.detect.appearance import AppearanceModel

FloatArray = NDArray[np.float64]
_LIMBS = [(1, 2), (2, 3), (4, 5), (5, 6), (11, 12), (12, 13), (14, 15), (15, 16), (0, 8), (11, 14), (1, 4)]
_LENGTHS = _LIMBS[:9]  # without the shoulder and hip widths, which shrink as the body turns side-on
_HIPS, _THORAX = 0, 8
_TRUNK = [0, 1, 4, 7, 8, 9, 10, 11, 14]  # hips, spine, thorax, neck, head, shoulders
_ANKLES = [3, 6]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerConfig:
    max_cost: float = 0.8  # mean keypoint distance / body size for a match
    min_hits: int = 3  # frames to confirm a new track
    max_gap_seconds: float = 1.0  # how long a confirmed track may go unseen
    reentry_seconds: float = 10.0  # how long a lost track can be taken up again
    reentry_max_difference: float = 0.12  # body-proportion signature distance for re-entry
    # A signature from a few frames after an occlusion is noisy (and people can be built alike): a looser
    # match is accepted when the person reappears where they could have walked to (in body sizes per second
    # since last seen) at about the size they had (a similar distance from the camera).
    reentry_loose_difference: float = 0.25
    reentry_max_speed: float = 1.5
    reentry_max_size_ratio: float = 1.25
    min_frames: int = 5  # shorter tracks are dropped
    # stitching (see module): limb-length proportions of whole tracks, over sightings where at least
    # `whole_body_joints` joints had confidence above 0.5, and at least `stitch_min_sightings` of those
    stitch_max_difference: float = 0.12
    whole_body_joints: int = 15
    stitch_min_sightings: int = 5
    gap_confidence: float = 0.2  # confidence scale of interpolated frames
    # two detections of a frame are one body when at least `duplicate_share` of their jointly seen joints
    # lie within `duplicate_distance` × the body's size of each other
    duplicate_distance: float = 0.05
    duplicate_share: float = 0.7
    # appearance (colour histograms; Hellinger distance 0…1), used where the frames are given: the
    # matching cost adds `appearance_weight` × the distance (`appearance_unknown` where either side has
    # no histogram); a detection further than `appearance_max` from a track is not matched to it; re-entry
    # and stitching refuse bodies further than `appearance_other` and accept, among plausible ones, bodies
    # within `appearance_same` whose proportions agree only roughly
    appearance_weight: float = 1.0
    appearance_unknown: float = 0.3
    appearance_max: float = 0.7
    appearance_other: float = 0.7
    appearance_same: float = 0.3
    appearance_rate: float = 0.1  # running-mean rate of a track's histogram
    clean_overlap: float = 0.1  # a sighting overlapping another detection's box more than this is not clean
    # a body cannot turn over or fold up between two sightings: a detection whose torso (hips to
    # shoulders, in the image) is turned more than this from the track's last one, or is shorter or
    # longer by more than `torso_ratio`, is not that person (MediaPipe reports such bodies where it loses
    # someone, often at the person's own place)
    torso_turn_deg: float = 60.0
    torso_ratio: float = 2.0
    # a track with its trunk inside a person, on two of their trunk and head joints (within
    # `misread_distance` of their height) or `misread_size` times smaller and turned more than
    # `misread_turn_deg` from upright, in this share of its frames is a misreading of that person (_misread)
    misread_share: float = 0.7
    misread_size: float = 1.5
    misread_distance: float = 0.1
    misread_turn_deg: float = 60.0
    # a track whose feet are, in `dwarfed_share` of its frames, where someone else's feet were (within
    # `dwarfed_distance` of that person's size, in the image) while that person was `dwarfed_ratio` times
    # its size or more is no person (_dwarfed)
    dwarfed_ratio: float = 3.0
    dwarfed_distance: float = 0.15
    dwarfed_share: float = 0.5
    dwarfed_feet_confidence: float = 0.5  # the larger person's ankles this sure: their feet were seen


@dataclass
class Track:
    id: int
    frames: list[int] = field(default_factory=list)
    keypoints: list[FloatArray] = field(default_factory=list)  # [17, 2] per seen frame
    confidence: list[FloatArray] = field(default_factory=list)
    detections: list[int] = field(default_factory=list)  # the detection's index in its frame, per sighting
    confirmed: bool = False
    look: AppearanceModel = field(default_factory=AppearanceModel)  # colours of its clean sightings

    def absorb(self, later: Track) -> None:
        """Continue this track with a later one of the same person."""
        self.frames += later.frames
        self.keypoints += later.keypoints
        self.confidence += later.confidence
        self.detections += later.detections
        if later.look.known:
            self.look.update(later.look.value, bool(later.look.clean.all()))

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    def size(self) -> float:
        """Body size in pixels: the bounding-box diagonal of the last sighting's confident joints."""
        points = self.keypoints[-1]
        usable = points[self.confidence[-1] > 0.2] if (self.confidence[-1] > 0.2).sum() >= 3 else points
        return max(float(np.linalg.norm(np.ptp(usable, axis=0))), 10.0)

    def predict(self, frame: int) -> FloatArray:
        """Keypoints expected at `frame`, moving at the velocity of the last two sightings."""
        if len(self.frames) < 2:
            return np.asarray(self.keypoints[-1])
        span = self.frames[-1] - self.frames[-2]
        velocity = (self.keypoints[-1] - self.keypoints[-2]) / max(span, 1)
        # only the body's overall motion is extrapolated: limbs swinging would overshoot
        shift = velocity.mean(axis=0) * (frame - self.frames[-1])
        return np.asarray(self.keypoints[-1] + shift)

    def signature(self) -> FloatArray:
        """Body proportions: median over sightings of each limb's 2D length / the sum of them all."""
        return _proportions(np.stack(self.keypoints[-30:]), _LIMBS)

    def whole_body(self, joints: int) -> list[int]:
        """The sightings where at least `joints` joints were confident."""
        return [i for i, c in enumerate(self.confidence) if (c > 0.5).sum() >= joints]

    def whole_body_signature(self, joints: int, minimum: int) -> FloatArray | None:
        """Limb-length proportions over the whole-body sightings; None if fewer than `minimum`."""
        whole = self.whole_body(joints)
        if len(whole) < minimum:
            return None
        return _proportions(np.stack([self.keypoints[i] for i in whole]), _LENGTHS)

    def whole_body_size(self, joints: int, last: bool) -> float:
        """The median bounding-box diagonal of the last (or first) 10 whole-body sightings."""
        whole = self.whole_body(joints) or list(range(len(self.keypoints)))
        chosen = whole[-10:] if last else whole[:10]
        return float(np.median([np.linalg.norm(np.ptp(self.keypoints[i], axis=0)) for i in chosen]))


def _proportions(points: FloatArray, limbs: list[tuple[int, int]]) -> FloatArray:
    lengths = np.stack([np.linalg.norm(points[:, a] - points[:, b], axis=-1) for a, b in limbs], axis=-1)
    ratios = lengths / np.maximum(lengths.sum(axis=-1, keepdims=True), 1e-6)
    return np.asarray(np.median(ratios, axis=0))


@dataclass
class TrackResult:
    """One person over the frames where they were seen or bridged."""

    id: int
    frames: NDArray[np.int64]  # [F] sorted frame indices
    keypoints2d: FloatArray  # [F, 17, 2] pixels
    confidence2d: FloatArray  # [F, 17]
    interpolated: NDArray[np.bool_]  # [F] True where the frame was filled across a gap
    # [F] which of its frame's detections the track took (−1 where filled): links a frame back to what the
    # detector found beyond the keypoints (MediaPipe's own 3D); None when there was no detector
    detection: NDArray[np.int64] | None = None
    # [F] frames whose knees and ankles were swapped after detection (detect/cleanup.py), so that what else
    # the detector gave for them (its 3D) is read the same way round; None: as detected
    legs_swapped: NDArray[np.bool_] | None = None


def _body_points(points: FloatArray, confidence: FloatArray) -> FloatArray:
    """A detection's joints that outline its body: the confident ones if at least three, else every
    finite one."""
    usable = np.isfinite(points).all(axis=-1) & (confidence > 0.2)
    return np.asarray(points[usable] if usable.sum() >= 3 else points[np.isfinite(points).all(axis=-1)])


def _body_size(points: FloatArray, confidence: FloatArray) -> float:
    chosen = _body_points(points, confidence)
    return max(float(np.linalg.norm(np.ptp(chosen, axis=0))), 10.0) if len(chosen) else 10.0


def distinct_bodies(joints: FloatArray, confidence: FloatArray, config: TrackerConfig) -> list[int]:
    """The detections of one frame [P, 17, 2] that are not a second report of a body already kept; the
    more confident of two duplicates is the one kept."""
    order = np.argsort(-np.nan_to_num(confidence).sum(axis=-1), kind="stable")
    kept: list[int] = []
    for d in order:
        size = _body_size(joints[d], confidence[d])
        duplicate = False
        for k in kept:
            both = np.isfinite(joints[d]).all(axis=-1) & np.isfinite(joints[k]).all(axis=-1)
            if both.sum() < 3:
                continue
            distance = np.linalg.norm(joints[d][both] - joints[k][both], axis=-1)
            scale = min(size, _body_size(joints[k], confidence[k]))
            if (distance < config.duplicate_distance * scale).mean() >= config.duplicate_share:
                duplicate = True
                break
        if not duplicate:
            kept.append(int(d))
    return sorted(kept)


def _clean(joints: FloatArray, confidence: FloatArray, share: float) -> NDArray[np.bool_]:
    """Per detection of a frame: whether its colours are its own, i.e. no other detection in front of it
    overlaps its box by more than `share` of the smaller box. On a floor seen from above the horizon, the
    one whose lowest point is lower in the image is the nearer: a person in front of another stays clean,
    the one behind does not."""
    boxes = []
    for points, conf in zip(joints, confidence, strict=True):
        chosen = _body_points(points, conf)
        boxes.append((chosen.min(axis=0), chosen.max(axis=0)) if len(chosen) else None)
    clean = np.ones(len(joints), bool)
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes):
            if i == j or a is None or b is None or b[1][1] <= a[1][1]:
                continue  # j is not in front of i
            overlap = np.clip(np.minimum(a[1], b[1]) - np.maximum(a[0], b[0]), 0, None).prod()
            smaller = min(np.prod(a[1] - a[0]), np.prod(b[1] - b[0]))
            if overlap > share * max(smaller, 1.0):
                clean[i] = False
    return clean


def _torso(points: FloatArray, confidence: FloatArray) -> FloatArray | None:
    """The image vector from the hips' centre to the shoulders' (thorax); None unless both are confident."""
    if min(confidence[_HIPS], confidence[_THORAX]) < 0.5 or not np.isfinite(points[[_HIPS, _THORAX]]).all():
        return None
    return np.asarray(points[_THORAX] - points[_HIPS], np.float64)


def _turned_over(track: Track, joints: FloatArray, confidence: FloatArray, config: TrackerConfig) -> bool:
    """Whether the detection's torso is turned or folded too far from the track's last sighting's."""
    before, now = _torso(track.keypoints[-1], track.confidence[-1]), _torso(joints, confidence)
    if before is None or now is None:
        return False
    a, b = float(np.linalg.norm(before)), float(np.linalg.norm(now))
    if min(a, b) <= 1e-6:
        return True
    cosine = float(before @ now) / (a * b)
    return cosine < np.cos(np.radians(config.torso_turn_deg)) or max(a, b) / min(a, b) > config.torso_ratio


def _cost(track: Track, frame: int, joints: FloatArray, confidence: FloatArray) -> float:
    predicted = track.predict(frame)
    weights = np.minimum(track.confidence[-1], confidence)
    weights = np.where(np.isfinite(joints).all(axis=-1) & np.isfinite(predicted).all(axis=-1), weights, 0.0)
    if weights.sum() < 1e-3:
        return np.inf
    distance = np.linalg.norm(np.nan_to_num(joints - predicted), axis=-1)
    return float((distance * weights).sum() / weights.sum() / track.size())


class Tracker:
    def __init__(self, fps: float, config: TrackerConfig | None = None) -> None:
        self.fps = fps
        self.config = config or TrackerConfig()
        self.live: list[Track] = []
        self.lost: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 0
        self._tentative_ids = -1  # negative until confirmed, so ids count confirmed people only

    @property
    def max_gap(self) -> int:
        return max(1, round(self.config.max_gap_seconds * self.fps))

    def update(
        self,
        frame: int,
        joints: FloatArray,
        confidence: FloatArray,
        appearances: NDArray[np.floating[Any]] | None = None,
    ) -> list[int]:
        """Detections of one frame [P, 17, 2], [P, 17] (and their colour histograms [P, D], if known) →
        the track id given to each (−1: tentative or a duplicate of another detection)."""
        config = self.config
        bodies = distinct_bodies(joints, confidence, config) if len(joints) > 1 else list(range(len(joints)))
        clean = (
            _clean(joints[bodies], confidence[bodies], config.clean_overlap) if bodies else np.ones(0, bool)
        )
        clean_of = {d: bool(c) for d, c in zip(bodies, clean, strict=True)}
        costs = np.full((len(self.live), len(joints)), np.inf)
        colour = np.full((len(self.live), len(joints)), np.nan)
        for t, track in enumerate(self.live):
            for d in bodies:
                costs[t, d] = _cost(track, frame, joints[d], confidence[d])
                if appearances is not None and track.look.known:
                    colour[t, d] = track.look.distance(appearances[d])
        total = costs + config.appearance_weight * np.where(
            np.isnan(colour), config.appearance_unknown, colour
        )
        matched_tracks: set[int] = set()
        assigned: dict[int, Track] = {}  # detection → the track that took it
        # confirmed tracks choose first, tentative ones among what is left: a track born a frame ago on a
        # stray detection must not take a person from the track that has followed them for seconds
        for confirmed in (True, False):
            rows_in = [t for t, track in enumerate(self.live) if track.confirmed == confirmed]
            cols_in = [d for d in bodies if d not in assigned]
            if not rows_in or not cols_in:
                continue
            block = total[np.ix_(rows_in, cols_in)]
            rows, cols = linear_sum_assignment(np.where(np.isfinite(block), block, 1e6))
            for r, c in zip(rows, cols, strict=True):
                t, d = rows_in[r], cols_in[c]
                far = np.isfinite(colour[t, d]) and colour[t, d] > config.appearance_max
                # a turned-over body is refused here, not priced out of the assignment: an impossible
                # price there would push the track onto another person's detection instead
                if (
                    costs[t, d] <= config.max_cost
                    and not far
                    and not _turned_over(self.live[t], joints[d], confidence[d], config)
                ):
                    matched_tracks.add(int(t))
                    assigned[int(d)] = self.live[t]
        for d, track in assigned.items():
            track.frames.append(frame)
            track.keypoints.append(np.asarray(joints[d], np.float64))
            track.confidence.append(np.asarray(confidence[d], np.float64))
            track.detections.append(d)
            if appearances is not None:
                track.look.update(appearances[d], clean_of[d])
            if not track.confirmed and len(track.frames) >= config.min_hits:
                self._confirm(track)
        survivors = []
        for t, track in enumerate(self.live):
            if t in matched_tracks:
                survivors.append(track)
            elif not track.confirmed:
                continue  # a tentative track that misses a frame was noise
            elif frame - track.last_frame > self.max_gap:
                self.lost.append(track)
            else:
                survivors.append(track)
        for d in bodies:
            if d not in assigned and np.isfinite(joints[d]).all(axis=-1).sum() >= 6:
                track = Track(
                    self._tentative_ids,
                    [frame],
                    [np.asarray(joints[d], np.float64)],
                    [np.asarray(confidence[d], np.float64)],
                    [d],
                    look=AppearanceModel(config.appearance_rate),
                )
                if appearances is not None:
                    track.look.update(appearances[d], clean_of[d])
                self._tentative_ids -= 1
                if config.min_hits <= 1:
                    self._confirm(track)
                survivors.append(track)
                assigned[d] = track
        self.live = survivors
        horizon = frame - round(config.reentry_seconds * self.fps)
        self.finished += [track for track in self.lost if track.last_frame < horizon]
        self.lost = [track for track in self.lost if track.last_frame >= horizon]
        return [assigned[d].id if d in assigned and assigned[d].confirmed else -1 for d in range(len(joints))]

    def _reentry_speed(self, lost: Track, track: Track) -> float:
        """How fast the lost person would have moved to where the new track starts (body sizes per second)."""
        seconds = max(track.frames[0] - lost.last_frame, 1) / self.fps
        distance = float(
            np.linalg.norm(np.mean(track.keypoints[0], axis=0) - np.mean(lost.keypoints[-1], axis=0))
        )
        return distance / max(lost.size(), 1.0) / seconds

    @staticmethod
    def _size_ratio(lost: Track, track: Track) -> float:
        """The larger of the two body sizes over the smaller (1 = the same size in the image)."""
        a, b = max(lost.size(), 1.0), max(track.size(), 1.0)
        return max(a, b) / min(a, b)

    def _colours(self, a: Track, b: Track) -> float:
        """The appearance distance of two tracks (NaN where either has none)."""
        return a.look.distance(b.look.value) if a.look.known and b.look.known else float("nan")

    def _confirm(self, track: Track) -> None:
        track.confirmed = True
        config = self.config
        signature = track.signature()
        accepted = []
        for index, lost in enumerate(self.lost):
            if lost.last_frame >= track.frames[0]:
                continue
            difference = float(np.abs(lost.signature() - signature).sum())
            colours = self._colours(lost, track)
            if np.isfinite(colours) and colours > config.appearance_other:
                continue  # dressed differently
            plausible = (
                self._reentry_speed(lost, track) <= config.reentry_max_speed
                and self._size_ratio(lost, track) <= config.reentry_max_size_ratio
            )
            dressed_alike = np.isfinite(colours) and colours <= config.appearance_same
            if difference <= config.reentry_max_difference or (
                difference <= config.reentry_loose_difference and (plausible or dressed_alike)
            ):
                accepted.append((difference, index))
        if accepted:
            _, index = min(accepted)
            previous = self.lost.pop(index)
            previous.absorb(track)
            track.id = previous.id
            track.frames, track.keypoints = previous.frames, previous.keypoints
            track.confidence, track.detections, track.look = (
                previous.confidence,
                previous.detections,
                previous.look,
            )
            return
        track.id = self._next_id
        self._next_id += 1

    def results(self) -> list[TrackResult]:
        """Every confirmed track long enough, stitched, gaps up to max_gap filled, sorted by id."""
        tracks = self._stitched([t for t in self.live + self.lost + self.finished if t.confirmed])
        out = [self._filled(track) for track in tracks if len(track.frames) >= self.config.min_frames]
        # the longest seen first: a misreading is judged against the people kept before it
        kept: list[TrackResult] = []
        for track in sorted(out, key=lambda t: (-int((~t.interpolated).sum()), t.id)):
            if not _misread(track, kept, self.config):
                kept.append(track)
        # each track's feet: all of them as a possible small thing, the surely seen ones as a person's
        feet = [_feet(t, self.config.dwarfed_feet_confidence) for t in kept]
        seen = [(points[sure], sizes[sure]) for points, sizes, sure in feet]
        people = [
            track
            for i, track in enumerate(kept)
            if not _dwarfed(
                track.id, feet[i][:2], [other for j, other in enumerate(seen) if j != i], self.config
            )
        ]
        return sorted(people, key=lambda t: t.id)

    def _stitched(self, tracks: list[Track]) -> list[Track]:
        """Tracks continued by later ones of the same body (see module), in order of their start."""
        config = self.config
        window = round(config.reentry_seconds * self.fps)
        joints, minimum = config.whole_body_joints, config.stitch_min_sightings
        kept: list[Track] = []  # each may still be continued by a later one
        # each kept track's signature, over everything stitched to it so far: computed once, and again
        # only when it grows, rather than for every later track it is compared with
        signatures: dict[int, FloatArray | None] = {}
        for track in sorted(tracks, key=lambda t: t.frames[0]):
            signature = track.whole_body_signature(joints, minimum)
            best: tuple[float, Track] | None = None
            for earlier in kept:
                other = signatures[id(earlier)]
                gap = track.frames[0] - earlier.last_frame
                if signature is None or other is None or not 0 < gap <= window:
                    continue
                size_before = earlier.whole_body_size(joints, last=True)
                size_after = track.whole_body_size(joints, last=False)
                ratio = max(size_before, size_after) / max(min(size_before, size_after), 1.0)
                if self._reentry_speed(earlier, track) > config.reentry_max_speed:
                    continue
                if ratio > config.reentry_max_size_ratio:
                    continue
                colours = self._colours(earlier, track)
                if np.isfinite(colours) and colours > config.appearance_other:
                    continue  # dressed differently
                difference = float(np.abs(other - signature).sum())
                if difference <= config.stitch_max_difference and (best is None or difference < best[0]):
                    best = (difference, earlier)
            if best is None:
                kept.append(track)
                signatures[id(track)] = signature
                continue
            earlier = best[1]
            earlier.absorb(track)
            signatures[id(earlier)] = earlier.whole_body_signature(joints, minimum)
        return kept

    def _filled(self, track: Track) -> TrackResult:
        frames = np.array(track.frames)
        keypoints = np.stack(track.keypoints)
        confidence = np.stack(track.confidence)
        all_frames, all_points, all_conf, filled, detection = [], [], [], [], []
        for i, frame in enumerate(frames):
            all_frames.append(frame)
            all_points.append(keypoints[i])
            all_conf.append(confidence[i])
            filled.append(False)
            detection.append(track.detections[i])
            if i + 1 < len(frames):
                gap = frames[i + 1] - frame
                if 1 < gap <= self.max_gap + 1:
                    for step in range(1, gap):
                        w = step / gap
                        all_frames.append(frame + step)
                        all_points.append((1 - w) * keypoints[i] + w * keypoints[i + 1])
                        all_conf.append(
                            self.config.gap_confidence * np.minimum(confidence[i], confidence[i + 1])
                        )
                        filled.append(True)
                        detection.append(-1)
        return TrackResult(
            id=track.id,
            frames=np.array(all_frames, dtype=np.int64),
            keypoints2d=np.stack(all_points),
            confidence2d=np.stack(all_conf),
            interpolated=np.array(filled, dtype=bool),
            detection=np.array(detection, dtype=np.int64),
        )


def _misread(track: TrackResult, others: list[TrackResult], config: TrackerConfig) -> bool:
    """Whether a track is MediaPipe misreading the body of one of `others` (tracks seen longer): in most
    of its frames its trunk is inside that person's outline, and either it stands on two or more of
    their trunk and head joints, or it is at most 1 / `misread_size` of their height in the image and
    not upright (its hips-to-shoulders line turned more than `misread_turn_deg` from the image's up:
    upside down, or lying). Where someone's legs are cut off by the frame's edge, or they bend over,
    MediaPipe can report for a while a second body on them: their head and shoulders read as a whole
    person, a copy of them with other legs, or a small body turned over or lying at their hips. A child
    in front of a parent stands inside the parent's outline, but upright and on joints of its own."""
    rows = {int(f): i for i, f in enumerate(track.frames)}
    misread = np.zeros(len(track.frames), bool)
    for other in others:
        for j, frame in enumerate(other.frames):
            i = rows.get(int(frame))
            if i is None or misread[i]:
                continue
            small, large = track.keypoints2d[i], other.keypoints2d[j]
            low, high = np.nanmin(large, axis=0), np.nanmax(large, axis=0)
            centre = np.nanmean(small[_TRUNK], axis=0)  # its limbs may stick out: the misread is often wider
            if not ((centre >= low) & (centre <= high)).all():
                continue
            height = float(np.ptp(large[:, 1]))
            apart = np.linalg.norm(small[_TRUNK] - large[_TRUNK], axis=-1)
            if (apart < config.misread_distance * height).sum() >= 2:
                misread[i] = True
            elif np.ptp(small[:, 1]) * config.misread_size < height:
                torso = small[_THORAX] - small[_HIPS]
                upright = -torso[1] / max(float(np.linalg.norm(torso)), 1e-9)  # image y points down
                misread[i] = upright < np.cos(np.radians(config.misread_turn_deg))
    return bool(misread.mean() >= config.misread_share)


def _feet(track: TrackResult, min_confidence: float) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """In the track's seen frames with both ankles known: the point between the ankles [N, 2], the body's
    size [N], and whether both ankles were at least `min_confidence` sure [N]."""
    points = track.keypoints2d[~track.interpolated]
    confidence = track.confidence2d[~track.interpolated]
    feet = points[:, _ANKLES].mean(axis=1)
    known = np.isfinite(feet).all(axis=1)
    sizes = np.array([_body_size(p, c) for p, c in zip(points[known], confidence[known], strict=True)])
    sure = (confidence[known][:, _ANKLES] >= min_confidence).all(axis=1)
    return feet[known], sizes.reshape(-1), sure


def _dwarfed(
    track_id: int,
    own: tuple[FloatArray, FloatArray],
    others: list[tuple[FloatArray, FloatArray]],
    config: TrackerConfig,
) -> bool:
    """Whether a track is something small that MediaPipe took for a person (a table's foot): in most of
    its frames its feet are where another person's feet were, at some time, while that person was at
    least `dwarfed_ratio` times its size. People whose feet are at one place in the image stand at one
    distance from the camera, on one floor, so they are about one size (a child, or someone crouching,
    within about two of an adult); a body that small there would stand far under the floor. `own` and
    `others` are feet and sizes as `_feet` gives them (the others' where their feet were seen)."""
    feet, sizes = own
    if not len(feet):
        return False
    hits = np.zeros(len(feet), bool)
    for their_feet, their_sizes in others:
        larger = their_sizes >= config.dwarfed_ratio * sizes.min()
        if not larger.any():
            continue
        their_feet, their_sizes = their_feet[larger], their_sizes[larger]
        near = cKDTree(their_feet).query_ball_point(feet, config.dwarfed_distance * their_sizes.max())
        for row, candidates in enumerate(near):
            if candidates and not hits[row]:
                chosen = np.asarray(candidates)
                apart = np.linalg.norm(their_feet[chosen] - feet[row], axis=-1)
                hits[row] = bool(
                    (
                        (apart < config.dwarfed_distance * their_sizes[chosen])
                        & (their_sizes[chosen] >= config.dwarfed_ratio * sizes[row])
                    ).any()
                )
    dwarfed = bool(hits.mean() >= config.dwarfed_share)
    if dwarfed:
        log.info("track %d left out: its feet are where people several times its size stood", track_id)
    return dwarfed


def track_people(
    detections: list[tuple[FloatArray, FloatArray]],
    fps: float,
    config: TrackerConfig | None = None,
    appearances: list[NDArray[np.floating[Any]]] | None = None,
) -> list[TrackResult]:
    """Track over a whole video: `detections[f]` = (joints [P, 17, 2], confidence [P, 17]) of frame f;
    `appearances[f]` their colour histograms [P, D] (appearance.py), if the frames were seen."""
    tracker = Tracker(fps, config)
    for frame, (joints, confidence) in enumerate(detections):
        tracker.update(frame, joints, confidence, appearances[frame] if appearances is not None else None)
    return tracker.results()
