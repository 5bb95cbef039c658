"""The `finepose.result/1` document (docs/architecture.md): what the pipeline produces and every client reads.

JSON with the video, the camera (K, its source, world-from-camera), the skeleton, and per person the frame
indices where they are present with camera-space and world-space joints, per-joint uncertainty, the 2D
keypoints and their confidence; plus the prompts, the model, timings and warnings. The same arrays can be
written to `.npz`. Readers reject an unknown major version with a clear message.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from finepose_core.geometry.camera import fov_from_focal
from finepose_core.skeleton import H36M_JOINTS, H36M_NAME, H36M_PARENTS

SCHEMA: Final = "finepose.result/1"
MAJOR: Final = 1


class ResultError(ValueError):
    """A result document cannot be read; the message says why."""


@dataclass
class PersonResult:
    id: int
    frames: list[int]
    joints3d_camera: NDArray[np.float64]  # [F, 17, 3]
    joints3d_world: NDArray[np.float64]  # [F, 17, 3]
    uncertainty: NDArray[np.float64]  # [F, 17]
    keypoints2d: NDArray[np.float64]  # [F, 17, 2]
    confidence2d: NDArray[np.float64]  # [F, 17]
    prompts: dict[str, str] = field(
        default_factory=dict
    )  # the seven texts (described parts: the most frequent)
    # where each part's words came from: "user", "auto" (described from MediaPipe's 3D) or "none"
    prompt_sources: dict[str, str] = field(default_factory=dict)
    # per window of the lifter: {"frames": [first, after the last] (video frame indices), part: words, …}
    part_texts: list[dict[str, Any]] = field(default_factory=list)
    # [F, 2] (right, left ankle) planted, as found and held by placement (geometry/feet.py); None: not
    # looked for
    foot_contacts: NDArray[np.bool_] | None = None


@dataclass
class VideoInfoResult:
    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    first_frame: int = 0
    frame_step: int = 1


@dataclass
class CameraResult:
    K: NDArray[np.float64]
    source: str  # "user" | "estimated" (from the people) | "default" (the default field of view)
    world_from_camera: NDArray[np.float64]  # 4 × 4
    floor_fitted: bool = False
    # how the world's up and the floor were found (geometry/placement.py): "contacts" (a plane through
    # planted feet), "body" (upright people; the floor under their lowest ankles) or "default" (a level
    # camera, as high as puts the floor under the lifted feet, or at a default height); the camera's
    # pitch (down positive), roll and height that follow, and about one standard deviation of the up
    # direction (None for the default)
    up_source: str = "default"
    up_uncertainty_deg: float | None = None
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    height_m: float = 0.0
    # relative uncertainty of an estimated focal length (source "estimated"); None otherwise
    focal_uncertainty: float | None = None
    # what it was estimated from: "planted feet", "horizon" or both joined by " + "; None otherwise
    focal_from: str | None = None


@dataclass
class ModelInfo:
    checkpoint: str
    sha256: str
    text_encoder: str
    hypotheses: int
    steps: int
    mediapipe_depth: float = 0.0  # MediaPipe's share of the depth (geometry/depth_fusion.py)


@dataclass
class Result:
    video: VideoInfoResult
    camera: CameraResult
    people: list[PersonResult]
    model: ModelInfo
    prompts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def array(values: NDArray[Any], digits: int = 5) -> Any:
            return _nested(np.round(np.asarray(values, dtype=np.float64), digits))

        return {
            "schema": SCHEMA,
            "video": asdict(self.video),
            "camera": {
                "K": array(self.camera.K, 4),
                "source": self.camera.source,
                "world_from_camera": array(self.camera.world_from_camera, 6),
                "floor_fitted": self.camera.floor_fitted,
                "up_source": self.camera.up_source,
                "up_uncertainty_deg": _rounded(self.camera.up_uncertainty_deg, 2),
                "pitch_deg": round(self.camera.pitch_deg, 2),
                "roll_deg": round(self.camera.roll_deg, 2),
                "height_m": round(self.camera.height_m, 3),
                "focal_uncertainty": _rounded(self.camera.focal_uncertainty, 3),
                "focal_from": self.camera.focal_from,
            },
            "skeleton": {"name": H36M_NAME, "joints": list(H36M_JOINTS), "parents": list(H36M_PARENTS)},
            "people": [
                {
                    "id": person.id,
                    "frames": [int(f) for f in person.frames],
                    "joints3d_camera": array(person.joints3d_camera),
                    "joints3d_world": array(person.joints3d_world),
                    "uncertainty": array(person.uncertainty, 4),
                    "keypoints2d": array(person.keypoints2d, 2),
                    "confidence2d": array(person.confidence2d, 3),
                    "prompts": person.prompts,
                    "prompt_sources": person.prompt_sources,
                    "part_texts": person.part_texts,
                    "foot_contacts": None
                    if person.foot_contacts is None
                    else [[bool(v) for v in row] for row in person.foot_contacts],
                }
                for person in self.people
            ],
            "prompts": self.prompts,
            "model": asdict(self.model),
            "timings": {stage: round(seconds, 3) for stage, seconds in self.timings.items()},
            "warnings": list(self.warnings),
        }

    def write_json(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_dict(), allow_nan=False))
        partial.replace(path)

    def write_npz(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "schema": np.str_(SCHEMA),
            "K": self.camera.K,
            "world_from_camera": self.camera.world_from_camera,
        }
        for person in self.people:
            prefix = f"person{person.id}_"
            arrays[prefix + "frames"] = np.asarray(person.frames, np.int64)
            arrays[prefix + "joints3d_camera"] = person.joints3d_camera.astype(np.float32)
            arrays[prefix + "joints3d_world"] = person.joints3d_world.astype(np.float32)
            arrays[prefix + "uncertainty"] = person.uncertainty.astype(np.float32)
            arrays[prefix + "keypoints2d"] = person.keypoints2d.astype(np.float32)
            arrays[prefix + "confidence2d"] = person.confidence2d.astype(np.float32)
        np.savez_compressed(path, **arrays)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _nested(values: NDArray[Any]) -> Any:
    """Nested lists with NaN as null (JSON has no NaN)."""
    as_list = values.tolist()

    def clean(item: Any) -> Any:
        if isinstance(item, list):
            return [clean(x) for x in item]
        return None if isinstance(item, float) and not math.isfinite(item) else item

    return clean(as_list)


def read_result(path: Path) -> dict[str, Any]:
    """Load and check a result document; the arrays stay nested lists."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ResultError(f"{path}: not a readable result JSON ({error})") from None
    check_schema(document, str(path))
    return dict(document)


def check_schema(document: Any, where: str = "result") -> None:
    if not isinstance(document, dict) or "schema" not in document:
        raise ResultError(f"{where}: not a FinePOSE result (no 'schema')")
    name, _, version = str(document["schema"]).partition("/")
    major = version.split(".")[0]
    if name != "finepose.result" or not major.isdigit():
        raise ResultError(f"{where}: schema {document['schema']!r} is not finepose.result")
    if int(major) != MAJOR:
        raise ResultError(
            f"{where}: result version {document['schema']} is not supported by this reader "
            f"(it reads {SCHEMA}); update the add-on or the server so that both speak the same version"
        )


def camera_summary(camera: CameraResult, width: int) -> str:
    """One line for a user: the lens used and where the camera stands."""
    fov = fov_from_focal(width, float(camera.K[0, 0]))
    if camera.source == "estimated":
        sure = f" ± {camera.focal_uncertainty:.0%}" if camera.focal_uncertainty is not None else ""
        lens = f"estimated from the {camera.focal_from or 'people'}{sure}"
    elif camera.source == "user":
        lens = "as given"
    else:
        lens = "the default: not estimated"
    return (
        f"camera: {fov:.0f}° lens ({lens}); pitch {camera.pitch_deg:.0f}°, roll {camera.roll_deg:.0f}°, "
        f"{camera.height_m:.1f} m above the floor (up from the {camera.up_source})"
    )
