"""The HTTP API (FastAPI), versioned under /v1. Routes stay thin: uploads, the job queue and the store do
the work. Every error is a JSON body {"detail": "..."} that says what to change."""

from __future__ import annotations

import hmac
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from finepose_core.detect.video import VideoError, probe
from finepose_core.pipeline import QUALITY_PRESETS, Pipeline
from finepose_core.skeleton import BODY_PARTS
from server import __version__
from server.config import ServerConfig
from server.jobs import JobFinishedError, JobManager, JobNotFoundError, QueueFullError, Retention
from server.schemas import (
    ErrorBody,
    Health,
    JobAccepted,
    JobList,
    JobOptionsModel,
    JobStatus,
    KeypointsJobRequest,
    ModelDescription,
)
from server.store import KEYPOINTS_FILE, VIDEO_FILE, JobRecord, JobStore, display_name, new_job_id
from server.uploads import UploadError, receive

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "no such job"},
}
SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed multipart body or missing video"},
    401: ERRORS[401],
    413: {"model": ErrorBody, "description": "over the upload size limit"},
    415: {"model": ErrorBody, "description": "not a video, or an unsupported content type"},
    422: {"model": ErrorBody, "description": "invalid options: which field and why"},
    503: {"model": ErrorBody, "description": "the queue is full; retry after Retry-After seconds"},
}


# module level: FastAPI resolves the string annotations of dependencies in this module's namespace
BEARER = HTTPBearer(auto_error=False, description="required when the server was started with --token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


class APIError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def describe_validation(error: ValidationError | RequestValidationError, prefix: str = "") -> str:
    """Pydantic's errors as 'field.path: what is wrong; …' (the first few)."""
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body",))
        where = ".".join(p for p in (prefix, location) if p)
        parts.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    more = len(error.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def status_of(record: JobRecord) -> JobStatus:
    return JobStatus(
        **asdict(record),
        result_url=f"/v1/jobs/{record.id}/result" if record.state == "done" else None,
    )


def model_description(pipeline: Pipeline) -> ModelDescription:
    lifter = pipeline.lifter
    return ModelDescription(
        checkpoint=lifter.name or pipeline.checkpoint_path.name,
        sha256=lifter.sha256,
        config=lifter.model.config.to_dict(),
        input_normalization=lifter.input_normalization,
        training=lifter.metadata.get("training", {}),
        validation=lifter.metadata.get("validation", {}),
        text_encoder=lifter.cache.encoder_id,
        known_texts=sorted(lifter.cache.state()["features"]),
        body_parts={name: list(joints) for name, joints in BODY_PARTS.items()},
        presets={
            name: {"hypotheses": h, "steps": k, "flip": flip}
            for name, (h, k, flip) in QUALITY_PRESETS.items()
        },
        device=str(lifter.device),
    )


def create_app(config: ServerConfig, pipeline: Pipeline) -> FastAPI:
    """The app around a loaded pipeline; the job worker starts and stops with the app."""
    store = JobStore(config.workdir)
    retention = Retention(config.max_age_days * 86400.0, int(config.max_storage_gb * 1024**3))
    manager = JobManager(store, pipeline, config.max_queue, retention)
    description = model_description(pipeline)
    model_id = f"{description.checkpoint}@{description.sha256[:12]}"
    busy = {"Retry-After": str(config.retry_after_s)}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager.start()
        yield
        await run_in_threadpool(manager.stop)

    app = FastAPI(
        title="FinePOSE local server",
        version=__version__,
        description="Video (or 2D keypoints) of people → 3D joints (finepose.result/1), one job at a time.",
        lifespan=lifespan,
    )
    app.state.manager = manager

    def authorized(credentials: Credentials) -> None:
        if config.token is None:
            return
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), config.token.encode()):
            raise APIError(
                401,
                "missing or wrong token: send 'Authorization: Bearer TOKEN'",
                {"WWW-Authenticate": "Bearer"},
            )

    Auth = Depends(authorized)

    @app.exception_handler(APIError)
    async def api_error(request: Request, error: APIError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": describe_validation(error)}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(error).__name__}); see the server log"}, 500)

    def record_or_404(job_id: str) -> JobRecord:
        try:
            return manager.get(job_id)
        except JobNotFoundError:
            raise APIError(
                404, f"no job {job_id!r} (unknown, or cleaned up after its retention time)"
            ) from None

    @app.get("/v1/health", response_model=Health)
    def health() -> Health:
        """Whether the server is up, what it runs on, and how busy it is (no token needed)."""
        return Health(
            status="ok",
            version=__version__,
            device=description.device,
            model=model_id,
            queue_length=manager.queue_length(),
            running=manager.running,
        )

    @app.get("/v1/model", response_model=ModelDescription, responses=ERRORS, dependencies=[Auth])
    def model() -> ModelDescription:
        """The loaded checkpoint, its text encoder, known prompt texts, body parts and presets."""
        return description

    @app.get("/v1/jobs", response_model=JobList, responses=ERRORS, dependencies=[Auth])
    def list_jobs() -> JobList:
        return JobList(jobs=[status_of(r) for r in manager.all()])

    @app.post(
        "/v1/jobs",
        status_code=202,
        response_model=JobAccepted,
        responses=SUBMIT_ERRORS,
        dependencies=[Auth],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["video"],
                            "properties": {
                                "video": {"type": "string", "format": "binary"},
                                "options": {
                                    "type": "string",
                                    "description": "JSON of JobOptions (all fields optional)",
                                },
                            },
                        }
                    },
                    "application/json": {"schema": {"$ref": "#/components/schemas/KeypointsJobRequest"}},
                },
            }
        },
    )
    async def submit(request: Request) -> JSONResponse:
        """Start a job: a video upload (multipart: `video` file + `options` JSON) or 2D keypoints (JSON)."""
        if not manager.has_room():
            raise APIError(503, "the job queue is full; retry later", busy)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            record = await _video_job(request)
        elif kind == "application/json":
            record = await _keypoints_job(request)
        else:
            raise APIError(
                415, "send multipart/form-data (a video and options) or application/json (2D keypoints)"
            )
        try:
            manager.submit(record)
        except QueueFullError as error:
            store.delete(record.id)
            raise APIError(503, str(error), busy) from None
        accepted = JobAccepted(
            id=record.id,
            state="queued",
            status_url=f"/v1/jobs/{record.id}",
            result_url=f"/v1/jobs/{record.id}/result",
        )
        return JSONResponse(accepted.model_dump(), 202, headers={"Location": accepted.status_url})

    async def _video_job(request: Request) -> JobRecord:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > config.max_upload_bytes:
            raise APIError(413, f"the upload is over the server's limit of {config.max_upload_bytes} bytes")
        incoming = store.incoming_path()
        try:
            upload = await receive(
                request.stream(), request.headers["content-type"], incoming, config.max_upload_bytes
            )
        except UploadError as error:
            raise APIError(error.status, str(error)) from None
        except ClientDisconnect:
            log.info("a client disconnected during its upload; the partial file was removed")
            raise APIError(400, "the client disconnected before the upload finished") from None
        name = display_name(upload.filename) or "video"
        try:
            options = JobOptionsModel.model_validate_json(upload.options or b"{}")
            try:
                await run_in_threadpool(probe, incoming)
            except VideoError as error:
                raise APIError(415, str(error).replace(str(incoming), name)) from None
            record = JobRecord(
                id=new_job_id(), kind="video", name=name, options=options.model_dump(exclude_defaults=True)
            )
            folder = store.create(record)
            shutil.move(incoming, folder / VIDEO_FILE)
        except ValidationError as error:
            raise APIError(422, describe_validation(error, "options")) from None
        finally:
            incoming.unlink(missing_ok=True)
        return record

    async def _keypoints_job(request: Request) -> JobRecord:
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > config.max_json_bytes:
                    raise APIError(413, f"the JSON body is over the limit of {config.max_json_bytes} bytes")
        except ClientDisconnect:
            raise APIError(400, "the client disconnected before the body arrived") from None
        try:
            job_request = KeypointsJobRequest.model_validate_json(bytes(body))
            job_request.to_job()  # the pipeline's own checks, so that a bad job fails now, not queued
        except ValidationError as error:
            raise APIError(422, describe_validation(error)) from None
        except ValueError as error:
            raise APIError(422, str(error)) from None
        record = JobRecord(
            id=new_job_id(),
            kind="keypoints",
            name=f"{len(job_request.people)} people (keypoints)",
            options=job_request.options.model_dump(exclude_defaults=True),
        )
        folder = store.create(record)
        (folder / KEYPOINTS_FILE).write_bytes(bytes(body))
        return record

    @app.get("/v1/jobs/{job_id}", response_model=JobStatus, responses=ERRORS, dependencies=[Auth])
    def job_status(job_id: str) -> JobStatus:
        """State, stage, progress (0–1), message and timings of a job."""
        return status_of(record_or_404(job_id))

    @app.get(
        "/v1/jobs/{job_id}/result",
        responses={
            **ERRORS,
            200: {"content": {"application/json": {}}, "description": "the finepose.result/1 document"},
            409: {"model": ErrorBody, "description": "the job has not finished successfully"},
        },
        dependencies=[Auth],
    )
    def job_result(job_id: str) -> FileResponse:
        """The finepose.result/1 JSON of a finished job."""
        record = record_or_404(job_id)
        if record.state != "done":
            detail = f"job {job_id} is {record.state}" + (f": {record.message}" if record.message else "")
            if record.state == "running":
                detail += f" ({record.stage}, {100 * record.progress:.0f}%)"
            raise APIError(409, detail)
        path = store.result_path(job_id)
        if not path.is_file():
            raise APIError(404, f"the result of job {job_id} is gone from the work directory")
        return FileResponse(path, media_type="application/json", filename=f"{job_id}.json")

    @app.delete(
        "/v1/jobs/{job_id}",
        status_code=202,
        response_model=JobStatus,
        responses={**ERRORS, 409: {"model": ErrorBody, "description": "the job has already finished"}},
        dependencies=[Auth],
    )
    def cancel_job(job_id: str) -> JobStatus:
        """Cancel a job: a waiting one at once, a running one at its next frame, stage or window group."""
        record_or_404(job_id)
        try:
            return status_of(manager.cancel(job_id))
        except JobNotFoundError:
            raise APIError(404, f"no job {job_id!r}") from None
        except JobFinishedError as error:
            raise APIError(409, str(error)) from None

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra = KeypointsJobRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(extra.pop("$defs", {}))
            components["KeypointsJobRequest"] = extra
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
