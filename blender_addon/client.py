"""A small HTTP client for the FinePOSE server, on the standard library only (no pip inside Blender).

Uploads stream from disk (a multipart body assembled on the fly), so a large video is never held in memory.
Every failure becomes a ServerError whose message says what happened and what to do.
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .options_schema import load

CHUNK = 1 << 20


class ServerError(RuntimeError):
    """The server cannot be reached, or it refused or failed the request; `status` is the HTTP status (0
    when there was no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class MultipartFile:
    """A file-like multipart/form-data body: an `options` field, then the video read from disk in chunks."""

    def __init__(self, video: Path, options: dict[str, Any]) -> None:
        self.boundary = f"finepose-{uuid.uuid4().hex}"
        kind = mimetypes.guess_type(video.name)[0] or "application/octet-stream"
        safe_name = video.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        self._head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="options"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(options)}\r\n"
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="video"; filename="{safe_name}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file: IO[bytes] = video.open("rb")
        self.length = len(self._head) + video.stat().st_size + len(self._tail)
        self._stage = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def read(self, size: int = -1) -> bytes:
        out = b""
        while self._stage < 3 and (size < 0 or len(out) < size):
            want = -1 if size < 0 else size - len(out)
            if self._stage == 0:
                out += self._head
                self._stage = 1
            elif self._stage == 1:
                chunk = self._file.read(CHUNK if want < 0 else want)
                if chunk:
                    out += chunk
                else:
                    self._stage = 2
            else:
                out += self._tail
                self._stage = 3
        return out

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class ServerClient:
    url: str = field(default_factory=lambda: load().server_url)
    token: str = ""
    timeout: float = 10.0  # seconds for one request (uploads get longer: see submit_video)

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str | None = None,
        timeout: float | None = None,
        length: int | None = None,
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url.rstrip("/") + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if length is not None:
            request.add_header("Content-Length", str(length))
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            raise ServerError(_detail(error), error.code) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise ServerError(
                f"no FinePOSE server answers at {self.url} ({reason}); start one with `make serve` in the "
                "project, or enable 'Start a local server' in the add-on preferences"
            ) from None

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        _, data = self._request(method, path, **kwargs)
        try:
            return json.loads(data)
        except ValueError:
            raise ServerError(
                f"{self.url}{path} did not answer with JSON; is this a FinePOSE server?"
            ) from None

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("GET", "/v1/health", timeout=min(self.timeout, 3.0))
        return answer

    def submit_video(self, video: Path, options: dict[str, Any], timeout: float = 3600.0) -> str:
        body = MultipartFile(video, options)
        try:
            answer = self._json(
                "POST",
                "/v1/jobs",
                body=body,
                content_type=body.content_type,
                timeout=timeout,
                length=body.length,
            )
        finally:
            body.close()
        return str(answer["id"])

    def status(self, job_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("GET", f"/v1/jobs/{job_id}")
        return answer

    def result(self, job_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._json(
            "GET", f"/v1/jobs/{job_id}/result", timeout=max(self.timeout, 60.0)
        )
        return answer

    def cancel(self, job_id: str) -> None:
        try:
            self._request("DELETE", f"/v1/jobs/{job_id}")
        except ServerError as error:
            if error.status != 409:  # already finished: nothing to cancel
                raise


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read()).get("detail", "")
    except (ValueError, AttributeError, OSError):
        detail = ""
    return f"the server answered {error.code}: {detail or error.reason}"
