"""Receiving a multipart upload as it streams in: the video goes straight to disk, the size limit is
enforced while the bytes arrive, and nothing is left behind when the client goes away or the body is bad.

Starlette's own form parsing spools whole files before the handler sees them, which would let a client fill
the disk past any limit; python-multipart's streaming parser is used directly instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

log = logging.getLogger(__name__)

VIDEO_FIELD = "video"
OPTIONS_FIELD = "options"
MAX_OPTIONS_BYTES = 64 * 1024


class UploadError(ValueError):
    """The upload cannot be accepted; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    video: Path  # the received file (in the incoming folder)
    filename: str  # as the client named it: for display only
    options: bytes = b""
    size: int = 0


@dataclass
class _PartState:
    name: str = ""
    filename: str | None = None
    headers: dict[str, bytes] = field(default_factory=dict)
    header_field: bytes = b""
    header_value: bytes = b""


class _Receiver:
    """python-multipart callbacks → one file on disk plus the small options field."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.file: IO[bytes] | None = None
        self.filename = ""
        self.options = bytearray()
        self.part = _PartState()
        self.seen: set[str] = set()
        self.video_bytes = 0
        self.ended = False

    def on_part_begin(self) -> None:
        self.part = _PartState()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.part.header_field.decode("latin-1").lower()] = self.part.header_value
        self.part.header_field = self.part.header_value = b""

    def on_headers_finished(self) -> None:
        disposition = self.part.headers.get("content-disposition")
        if disposition is None:
            raise UploadError(400, "a multipart part has no Content-Disposition header")
        _, params = parse_options_header(disposition)
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name not in (VIDEO_FIELD, OPTIONS_FIELD):
            raise UploadError(
                400,
                f"unexpected form field {name!r}: send '{VIDEO_FIELD}' (a file) and optionally "
                f"'{OPTIONS_FIELD}' (JSON)",
            )
        if name in self.seen:
            raise UploadError(400, f"form field {name!r} appears twice")
        self.seen.add(name)
        self.part.name = name
        if name == VIDEO_FIELD:
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else ""
            self.file = self.destination.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part.name == VIDEO_FIELD and self.file is not None:
            self.file.write(chunk)
            self.video_bytes += len(chunk)
        elif self.part.name == OPTIONS_FIELD:
            self.options += chunk
            if len(self.options) > MAX_OPTIONS_BYTES:
                raise UploadError(413, f"the '{OPTIONS_FIELD}' field is over {MAX_OPTIONS_BYTES} bytes")

    def on_part_end(self) -> None:
        if self.part.name == VIDEO_FIELD and self.file is not None:
            self.file.close()

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()


def boundary_of(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(400, "expected multipart/form-data with a boundary")
    return boundary


async def receive(
    chunks: AsyncIterator[bytes], content_type: str, destination: Path, max_bytes: int
) -> Upload:
    """Stream a multipart body into `destination`; on any failure the partial file is removed."""
    receiver = _Receiver(destination)
    parser = MultipartParser(
        boundary_of(content_type),
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_end": receiver.on_end,
        },
    )
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise UploadError(413, f"the upload is over the server's limit of {max_bytes} bytes")
            parser.write(chunk)
        parser.finalize()
        if not receiver.ended:
            raise UploadError(400, "the multipart body ended early (no closing boundary)")
        if VIDEO_FIELD not in receiver.seen:
            raise UploadError(400, f"no '{VIDEO_FIELD}' file in the form")
        if receiver.video_bytes == 0:
            raise UploadError(415, "the uploaded video is empty")
    except MultipartParseError as error:
        receiver.close()
        destination.unlink(missing_ok=True)
        raise UploadError(400, f"malformed multipart body: {error}") from None
    except BaseException:  # UploadError, a client disconnect, a cancelled request: leave nothing behind
        receiver.close()
        destination.unlink(missing_ok=True)
        raise
    receiver.close()
    return Upload(destination, receiver.filename, bytes(receiver.options), receiver.video_bytes)
