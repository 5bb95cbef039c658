"""The job queue: one worker thread runs jobs one at a time on the loaded pipeline (one GPU, one model).

Jobs wait in a bounded queue; a full queue refuses new ones (the API answers 503 with Retry-After).
Cancelling a waiting job ends it at once; a running one stops at the pipeline's next check (between frames,
stages or groups of lifted windows). A job that fails, for whatever reason — the pipeline, a library that
exits, a record that cannot be saved, a folder deleted from outside — is marked failed with its message and
the worker goes on with the next one. Should the worker thread end anyway, the next health check or
submission notices, logs it and starts a new one (health reports the restart).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from finepose_core.options import JobOptions
from finepose_core.pipeline import (
    STAGES,
    CancelCallback,
    CancelledError,
    KeypointsJob,
    PipelineError,
    ProgressCallback,
)
from finepose_core.result import Result
from server.schemas import KeypointsJobRequest
from server.store import KEYPOINTS_FILE, VIDEO_FILE, JobRecord, JobStore

log = logging.getLogger(__name__)

# Share of a job's time per stage, measured on CPU with the default checkpoint (detection dominates
# video jobs); only used to turn per-stage fractions into one 0–1 progress figure.
VIDEO_WEIGHTS = {"detect": 0.7, "track": 0.02, "lift": 0.25, "place": 0.03}
KEYPOINTS_WEIGHTS = {"lift": 0.9, "place": 0.1}
assert set(VIDEO_WEIGHTS) == set(STAGES)


class Runner(Protocol):
    """What the worker needs of finepose_core.pipeline.Pipeline."""

    def run(
        self,
        video: str | Path,
        options: JobOptions | None = None,
        progress: ProgressCallback | None = None,
        cancelled: CancelCallback | None = None,
    ) -> Result: ...

    def run_keypoints(
        self,
        job: KeypointsJob,
        options: JobOptions | None = None,
        progress: ProgressCallback | None = None,
        cancelled: CancelCallback | None = None,
    ) -> Result: ...


class QueueFullError(RuntimeError):
    pass


class JobNotFoundError(KeyError):
    pass


class JobFinishedError(RuntimeError):
    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"job {record.id} has already finished ({record.state})")
        self.record = record


@dataclass(frozen=True)
class Retention:
    """How long finished jobs are kept and how much the work directory may hold (from ServerConfig)."""

    max_age_s: float
    max_bytes: int


class JobManager:
    def __init__(self, store: JobStore, runner: Runner, max_queue: int, retention: Retention) -> None:
        self.store = store
        self.runner = runner
        self.max_queue = max_queue
        self.retention = retention
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._waiting: queue.Queue[str | None] = queue.Queue()
        self._running: str | None = None
        self._stopping = False
        self.restarts = 0
        self._thread = self._new_thread()

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._work, name="finepose-worker", daemon=True)

    # ------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load the jobs of an earlier run, requeue the waiting ones, clean up, start the worker."""
        self.store.clear_incoming()
        for record in self.store.load_all():
            if record.state == "running":  # the server stopped under it; running it again might crash again
                self._finish(record, "failed", "interrupted by a server restart; submit it again")
            elif record.state == "queued":
                self._waiting.put(record.id)
            self._records[record.id] = record
        self._clean()
        self._thread.start()

    def worker_state(self) -> str:
        """'running', or 'restarted' once the worker thread had to be replaced; a dead worker is restarted
        here."""
        self.ensure_worker()
        return "restarted" if self.restarts else "running"

    def ensure_worker(self) -> None:
        with self._lock:
            if self._stopping or self._thread.is_alive() or self._thread.ident is None:
                return
            self.restarts += 1
            log.error("the job worker had stopped; starting a new one (restart %d)", self.restarts)
            if self._running is not None:
                record = self._records.get(self._running)
                if record is not None and not record.is_finished:
                    self._finish_locked(record, "failed", "the job worker stopped under it; submit it again")
                self._running = None
            self._thread = self._new_thread()
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping = True
        with self._lock:
            if self._running:
                self._records[self._running].cancel_requested = True
        self._waiting.put(None)
        self._thread.join(timeout)

    # ------------------------------------------------------------------------------------ requests
    def has_room(self) -> bool:
        return self.queue_length() < self.max_queue

    def queue_length(self) -> int:
        with self._lock:
            return self._waiting_count()

    def _waiting_count(self) -> int:
        """Jobs waiting for the worker (the caller holds the lock)."""
        return sum(1 for r in self._records.values() if r.state == "queued")

    @property
    def running(self) -> str | None:
        return self._running

    def submit(self, record: JobRecord) -> JobRecord:
        """Accept a job whose folder and inputs are in place: its record is saved, then listed and queued.
        QueueFullError when there is no room; OSError when the record cannot be saved (nothing is listed;
        the caller removes the folder)."""
        self.ensure_worker()
        with self._lock:
            waiting = self._waiting_count()
            if waiting >= self.max_queue:
                raise QueueFullError(f"{waiting} jobs are waiting; try again later")
            self.store.save(record)
            self._records[record.id] = record
        self._waiting.put(record.id)
        return replace(record)

    def get(self, job_id: str) -> JobRecord:
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                raise JobNotFoundError(job_id)
            return replace(record, timings=dict(record.timings), options=dict(record.options))

    def all(self) -> list[JobRecord]:
        with self._lock:
            return [replace(r) for r in sorted(self._records.values(), key=lambda r: r.created)]

    def cancel(self, job_id: str) -> JobRecord:
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                raise JobNotFoundError(job_id)
            if record.is_finished:
                raise JobFinishedError(replace(record))
            record.cancel_requested = True
            if record.state == "queued":  # the worker skips it when it comes up
                self._finish_locked(record, "cancelled", "cancelled before it started")
            else:
                self.store.save(record)
            return replace(record)

    # ------------------------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            job_id = self._waiting.get()
            if job_id is None:
                return
            try:
                self._take(job_id)
            except BaseException:  # the loop must go on whatever a job or the disk does
                log.exception("the job worker caught an error outside any job")
            finally:
                with self._lock:
                    self._running = None
                try:
                    self._clean()
                except Exception:
                    log.exception("cleaning the work directory failed")

    def _take(self, job_id: str) -> None:
        with self._lock:
            record = self._records.get(job_id)
            if record is None or record.state != "queued":
                return
            record.state, record.stage, record.started = "running", "starting", time.time()
            self._running = job_id
            try:
                self.store.save(record)
            except OSError as error:
                self._finish_locked(record, "failed", f"could not save the job's record: {os_reason(error)}")
                return
        self._run(record)

    def _run(self, record: JobRecord) -> None:
        folder = self.store.folder(record.id)
        weights = VIDEO_WEIGHTS if record.kind == "video" else KEYPOINTS_WEIGHTS
        stages = list(weights)

        def progress(stage: str, fraction: float) -> None:
            done = sum(weights[s] for s in stages[: stages.index(stage)]) if stage in weights else 0.0
            with self._lock:
                record.stage = stage
                record.progress = round(min(1.0, done + weights.get(stage, 0.0) * fraction), 4)

        def cancelled() -> bool:
            return record.cancel_requested

        try:
            options = JobOptions.model_validate(record.options)
            if record.kind == "video":
                result = self.runner.run(folder / VIDEO_FILE, options, progress, cancelled)
                result.video.path = record.name  # not the server's own path
            else:
                request = KeypointsJobRequest.model_validate_json((folder / KEYPOINTS_FILE).read_bytes())
                result = self.runner.run_keypoints(request.to_job(), options, progress, cancelled)
            partial = folder / "result.json.partial"
            result.write_json(partial)
            partial.replace(self.store.result_path(record.id))
        except CancelledError:
            self._finish(record, "cancelled", "cancelled while running")
        except (PipelineError, ValueError) as error:
            self._finish(record, "failed", self._public(str(error), record))
        except OSError as error:
            log.exception("job %s failed", record.id)
            self._finish(record, "failed", f"could not read or write the job's files: {os_reason(error)}")
        except BaseException as error:  # a failing job, even one that exits, must not take the worker down
            log.exception("job %s failed", record.id)
            detail = self._public(f"{type(error).__name__}: {error}", record)
            self._finish(record, "failed", f"internal error ({detail}); see the log")
        else:
            with self._lock:
                record.timings.update({k: round(v, 3) for k, v in result.timings.items()})
                record.people = len(result.people)
                record.progress = 1.0
            message = f"{len(result.people)} people" + "".join(f"; {w}" for w in result.warnings)
            self._finish(record, "done", message)

    def _finish(self, record: JobRecord, state: str, message: str) -> None:
        with self._lock:
            self._finish_locked(record, state, message)

    def _finish_locked(self, record: JobRecord, state: str, message: str) -> None:
        record.state, record.stage, record.message = state, state, message
        record.finished = time.time()
        if record.started is not None:
            record.timings["queued"] = round(record.started - record.created, 3)
            record.timings["total"] = round(record.finished - record.started, 3)
        try:
            self.store.drop_inputs(record.id)
            self.store.save(record)
        except OSError as error:  # kept in memory; lost at a restart, like a job that never finished
            log.error("job %s: could not save its record: %s", record.id, error)
            if state == "done":
                record.state = record.stage = "failed"
            record.message = f"{message}; could not save the job's record: {os_reason(error)}"
        log.info("job %s %s: %s", record.id, record.state, record.message)

    def _public(self, message: str, record: JobRecord) -> str:
        """A message without the server's own paths: the input is the client's file name."""
        folder = self.store.folder(record.id)
        for path, name in ((folder / VIDEO_FILE, record.name), (folder / KEYPOINTS_FILE, record.name)):
            message = message.replace(str(path), name)
        return message.replace(str(self.store.root), "the work directory")

    def _clean(self, reserve: int = 0) -> None:
        with self._lock:
            deleted = self.store.cleanup(
                list(self._records.values()), self.retention.max_age_s, self.retention.max_bytes, reserve
            )
            for job_id in deleted:
                self._records.pop(job_id, None)

    def room_for(self, size: int) -> int:
        """Bytes still free under the storage limit once `size` more arrive, after deleting old finished
        jobs if that makes room; negative when even that is not enough."""
        self._clean(reserve=size)
        return self.retention.max_bytes - self.store.usage() - size


def os_reason(error: OSError) -> str:
    """An OS error without the path it names (a server path means nothing to the client)."""
    return error.strerror or type(error).__name__
