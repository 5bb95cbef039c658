"""A second look for people the full-frame pass missed.

MediaPipe's pose detector is made for the most prominent person: in the validation scenes it finds one of
two or three people, and a walker a quarter of the image tall seen from above in fewer than half the
frames. Where the full-frame pass seems to have missed someone (fewer people than in the second before,
and every tenth frame in any case, to find people it never saw), the frame is looked at again: OpenCV's HOG
people detector (built into OpenCV, no model to download) proposes person-like regions, those that no body
found so far explains are widened, enlarged and given to MediaPipe on their own; or, with `regions` off,
four overlapping tiles of the frame are. What is found is mapped back to the frame and kept unless it is a
body already found (or, for tiles, a body cut by the tile's edge: that person is another tile's).

Everyone already found is painted out (limbs, torso and head in flat grey) in what MediaPipe is shown, so
that a person partly hidden behind another is not answered with the more visible one again; and on the
periodic look, or when someone is still missing, the neighbourhood of each person found is looked at
again that way, for someone walking behind them (the full-frame pass and the HOG detector both see one
body there).

A person found this way is followed: the next frame that wants a second look first looks around where
that person just was, and asks the HOG detector (the costly part) only if someone is still missing or
the periodic look for new people is due. A person whom the full-frame pass keeps missing thus costs one
enlarged crop a frame, not a scan of the whole frame.

Looking forward finds a person only once they step out from behind someone; the frames before, when they
were beside or half behind that person, the full-frame pass answered with the more visible body.
`looked_back` therefore walks back from each body that appears beside someone where nobody was in the
frame before: in the frame before, around where it was, with everyone already found painted out, and so
on back while the body is found at much the same place (a frame or two where it is not are passed
over), for up to `back_seconds`, unless the walk comes to a frame where the person is already known.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from finepose_core.detect.landmarker import FrameLandmarks, LandmarkerConfig, PoseLandmarker


@dataclass(frozen=True)
class SecondLookConfig:
    tiles: int = 2  # per side
    overlap: float = 0.3  # of a tile's size shared with its neighbour
    every: int = 10  # frames: also look now and then, for people the full-frame pass never found
    memory_seconds: float = 1.0  # "fewer people than just before" looks this far back
    edge_margin: float = 0.02  # of the tile: a body this close to an inner edge is cut by it
    same_body: float = 0.3  # median landmark distance, in body sizes, under which two bodies are one
    # where to look: person-like regions no body explains (True), or the overlapping tiles (False)
    regions: bool = True
    region_margin: float = 0.25  # a region widened by this share of its size on every side
    follow_margin: float = 0.35  # a followed person's last box widened by this share of its size
    behind_margin: float = 0.5  # a found person's box, widened by this share, is searched for someone behind
    behind_every: int = 10  # frames: how often the surroundings of everyone found are searched regardless
    mask_width: float = 0.1  # limbs painted out this wide, as a share of the body's size (0: not painted)
    back_seconds: float = 1.0  # how far back a person who appears beside someone is looked for
    back_chunk: int = 8  # frames decoded at a time when looking back (memory)
    new_body: float = 0.3  # box overlap (IoU) with the frame before under which a body has just appeared
    same_place: float = 0.3  # … and over which a body found looking back is the same person
    # looking back stops at a body within this share of its size of the one followed (the person is known
    # there); stricter than `same_body`, since one person half behind another is nearly as close as that
    known: float = 0.15
    known_speed: float = 0.4  # body sizes a second a person unseen for a while may have moved meanwhile
    back_misses: int = 2  # frames in a row it may stay unfound looking back (the tracker bridges them)
    beside: float = 0.1  # a body within this share of its size of another's box has appeared beside them


Box = tuple[int, int, int, int]
# decoded frames by position in the job's sequence: (first, stop) -> (position, RGB frame) in order
FrameSource = Callable[[int, int], Iterable[tuple[int, NDArray[np.uint8]]]]


@dataclass
class LookCounts:
    """What the second look did over a video (for the job's log and the benchmarks)."""

    frames: int = 0  # frames looked at again
    scans: int = 0  # of which the HOG detector scanned the whole frame
    crops: int = 0  # enlarged crops given to MediaPipe
    added: int = 0  # people added
    back: int = 0  # people added looking back


def _tiles(width: int, height: int, config: SecondLookConfig) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of the overlapping tiles."""
    out = []
    n = config.tiles
    for axis_size in (width, height):
        size = axis_size / (n - (n - 1) * config.overlap)
        out.append(
            [
                (round(i * size * (1 - config.overlap)), round(i * size * (1 - config.overlap) + size))
                for i in range(n)
            ]
        )
    return [(x0, y0, min(x1, width), min(y1, height)) for y0, y1 in out[1] for x0, x1 in out[0]]


# MediaPipe-33 landmarks joined when a found body is painted out: arms, shoulders, hips, legs, the neck
_MASK_LINES = (
    (11, 13), (13, 15), (12, 14), (14, 16), (11, 12), (23, 24),
    (23, 25), (25, 27), (24, 26), (26, 28), (27, 31), (28, 32), (0, 11), (0, 12),
)  # fmt: skip
_MASK_TORSO = (11, 12, 24, 23)
_MASK_GREY = (128, 128, 128)


def painted_out(
    frame_rgb: NDArray[np.uint8], bodies: list[NDArray[np.float32]], width: float
) -> NDArray[np.uint8]:
    """A copy of the frame with each body (MediaPipe-33 pixels) painted over in flat grey: thick limbs,
    the torso and the head."""
    out = frame_rgb.copy()
    if width <= 0:
        return out
    for points in bodies:
        if not np.isfinite(points).all():
            continue
        thickness = max(3, round(width * _size(points)))
        for a, b in _MASK_LINES:
            start = (round(float(points[a, 0])), round(float(points[a, 1])))
            end = (round(float(points[b, 0])), round(float(points[b, 1])))
            cv2.line(out, start, end, _MASK_GREY, thickness)
        cv2.fillPoly(out, [np.round(points[list(_MASK_TORSO)]).astype(np.int32)], _MASK_GREY)
        head = (round(float(points[0, 0])), round(float(points[0, 1])))
        cv2.circle(out, head, thickness, _MASK_GREY, -1)
    return out


@dataclass
class _People:
    """Landmarks of the bodies found so far in a frame, one list entry per body."""

    pixels: list[NDArray[np.float32]]
    visibility: list[NDArray[np.float32]]
    world: list[NDArray[np.float32]]

    def landmarks(self) -> FrameLandmarks:
        return FrameLandmarks(
            pixels=np.stack(self.pixels).astype(np.float32),
            visibility=np.stack(self.visibility).astype(np.float32),
            world=np.stack(self.world).astype(np.float32),
        )


def _widened(box: tuple[float, ...], share: float, width: int, height: int) -> Box:
    """A box (x0, y0, x1, y1) widened on every side by `share` of its larger side, inside the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    grow = share * max(x1 - x0, y1 - y0)
    return (
        max(int(x0 - grow), 0),
        max(int(y0 - grow), 0),
        min(int(x1 + grow), width),
        min(int(y1 + grow), height),
    )


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _size(points: NDArray[np.float32]) -> float:
    return max(float(np.linalg.norm(np.ptp(points, axis=0))), 1.0)


def _bounds(points: NDArray[np.float32]) -> tuple[float, float, float, float]:
    low, high = points.min(axis=0), points.max(axis=0)
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def _box_of(points: NDArray[np.float32]) -> Box:
    """The body's box in whole pixels, rounded outwards."""
    low, high = points.min(axis=0), points.max(axis=0)
    return int(low[0]), int(low[1]), int(np.ceil(high[0])), int(np.ceil(high[1]))


def _appeared(before: NDArray[np.float32], now: NDArray[np.float32], overlap: float) -> list[int]:
    """The bodies of `now` that no body of the frame `before` continues: the boxes of the two frames paired
    one to one by overlap (a person coming out from behind another overlaps them, but the other is
    paired with their own box), those left unpaired or paired under `overlap` (IoU)."""
    if len(before) == 0 or len(now) == 0:
        return list(range(len(now)))
    ious = np.array([[_iou(_bounds(a), _bounds(b)) for b in before] for a in now])
    rows, cols = linear_sum_assignment(-ious)
    kept = {int(r) for r, c in zip(rows, cols, strict=True) if ious[r, c] > overlap}
    return [index for index in range(len(now)) if index not in kept]


def _beside(body: NDArray[np.float32], bodies: NDArray[np.float32], share: float) -> bool:
    """Whether the body's box, widened by `share` of its size, overlaps another body's box."""
    x0, y0, x1, y1 = _bounds(body)
    grow = share * max(x1 - x0, y1 - y0)
    near = (x0 - grow, y0 - grow, x1 + grow, y1 + grow)
    return any(_iou(near, _bounds(other)) > 0 for other in bodies if not np.array_equal(other, body))


def _with_body(found: FrameLandmarks, body: tuple[NDArray[np.float32], ...]) -> FrameLandmarks:
    pixels, visibility, world = body
    return FrameLandmarks(
        pixels=np.concatenate([found.pixels, pixels[None]]).astype(np.float32),
        visibility=np.concatenate([found.visibility, visibility[None]]).astype(np.float32),
        world=np.concatenate([found.world, world[None]]).astype(np.float32),
    )


class SecondLook:
    """Tiles of frames where people seem missing, through a MediaPipe landmarker in IMAGE mode."""

    def __init__(self, config: LandmarkerConfig, fps: float, look: SecondLookConfig | None = None) -> None:
        self.look = look or SecondLookConfig()
        self._landmarker = PoseLandmarker(config, video=False)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        self._recent: deque[int] = deque(maxlen=max(1, round(self.look.memory_seconds * fps)))
        self._frames = 0
        self.counts = LookCounts()
        self._followed: list[Box] = []  # boxes of the people the last look added

    def _due(self, found: int, max_people: int) -> tuple[bool, bool, bool]:
        """(someone seems missing, the periodic look for new people is due, the periodic search around
        everyone found is due) for a frame whose full-frame pass found `found` people."""
        room = found < max_people
        missing = bool(self._recent) and found < max(self._recent)
        periodic = self._frames % self.look.every == 0 and room
        behind = self._frames % self.look.behind_every == 0 and room
        self._frames += 1
        return missing, periodic, behind

    def wanted(self, found: int, max_people: int) -> bool:
        """Whether a frame whose full-frame pass found `found` people gets a second look."""
        return any(self._due(found, max_people))

    def add(self, frame_rgb: NDArray[np.uint8], found: FrameLandmarks, max_people: int) -> FrameLandmarks:
        """The full-frame pass's people and, where wanted, those found on a second look."""
        missing, periodic, behind = self._due(found.count, max_people)
        if missing or periodic or behind:
            expected = max(self._recent) if missing else found.count
            found = self._merged(
                frame_rgb, found, max_people, expected=expected, scan=periodic, behind=behind
            )
            self.counts.frames += 1
        else:
            self._followed = []
        self._recent.append(found.count)
        return found

    def _regions(
        self, frame_rgb: NDArray[np.uint8], found: FrameLandmarks
    ) -> list[tuple[int, int, int, int]]:
        """Person-like regions (OpenCV's HOG people detector, which needs no model file) that no body found
        so far explains, each widened so that the whole body fits: (x0, y0, x1, y1)."""
        height, width = frame_rgb.shape[:2]
        window_width, window_height = self._hog.winSize
        if width < window_width or height < window_height:  # smaller than a person to the detector
            return []
        gray = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
        rects, _ = self._hog.detectMultiScale(gray, winStride=(8, 8), padding=(8, 8), scale=1.05)
        known = [(p.min(axis=0), p.max(axis=0)) for p in found.pixels]
        out = []
        for x, y, w, h in rects:
            centre = np.array([x + w / 2, y + h / 2])
            if any((low <= centre).all() and (centre <= high).all() for low, high in known):
                continue
            out.append(_widened((x, y, x + w, y + h), self.look.region_margin, width, height))
        return out

    def _follow_boxes(self, found: FrameLandmarks, width: int, height: int) -> list[Box]:
        """The last look's people's boxes, widened for their motion, that no body found now explains (a
        body found now on much the same box: a person behind another has their centre inside the other's
        box, so containment would not do)."""
        known = [_bounds(p) for p in found.pixels]
        return [
            _widened(box, self.look.follow_margin, width, height)
            for box in self._followed
            if not any(_iou(box, other) > 0.5 for other in known)
        ]

    def _merged(
        self,
        frame_rgb: NDArray[np.uint8],
        found: FrameLandmarks,
        max_people: int,
        expected: int | None = None,
        scan: bool = True,
        behind: bool = True,
    ) -> FrameLandmarks:
        """`found` and the people a second look adds: first around the people the last look added, then,
        if fewer than `expected` people are known or `scan` asks for it, in the HOG regions (or tiles),
        then, if someone is still missing or `behind` asks for it, around everyone found."""
        height, width = frame_rgb.shape[:2]
        merged = _People(list(found.pixels), list(found.visibility), list(found.world))
        added: list[Box] = []
        follow = self._follow_boxes(found, width, height) if self.look.regions else []
        self._look_in(frame_rgb, follow, merged, max_people, added)
        if scan or len(merged.pixels) < (expected if expected is not None else max_people):
            current = merged.landmarks() if len(merged.pixels) > found.count else found
            if self.look.regions:
                boxes = self._regions(frame_rgb, current)
                self.counts.scans += 1
            else:
                boxes = _tiles(width, height, self.look)
            self._look_in(frame_rgb, boxes, merged, max_people, added)
        still_missing = expected is not None and len(merged.pixels) < expected
        if self.look.regions and (behind or still_missing):
            self._look_in(frame_rgb, self._behind_boxes(merged, width, height), merged, max_people, added)
        self._followed = added
        self.counts.added += len(added)
        return found if len(merged.pixels) == found.count else merged.landmarks()

    def _behind_boxes(self, merged: _People, width: int, height: int) -> list[Box]:
        """Each body found so far, its box widened, to look for someone behind it."""
        return [
            _widened((*points.min(axis=0), *points.max(axis=0)), self.look.behind_margin, width, height)
            for points in merged.pixels
        ]

    def _look_in(
        self,
        frame_rgb: NDArray[np.uint8],
        boxes: list[Box],
        merged: _People,
        max_people: int,
        added: list[Box],
    ) -> None:
        """MediaPipe on each box, enlarged; new bodies join `merged` and their boxes `added`."""
        height, width = frame_rgb.shape[:2]
        for box in boxes:
            if len(merged.pixels) >= max_people:
                return
            for points, visibility, world in self._bodies_in(frame_rgb, box, merged.pixels):
                if not self.look.regions and self._cut(points, visibility, box, (width, height)):
                    continue
                if len(merged.pixels) >= max_people:
                    break
                merged.pixels.append(points)
                merged.visibility.append(visibility)
                merged.world.append(world)
                added.append(_box_of(points))

    def _bodies_in(
        self, frame_rgb: NDArray[np.uint8], box: Box, known: list[NDArray[np.float32]]
    ) -> Iterator[tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]]:
        """(pixels, visibility, world) of the bodies MediaPipe finds in the box, enlarged, with the `known`
        bodies painted out, that are none of them (and none found before in this box)."""
        x0, y0, x1, y1 = box
        if min(x1 - x0, y1 - y0) < 16:
            return
        self.counts.crops += 1
        tile = painted_out(
            frame_rgb[y0:y1, x0:x1],
            [q - np.array([x0, y0], np.float32) for q in known],
            self.look.mask_width,
        )
        scale = max(1.0, 448 / max(tile.shape[:2]))  # enlarged: MediaPipe's detector sees it bigger
        view = (
            cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) if scale > 1 else tile
        )
        seen = self._landmarker.detect(np.ascontiguousarray(view, dtype=np.uint8))
        kept: list[NDArray[np.float32]] = []
        for person in range(seen.count):
            points = seen.pixels[person] / scale + np.array([x0, y0], np.float32)
            size = _size(points)
            if any(
                np.median(np.linalg.norm(points - other, axis=-1)) < self.look.same_body * size
                for other in [*known, *kept]
            ):
                continue
            kept.append(points)
            yield points, seen.visibility[person], seen.world[person]

    def looked_back(
        self,
        found: list[FrameLandmarks],
        frames: FrameSource,
        fps: float,
        max_people: int,
        check: Callable[[], None] | None = None,
    ) -> list[int]:
        """Walks back from each body that appears beside someone where nobody was in the frame before (see
        module), adding what it finds to `found` in place; the positions of the frames it added to.
        `check` is called before each walk (to stop a cancelled job).

        A walk that comes to a frame where the person is already known found a gap between two sightings,
        which the tracker bridges from the sightings at both ends; what a crop sees of a person half
        behind another is worse than that, so such a walk adds nothing, nor one that stops where the
        person is known a little further back. Only a track's open start is extended."""
        reach = max(0, round(self.look.back_seconds * fps))
        if reach == 0:
            return []
        starts = [
            (position, found[position].pixels[new])
            for position in range(1, len(found))
            for new in _appeared(found[position - 1].pixels, found[position].pixels, self.look.new_body)
            if _beside(found[position].pixels[new], found[position].pixels, self.look.beside)
        ]
        added: list[int] = []
        for position, body in starts:
            if check is not None:
                check()
            walk = self._walk_back(found, frames, position, body, position - reach, max_people)
            if walk is None:
                continue
            last, person = walk[-1] if walk else (position, (body,))
            if any(  # known a little earlier, past the frames the walk missed: a gap all the same
                self._known(person[0], found[at], self.look.known_speed * (last - at) / fps)
                for at in range(max(0, last - reach), last)
            ):
                continue
            for at, person in walk:
                found[at] = _with_body(found[at], person)
                added.append(at)
        self.counts.back += len(added)
        return added

    def _known(self, body: NDArray[np.float32], there: FrameLandmarks, moved: float = 0.0) -> bool:
        """Whether a body of `there` is this one: within `known` of its size, and `moved` more (body sizes
        the person may have moved in between)."""
        size = _size(body)
        return any(
            np.median(np.linalg.norm(body - other, axis=-1)) < (self.look.known + moved) * size
            for other in there.pixels
        )

    def _walk_back(
        self,
        found: list[FrameLandmarks],
        frames: FrameSource,
        position: int,
        body: NDArray[np.float32],
        first: int,
        max_people: int,
    ) -> list[tuple[int, tuple[NDArray[np.float32], ...]]] | None:
        """(position, (pixels, visibility, world)) of the body found in each frame back from `position`
        (not before `first`); None where the walk comes to a frame where the person is already known."""
        box = _bounds(body)
        misses = 0  # frames in a row where it was not found again
        walk: list[tuple[int, tuple[NDArray[np.float32], ...]]] = []
        stop, first = position, max(0, first)
        while stop > first:
            chunk = list(frames(max(first, stop - self.look.back_chunk), stop))
            if not chunk:
                return walk
            for at, frame in reversed(chunk):
                height, width = frame.shape[:2]
                there = found[at]
                if self._known(body, there):
                    return None
                if there.count >= max_people:
                    return walk
                window = _widened(box, self.look.follow_margin, width, height)
                candidates = [
                    (_iou(box, _bounds(person[0])), person)
                    for person in self._bodies_in(frame, window, list(there.pixels))
                ]
                overlap, best = max(candidates, key=lambda c: c[0], default=(0.0, None))
                if best is None or overlap <= self.look.same_place:
                    misses += 1
                    if misses > self.look.back_misses:
                        return walk
                    continue
                misses = 0
                walk.append((at, best))
                body = best[0]
                box = _bounds(body)
            stop = chunk[0][0]
        return walk

    def _cut(
        self,
        points: NDArray[np.float32],
        visibility: NDArray[np.float32],
        box: tuple[int, int, int, int],
        image: tuple[int, int],
    ) -> bool:
        """Whether the body's visible landmarks reach an edge of the tile that is not the image's edge."""
        x0, y0, x1, y1 = box
        seen = points[visibility > 0.5] if (visibility > 0.5).sum() >= 3 else points
        margin_x, margin_y = self.look.edge_margin * (x1 - x0), self.look.edge_margin * (y1 - y0)
        left, top = seen.min(axis=0)
        right, bottom = seen.max(axis=0)
        width, height = image
        return bool(
            (x0 > 0 and left < x0 + margin_x)
            or (y0 > 0 and top < y0 + margin_y)
            or (x1 < width and right > x1 - margin_x)
            or (y1 < height and bottom > y1 - margin_y)
        )

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> SecondLook:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
