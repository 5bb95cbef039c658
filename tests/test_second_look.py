"""The second look: overlapping tiles, bodies cut by a tile's edge, when to look, and a person it adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from finepose_core.data.clip import load_clips
from finepose_core.detect.landmarker import FrameLandmarks, PoseLandmarker
from finepose_core.detect.second_look import SecondLook, SecondLookConfig, _appeared, _beside, _tiles
from finepose_core.detect.video import iter_frames
from finepose_core.options import JobOptions
from finepose_core.skeleton import mediapipe_to_h36m


def test_tiles_cover_the_frame_with_overlap() -> None:
    tiles = _tiles(640, 480, SecondLookConfig())
    assert len(tiles) == 4
    covered = np.zeros((480, 640), bool)
    for x0, y0, x1, y1 in tiles:
        covered[y0:y1, x0:x1] = True
        assert (x1 - x0) > 320 and (y1 - y0) > 240  # each more than half the frame: they overlap
    assert covered.all()


def test_when_to_look_and_what_a_tile_cuts() -> None:
    look = SecondLook(JobOptions().landmarker_config(), fps=10.0, look=SecondLookConfig(every=5))
    with look:
        empty = FrameLandmarks(
            np.zeros((0, 33, 2), np.float32), np.zeros((0, 33), np.float32), np.zeros((0, 33, 3), np.float32)
        )
        # frame 0: periodic; then nobody was seen before, so no look until the next period
        assert [look.wanted(0, 4) for _ in range(6)] == [True, False, False, False, False, True]
        look._recent.extend([2, 2])
        assert look.wanted(1, 4)  # one fewer than just before
        assert look.add(np.zeros((48, 64, 3), np.uint8), empty, 4).count == 0  # a black frame: nobody
        points = np.array([[100.0, 100.0], [150.0, 300.0]], np.float32)
        visible = np.ones(2, np.float32)
        box = (0, 0, 380, 300)  # the top-left tile of a 640 × 480 frame
        assert look._cut(points, visible, box, (640, 480))  # reaches the tile's bottom edge, inside the frame
        assert not look._cut(points - [0, 100], visible, box, (640, 480))


def _body(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """A stand-in body: 33 landmarks spread over the box (only its box matters here)."""
    t = np.linspace(0.0, 1.0, 33)
    return np.stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t[::-1]], axis=-1).astype(np.float32)


def test_which_bodies_just_appeared_and_which_stand_beside_someone() -> None:
    front = _body(100, 100, 200, 400)
    coming_out = _body(150, 100, 250, 400)  # overlaps the front body's box (IoU 0.33), but it is new
    far = _body(500, 100, 560, 300)
    none = np.zeros((0, 33, 2), np.float32)
    assert _appeared(front[None], np.stack([front + 2, coming_out]), 0.3) == [1]
    assert _appeared(np.stack([front, coming_out]), np.stack([front + 2, coming_out - 2]), 0.3) == []
    assert _appeared(none, front[None], 0.3) == [0]
    assert _appeared(front[None], none, 0.3) == []  # a frame with nobody: nothing appeared
    assert _beside(coming_out, np.stack([front, coming_out]), 0.1)
    assert not _beside(far, np.stack([front, far]), 0.1)
    assert _beside(_body(205, 100, 305, 400), np.stack([front]), 0.1)  # 5 px from the front body's box


def _shrunk_walk(clip_path: Path, fps: float, frames: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The rendered walk shrunk to 0.7 in the bottom-left corner of a grey frame: (index, frame, the
    walker's true 2D joints there)."""
    (clip,) = load_clips(clip_path)
    for index, frame in iter_frames(clip_path.with_suffix(".mp4"), 0, frames):
        small = cv2.resize(frame, None, fx=0.7, fy=0.7)
        canvas = np.full_like(frame, 120)
        canvas[-small.shape[0] :, : small.shape[1]] = small
        yield index, canvas, clip.keypoints2d[index] * 0.7 + [0, frame.shape[0] - small.shape[0]]


def test_the_second_look_finds_a_person_the_full_frame_missed(shared_dir: Path) -> None:
    """A rendered walk shrunk to 0.7 of its size in the corner of a grey frame: measured, the full-frame pass
    finds nobody in its first 30 frames, the second look (a person-like region, then MediaPipe on it) finds
    the walker in all 30, where the ground truth is."""
    clip_path = shared_dir / "data/rendered/s01_walk_05_01.npz"
    (clip,) = load_clips(clip_path)
    options = JobOptions(max_people=2)
    found_full = found_tiles = 0
    with (
        PoseLandmarker(options.landmarker_config()) as detector,
        SecondLook(options.landmarker_config(), clip.fps) as look,
    ):
        for index, canvas, truth in _shrunk_walk(clip_path, clip.fps, 30):
            full = detector.detect(canvas, round(1000 * index / clip.fps))
            both = look._merged(canvas, full, 2)
            found_full += full.count
            for person in range(full.count, both.count):
                joints, _ = mediapipe_to_h36m(
                    both.pixels[person : person + 1], both.visibility[person : person + 1]
                )
                assert np.median(np.linalg.norm(joints[0] - truth, axis=-1)) < 0.15 * np.ptp(truth[:, 1])
                found_tiles += 1
    print(f"full frame: {found_full} of 30 frames; the second look added {found_tiles}")
    assert found_tiles >= 25 and found_full + found_tiles > found_full


def test_a_person_found_on_a_second_look_is_followed_without_scanning_again(shared_dir: Path) -> None:
    """The same shrunk walk through `add`, frame by frame: the walker the full-frame pass misses is found
    once by a scan of the frame, then looked for around where it just was; the whole-frame HOG scan runs
    only on the periodic frames (0, 10, 20), not on every frame where someone is missing. Measured: the
    walker is found in all 30 frames with 3 scans."""
    clip_path = shared_dir / "data/rendered/s01_walk_05_01.npz"
    (clip,) = load_clips(clip_path)
    options = JobOptions(max_people=2)
    found = 0
    with (
        PoseLandmarker(options.landmarker_config()) as detector,
        SecondLook(options.landmarker_config(), clip.fps) as look,
    ):
        for index, canvas, truth in _shrunk_walk(clip_path, clip.fps, 30):
            people = look.add(canvas, detector.detect(canvas, round(1000 * index / clip.fps)), 2)
            for person in range(people.count):
                joints, _ = mediapipe_to_h36m(
                    people.pixels[person : person + 1], people.visibility[person : person + 1]
                )
                if np.median(np.linalg.norm(joints[0] - truth, axis=-1)) < 0.15 * np.ptp(truth[:, 1]):
                    found += 1
    counts = look.counts
    print(
        f"walker found in {found} of 30 frames; {counts.frames} looks, {counts.scans} scans, "
        f"{counts.crops} crops"
    )
    assert found >= 28
    assert counts.frames >= 28 and counts.scans <= 4


def test_painting_out_the_person_found_reveals_the_one_behind(shared_dir: Path) -> None:
    """The rendered two-person clip, in the frames where the two overlap and the full-frame pass finds only
    one: looking again with the found body painted out finds the other person (within 15 % of their
    height of the truth) far more often than the same look without painting. Measured: 23 of 31 frames
    against 7, and nothing else found."""
    clip_path = shared_dir / "data/rendered/s05_two_02_05_06_13.npz"
    clips = load_clips(clip_path)
    options = JobOptions(max_people=3)
    counts = {"painted": 0, "plain": 0, "frames": 0, "elsewhere": 0}
    with (
        PoseLandmarker(options.landmarker_config()) as detector,
        SecondLook(options.landmarker_config(), 30.0) as painted,
        SecondLook(options.landmarker_config(), 30.0, SecondLookConfig(mask_width=0.0)) as plain,
    ):
        for index, frame in iter_frames(clip_path.with_suffix(".mp4"), 0, 80):
            found = detector.detect(frame, round(1000 * index / 30.0))
            if not (10 <= index <= 26 or 60 <= index <= 76) or found.count != 1:
                continue
            counts["frames"] += 1
            for name, look in (("painted", painted), ("plain", plain)):
                both = look._merged(frame, found, 2, expected=2, scan=False, behind=False)
                for person in range(found.count, both.count):
                    joints, _ = mediapipe_to_h36m(
                        both.pixels[person : person + 1], both.visibility[person : person + 1]
                    )
                    error = min(
                        np.median(np.linalg.norm(joints[0] - clip.keypoints2d[index], axis=-1))
                        / np.ptp(clip.keypoints2d[index][:, 1])
                        for clip in clips
                    )
                    if error < 0.15:
                        counts[name] += 1
                    elif name == "painted":
                        counts["elsewhere"] += 1
    print(counts)
    assert counts["frames"] >= 25
    assert counts["painted"] >= 2 * counts["plain"] and counts["painted"] >= 0.6 * counts["frames"]
    assert counts["elsewhere"] <= 1


def test_looking_back_finds_a_person_in_the_frames_before_they_appeared(shared_dir: Path) -> None:
    """The rendered two-person clip, where the two overlap: a full-frame pass that first finds one of them
    at frame 19, as they come out beside the other (their detections in frames 0–18 taken out, a stand-in
    for the miss; MediaPipe and the frames are real). Looking back from frame 19 finds them in the frames
    before, where the truth is. Where they were known before the missed stretch (detections taken out in
    frames 8–18 only), the walk back comes to a known sighting and adds nothing: the tracker bridges such
    a gap from both ends, better than a crop of a half-hidden person. Measured: found in 18 of frames 0–17
    (not in 18, where MediaPipe misses them in the enlarged crop too), each within 2 % of their height of
    the truth, with 19 crops; nothing added for the gap, with 11 crops."""
    clip_path = shared_dir / "data/rendered/s05_two_02_05_06_13.npz"
    clips = load_clips(clip_path)
    options = JobOptions(max_people=3)
    frames = dict(iter_frames(clip_path.with_suffix(".mp4"), 0, 20))

    def nearest(found: FrameLandmarks, person: int, index: int) -> tuple[int, float]:
        joints, _ = mediapipe_to_h36m(
            found.pixels[person : person + 1], found.visibility[person : person + 1]
        )
        errors = [
            np.median(np.linalg.norm(joints[0] - clip.keypoints2d[index], axis=-1))
            / np.ptp(clip.keypoints2d[index][:, 1])
            for clip in clips
        ]
        return int(np.argmin(errors)), float(min(errors))

    def without_person_0(found: list[FrameLandmarks], missed: range) -> list[FrameLandmarks]:
        out = list(found)
        for index in missed:
            keep = [p for p in range(found[index].count) if nearest(found[index], p, index)[0] != 0]
            out[index] = FrameLandmarks(
                found[index].pixels[keep], found[index].visibility[keep], found[index].world[keep]
            )
            assert out[index].count == 1
        return out

    def source(first: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        return ((index, frames[index]) for index in range(first, stop))

    with (
        PoseLandmarker(options.landmarker_config()) as detector,
        SecondLook(options.landmarker_config(), clips[0].fps) as look,
    ):
        full = [
            look.add(frames[index], detector.detect(frames[index], round(1000 * index / clips[0].fps)), 3)
            for index in range(20)
        ]
        assert all(full[index].count == 2 for index in (0, 7, 19))
        found = without_person_0(full, range(19))
        crops = look.counts.crops
        added = look.looked_back(found, source, clips[0].fps, 3)
        opened = look.counts.crops - crops
        for index in added:
            person, error = nearest(found[index], found[index].count - 1, index)
            assert person == 0 and error < 0.05
        gap = without_person_0(full, range(8, 19))
        crops = look.counts.crops
        bridged = look.looked_back(gap, source, clips[0].fps, 3)
        print(
            f"open start: found again in frames {sorted(added)}, {opened} crops; "
            f"gap: {bridged}, {look.counts.crops - crops} crops"
        )
        assert len(added) >= 15 and min(added) <= 2 and max(added) >= 16
        assert look.counts.back == len(added) and opened <= len(added) + 6
        assert bridged == [] and all(gap[index].count == 1 for index in range(8, 19))
