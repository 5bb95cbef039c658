"""Motion-capture libraries as training data: BVH files → windows of 3D joints filmed by virtual cameras.

A library is a folder of `.bvh` files (searched recursively). Each file's subject is its parent folder's
name and its trial the file name; action texts come from a CSV with the columns of CMU's index
(`Subject`, `Trial #`, `Motion Description`), e.g. ../shared/data/mocap/cmu/cmu_descriptions.csv.

Every training sample is made afresh from its index and the seed (so a resumed run sees the same data in
the same order): a window of N frames from a random file, random bone-length factors (JointMap scale
groups), optionally random joint bends (pose_perturbation.py), a random virtual camera, and detector-like
2D noise.

The data used by the default checkpoint: CMU Graphics Lab Motion Capture Database, mocap.cs.cmu.edu —
"The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding
from NSF EIA-0196217."
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finepose_core.data.augment import NoiseConfig, detector_like
from finepose_core.data.bvh import BvhError, BvhMotion, load_bvh
from finepose_core.data.cameras import CameraRanges, sample_camera
from finepose_core.data.joint_maps import JointMap, JointMapError, ScaleGroup
from finepose_core.data.pose_perturbation import PosePerturbation, perturbation
from finepose_core.geometry.camera import project

log = logging.getLogger(__name__)
FloatArray = NDArray[np.float64]


class MocapError(ValueError):
    """A motion-capture library cannot be used; the message names the file and the problem."""


@dataclass
class MocapSequence:
    motion: BvhMotion  # resampled to the training frame rate, reference frame removed
    action: str
    subject: str
    trial: str

    @property
    def frames(self) -> int:
        return self.motion.frames


@dataclass
class Window:
    """One training or validation sample: a person filmed by one camera over N frames."""

    joints3d: NDArray[np.float64]  # [N, 17, 3] metres, camera space
    keypoints2d: NDArray[np.float64]  # [N, 17, 2] pixels, as the detector would report them
    exact2d: NDArray[np.float64]  # [N, 17, 2] pixels, the exact projection
    K: NDArray[np.float64]
    image_size: tuple[int, int]
    action: str
    subject: str
    up: NDArray[np.float64] | None = None  # the world's up in camera space (the ground's normal)


def load_descriptions(path: Path | None) -> dict[tuple[int, int], str]:
    """(subject, trial) → description, from a CSV with CMU's index columns; {} without a file."""
    if path is None:
        return {}
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return {(int(r["Subject"]), int(r["Trial #"])): r["Motion Description"].strip() for r in rows}
    except (OSError, KeyError, ValueError) as error:
        raise MocapError(
            f"{path}: not a descriptions CSV with Subject, Trial #, Motion Description ({error})"
        ) from None


def _subject_trial(path: Path) -> tuple[str, str, tuple[int, int] | None]:
    subject = path.parent.name
    trial = path.stem
    match = re.fullmatch(r"(\d+)_(\d+)", trial)
    key = (int(match.group(1)), int(match.group(2))) if match else None
    return subject, trial, key


def load_library(
    root: Path,
    joint_map: JointMap,
    fps: float,
    descriptions: dict[tuple[int, int], str] | None = None,
    subjects: Sequence[str] | None = None,
    exclude_subjects: Sequence[str] = (),
    exclude_trials: Sequence[str] = (),
    min_frames: int = 2,
    trials: Sequence[str] | None = None,
) -> list[MocapSequence]:
    """The BVH files below `root`, resampled to `fps`.

    When `subjects` or `trials` is given, only the files of those subjects plus those trials (e.g. "02_06")
    are read; the exclusions apply after that.
    """
    root = Path(root)
    files = sorted(root.rglob("*.bvh")) if root.is_dir() else [root]
    if not files or not files[0].exists():
        raise MocapError(f"{root}: no .bvh files found")
    sequences = []
    for path in files:
        subject, trial, key = _subject_trial(path)
        selected = subjects is None and trials is None
        selected = selected or subject in (subjects or ()) or trial in (trials or ())
        if not selected or subject in exclude_subjects or trial in exclude_trials:
            continue
        try:
            motion = load_bvh(path)
            joint_map.check(motion)
        except (BvhError, JointMapError) as error:
            raise MocapError(str(error)) from None
        if joint_map.skip_first_frame:
            motion = BvhMotion(
                motion.names,
                motion.parents,
                motion.offsets,
                motion.channels,
                motion.frame_time,
                motion.values[1:],
                motion.source,
            )
        motion = motion.resampled(fps)
        if motion.frames < min_frames:
            log.warning("%s: only %d frames at %g fps, skipped", path, motion.frames, fps)
            continue
        action = (descriptions or {}).get(key, "") if key else ""
        sequences.append(MocapSequence(motion, action, subject, trial))
    if not sequences:
        raise MocapError(f"{root}: no usable BVH files for the requested subjects")
    return sequences


class WindowSampler:
    """Deterministic samples: window `index` depends only on (seed, index)."""

    def __init__(
        self,
        sequences: list[MocapSequence],
        joint_map: JointMap,
        window: int,
        seed: int,
        cameras: CameraRanges | None = None,
        noise: NoiseConfig | None = None,
        noise_probability: float = 0.8,
        vary_bodies: bool = True,
        perturb: PosePerturbation | None = None,
        scale_groups: Mapping[str, ScaleGroup] | None = None,
        offsets: FloatArray | None = None,
    ) -> None:
        """`scale_groups` and `offsets` replace the joint map's body proportions and the measured MediaPipe
        offsets (the validation set pins its own: data/validation.py)."""
        if not sequences:
            raise MocapError("no sequences to sample from")
        self.sequences = sequences
        self.joint_map = joint_map
        self.window = window
        self.seed = seed
        self.cameras = cameras or CameraRanges()
        self.noise = noise or NoiseConfig()
        self.noise_probability = noise_probability
        self.vary_bodies = vary_bodies
        self.perturb = perturb
        self.scale_groups = scale_groups
        self.offsets = offsets
        lengths = np.array([s.frames for s in sequences], dtype=np.float64)
        self._weights = lengths / lengths.sum()

    @property
    def total_frames(self) -> int:
        return int(sum(s.frames for s in self.sequences))

    def sample(self, index: int, noisy: bool | None = None) -> Window:
        rng = np.random.default_rng([self.seed, index])
        sequence = self.sequences[rng.choice(len(self.sequences), p=self._weights)]
        motion = sequence.motion
        start = int(rng.integers(0, max(motion.frames - self.window, 0) + 1))
        frames = slice(start, start + self.window)
        scales = self.joint_map.sample_scales(motion, rng, self.scale_groups) if self.vary_bodies else None
        extra = None
        if self.perturb is not None:  # drawn only when on, so unperturbed samplers keep their windows
            length = len(range(*frames.indices(motion.frames)))
            extra = perturbation(motion.names, length, rng, self.perturb)
        world = self.joint_map.world_joints(motion, scales, frames, extra)
        if len(world) < self.window:  # a short file: hold its ends
            pad = self.window - len(world)
            world = np.pad(world, [(pad // 2, pad - pad // 2), (0, 0), (0, 0)], mode="edge")
        camera = sample_camera(world, rng, self.cameras)
        joints3d = camera.to_camera(world)
        exact = project(joints3d, camera.K)
        use_noise = rng.random() < self.noise_probability if noisy is None else noisy
        keypoints = detector_like(exact, rng, self.noise, self.offsets) if use_noise else exact
        return Window(
            joints3d,
            keypoints,
            exact,
            camera.K,
            camera.image_size,
            sequence.action,
            sequence.subject,
            up=camera.R @ np.array([0.0, 0.0, 1.0]),  # the library's world is z up
        )


def describe_library(sequences: Sequence[MocapSequence], fps: float) -> dict[str, Any]:
    frames = sum(s.frames for s in sequences)
    return {
        "files": len(sequences),
        "subjects": sorted({s.subject for s in sequences}),
        "frames": frames,
        "minutes": round(frames / fps / 60, 2),
        "actions": len({s.action for s in sequences}),
    }
