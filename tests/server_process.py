"""A real `python -m server` in a child process on 127.0.0.1 and a free port, for the server tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from server.ports import free_port
from tests.conftest import REPO_ROOT

FINISHED = {"done", "failed", "cancelled"}


class ServerProcess:
    def __init__(
        self, checkpoint: Path, workdir: Path, *extra: str, env: dict[str, str] | None = None
    ) -> None:
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir.parent / f"server-{self.port}.log"
        self.args = [
            sys.executable,
            "-m",
            "server",
            "--port",
            str(self.port),
            "--workdir",
            str(workdir),
            "--checkpoint",
            str(checkpoint),
            "--device",
            "cpu",
            *extra,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> ServerProcess:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(
            self.args, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0, **kwargs)

    def wait(self, client: httpx.Client, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll a job until it finishes; every status seen is kept in `self.seen`."""
        self.seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
            self.seen.append(status)
            if status["state"] in FINISHED:
                return status
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish within {timeout} s; last status {self.seen[-1]}")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
