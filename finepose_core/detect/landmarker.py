"""MediaPipe PoseLandmarker (Tasks API, VIDEO mode): up to N people per frame, landmarks in pixels."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from finepose_core.assets import pose_model_path
from finepose_core.detect.native_stderr import native_stderr_to_log
from finepose_core.skeleton import NUM_MEDIAPIPE_LANDMARKS


@dataclass(frozen=True)
class LandmarkerConfig:
    """Built from a job's options (`JobOptions.landmarker_config()`), where the defaults are defined."""

    max_people: int
    min_detection_confidence: float
    min_presence_confidence: float
    min_tracking_confidence: float
    model_path: Path | None = None  # default: the bundle built by `make setup`


@dataclass
class FrameLandmarks:
    """The people MediaPipe found in one frame (P of them, in its own order)."""

    pixels: NDArray[np.float32]  # [P, 33, 2], x right, y down, origin top-left
    visibility: NDArray[np.float32]  # [P, 33] in [0, 1]
    world: NDArray[np.float32] = field(repr=False)  # [P, 33, 3] MediaPipe's metric 3D, hip-centred

    @property
    def count(self) -> int:
        return int(self.pixels.shape[0])


class PoseLandmarker:
    """A MediaPipe PoseLandmarker in VIDEO mode (or IMAGE mode, for still crops: `video=False`); use as a
    context manager so its graph is closed."""

    def __init__(self, config: LandmarkerConfig, video: bool = True) -> None:
        # mediapipe is imported here, not at module level: it is slow to import and most users of
        # finepose_core (training, evaluation) never need it.
        from mediapipe.tasks.python import BaseOptions, vision

        self.config = config
        model = self.config.model_path or pose_model_path()
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=self.config.max_people,
            min_pose_detection_confidence=self.config.min_detection_confidence,
            min_pose_presence_confidence=self.config.min_presence_confidence,
            min_tracking_confidence=self.config.min_tracking_confidence,
        )
        with native_stderr_to_log():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._video = video
        self._last_timestamp_ms = -1
        self._warmed_up = False

    def detect(self, frame_rgb: NDArray[np.uint8], timestamp_ms: int = 0) -> FrameLandmarks:
        """Landmarks of the people in one RGB frame; in VIDEO mode timestamps must increase from call to
        call (IMAGE mode ignores them)."""
        import mediapipe as mp

        if self._video:
            if timestamp_ms <= self._last_timestamp_ms:
                raise ValueError(f"timestamps must increase: {timestamp_ms} after {self._last_timestamp_ms}")
            self._last_timestamp_ms = timestamp_ms
        height, width = frame_rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame_rgb))
        with nullcontext() if self._warmed_up else native_stderr_to_log():  # the first frame talks too
            if self._video:
                result = self._landmarker.detect_for_video(image, timestamp_ms)
            else:
                result = self._landmarker.detect(image)
        self._warmed_up = True
        people = len(result.pose_landmarks)
        pixels = np.zeros((people, NUM_MEDIAPIPE_LANDMARKS, 2), np.float32)
        visibility = np.zeros((people, NUM_MEDIAPIPE_LANDMARKS), np.float32)
        world = np.zeros((people, NUM_MEDIAPIPE_LANDMARKS, 3), np.float32)
        for p, landmarks in enumerate(result.pose_landmarks):
            pixels[p] = [(lm.x * width, lm.y * height) for lm in landmarks]
            visibility[p] = [lm.visibility or 0.0 for lm in landmarks]
        for p, landmarks in enumerate(result.pose_world_landmarks):
            world[p] = [(lm.x, lm.y, lm.z) for lm in landmarks]
        return FrameLandmarks(pixels=pixels, visibility=np.clip(visibility, 0, 1), world=world)

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> PoseLandmarker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
