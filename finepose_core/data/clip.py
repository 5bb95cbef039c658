"""The clip file (docs/architecture.md): one person seen by one camera, as `.npz`; a data set is a file or a
folder.

Also reads the rendered evaluation clips of ../shared/data/rendered (one file, several people, keys
`joints3d_cam`, `joints2d_gt`, …), which become one Clip per person.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finepose_core.skeleton import NUM_H36M_JOINTS

FloatArray = NDArray[np.float32]


class ClipError(ValueError):
    """A clip file is unreadable or malformed; the message names the file and the problem."""


@dataclass
class Clip:
    keypoints2d: FloatArray  # [F, 17, 2] pixels, NaN where unknown
    K: FloatArray  # [3, 3]
    image_size: tuple[int, int]  # width, height
    fps: float
    confidence2d: FloatArray | None = None  # [F, 17]
    joints3d: FloatArray | None = None  # [F, 17, 3] metres, camera space
    action: str = ""
    subject: str = ""
    source: str = ""

    @property
    def frames(self) -> int:
        return int(self.keypoints2d.shape[0])

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "keypoints2d": self.keypoints2d.astype(np.float32),
            "K": np.asarray(self.K, np.float32),
            "image_size": np.asarray(self.image_size, np.int32),
            "fps": np.float32(self.fps),
            "action": np.str_(self.action),
            "subject": np.str_(self.subject),
            "source": np.str_(self.source),
        }
        if self.confidence2d is not None:
            arrays["confidence2d"] = self.confidence2d.astype(np.float32)
        if self.joints3d is not None:
            arrays["joints3d"] = self.joints3d.astype(np.float32)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)


def _check(name: str, array: NDArray[Any], shape: tuple[int | None, ...], where: Path) -> None:
    if array.ndim != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, array.shape, strict=True)
    ):
        pretty = "[" + ", ".join("F" if s is None else str(s) for s in shape) + "]"
        raise ClipError(f"{where}: '{name}' has shape {list(array.shape)}, expected {pretty}")


def _string(data: Any, key: str) -> str:
    return str(data[key]) if key in data else ""


def _clip_from_npz(data: Any, path: Path) -> Clip:
    for key in ("keypoints2d", "K", "image_size", "fps"):
        if key not in data:
            raise ClipError(
                f"{path}: missing key '{key}' (a clip file needs keypoints2d, K, image_size, fps)"
            )
    keypoints = np.asarray(data["keypoints2d"], np.float32)
    _check("keypoints2d", keypoints, (None, NUM_H36M_JOINTS, 2), path)
    frames = keypoints.shape[0]
    if frames == 0:
        raise ClipError(f"{path}: the clip has no frames")
    if not np.isfinite(keypoints).any():
        raise ClipError(f"{path}: every 2D keypoint is NaN")
    K = np.asarray(data["K"], np.float32)
    _check("K", K, (3, 3), path)
    size = np.asarray(data["image_size"]).reshape(-1)
    if size.shape != (2,) or (size <= 0).any():
        raise ClipError(
            f"{path}: 'image_size' must be two positive numbers (width, height), got {size.tolist()}"
        )
    fps = float(np.asarray(data["fps"]))
    if not np.isfinite(fps) or fps <= 0:
        raise ClipError(f"{path}: 'fps' must be positive, got {fps}")
    confidence = None
    if "confidence2d" in data:
        confidence = np.asarray(data["confidence2d"], np.float32)
        _check("confidence2d", confidence, (frames, NUM_H36M_JOINTS), path)
    joints3d = None
    if "joints3d" in data:
        joints3d = np.asarray(data["joints3d"], np.float32)
        _check("joints3d", joints3d, (frames, NUM_H36M_JOINTS, 3), path)
    return Clip(
        keypoints2d=keypoints,
        K=K,
        image_size=(int(size[0]), int(size[1])),
        fps=fps,
        confidence2d=confidence,
        joints3d=joints3d,
        action=_string(data, "action"),
        subject=_string(data, "subject"),
        source=_string(data, "source") or str(path),
    )


def _clips_from_rendered(data: Any, path: Path) -> list[Clip]:
    joints3d = np.asarray(data["joints3d_cam"], np.float32)  # [P, F, 17, 3]
    keypoints = np.asarray(data["joints2d_gt"], np.float32)
    present = np.asarray(data["person_present"], bool)
    size = np.asarray(data["image_size"]).reshape(-1)
    clips = []
    for person in range(joints3d.shape[0]):
        k2d = keypoints[person].copy()
        k2d[~present[person]] = np.nan
        clips.append(
            Clip(
                keypoints2d=k2d,
                K=np.asarray(data["K"], np.float32),
                image_size=(int(size[0]), int(size[1])),
                fps=float(np.asarray(data["fps"])),
                joints3d=joints3d[person],
                action=str(np.asarray(data["action"])[person]),
                subject=str(np.asarray(data["subject"])[person]),
                source=f"{path}#person{person}",
            )
        )
    return clips


def load_clips(path: str | Path) -> list[Clip]:
    """The clips in one `.npz` file: a clip file, or a rendered evaluation file (one clip per person)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "joints3d_cam" in data and "person_present" in data:
                return _clips_from_rendered(data, path)
            return [_clip_from_npz(data, path)]
    except FileNotFoundError:
        raise ClipError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        if isinstance(error, ClipError):
            raise
        raise ClipError(f"{path}: not a readable .npz clip file ({error})") from None


def iter_clip_files(root: str | Path) -> Iterator[Path]:
    """A data set: one `.npz` file, or every `.npz` below a folder (sorted, so the order is stable)."""
    root = Path(root)
    if root.is_file():
        yield root
    elif root.is_dir():
        yield from sorted(root.rglob("*.npz"))
    else:
        raise ClipError(f"{root}: no such file or folder")


def load_dataset(root: str | Path) -> list[Clip]:
    clips = [clip for path in iter_clip_files(root) for clip in load_clips(path)]
    if not clips:
        raise ClipError(f"{root}: no clip files (*.npz) found")
    return clips
