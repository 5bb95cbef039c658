"""One lift, off Blender's main thread: make sure a server answers, upload the video, follow the job,
fetch the result. Messages go to the main thread through a queue (bpy must only be touched there).

`LiftJob.run()` is the whole job, blocking; `start()` runs it in a thread. The batch script calls `run()`
directly (timers do not fire in `blender -b -P`).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import ServerClient, ServerError
from .local_server import LaunchSettings, LocalServer
from .options_schema import load

FINISHED = ("done", "failed", "cancelled")


def job_options(values: dict[str, Any]) -> dict[str, Any]:
    """The server's job options (JSON) from the panel's values: text stripped, choices in the server's
    spelling, and unset values (None) and the options' own defaults left out, so that the server's apply."""
    schema = load()
    options: dict[str, Any] = {}
    for name, value in values.items():
        spec = schema.job(name)
        if isinstance(value, str):
            value = value.strip()
            if spec.get("choices"):
                value = value.lower()
        if value is not None and value != spec["default"]:
            options[name] = value
    return options


@dataclass(frozen=True)
class Message:
    kind: str  # progress | result | error | cancelled
    stage: str = ""
    progress: float = 0.0
    text: str = ""
    document: dict[str, Any] | None = None


@dataclass
class LiftJob:
    video: Path
    options: dict[str, Any]
    client: ServerClient
    server: LocalServer
    launch: LaunchSettings | None = None  # None: do not start a server
    poll_interval: float = 0.25
    messages: queue.Queue[Message] = field(default_factory=queue.Queue)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    job_id: str = ""
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="finepose-lift", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def _say(self, stage: str, progress: float, text: str) -> None:
        self.messages.put(Message("progress", stage, progress, text))

    def run(self) -> None:
        try:
            self._say("server", 0.0, "connecting to the FinePOSE server…")
            self.server.ensure(self.client, self.launch)
            if self.cancel_event.is_set():
                self.messages.put(Message("cancelled", text="cancelled"))
                return
            size_mb = self.video.stat().st_size / 1e6
            self._say("upload", 0.0, f"uploading {self.video.name} ({size_mb:.1f} MB)…")
            self.job_id = self.client.submit_video(self.video, self.options)
            self._follow()
        except ServerError as error:
            self.messages.put(Message("error", text=str(error)))
        except OSError as error:
            self.messages.put(Message("error", text=f"cannot read the video: {error}"))
        except Exception as error:  # never let the thread die silently: the panel would wait forever
            self.messages.put(Message("error", text=f"unexpected error: {type(error).__name__}: {error}"))

    def _follow(self) -> None:
        cancel_sent = False
        while True:
            if self.cancel_event.is_set() and not cancel_sent:
                self.client.cancel(self.job_id)
                cancel_sent = True
            status = self.client.status(self.job_id)
            state = status["state"]
            if state == "done":
                self._say("result", 1.0, "downloading the result…")
                self.messages.put(
                    Message("result", document=self.client.result(self.job_id), text=status["message"])
                )
                return
            if state == "failed":
                self.messages.put(Message("error", text=f"the job failed: {status['message']}"))
                return
            if state == "cancelled":
                self.messages.put(Message("cancelled", text="cancelled"))
                return
            stage = status.get("stage", state)
            self._say(stage, float(status.get("progress", 0.0)), f"{stage}…")
            time.sleep(self.poll_interval)

    def drain(self) -> list[Message]:
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out
