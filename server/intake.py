"""Taking a job in: a video upload (streamed to disk, probed, its options validated) or a keypoints request
(read within its size limit, validated by the pipeline's own checks), turned into a stored job record."""

from __future__ import annotations

import logging
import shutil

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from finepose_core.detect.video import VideoError, probe
from finepose_core.option_specs import describe_errors
from finepose_core.options import JobOptions
from server.errors import APIError
from server.schemas import KeypointsJobRequest
from server.state import ServerState
from server.store import KEYPOINTS_FILE, VIDEO_FILE, JobRecord, display_name, new_job_id
from server.uploads import UploadError, receive

log = logging.getLogger(__name__)


async def video_job(request: Request, state: ServerState) -> JobRecord:
    limit = state.config.max_upload_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise APIError(413, f"the upload is over the server's limit of {limit} bytes")
    incoming = state.store.incoming_path()
    try:
        upload = await receive(request.stream(), request.headers["content-type"], incoming, limit)
    except UploadError as error:
        raise APIError(error.status, str(error)) from None
    except ClientDisconnect:
        log.info("a client disconnected during its upload; the partial file was removed")
        raise APIError(400, "the client disconnected before the upload finished") from None
    name = display_name(upload.filename) or "video"
    try:
        options = JobOptions.model_validate_json(upload.options or b"{}")
        try:
            await run_in_threadpool(probe, incoming)
        except VideoError as error:
            raise APIError(415, str(error).replace(str(incoming), name)) from None
        record = JobRecord(
            id=new_job_id(), kind="video", name=name, options=options.model_dump(exclude_defaults=True)
        )
        folder = state.store.create(record)
        shutil.move(incoming, folder / VIDEO_FILE)
    except ValidationError as error:
        raise APIError(422, describe_errors(error, "options")) from None
    finally:
        incoming.unlink(missing_ok=True)
    return record


async def keypoints_job(request: Request, state: ServerState) -> JobRecord:
    limit = state.config.max_json_bytes
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise APIError(413, f"the JSON body is over the limit of {limit} bytes")
    except ClientDisconnect:
        raise APIError(400, "the client disconnected before the body arrived") from None
    try:
        job_request = KeypointsJobRequest.model_validate_json(bytes(body))
        job_request.to_job()  # the pipeline's own checks, so that a bad job fails now, not queued
    except ValidationError as error:
        raise APIError(422, describe_errors(error)) from None
    except ValueError as error:
        raise APIError(422, str(error)) from None
    record = JobRecord(
        id=new_job_id(),
        kind="keypoints",
        name=f"{len(job_request.people)} people (keypoints)",
        options=job_request.options.model_dump(exclude_defaults=True),
    )
    folder = state.store.create(record)
    (folder / KEYPOINTS_FILE).write_bytes(bytes(body))
    return record
