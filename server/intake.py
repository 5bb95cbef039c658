"""Taking a job in: a video upload (streamed to disk, probed, its options validated) or a keypoints request
(read within its size limit, parsed and checked off the event loop), turned into a job folder with its
input and a record the job manager then saves and queues.

Everything a request asks for is bounded before work starts: the bytes it sends (and the room left under
the storage limit, counting what is already on disk), the pixels per frame (from the file's header, before
any frame is decoded), the frames it covers and, for keypoints, the frames over all its people. Parsing and
probing run off the event loop (a process pool for keypoints, whose validation holds the interpreter lock;
a thread for the probe), at most two at a time, so that one large request neither stalls the other
requests nor multiplies its memory by the number of clients. Messages name the client's file, never a path
of the server.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from finepose_core.detect.video import FrameTooLargeError, VideoError, VideoInfo, probe
from finepose_core.option_specs import describe_errors
from finepose_core.options import JobOptions
from server.config import ServerConfig
from server.errors import APIError
from server.state import ServerState
from server.store import KEYPOINTS_FILE, VIDEO_FILE, JobRecord, display_name, new_job_id
from server.uploads import UploadError, receive

log = logging.getLogger(__name__)


def storage_error(config: ServerConfig) -> APIError:
    return APIError(
        507,
        f"the server's work directory is full (limit {config.max_storage_gb:g} GiB, --max-storage-gb): wait "
        "for waiting jobs to finish, delete finished ones, or start the server with a larger limit",
    )


async def _room(state: ServerState, size: int) -> int:
    """Bytes the server may still take after `size` more; old finished jobs are deleted to make room."""
    return await run_in_threadpool(state.manager.room_for, size)


async def video_job(request: Request, state: ServerState) -> JobRecord:
    limit = state.config.max_upload_bytes
    length = request.headers.get("content-length")
    announced = int(length) if length and length.isdigit() else 0
    if announced > limit:
        raise APIError(413, f"the upload is over the server's limit of {limit} bytes (--max-upload-mb)")
    room = await _room(state, announced)
    if room < 0:
        raise storage_error(state.config)
    allowed = min(limit, announced + room) if announced else min(limit, room)
    incoming = state.store.incoming_path()
    try:
        upload = await receive(request.stream(), request.headers["content-type"], incoming, allowed)
    except UploadError as error:
        if error.status == 413 and allowed < limit:
            raise storage_error(state.config) from None
        raise APIError(error.status, str(error)) from None
    except ClientDisconnect:
        log.info("a client disconnected during its upload; the partial file was removed")
        raise APIError(400, "the client disconnected before the upload finished") from None
    name = display_name(upload.filename) or "video"
    try:
        try:
            options = JobOptions.model_validate_json(upload.options or b"{}")
        except ValidationError as error:
            raise APIError(422, describe_errors(error, "options")) from None
        async with state.heavy:
            try:
                info = await run_in_threadpool(probe, incoming, state.config.max_frame_pixels)
            except FrameTooLargeError as error:
                raise APIError(413, str(error).replace(str(incoming), name)) from None
            except VideoError as error:
                raise APIError(415, str(error).replace(str(incoming), name)) from None
        check_video_range(info, options, state.config, name)
        record = JobRecord(
            id=new_job_id(), kind="video", name=name, options=options.model_dump(exclude_defaults=True)
        )
        folder = state.store.make_folder(record.id)
        shutil.move(incoming, folder / VIDEO_FILE)
    finally:
        incoming.unlink(missing_ok=True)
    return record


def check_video_range(info: VideoInfo, options: JobOptions, config: ServerConfig, name: str) -> None:
    """The frame range of the job within the video and within the server's frame limit."""
    frames = len(options.frame_range(info.frame_count))
    if not frames:
        raise APIError(
            422, f"{name}: start frame {options.start} is past the end ({info.frame_count} frames)"
        )
    if frames > config.max_frames:
        raise APIError(
            413,
            f"{name}: the job covers {frames} frames; this server takes at most {config.max_frames} "
            "(--max-frames): choose a part with start and end, or a step",
        )


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
    config = state.config
    async with state.heavy:
        parsed = await state.parser.parse(bytes(body), config.max_frames, config.max_person_frames)
    if parsed.status:
        raise APIError(parsed.status, parsed.detail)
    if await _room(state, len(body)) < 0:
        raise storage_error(config)
    record = JobRecord(
        id=new_job_id(), kind="keypoints", name=f"{parsed.people} people (keypoints)", options=parsed.options
    )
    folder = state.store.make_folder(record.id)
    _write(folder / KEYPOINTS_FILE, bytes(body))
    return record


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
