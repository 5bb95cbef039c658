"""The API's request and response bodies (pydantic): what clients send and get, validated at the edge.

The job options mirror the lift CLI's flags; `to_job_options` turns them into the pipeline's JobOptions, so
the validation here and the pipeline's own checks agree on every limit.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from finepose_core.model.prompts import PartPrompt, Prompts
from finepose_core.pipeline import JobOptions, KeypointsJob, KeypointsPerson

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})
PartName = Literal["head", "body", "arms", "legs"]
MAX_TEXT = 200  # characters of one prompt text: the text encoder reads a few words anyway


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartOptions(_Strict):
    description: str = Field("", max_length=MAX_TEXT, description="extra words for this body part")
    strength: float = Field(1.0, ge=0.0, le=2.0, description="guidance strength: 0 ignore, 1 plain")


class JobOptionsModel(_Strict):
    """One job's options; every field is optional and defaults as in `python -m finepose_core.lift`."""

    action: str = Field("", max_length=MAX_TEXT, description="what the people do; empty = unknown")
    speed: Literal["auto", "slow", "normal", "fast"] = "auto"
    parts: dict[PartName, PartOptions] = Field(default_factory=dict)
    prompts_off: bool = Field(False, description="null every prompt (the model without text)")
    preset: Literal["fast", "balanced", "best"] = "balanced"
    hypotheses: int | None = Field(None, ge=1, le=64, description="overrides the preset's H")
    steps: int | None = Field(None, ge=1, le=50, description="overrides the preset's DDIM steps K")
    focal_px: float | None = Field(None, gt=0.0, le=1e6, description="focal length in pixels")
    fov_deg: float | None = Field(None, ge=1.0, le=179.0, description="horizontal field of view")
    max_people: int = Field(4, ge=1, le=16)
    min_detection_confidence: float = Field(0.5, ge=0.0, le=1.0)
    min_presence_confidence: float = Field(0.5, ge=0.0, le=1.0)
    min_tracking_confidence: float = Field(0.5, ge=0.0, le=1.0)
    start: int = Field(0, ge=0, le=10_000_000, description="first frame")
    end: int | None = Field(None, ge=1, le=10_000_000, description="frame after the last one")
    step: int = Field(1, ge=1, le=1000, description="use every step-th frame")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    mediapipe_depth: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="MediaPipe's own 3D's share of each joint's depth; 0: the lifter's alone",
    )

    @model_validator(mode="after")
    def _consistent(self) -> JobOptionsModel:
        if self.focal_px is not None and self.fov_deg is not None:
            raise ValueError("give focal_px or fov_deg, not both")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self

    def to_job_options(self) -> JobOptions:
        prompts = Prompts(
            action=self.action,
            speed=self.speed,
            parts={name: PartPrompt(p.description, p.strength) for name, p in self.parts.items()},
            off=self.prompts_off,
        )
        fields = self.model_dump(exclude={"action", "speed", "parts", "prompts_off"})
        return JobOptions(prompts=prompts, **fields)


Coordinate = float | None  # null where a joint is unknown in that frame


class KeypointsPersonModel(_Strict):
    id: int = Field(0, ge=0, le=1_000_000)
    frames: list[int] = Field(min_length=1, max_length=200_000, description="increasing frame indices")
    keypoints2d: list[list[tuple[Coordinate, Coordinate]]] = Field(
        min_length=1,
        max_length=200_000,
        description="[F][17][x, y] pixels, Human3.6M-17 joint order, null where unknown",
    )
    confidence2d: list[list[float]] | None = Field(None, description="[F][17] in [0, 1]; 1 where absent")

    @field_validator("keypoints2d")
    @classmethod
    def _seventeen(cls, frames: list[list[tuple[Coordinate, Coordinate]]]) -> Any:
        for index, joints in enumerate(frames):
            if len(joints) != 17:
                raise ValueError(f"frame {index} has {len(joints)} joints; Human3.6M-17 needs 17")
            for x, y in joints:
                if (x is not None and not math.isfinite(x)) or (y is not None and not math.isfinite(y)):
                    raise ValueError(f"frame {index}: coordinates must be finite numbers or null")
        return frames

    @field_validator("confidence2d")
    @classmethod
    def _unit(cls, rows: list[list[float]] | None) -> Any:
        for row in rows or []:
            if len(row) != 17 or not all(0.0 <= value <= 1.0 for value in row):
                raise ValueError("each confidence2d row must hold 17 values within [0, 1]")
        return rows

    def to_person(self) -> KeypointsPerson:
        points = np.array(
            [
                [[math.nan if v is None else v for v in joint] for joint in frame]
                for frame in self.keypoints2d
            ],
            dtype=np.float64,
        )
        confidence = None if self.confidence2d is None else np.asarray(self.confidence2d, np.float64)
        return KeypointsPerson(list(self.frames), points, confidence, self.id)


class KeypointsJobRequest(_Strict):
    """A job for clients that already have 2D keypoints (POST /v1/jobs with a JSON body)."""

    image_size: tuple[int, int] = Field(description="width, height in pixels")
    fps: float = Field(30.0, ge=1.0, le=1000.0)
    people: list[KeypointsPersonModel] = Field(max_length=16)
    options: JobOptionsModel = Field(default_factory=lambda: JobOptionsModel())

    def to_job(self) -> KeypointsJob:
        """The pipeline's job; its own checks (sizes, ids, frame order) raise ValueError with a message."""
        return KeypointsJob(self.image_size, self.fps, [person.to_person() for person in self.people])


class JobStatus(BaseModel):
    id: str
    kind: Literal["video", "keypoints"]
    state: JobState
    stage: str = Field(description="queued, detect, track, lift, place or the final state")
    progress: float = Field(ge=0.0, le=1.0)
    message: str = ""
    name: str = Field("", description="the client's file name, for display only")
    created: float = Field(description="Unix time")
    started: float | None = None
    finished: float | None = None
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    cancel_requested: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    people: int | None = Field(None, description="people found, once done")
    result_url: str | None = None


class JobAccepted(BaseModel):
    id: str
    state: JobState
    status_url: str
    result_url: str


class JobList(BaseModel):
    jobs: list[JobStatus]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    device: str
    model: str = Field(description="checkpoint name and the first 12 hex digits of its sha256")
    queue_length: int = Field(description="jobs waiting, not counting the running one")
    running: str | None = Field(None, description="id of the running job")


class ModelDescription(BaseModel):
    checkpoint: str
    sha256: str
    config: dict[str, Any]
    input_normalization: str
    training: dict[str, Any]
    validation: dict[str, Any]
    text_encoder: str
    known_texts: list[str] = Field(description="texts whose features ship with the checkpoint")
    body_parts: dict[str, list[int]]
    presets: dict[str, dict[str, Any]]
    device: str


class ErrorBody(BaseModel):
    detail: str
