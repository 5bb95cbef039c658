"""Decoding and MediaPipe detection on real frames of the bundled sample clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from finepose_core.detect.landmarker import PoseLandmarker
from finepose_core.detect.video import VideoError, iter_frames, probe
from finepose_core.options import JobOptions
from finepose_core.skeleton import mediapipe_to_h36m
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "samples/office_walk.mp4"


def test_probe_reads_the_sample() -> None:
    info = probe(SAMPLE)
    assert (info.width, info.height, info.frame_count) == (768, 432, 136)
    assert info.fps == pytest.approx(10.0)


def test_frame_range_and_step() -> None:
    frames = list(iter_frames(SAMPLE, start=10, end=20, step=3))
    assert [index for index, _ in frames] == [10, 13, 16, 19]
    assert frames[0][1].shape == (432, 768, 3) and frames[0][1].dtype == np.uint8


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "missing.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01 this is not a video" * 100)
    with pytest.raises(VideoError):
        probe(garbage)
    with pytest.raises(ValueError, match="frame range"):
        next(iter_frames(SAMPLE, start=5, end=5))


def test_mediapipe_finds_the_person_in_real_frames() -> None:
    """Frames 20–40 of the sample: one woman standing at a table.

    Measured with the pinned model: head-top to ankle 314–325 px, pelvis at x = 444–449 px.
    """
    info = probe(SAMPLE)
    heights = []
    with PoseLandmarker(JobOptions().landmarker_config()) as detector:
        for index, frame in iter_frames(SAMPLE, start=20, end=40):
            found = detector.detect(frame, timestamp_ms=round(1000 * index / info.fps))
            assert found.count == 1
            joints, conf = mediapipe_to_h36m(found.pixels[0], found.visibility[0])
            assert np.isfinite(joints).all()
            # the body is upright: head above thorax above pelvis above ankles (y grows downwards)
            assert joints[10, 1] < joints[8, 1] < joints[0, 1] < min(joints[3, 1], joints[6, 1])
            assert conf[[0, 8, 11, 14]].min() > 0.5
            heights.append(max(joints[3, 1], joints[6, 1]) - joints[10, 1])
    assert 300 < np.median(heights) < 340
    assert 430 < joints[0, 0] < 460


def test_timestamps_must_increase() -> None:
    frame = np.zeros((64, 64, 3), np.uint8)
    with PoseLandmarker(JobOptions().landmarker_config()) as detector:
        assert detector.detect(frame, 0).count == 0  # an empty frame: nobody, no error
        with pytest.raises(ValueError, match="increase"):
            detector.detect(frame, 0)
