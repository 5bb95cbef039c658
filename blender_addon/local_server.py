"""Starting the FinePOSE server as a child process of Blender when none answers, and stopping it with Blender.

The default command is the project's own virtual environment: `<project>/.venv/bin/python -m server`.
The project folder is this add-on's parent when Blender loads it from the repository, or the one recorded
in `_project.json` when the extension zip was built (scripts/build_extension.py writes it).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .client import ServerClient, ServerError
from .options_schema import load

HERE = Path(__file__).resolve().parent


def default_project_dir() -> str:
    if (HERE.parent / "server" / "__main__.py").is_file():
        return str(HERE.parent)
    recorded = HERE / "_project.json"
    if recorded.is_file():
        try:
            return str(json.loads(recorded.read_text(encoding="utf-8"))["project_dir"])
        except (OSError, ValueError, KeyError):
            pass
    return ""


def default_python(project_dir: str) -> str:
    if not project_dir:
        return ""
    venv = Path(project_dir) / ".venv"
    return str(venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


@dataclass(frozen=True)
class LaunchSettings:
    python: str
    project_dir: str
    extra_args: str = ""
    startup_timeout: float = 180.0  # the first start imports torch and loads the model


class LocalServer:
    """One child server process (at most), with its log file."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / "finepose-server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 12) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def ensure(self, client: ServerClient, settings: LaunchSettings | None) -> None:
        """Return when the server answers; start it first when `settings` allow. Raises ServerError."""
        try:
            client.health()
            return
        except ServerError as error:
            if settings is None:
                raise
            first_error = error
        if not self.running:
            self._start(client, settings, first_error)
        deadline = time.monotonic() + settings.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(
                    f"auto-start failed: the server exited with code {self.process.returncode}; "
                    f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            try:
                client.health()
                return
            except ServerError:
                time.sleep(0.5)
        raise ServerError(
            f"auto-start failed: the server did not answer within {settings.startup_timeout:.0f} s; "
            f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
        )

    def _start(self, client: ServerClient, settings: LaunchSettings, first_error: ServerError) -> None:
        python = Path(settings.python) if settings.python else None
        if python is None or not python.is_file():
            raise ServerError(
                f"{first_error}; auto-start failed: the Python executable '{settings.python}' does not exist "
                "(set it in the add-on preferences: the project's .venv/bin/python after `make setup`)"
            )
        parsed = urllib.parse.urlparse(client.url)
        fallback = urllib.parse.urlparse(load().server_url)
        host, port = parsed.hostname or fallback.hostname or "", parsed.port or fallback.port
        command = [
            str(python),
            "-m",
            "server",
            "--host",
            host,
            "--port",
            str(port),
            *shlex.split(settings.extra_args),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if client.token:  # in the environment: a command line is readable by every user (ps) and is logged
            env["FINEPOSE_TOKEN"] = client.token
        with self.log_path.open("ab") as log:
            log.write(f"\n--- {time.ctime()}: {' '.join(command)}\n".encode())
            try:
                self.process = subprocess.Popen(
                    command,
                    cwd=settings.project_dir or None,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            except OSError as error:
                raise ServerError(f"auto-start failed: {error}") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
