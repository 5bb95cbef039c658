"""Jobs on disk: one folder per job in the work directory, so that finished results survive a restart.

    WORKDIR/jobs/<id>/job.json      the job's record (state, options, timings; rewritten atomically)
    WORKDIR/jobs/<id>/input.video   the upload while the job waits or runs (deleted when it finishes)
    WORKDIR/jobs/<id>/input.json    a keypoints job's request
    WORKDIR/jobs/<id>/result.json   the finepose.result/1 document
    WORKDIR/incoming/               uploads being received (moved into a job folder once complete)

Job ids are server-made UUID hex strings; client file names are never used as paths. A job's folder gets its
input first and its record last, so a folder without a record (a crash in between) is an orphan, removed at
start. Anything in the folders may vanish from outside (a cache cleaner): the store then reports it gone
rather than failing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from server.schemas import FINISHED_STATES

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
VIDEO_FILE = "input.video"
KEYPOINTS_FILE = "input.json"
RESULT_FILE = "result.json"
RECORD_FILE = "job.json"


@dataclass
class JobRecord:
    id: str
    kind: str  # video | keypoints
    state: str = "queued"
    stage: str = "queued"
    progress: float = 0.0
    message: str = ""
    name: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    cancel_requested: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    people: int | None = None

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES


def new_job_id() -> str:
    return uuid.uuid4().hex


def display_name(client_name: str | None) -> str:
    """A client's file name reduced to something safe to show (never used as a path)."""
    base = (client_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())
    return cleaned[:120]


class JobStore:
    def __init__(self, workdir: Path) -> None:
        self.root = workdir
        self.jobs_dir = workdir / "jobs"
        self.incoming = workdir / "incoming"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def folder(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise KeyError(job_id)
        return self.jobs_dir / job_id

    def incoming_path(self) -> Path:
        return self.incoming / f"{new_job_id()}.part"

    def make_folder(self, job_id: str) -> Path:
        """A new job's folder, for its input; the record is saved when the job is accepted."""
        folder = self.folder(job_id)
        folder.mkdir()
        return folder

    def create(self, record: JobRecord) -> Path:
        """A job's folder with its record (jobs whose input needs no file, and tests)."""
        folder = self.make_folder(record.id)
        self.save(record)
        return folder

    def save(self, record: JobRecord) -> None:
        folder = self.folder(record.id)
        partial = folder / (RECORD_FILE + ".partial")
        partial.write_text(json.dumps(asdict(record), indent=1))
        partial.replace(folder / RECORD_FILE)

    def load_all(self) -> list[JobRecord]:
        """Every readable job record, oldest first. Orphans are deleted: folders without a record (the
        server stopped between receiving an input and accepting the job) and waiting jobs whose input is
        gone. Unreadable records are logged and left alone."""
        records = []
        for folder in self.jobs_dir.iterdir():
            path = folder / RECORD_FILE
            if not JOB_ID.match(folder.name) or not folder.is_dir():
                continue
            if not path.is_file():
                log.info("removing the orphan job folder %s (no record)", folder.name)
                self.delete(folder.name)
                continue
            try:
                record = JobRecord(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError) as error:
                log.warning("ignoring job folder %s: %s", folder, error)
                continue
            inputs = (folder / VIDEO_FILE, folder / KEYPOINTS_FILE)
            if record.state == "queued" and not any(path.is_file() for path in inputs):
                log.info("removing the waiting job %s: its input is gone", record.id)
                self.delete(record.id)
                continue
            records.append(record)
        return sorted(records, key=lambda r: r.created)

    def result_path(self, job_id: str) -> Path:
        return self.folder(job_id) / RESULT_FILE

    def drop_inputs(self, job_id: str) -> None:
        """Inputs are only needed while a job waits or runs; a video can be gigabytes."""
        for name in (VIDEO_FILE, KEYPOINTS_FILE):
            (self.folder(job_id) / name).unlink(missing_ok=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def clear_incoming(self) -> None:
        """Half-received uploads left by a crash or a disconnected client."""
        for path in self.incoming.iterdir():
            path.unlink(missing_ok=True)

    def exists(self, job_id: str) -> bool:
        return self.folder(job_id).is_dir()

    def size_of(self, job_id: str) -> int:
        """Bytes in a job's folder; 0 for a folder deleted from outside."""
        return _bytes_under(self.folder(job_id))

    def usage(self) -> int:
        """Bytes of everything in the work directory: results, waiting inputs, uploads being received."""
        return _bytes_under(self.jobs_dir) + _bytes_under(self.incoming)

    def cleanup(
        self, records: list[JobRecord], max_age_s: float, max_bytes: int, reserve: int = 0
    ) -> list[str]:
        """Delete finished jobs older than max_age_s, then the oldest finished ones until everything on disk
        (uploads being received included) and `reserve` more bytes fit in max_bytes.

        Returns the deleted ids. Waiting and running jobs are never deleted.
        """
        now = time.time()
        finished = sorted((r for r in records if r.is_finished), key=lambda r: r.finished or r.created)
        # a finished job whose folder was removed from outside is gone: forget it
        deleted = [
            r.id for r in finished if now - (r.finished or r.created) > max_age_s or not self.exists(r.id)
        ]
        kept = [r for r in finished if r.id not in deleted]
        total = sum(self.size_of(r.id) for r in records if r.id not in deleted)
        total += _bytes_under(self.incoming) + reserve
        for record in kept:
            if total <= max_bytes:
                break
            total -= self.size_of(record.id)
            deleted.append(record.id)
        for job_id in deleted:
            self.delete(job_id)
        if deleted:
            log.info("cleaned %d old jobs from %s", len(deleted), self.jobs_dir)
        return deleted


def _bytes_under(root: Path) -> int:
    """Bytes of the files under `root`, ignoring files that vanish while counting."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                total += (Path(folder) / name).stat().st_size
    return total
