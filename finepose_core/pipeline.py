"""The main job: video → people in 3D. Decode, detect, track, convert, lift, place, result.

    pipeline = Pipeline(PipelineConfig(device="auto"))      # loads the model once
    result = pipeline.run("clip.mp4", JobOptions(action="dancing"), progress=print)
    result.write_json("result.json")

The CLI (`python -m finepose_core.lift`), the server and the Blender batch script all run this. Progress is
reported per stage through a callback; a cancel callback is polled between frames and stages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
from numpy.typing import NDArray

from finepose_core.assets import AssetError, default_checkpoint_path
from finepose_core.checkpoint import CheckpointError
from finepose_core.detect.appearance import SIZE as APPEARANCE_SIZE
from finepose_core.detect.appearance import appearance
from finepose_core.detect.cleanup import CleanupConfig, clean_track, with_legs_swapped
from finepose_core.detect.landmarker import FrameLandmarks, PoseLandmarker
from finepose_core.detect.occlusion import OcclusionConfig, carried_through_occlusion
from finepose_core.detect.second_look import FrameSource, SecondLook, SecondLookConfig
from finepose_core.detect.tracking import TrackerConfig, TrackResult, track_people
from finepose_core.detect.video import VideoError, VideoInfo, iter_frames, probe
from finepose_core.devices import DEFAULT_DEVICE
from finepose_core.geometry.camera import (
    DEFAULT_HORIZONTAL_FOV_DEG,
    fov_from_focal,
    intrinsics_from_focal,
    intrinsics_from_fov,
)
from finepose_core.geometry.depth_fusion import DepthFusionConfig, fuse_depth
from finepose_core.geometry.feet import FeetConfig, find_contacts, in_picture, plant_feet
from finepose_core.geometry.horizon import focal_from_horizon, horizon_lens
from finepose_core.geometry.lens import LensEstimate, PersonSample, combined, estimate_focal
from finepose_core.geometry.lens import reoriented as reoriented_pose
from finepose_core.geometry.placement import (
    Floor,
    PlacementConfig,
    fit_floor,
    floor_warning,
    legs_in_view,
    root_translations,
    steady_depth,
    to_world,
)
from finepose_core.lifter import Lifter, LiftResult, PersonInput
from finepose_core.model.prompts import Prompts
from finepose_core.model.text_encoders import TextEncoderError
from finepose_core.options import QUALITY_PRESETS, JobOptions
from finepose_core.result import CameraResult, ModelInfo, PersonResult, Result, VideoInfoResult
from finepose_core.sequence import consecutive_runs
from finepose_core.skeleton import BODY_PARTS, mediapipe_to_h36m

log = logging.getLogger(__name__)


class Detections(NamedTuple):
    """What detection saw, per decoded frame."""

    people: list[tuple[NDArray[np.float64], NDArray[np.float64]]]  # 2D joints [P, 17, 2], confidence [P, 17]
    references: list[NDArray[np.float64]]  # MediaPipe's own 3D [P, 17, 3]
    looks: list[NDArray[np.float32]]  # colour histograms [P, D] (detect/appearance.py)
    frame_indices: list[int]


STAGES: Final = ("detect", "track", "lift", "place")
MAX_FRAMES: Final = 100_000  # about an hour at 30 fps: longer jobs should be split
# What a keypoints job may declare (its image size in pixels, its frame rate).
IMAGE_SIDE_RANGE: Final = (16, 16384)
FPS_RANGE: Final = (1.0, 1000.0)
# Tracks whose body spans less than this fraction of the image height are left out of video jobs: MediaPipe
# finds real people reliably when they fill a fair part of the image, and what it reports far smaller is
# mostly furniture and clutter (a table's crossed feet in the office sample).
MIN_PERSON_HEIGHT: Final = 0.1
# MediaPipe's world landmarks keep the image's axes (y down): up is −y when the camera is about level.
MEDIAPIPE_UP: Final = np.array([0.0, -1.0, 0.0])


class PipelineError(RuntimeError):
    """The job cannot run; the message says why and what to do."""


class CancelledError(RuntimeError):
    """The job was cancelled by its caller."""


ProgressCallback = Callable[[str, float], None]  # (stage, fraction of that stage done)
CancelCallback = Callable[[], bool]


@dataclass(frozen=True)
class PipelineConfig:
    """What stays fixed while a pipeline serves many jobs."""

    checkpoint: str | None = None  # default: the project's checkpoint
    device: str = DEFAULT_DEVICE
    text_encoder: str | None = None
    # the tracked 2D cleaned over time before lifting (swapped legs, jumps); None: lifted as detected
    cleanup: CleanupConfig | None = field(default_factory=CleanupConfig)
    # a track's open ends carried on where someone hides the person (detect/occlusion.py); None: not
    occlusion: OcclusionConfig | None = field(default_factory=OcclusionConfig)
    # how the detection's second look works, where the job asks for one (detect/second_look.py)
    second_look: SecondLookConfig = field(default_factory=SecondLookConfig)


def intrinsics(width: int, height: int, options: JobOptions) -> tuple[NDArray[np.float64], str]:
    """K from the job's focal length or field of view ("user"), else the default field of view."""
    if options.focal_px is not None:
        return intrinsics_from_focal(width, height, options.focal_px), "user"
    if options.fov_deg is not None:
        return intrinsics_from_fov(width, height, options.fov_deg), "user"
    return intrinsics_from_fov(width, height, DEFAULT_HORIZONTAL_FOV_DEG), "estimated"


@dataclass(frozen=True)
class _Camera:
    K: NDArray[np.float64]
    source: str  # "user" | "estimated" (from the people) | "default" (the default field of view)
    image_size: tuple[int, int]
    fps: float
    focal_uncertainty: float | None = None  # relative, for an estimated focal length
    focal_from: str | None = None  # how it was estimated (LensEstimate.method)


@dataclass(frozen=True)
class _Placement:
    people: list[PersonResult]
    floor: Floor
    camera: _Camera  # with the estimated lens where one was estimated
    lens: LensEstimate | None


@dataclass(frozen=True)
class KeypointsPerson:
    """One person's 2D keypoints from the caller: Human3.6M-17 in pixels, on frames 0, 1, … of a clip."""

    frames: list[int]  # sorted frame indices where the person is present
    keypoints2d: NDArray[np.float64]  # [F, 17, 2] pixels, NaN where unknown
    confidence2d: NDArray[np.float64] | None = None  # [F, 17]; 1 where absent
    id: int = 0

    def __post_init__(self) -> None:
        points = np.asarray(self.keypoints2d)
        if points.ndim != 3 or points.shape[1:] != (17, 2) or len(points) == 0:
            raise ValueError(
                f"person {self.id}: keypoints2d must be [F, 17, 2] with F ≥ 1, got {points.shape}"
            )
        if len(self.frames) != len(points):
            raise ValueError(f"person {self.id}: {len(self.frames)} frame indices for {len(points)} frames")
        if any(b <= a for a, b in zip(self.frames, self.frames[1:], strict=False)) or self.frames[0] < 0:
            raise ValueError(f"person {self.id}: frame indices must be non-negative and increasing")
        if self.confidence2d is not None and np.asarray(self.confidence2d).shape != points.shape[:2]:
            raise ValueError(f"person {self.id}: confidence2d must be [F, 17] like keypoints2d")

    def track(self) -> TrackResult:
        points = np.asarray(self.keypoints2d, dtype=np.float64)
        confidence = (
            np.ones(points.shape[:2]) if self.confidence2d is None else np.asarray(self.confidence2d, float)
        )
        return TrackResult(
            id=self.id,
            frames=np.asarray(self.frames, dtype=np.int64),
            keypoints2d=points,
            confidence2d=np.where(np.isfinite(points).all(axis=-1), confidence, 0.0),
            interpolated=np.zeros(len(points), dtype=bool),
        )


@dataclass(frozen=True)
class KeypointsJob:
    """2D keypoints of people seen by one camera, for clients that already detected them."""

    image_size: tuple[int, int]  # width, height in pixels
    fps: float
    people: list[KeypointsPerson]

    def __post_init__(self) -> None:
        width, height = self.image_size
        low, high = IMAGE_SIDE_RANGE
        if not (low <= width <= high and low <= height <= high):
            raise ValueError(f"image size must be within {low}–{high} pixels, got {width} × {height}")
        if not FPS_RANGE[0] <= self.fps <= FPS_RANGE[1]:
            raise ValueError(f"fps must be within {FPS_RANGE[0]:g}–{FPS_RANGE[1]:g}, got {self.fps}")
        if len({p.id for p in self.people}) != len(self.people):
            raise ValueError("person ids must be distinct")


class Pipeline:
    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        path = Path(self.config.checkpoint) if self.config.checkpoint else default_checkpoint_path()
        try:
            self.lifter = Lifter.from_checkpoint(path, self.config.device, self.config.text_encoder)
        except (CheckpointError, TextEncoderError, RuntimeError) as error:
            raise PipelineError(f"cannot load the model: {error}") from None
        self.checkpoint_path = path

    def warm_up(self) -> None:
        """Load what the first job would otherwise wait for: the text encoder, where the checkpoint reads
        described part words (each job's descriptions are new texts to encode)."""
        if self.lifter.reads_descriptions and not self.lifter.cache.load_encoder():
            log.warning("no text encoder: described part words cannot be used, parts stay bare")

    def describe(self) -> dict[str, Any]:
        """The loaded model and what a job can ask of it, for clients (the server's /v1/model)."""
        lifter = self.lifter
        return {
            "checkpoint": lifter.name or self.checkpoint_path.name,
            "sha256": lifter.sha256,
            "config": lifter.model.config.to_dict(),
            "input_normalization": lifter.input_normalization,
            "training": lifter.metadata.get("training", {}),
            "validation": lifter.metadata.get("validation", {}),
            "text_encoder": lifter.cache.encoder_id,
            "known_texts": sorted(lifter.cache.state()["features"]),
            "body_parts": {name: list(joints) for name, joints in BODY_PARTS.items()},
            "presets": {name: asdict(preset) for name, preset in QUALITY_PRESETS.items()},
            "device": str(lifter.device),
        }

    def run(
        self,
        video: str | Path,
        options: JobOptions | None = None,
        progress: ProgressCallback | None = None,
        cancelled: CancelCallback | None = None,
    ) -> Result:
        options = options or JobOptions()
        report = progress or (lambda stage, fraction: None)
        is_cancelled = cancelled or (lambda: False)
        timings: dict[str, float] = {}
        warnings: list[str] = []
        try:
            info = probe(video)
        except VideoError as error:
            raise PipelineError(str(error)) from None
        frames = options.frame_range(info.frame_count)
        if not frames:
            raise PipelineError(
                f"{video}: start frame {options.start} is past the end ({info.frame_count} frames)"
            )
        end, wanted = frames.stop, len(frames)
        if wanted > MAX_FRAMES:
            raise PipelineError(
                f"{video}: {wanted} frames to process; split jobs longer than {MAX_FRAMES} frames"
            )
        fps = info.fps / options.step
        K, k_source = intrinsics(info.width, info.height, options)

        started = time.perf_counter()
        detections, references, looks, frame_indices = self._detect(
            info, options, end, wanted, report, is_cancelled
        )
        timings["detect"] = time.perf_counter() - started
        if not frame_indices:
            raise PipelineError(f"{video}: no frame in the range {options.start}–{end} could be decoded")

        started = time.perf_counter()
        report("track", 0.0)
        tracks = track_people(detections, fps, TrackerConfig(), appearances=looks)
        report("track", 1.0)
        timings["track"] = time.perf_counter() - started
        tracks, small = drop_small(tracks, info.height)
        if self.config.cleanup is not None:
            tracks = [clean_track(track, self.config.cleanup) for track in tracks]
        if self.config.occlusion is not None:
            tracks = carried_through_occlusion(tracks, len(detections) - 1, fps, self.config.occlusion)
        if small:
            one = len(small) == 1
            warnings.append(
                f"{len(small)} track{'' if one else 's'} smaller than {MIN_PERSON_HEIGHT:.0%} of the image "
                f"height {'was' if one else 'were'} left out (too small to lift; mostly not people)"
            )
        seen = sum(1 for joints, _ in detections if len(joints))
        if not tracks and not small:
            warnings.append(
                "no person found"
                if seen == 0
                else f"people were detected in only {seen} frames; too few to track"
            )
        self._check(is_cancelled)
        camera = _Camera(K, k_source, (info.width, info.height), fps)
        placed = self._lift_and_place(
            tracks, frame_indices, camera, options, timings, report, is_cancelled, references
        )
        video_info = VideoInfoResult(
            str(video), info.width, info.height, info.fps, info.frame_count, options.start, options.step
        )
        return self._result(video_info, placed, options, timings, warnings)

    def run_keypoints(
        self,
        job: KeypointsJob,
        options: JobOptions | None = None,
        progress: ProgressCallback | None = None,
        cancelled: CancelCallback | None = None,
    ) -> Result:
        """Lift and place people whose 2D keypoints the caller already has (no video, no detection)."""
        options = options or JobOptions()
        report = progress or (lambda stage, fraction: None)
        is_cancelled = cancelled or (lambda: False)
        width, height = job.image_size
        K, k_source = intrinsics(width, height, options)
        tracks = [person.track() for person in job.people]
        frames = max((int(t.frames[-1]) for t in tracks), default=-1) + 1
        timings: dict[str, float] = {}
        camera = _Camera(K, k_source, (width, height), job.fps)
        placed = self._lift_and_place(
            tracks, list(range(frames)), camera, options, timings, report, is_cancelled
        )
        warnings = [] if tracks else ["no person given"]
        video_info = VideoInfoResult("", width, height, job.fps, frames)
        return self._result(video_info, placed, options, timings, warnings)

    def _result(
        self,
        video: VideoInfoResult,
        placed: _Placement,
        options: JobOptions,
        timings: dict[str, float],
        warnings: list[str],
    ) -> Result:
        camera, floor, people = placed.camera, placed.floor, placed.people
        if people:
            for warning in (lens_warning(camera, placed.lens), floor_warning(floor)):
                if warning:
                    warnings.append(warning)
        pitch, roll = floor.pitch_roll_deg
        return Result(
            video=video,
            camera=CameraResult(
                camera.K,
                camera.source,
                floor.world_from_camera(),
                floor.fitted,
                up_source=floor.source,
                up_uncertainty_deg=floor.uncertainty_deg,
                pitch_deg=pitch,
                roll_deg=roll,
                height_m=floor.camera_height,
                focal_uncertainty=camera.focal_uncertainty,
                focal_from=camera.focal_from,
            ),
            people=people,
            model=self._model_info(options),
            prompts=_prompts_summary(options.prompts),
            timings=timings,
            warnings=warnings,
        )

    def _lift_and_place(
        self,
        tracks: list[TrackResult],
        frame_indices: list[int],
        camera: _Camera,
        options: JobOptions,
        timings: dict[str, float],
        report: ProgressCallback,
        is_cancelled: CancelCallback,
        references: list[NDArray[np.float64]] | None = None,
    ) -> _Placement:
        """`references[f]`: the detector's own 3D of frame f's detections [P, 17, 3], for depth fusion."""
        started = time.perf_counter()
        report("lift", 0.0)

        def lift_progress(fraction: float) -> None:
            report("lift", fraction)
            self._check(is_cancelled)

        # a person re-found after a gap longer than the tracker bridges is lifted and placed run by run of
        # consecutive frames: no window of the lifter and no smoothing of the root spans the jump
        runs = [consecutive_runs(track.frames) for track in tracks]
        detector_3d = [
            _reference_poses(track, references)
            if references is not None and track.detection is not None
            else None
            for track in tracks
        ]
        # the parts the user left without words are described from MediaPipe's own 3D, window by window,
        # for checkpoints trained to read such words
        # (without a text encoder, new words cannot be encoded: the parts stay bare rather than fail the job)
        describe = (
            options.part_texts == "auto"
            and self.lifter.reads_descriptions
            and self.lifter.cache.load_encoder()
        )
        people = [
            PersonInput(
                track.keypoints2d[run],
                track.confidence2d[run],
                options.prompts,
                describe_from=reference[run] if describe and reference is not None else None,
                up=MEDIAPIPE_UP,
            )
            for track, track_runs, reference in zip(tracks, runs, detector_3d, strict=True)
            for run in track_runs
        ]
        lifted_runs = self.lifter.lift_people(
            people, camera.K, camera.image_size, camera.fps, options.lift_options(), lift_progress
        )
        report("lift", 1.0)
        timings["lift"] = time.perf_counter() - started
        self._check(is_cancelled)

        started = time.perf_counter()
        report("place", 0.0)
        relative, uncertainties, lifted_by_track = [], [], []
        fusion = DepthFusionConfig(weight=options.mediapipe_depth)
        position = 0
        for track_runs, reference in zip(runs, detector_3d, strict=True):
            parts = lifted_runs[position : position + len(track_runs)]
            position += len(track_runs)
            fused = reference if fusion.weight > 0 else None
            relative.append(_relative(track_runs, parts, fused, fusion))
            uncertainties.append(np.concatenate([part.uncertainty for part in parts]))
            lifted_by_track.append(parts)
        camera, relative, lens = _with_lens(camera, tracks, runs, relative)
        camera_joints = [
            _placed(track, track_runs, track_relative, camera)
            for track, track_runs, track_relative in zip(tracks, runs, relative, strict=True)
        ]
        floor = fit_floor(
            camera_joints,
            camera.fps,
            PlacementConfig(),
            [track.confidence2d for track in tracks],
            ([track.keypoints2d for track in tracks], camera.K),
        )
        world_from_camera = floor.world_from_camera()
        # the 2D's confidence with the joints the frame cuts off at 0 (MediaPipe places them, and can be
        # sure of them): whether the legs are in view, and where an ankle stands still, go by it
        in_view = [in_picture(track.keypoints2d, track.confidence2d, camera.image_size) for track in tracks]
        legs_seen = [legs_in_view(seen) for seen in in_view]
        camera_joints = [
            np.concatenate([steady_depth(joints[run], camera.fps, legs_seen=legs[run]) for run in track_runs])
            for joints, track_runs, legs in zip(camera_joints, runs, legs_seen, strict=True)
        ]
        feet = FeetConfig() if options.plant_feet else None
        results = [
            self._person(
                track,
                uncertainty,
                joints,
                world_from_camera,
                frame_indices,
                lifted,
                track_runs,
                feet,
                camera.fps,
                seen,
            )
            for track, uncertainty, joints, lifted, track_runs, seen in zip(
                tracks, uncertainties, camera_joints, lifted_by_track, runs, in_view, strict=True
            )
        ]
        report("place", 1.0)
        timings["place"] = time.perf_counter() - started
        return _Placement(results, floor, camera, lens)

    def _model_info(self, options: JobOptions) -> ModelInfo:
        lift = options.lift_options()
        return ModelInfo(
            checkpoint=self.lifter.name or self.checkpoint_path.name,
            sha256=self.lifter.sha256,
            text_encoder=self.lifter.cache.encoder_id,
            hypotheses=lift.hypotheses,
            steps=lift.steps,
            mediapipe_depth=options.mediapipe_depth,
        )

    def _detect(
        self,
        info: VideoInfo,
        options: JobOptions,
        end: int,
        wanted: int,
        report: ProgressCallback,
        is_cancelled: CancelCallback,
    ) -> Detections:
        """Per decoded frame: the 2D joints and confidences, MediaPipe's own 3D joints, the detections'
        colours; the frame indices."""
        detections = []
        references = []
        looks: list[NDArray[np.float32]] = []  # the detections' colours, for the tracker
        frame_indices: list[int] = []
        try:
            detector = PoseLandmarker(options.landmarker_config())
        except AssetError as error:
            raise PipelineError(str(error)) from None
        second = (
            SecondLook(options.landmarker_config(), info.fps / options.step, self.config.second_look)
            if options.second_look
            else None
        )
        found_per_frame: list[FrameLandmarks] = []
        with detector, second or nullcontext():
            for count, (index, frame) in enumerate(iter_frames(info.path, options.start, end, options.step)):
                found = detector.detect(frame, timestamp_ms=round(1000 * index / info.fps))
                if second is not None:
                    found = second.add(frame, found, options.max_people)
                found_per_frame.append(found)
                looks.append(appearance(frame, *mediapipe_to_h36m(found.pixels, found.visibility)))
                frame_indices.append(index)
                if count % 10 == 0:
                    report("detect", min(1.0, (count + 1) / wanted))
                    self._check(is_cancelled)
            if second is not None:
                frames = _frame_source(info, options, frame_indices)
                for position in second.looked_back(
                    found_per_frame,
                    frames,
                    info.fps / options.step,
                    options.max_people,
                    check=lambda: self._check(is_cancelled),
                ):
                    # the body found looking back is half behind someone: its colours are partly theirs,
                    # so it gives the tracker no colour evidence
                    looks[position] = np.concatenate(
                        [looks[position], np.full((1, APPEARANCE_SIZE), np.nan, np.float32)]
                    )
        report("detect", 1.0)
        for found in found_per_frame:
            joints, confidence = mediapipe_to_h36m(found.pixels, found.visibility)
            detections.append((joints.astype(np.float64), confidence.astype(np.float64)))
            world, _ = mediapipe_to_h36m(found.world, found.visibility)
            references.append(world.astype(np.float64))
        if second is not None:
            counts = second.counts
            log.info(
                "second look: %d frames, %d whole-frame scans, %d crops, %d people added, %d looking back",
                counts.frames,
                counts.scans,
                counts.crops,
                counts.added,
                counts.back,
            )
        return Detections(detections, references, looks, frame_indices)

    @staticmethod
    def _check(is_cancelled: CancelCallback) -> None:
        if is_cancelled():
            raise CancelledError("the job was cancelled")

    @staticmethod
    def _person(
        track: TrackResult,
        uncertainty: NDArray[np.float64],
        joints_camera: NDArray[np.float64],
        world_from_camera: NDArray[np.float64],
        frame_indices: list[int],
        lifted: list[LiftResult],
        runs: list[slice],
        feet: FeetConfig | None,
        fps: float,
        seen: NDArray[np.float64],
    ) -> PersonResult:
        longest = max(lifted, key=lambda part: len(part.joints3d))
        world = to_world(joints_camera, world_from_camera)
        contacts = None  # not looked for
        if feet is not None:  # each run of consecutive frames on its own: a gap may hide any motion
            contacts = np.zeros((len(world), 2), bool)
            for run in runs:
                contacts[run] = find_contacts(world[run], track.keypoints2d[run], seen[run], fps, feet)
                world[run] = plant_feet(
                    world[run], contacts[run], fps, feet, world_from_camera[:3, 3], track.keypoints2d[run]
                )
            joints_camera = to_world(world, np.linalg.inv(world_from_camera))
        frames = [frame_indices[f] for f in track.frames]
        windows = []
        for part, run in zip(lifted, runs, strict=True):
            run_frames = frames[run]
            for first, after, texts in part.window_texts:
                span = [run_frames[first], run_frames[after - 1] + 1]
                windows.append({"frames": span, **texts})
        return PersonResult(
            id=track.id,
            frames=frames,
            joints3d_camera=joints_camera,
            joints3d_world=world,
            uncertainty=uncertainty,
            keypoints2d=track.keypoints2d,
            confidence2d=track.confidence2d,
            prompts=longest.texts,
            prompt_sources=longest.sources,
            part_texts=windows,
            foot_contacts=contacts,
        )


def _frame_source(info: VideoInfo, options: JobOptions, frame_indices: list[int]) -> FrameSource:
    """The job's decoded frames by position (the detections' order), decoded again on demand."""
    positions = {index: position for position, index in enumerate(frame_indices)}

    def frames(first: int, stop: int) -> Iterator[tuple[int, NDArray[np.uint8]]]:
        if stop <= first:
            return
        last = frame_indices[stop - 1]
        for index, frame in iter_frames(info.path, frame_indices[first], last + 1, options.step):
            if index in positions:
                yield positions[index], frame

    return frames


def lens_warning(camera: _Camera, lens: LensEstimate | None) -> str | None:
    """What a user should know about the focal length used, or None when they gave it or it is sure."""
    if camera.source != "default":
        return None
    fov = fov_from_focal(camera.image_size[0], float(camera.K[0, 0]))
    why = (
        "nobody was seen upright with planted feet long enough"
        if lens is None
        else "neither the planted feet nor the horizon the people draw tell it apart; that takes people "
        "who walk towards or away from the camera, filmed from a camera that looks down or up"
    )
    return (
        f"the lens could not be estimated ({why}): a {fov:.0f}° horizontal field of view is assumed, so "
        "distances towards the camera may be off, and with them the camera's height and, where it looks "
        "down or up, its pitch; give the focal length or field of view if you know it"
    )


def drop_small(
    tracks: list[TrackResult], image_height: int, fraction: float = MIN_PERSON_HEIGHT
) -> tuple[list[TrackResult], list[TrackResult]]:
    """(kept, dropped): tracks whose median 2D height (top to bottom of the joints) is under `fraction` of
    the image height are dropped."""
    kept: list[TrackResult] = []
    dropped: list[TrackResult] = []
    for track in tracks:
        height = float(np.nanmedian(np.ptp(track.keypoints2d[..., 1], axis=1)))
        (kept if height >= fraction * image_height else dropped).append(track)
    return kept, dropped


def _relative(
    runs: list[slice],
    lifted: list[LiftResult],
    reference: NDArray[np.float64] | None,
    fusion: DepthFusionConfig,
) -> list[NDArray[np.float64]]:
    """Each run's root-relative camera-space joints: the lifted pose, its depth blended with the
    detector's 3D where there is one."""
    return [
        lift.joints3d if reference is None else fuse_depth(lift.joints3d, reference[run], fusion)
        for run, lift in zip(runs, lifted, strict=True)
    ]


def _placed(
    track: TrackResult, runs: list[slice], relative: list[NDArray[np.float64]], camera: _Camera
) -> NDArray[np.float64]:
    """Camera-space joints [F, 17, 3] of one track: each run placed by its own root path. A run too
    poorly seen to be placed takes the root of the runs around it (interpolated over time)."""
    roots = []
    for run, joints in zip(runs, relative, strict=True):
        try:
            root = root_translations(
                joints, track.keypoints2d[run], camera.K, track.confidence2d[run], camera.fps
            )
        except ValueError:
            root = np.full((len(joints), 3), np.nan)
        roots.append(root)
    root_path = np.concatenate(roots)
    known = np.isfinite(root_path).all(axis=-1)
    if not known.any():
        raise PipelineError(f"person {track.id}: no frame has enough 2D keypoints to place them")
    rows = np.arange(len(root_path))
    for axis in range(3):
        root_path[:, axis] = np.interp(rows, rows[known], root_path[known, axis])
    return np.asarray(np.concatenate(relative) + root_path[:, None])


def _with_lens(
    camera: _Camera,
    tracks: list[TrackResult],
    runs: list[list[slice]],
    relative: list[list[NDArray[np.float64]]],
) -> tuple[_Camera, list[list[NDArray[np.float64]]], LensEstimate | None]:
    """Where the user gave no lens: the focal length under which planted feet stay put (geometry/lens.py)
    and the one that the horizon and the vertical vanishing point give (geometry/horizon.py), joined; the
    camera and the relative poses as they are under it when the estimate is sure, else unchanged."""
    if camera.source == "user":
        return camera, relative, None
    samples = [
        PersonSample(joints, track.keypoints2d[run], track.confidence2d[run])
        for track, track_runs, track_relative in zip(tracks, runs, relative, strict=True)
        for run, joints in zip(track_runs, track_relative, strict=True)
    ]
    feet = estimate_focal(samples, camera.K, camera.image_size, camera.fps)
    # one confidence per run, or none at all: a shorter list would pair runs with others' confidences
    confidences = [s.confidence for s in samples if s.confidence is not None]
    horizon = focal_from_horizon(
        [s.joints for s in samples],
        [s.keypoints2d for s in samples],
        confidences if len(confidences) == len(samples) else None,
        camera.K,
        camera.image_size,
        camera.fps,
    )
    estimate = combined([feet, horizon_lens(horizon)])
    log.debug("lens: planted feet %s, horizon %s", feet, horizon)
    if estimate is None or not estimate.sure:
        return replace(camera, source="default"), relative, estimate
    width, height = camera.image_size
    K = intrinsics_from_focal(width, height, estimate.focal_px)
    reoriented = []
    position = 0
    for track_relative in relative:
        chosen = samples[position : position + len(track_relative)]
        reoriented.append([reoriented_pose(sample, camera.K, K) for sample in chosen])
        position += len(track_relative)
    estimated = replace(
        camera, K=K, source="estimated", focal_uncertainty=estimate.uncertainty, focal_from=estimate.method
    )
    return estimated, reoriented, estimate


def _reference_poses(track: TrackResult, references: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """The detector's root-relative 3D for each of the track's frames [F, 17, 3]; NaN where it was bridged."""
    assert track.detection is not None
    out = np.full((len(track.frames), 17, 3), np.nan)
    for row, (frame, detection) in enumerate(zip(track.frames, track.detection, strict=True)):
        if detection >= 0:
            pose = references[int(frame)][int(detection)]
            out[row] = pose - pose[:1]
    return out if track.legs_swapped is None else with_legs_swapped(out, track.legs_swapped)


def _prompts_summary(prompts: Prompts) -> dict[str, Any]:
    return {
        "action": prompts.action,
        "speed": prompts.speed,
        "parts": {
            name: {"description": p.description, "strength": p.strength} for name, p in prompts.parts.items()
        },
    }
