"""Jobs: submit (a video or 2D keypoints), list, follow, fetch the result, cancel."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse

from server.errors import ERRORS, SUBMIT_ERRORS, APIError
from server.intake import keypoints_job, video_job
from server.jobs import JobFinishedError, JobNotFoundError, QueueFullError, os_reason
from server.schemas import ErrorBody, JobAccepted, JobList, JobStatus
from server.state import State, authorized
from server.store import JobRecord

router = APIRouter(prefix="/v1/jobs", dependencies=[Depends(authorized)])

# The body is one of two content types, which FastAPI cannot declare from a signature; the keypoints
# schema's components are added to the OpenAPI document by the app.
SUBMIT_BODY = {
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
}


def _disk_error(error: OSError) -> APIError:
    return APIError(
        507, f"the server could not store the job ({os_reason(error)}); check its work directory's disk"
    )


def status_of(record: JobRecord) -> JobStatus:
    return JobStatus(
        **asdict(record),
        result_url=f"/v1/jobs/{record.id}/result" if record.state == "done" else None,
    )


@router.get("", response_model=JobList, responses=ERRORS)
def list_jobs(state: State) -> JobList:
    return JobList(jobs=[status_of(r) for r in state.manager.all()])


@router.post(
    "", status_code=202, response_model=JobAccepted, responses=SUBMIT_ERRORS, openapi_extra=SUBMIT_BODY
)
async def submit(request: Request, state: State) -> JSONResponse:
    """Start a job: a video upload (multipart: `video` file + `options` JSON) or 2D keypoints (JSON)."""
    if not state.manager.has_room():
        raise APIError(503, "the job queue is full; retry later", state.busy_headers)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "multipart/form-data":
            record = await video_job(request, state)
        elif kind == "application/json":
            record = await keypoints_job(request, state)
        else:
            raise APIError(
                415, "send multipart/form-data (a video and options) or application/json (2D keypoints)"
            )
    except OSError as error:
        raise _disk_error(error) from None
    try:
        state.manager.submit(record)
    except QueueFullError as error:
        state.store.delete(record.id)
        raise APIError(503, str(error), state.busy_headers) from None
    except OSError as error:
        state.store.delete(record.id)
        raise _disk_error(error) from None
    accepted = JobAccepted(
        id=record.id,
        state="queued",
        status_url=f"/v1/jobs/{record.id}",
        result_url=f"/v1/jobs/{record.id}/result",
    )
    return JSONResponse(accepted.model_dump(), 202, headers={"Location": accepted.status_url})


@router.get("/{job_id}", response_model=JobStatus, responses=ERRORS)
def job_status(job_id: str, state: State) -> JobStatus:
    """State, stage, progress (0–1), message and timings of a job."""
    return status_of(state.record(job_id))


@router.get(
    "/{job_id}/result",
    responses={
        **ERRORS,
        200: {"content": {"application/json": {}}, "description": "the finepose.result/1 document"},
        409: {"model": ErrorBody, "description": "the job has not finished successfully"},
    },
)
def job_result(job_id: str, state: State) -> FileResponse:
    """The finepose.result/1 JSON of a finished job."""
    record = state.record(job_id)
    if record.state != "done":
        detail = f"job {job_id} is {record.state}" + (f": {record.message}" if record.message else "")
        if record.state == "running":
            detail += f" ({record.stage}, {100 * record.progress:.0f}%)"
        raise APIError(409, detail)
    path = state.store.result_path(job_id)
    if not path.is_file():
        raise APIError(404, f"the result of job {job_id} is gone from the work directory")
    return FileResponse(path, media_type="application/json", filename=f"{job_id}.json")


@router.delete(
    "/{job_id}",
    status_code=202,
    response_model=JobStatus,
    responses={**ERRORS, 409: {"model": ErrorBody, "description": "the job has already finished"}},
)
def cancel_job(job_id: str, state: State) -> JobStatus:
    """Cancel a job: a waiting one at once, a running one at its next frame, stage or window group."""
    state.record(job_id)
    try:
        return status_of(state.manager.cancel(job_id))
    except JobNotFoundError:
        raise APIError(404, f"no job {job_id!r}") from None
    except JobFinishedError as error:
        raise APIError(409, str(error)) from None
