"""Operators: Lift, Cancel, apply a saved result file, check the server.

In the UI a lift runs in a worker thread and a `bpy.app.timers` poller moves its progress into the panel and
applies the result on the main thread, so Blender never freezes. In background mode (`blender -b`, the bpy
wheel) timers never fire, so the same job runs synchronously instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import bpy
from bpy.props import IntProperty, StringProperty

from .apply import ApplyError, ApplyOptions, ApplySummary, apply_result, bone_map_for
from .client import ServerError
from .job import LiftJob, Message
from .local_server import LocalServer
from .preferences import client_and_launch
from .properties import apply_options, parse_words, server_options, words_lines
from .retarget.result_file import ResultFileError, parse_result, read_result

log = logging.getLogger(__name__)
UNDO_NAME = "Lift Video to Armature"
OperatorReturn = Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]
POLL_SECONDS = 0.2

# The one child server process this Blender session may have started. Blender data cannot hold a Python
# object, and unregister() and interpreter exit must be able to stop it, so it lives at module level.
LOCAL_SERVER = LocalServer()


class LiftError(RuntimeError):
    pass


def video_of(context: bpy.types.Context, settings: Any) -> Path:
    if settings.use_active_clip:
        clip = context.scene.active_clip if context.scene else None
        if clip is None:
            raise LiftError("no active movie clip: open one in the Movie Clip editor, or choose a video file")
        path = Path(bpy.path.abspath(clip.filepath))
    else:
        if not settings.video_path:
            raise LiftError("choose a video file first")
        path = Path(bpy.path.abspath(settings.video_path))
    if not path.is_file():
        raise LiftError(f"the video {path} does not exist")
    return path


def _state(context: bpy.types.Context) -> Any:
    return context.window_manager.finepose_job  # type: ignore[union-attr]


def _redraw(context: bpy.types.Context) -> None:
    screen = context.screen
    for area in screen.areas if screen else []:
        if area.type == "VIEW_3D":
            area.tag_redraw()


def _notify(context: bpy.types.Context, text: str, error: bool) -> None:
    """A popup where there is a window (a timer has no operator to `report` through), and the log."""
    (log.error if error else log.info)("FinePOSE: %s", text)
    wm = context.window_manager
    if wm is not None and wm.windows and not bpy.app.background:

        def draw(menu: Any, _context: Any) -> None:
            for line in text.splitlines()[:12]:
                menu.layout.label(text=line)

        wm.popup_menu(draw, title="FinePOSE", icon="ERROR" if error else "INFO")


def apply_document(
    context: bpy.types.Context, document: dict[str, Any], options: ApplyOptions
) -> ApplySummary:
    """Apply a result and make it one undo step; the panel shows the words each person was lifted with."""
    result = parse_result(document)
    summary = apply_result(context, result, options)
    _state(context).words = words_lines(result.people)
    bpy.ops.ed.undo_push(message=UNDO_NAME)
    return summary


def describe(summary: ApplySummary) -> str:
    first, last = summary.frame_range
    text = f"{', '.join(summary.armatures)} animated over frames {first}–{last}"
    return text + "".join(f"; {warning}" for warning in summary.warnings)


@dataclass
class JobPoller:
    """The timer callback: drains the job's messages into the panel; applies the result when it comes."""

    job: LiftJob
    options: ApplyOptions

    def __call__(self) -> float | None:
        context = bpy.context
        state = _state(context)
        if state.cancel_requested:
            self.job.cancel()
        for message in self.job.drain():
            if message.kind == "progress":
                state.stage, state.progress, state.message = message.stage, message.progress, message.text
            else:
                self.finish(context, message)
                _redraw(context)
                return None
        _redraw(context)
        return POLL_SECONDS

    def finish(self, context: bpy.types.Context, message: Message) -> None:
        state = _state(context)
        state.running = False
        state.cancel_requested = False
        if message.kind == "result" and message.document is not None:
            try:
                summary = apply_document(context, message.document, self.options)
            except (ApplyError, ResultFileError) as error:
                state.is_error, state.message = True, str(error)
            else:
                state.is_error, state.progress, state.stage = False, 1.0, "done"
                state.message = describe(summary)
        elif message.kind == "cancelled":
            state.is_error, state.stage, state.message = False, "cancelled", "cancelled"
        else:
            state.is_error, state.stage, state.message = True, "failed", message.text
        _notify(context, state.message, state.is_error)


class FINEPOSE_OT_lift(bpy.types.Operator):
    """Send the video to the FinePOSE server and animate armatures with the people it finds"""

    bl_idname = "finepose.lift"
    bl_label = "Lift"
    bl_options = {"REGISTER"}  # noqa: RUF012  (the undo step is pushed when the result is applied)

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.scene is not None and not _state(context).running

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        settings: Any = context.scene.finepose  # type: ignore[union-attr]
        try:
            video = video_of(context, settings)
            options = apply_options(settings, str(video))
            if options.target == "SELECTED":  # refuse a rig that cannot take the motion before uploading
                target = context.active_object
                if target is None or target.type != "ARMATURE":
                    raise LiftError("select the armature to retarget onto (make it the active object)")
                bone_map_for(target, options)
        except (LiftError, ApplyError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        client, launch = client_and_launch(context)
        job = LiftJob(video, server_options(settings), client, LOCAL_SERVER, launch)
        state = _state(context)
        state.running, state.cancel_requested, state.is_error = True, False, False
        state.progress, state.stage, state.message = 0.0, "starting", "starting…"
        poller = JobPoller(job, options)
        if bpy.app.background:  # no event loop: run the job here, then apply
            job.run()
            messages = job.drain()
            final = next(
                (m for m in reversed(messages) if m.kind != "progress"), Message("error", text="no answer")
            )
            poller.finish(context, final)
            self.report({"ERROR"} if state.is_error else {"INFO"}, state.message)
            return {"CANCELLED"} if state.is_error else {"FINISHED"}
        job.start()
        bpy.app.timers.register(poller, first_interval=POLL_SECONDS)
        return {"FINISHED"}


class FINEPOSE_OT_cancel(bpy.types.Operator):
    """Stop the running lift (the server stops at its next frame, stage or group of windows)"""

    bl_idname = "finepose.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(_state(context).running)

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        _state(context).cancel_requested = True
        self.report({"INFO"}, "cancelling the lift…")
        return {"FINISHED"}


class FINEPOSE_OT_apply_result_file(bpy.types.Operator):
    """Animate armatures from a saved finepose.result/1 JSON file (from the server or the lift CLI)"""

    bl_idname = "finepose.apply_result_file"
    bl_label = "Apply Result File"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012  (Blender reads it from the class)

    filepath: StringProperty(subtype="FILE_PATH")  # type: ignore[valid-type]
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})  # type: ignore[valid-type]

    def invoke(self, context: bpy.types.Context, event: Any) -> set[OperatorReturn]:
        wm: Any = context.window_manager
        wm.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        settings: Any = context.scene.finepose  # type: ignore[union-attr]
        path: str = self.filepath
        try:
            result = read_result(bpy.path.abspath(path))
            summary = apply_result(context, result, apply_options(settings, settings.video_path))
        except (ResultFileError, ApplyError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _state(context).words = words_lines(result.people)
        self.report({"INFO"}, describe(summary))
        return {"FINISHED"}


class FINEPOSE_OT_use_words(bpy.types.Operator):
    """Put the words a person was lifted with into the prompt fields, to correct one part and lift again"""

    bl_idname = "finepose.use_words"
    bl_label = "Use These Words"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012  (Blender reads it from the class)

    person: IntProperty(name="Person", default=0)  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        settings: Any = context.scene.finepose  # type: ignore[union-attr]
        chosen = [row for row in parse_words(_state(context).words) if row[0] == self.person]
        if not chosen:
            self.report({"ERROR"}, f"no words recorded for person {self.person}; lift first")
            return {"CANCELLED"}
        for _, part, _, words in chosen:
            setattr(settings, f"{part}_text", words)
        self.report({"INFO"}, f"person {self.person}'s words are in the prompt fields")
        return {"FINISHED"}


class FINEPOSE_OT_check_server(bpy.types.Operator):
    """Ask the configured server whether it answers, and what it runs"""

    bl_idname = "finepose.check_server"
    bl_label = "Check Server"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturn]:
        client, _ = client_and_launch(context)
        try:
            health = client.health()
        except ServerError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report(
            {"INFO"},
            f"{client.url}: {health['model']} on {health['device']}, {health['queue_length']} waiting",
        )
        return {"FINISHED"}


CLASSES = (
    FINEPOSE_OT_lift,
    FINEPOSE_OT_cancel,
    FINEPOSE_OT_apply_result_file,
    FINEPOSE_OT_use_words,
    FINEPOSE_OT_check_server,
)
