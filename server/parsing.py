"""Keypoints requests parsed in a separate process.

Validating tens of megabytes of JSON with pydantic holds the interpreter lock for seconds at a time, so a
worker thread would still stall the event loop (health, progress, other uploads). A small process pool
(spawned on the first keypoints request) does the parse and answers with the little the intake needs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from finepose_core.option_specs import describe_errors


@dataclass(frozen=True)
class Parsed:
    """A parsed request: its options and people, or the error to answer with."""

    status: int = 0  # 0: valid
    detail: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    people: int = 0


def parse_in_child(body: bytes, max_frames: int, max_person_frames: int) -> Parsed:
    from server.schemas import KeypointsJobRequest

    try:
        request = KeypointsJobRequest.model_validate_json(body)
    except ValidationError as error:
        return Parsed(422, describe_errors(error))
    total = 0
    for person in request.people:
        count = max(person.frames) + 1
        if count > max_frames:
            return Parsed(
                413,
                f"person {person.id}: frame index {max(person.frames)} makes {count} frames; this server "
                f"takes at most {max_frames} frames a job (--max-frames)",
            )
        total += count
    if total > max_person_frames:
        return Parsed(
            413,
            f"the people's frames add up to {total} person-frames; this server takes at most "
            f"{max_person_frames} a job (--max-person-frames)",
        )
    try:
        request.to_job()  # the pipeline's own checks, so that a bad job fails now, not queued
    except ValueError as error:
        return Parsed(422, str(error))
    return Parsed(options=request.options.model_dump(exclude_defaults=True), people=len(request.people))


class KeypointsParser:
    """A process pool of `workers`, started on first use and shut down with the server."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def parse(self, body: bytes, max_frames: int, max_person_frames: int) -> Parsed:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # the server has threads: no fork
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, parse_in_child, body, max_frames, max_person_frames)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
