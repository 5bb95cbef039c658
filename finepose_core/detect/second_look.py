"""A second look for people the full-frame pass missed.

MediaPipe's pose detector is made for the most prominent person: in the validation scenes it finds one of
two or three people, and a walker a quarter of the image tall seen from above in fewer than half the
frames. Where the full-frame pass seems to have missed someone (fewer people than in the second before,
and every tenth frame in any case, to find people it never saw), the frame is looked at again: OpenCV's HOG
people detector (built into OpenCV, no model to download) proposes person-like regions, those that no body
found so far explains are widened, enlarged and given to MediaPipe on their own; or, with `regions` off,
four overlapping tiles of the frame are. What is found is mapped back to the frame and kept unless it is a
body already found (or, for tiles, a body cut by the tile's edge: that person is another tile's).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np
from numpy.typing import NDArray

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


def _size(points: NDArray[np.float32]) -> float:
    return max(float(np.linalg.norm(np.ptp(points, axis=0))), 1.0)


class SecondLook:
    """Tiles of frames where people seem missing, through a MediaPipe landmarker in IMAGE mode."""

    def __init__(self, config: LandmarkerConfig, fps: float, look: SecondLookConfig | None = None) -> None:
        self.look = look or SecondLookConfig()
        self._landmarker = PoseLandmarker(config, video=False)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        self._recent: deque[int] = deque(maxlen=max(1, round(self.look.memory_seconds * fps)))
        self._frames = 0
        self.looked = 0  # frames looked at again

    def wanted(self, found: int, max_people: int) -> bool:
        """Whether a frame whose full-frame pass found `found` people gets a second look."""
        missing = bool(self._recent) and found < max(self._recent)
        periodic = self._frames % self.look.every == 0 and found < max_people
        self._frames += 1
        return missing or periodic

    def add(self, frame_rgb: NDArray[np.uint8], found: FrameLandmarks, max_people: int) -> FrameLandmarks:
        """The full-frame pass's people and, where wanted, those found in the tiles."""
        if self.wanted(found.count, max_people):
            found = self._merged(frame_rgb, found, max_people)
            self.looked += 1
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
            grow = self.look.region_margin * max(w, h)
            out.append(
                (
                    max(int(x - grow), 0),
                    max(int(y - grow), 0),
                    min(int(x + w + grow), width),
                    min(int(y + h + grow), height),
                )
            )
        return out

    def _merged(self, frame_rgb: NDArray[np.uint8], found: FrameLandmarks, max_people: int) -> FrameLandmarks:
        height, width = frame_rgb.shape[:2]
        pixels = list(found.pixels)
        visibility = list(found.visibility)
        world = list(found.world)
        boxes = self._regions(frame_rgb, found) if self.look.regions else _tiles(width, height, self.look)
        for x0, y0, x1, y1 in boxes:
            if min(x1 - x0, y1 - y0) < 16:
                continue
            tile = frame_rgb[y0:y1, x0:x1]
            scale = max(1.0, 448 / max(tile.shape[:2]))  # enlarged: MediaPipe's detector sees it bigger
            view = (
                cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
                if scale > 1
                else tile
            )
            seen = self._landmarker.detect(np.ascontiguousarray(view, dtype=np.uint8))
            for person in range(seen.count):
                points = seen.pixels[person] / scale + np.array([x0, y0], np.float32)
                if not self.look.regions and self._cut(
                    points, seen.visibility[person], (x0, y0, x1, y1), (width, height)
                ):
                    continue
                size = _size(points)
                if any(
                    np.median(np.linalg.norm(points - other, axis=-1)) < self.look.same_body * size
                    for other in pixels
                ):
                    continue
                if len(pixels) >= max_people:
                    break
                pixels.append(points)
                visibility.append(seen.visibility[person])
                world.append(seen.world[person])
        if len(pixels) == found.count:
            return found
        return FrameLandmarks(
            pixels=np.stack(pixels).astype(np.float32),
            visibility=np.stack(visibility).astype(np.float32),
            world=np.stack(world).astype(np.float32),
        )

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
