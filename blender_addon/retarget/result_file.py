"""Reading a `finepose.result/1` document without finepose_core (Blender has only the standard library and
numpy): the fields the add-on uses, checked, as arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .rotations import Array

SCHEMA_PREFIX = "finepose.result/"
MAJOR = 1


class ResultFileError(ValueError):
    """The document is not a usable finepose.result/1; the message says what is wrong."""


@dataclass
class PersonTrack:
    id: int
    frames: list[int]  # video frame indices
    joints_world: Array  # [F, 17, 3] metres, z up
    joints_camera: Array  # [F, 17, 3]
    # the words that conditioned each body part (head, body, arms, legs) and where they came from:
    # "user", "auto" (described from the image) or "none"
    part_texts: dict[str, str] = field(default_factory=dict)
    part_sources: dict[str, str] = field(default_factory=dict)
    # [F, 2] whether the right and left ankle is planted, as the placement held them (None: not looked for)
    foot_contacts: Array | None = None

    @property
    def length(self) -> int:
        return len(self.frames)

    def words_line(self) -> str:
        """ "arms [auto] left arm down, …; legs [none]": the words each part was lifted with."""
        pieces = []
        for part in PARTS:
            words = self.part_texts.get(part, "")
            pieces.append(f"{part} [{self.part_sources.get(part, 'none')}]" + (f" {words}" if words else ""))
        return "; ".join(pieces)


@dataclass
class LiftResult:
    width: int
    height: int
    fps: float
    frame_count: int
    video_path: str
    K: Array  # 3 × 3
    world_from_camera: Array  # 4 × 4, OpenCV camera axes
    people: list[PersonTrack]
    warnings: list[str] = field(default_factory=list)

    @property
    def first_frame(self) -> int:
        return min((p.frames[0] for p in self.people), default=0)

    @property
    def last_frame(self) -> int:
        return max((p.frames[-1] for p in self.people), default=0)


def _array(value: Any, shape: tuple[int, ...], where: str) -> Array:
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ResultFileError(f"{where} is not a numeric array") from None
    if out.shape != shape:
        raise ResultFileError(f"{where} has shape {out.shape}, expected {shape}")
    return out


def _contacts(value: Any, count: int, where: str) -> Array | None:
    if value is None:
        return None
    try:
        out = np.asarray(value, dtype=bool)
    except (TypeError, ValueError):
        raise ResultFileError(f"{where} is not an array of booleans") from None
    if out.shape != (count, 2):
        raise ResultFileError(f"{where} has shape {out.shape}, expected {(count, 2)}")
    return out


PARTS = ("head", "body", "arms", "legs")


def _part_words(prompts: Any) -> dict[str, str]:
    """The words of each part's prompt text ("arms left arm down" → "left arm down"; the bare part name
    → "")."""
    if not isinstance(prompts, dict):
        return {}
    words = {}
    for part in PARTS:
        text = str(prompts.get(part, ""))
        words[part] = text[len(part) :].strip() if text.startswith(part) else text.strip()
    return words


def parse_result(document: Any) -> LiftResult:
    if not isinstance(document, dict):
        raise ResultFileError("a result is a JSON object")
    schema = str(document.get("schema", ""))
    if not schema.startswith(SCHEMA_PREFIX):
        raise ResultFileError(f"not a FinePOSE result (schema {schema!r})")
    major = schema[len(SCHEMA_PREFIX) :].split(".")[0]
    if major != str(MAJOR):
        raise ResultFileError(f"result version {schema} is not readable by this add-on (it reads {MAJOR}.x)")
    try:
        video, camera = document["video"], document["camera"]
        people = []
        for index, person in enumerate(document["people"]):
            frames = [int(f) for f in person["frames"]]
            count = len(frames)
            if count == 0:
                continue
            people.append(
                PersonTrack(
                    int(person["id"]),
                    frames,
                    _array(person["joints3d_world"], (count, 17, 3), f"people[{index}].joints3d_world"),
                    _array(person["joints3d_camera"], (count, 17, 3), f"people[{index}].joints3d_camera"),
                    part_texts=_part_words(person.get("prompts", {})),
                    part_sources={str(k): str(v) for k, v in dict(person.get("prompt_sources", {})).items()},
                    foot_contacts=_contacts(
                        person.get("foot_contacts"), count, f"people[{index}].foot_contacts"
                    ),
                )
            )
        return LiftResult(
            width=int(video["width"]),
            height=int(video["height"]),
            fps=float(video["fps"]),
            frame_count=int(video["frame_count"]),
            video_path=str(video.get("path", "")),
            K=_array(camera["K"], (3, 3), "camera.K"),
            world_from_camera=_array(camera["world_from_camera"], (4, 4), "camera.world_from_camera"),
            people=people,
            warnings=[str(w) for w in document.get("warnings", [])],
        )
    except (KeyError, TypeError) as error:
        raise ResultFileError(f"the result lacks a field: {error}") from None


def read_result(path: str | Path) -> LiftResult:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResultFileError(f"cannot read {path}: {error}") from None
    return parse_result(document)
