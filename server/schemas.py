"""The API's request and response bodies (pydantic): what clients send and get, validated at the edge.

A job's options are `finepose_core.options.JobOptions` itself, so the API and the pipeline agree on every
default and limit without repeating them.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from finepose_core.options import JobOptions
from finepose_core.pipeline import FPS_RANGE, KeypointsJob, KeypointsPerson

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    fps: float = Field(30.0, ge=FPS_RANGE[0], le=FPS_RANGE[1])
    people: list[KeypointsPersonModel] = Field(max_length=16)
    options: JobOptions = Field(default_factory=JobOptions)

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
    worker: Literal["running", "restarted"] = Field(
        description="the job worker: running, or restarted after it had stopped (see the server log)"
    )
    worker_restarts: int = Field(0, description="how often the job worker had to be restarted")


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
