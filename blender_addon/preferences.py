"""The add-on's preferences: where the server is, its token, timeouts, and how to start one locally."""

from __future__ import annotations

from typing import Any

import bpy
from bpy.props import BoolProperty, FloatProperty, StringProperty

from .client import ServerClient
from .local_server import LaunchSettings, default_project_dir, default_python

PACKAGE = __package__ or "blender_addon"


class FinePosePreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    __annotations__ = {
        "server_url": StringProperty(
            name="Server URL", default=ServerClient().url, description="The FinePOSE server to talk to"
        ),
        "token": StringProperty(
            name="Token", subtype="PASSWORD", description="Bearer token, if the server has one"
        ),
        "timeout": FloatProperty(
            name="Request Timeout (s)", default=ServerClient().timeout, min=1.0, max=600.0
        ),
        "autostart": BoolProperty(
            name="Start a Local Server When None Answers",
            default=True,
            description="Launch `python -m server` as a child of Blender (stopped when Blender quits)",
        ),
        "python_path": StringProperty(
            name="Python",
            subtype="FILE_PATH",
            default=default_python(default_project_dir()),
            description="The Python that runs the server (the project's .venv after `make setup`)",
        ),
        "project_dir": StringProperty(
            name="Project Folder",
            subtype="DIR_PATH",
            default=default_project_dir(),
            description="The FinePOSE project (the server runs from there)",
        ),
        "server_args": StringProperty(
            name="Extra Arguments",
            default="",
            description="More `python -m server` flags, e.g. --device cuda",
        ),
        "startup_timeout": FloatProperty(
            name="Start-up Timeout (s)",
            default=LaunchSettings("", "").startup_timeout,
            min=5.0,
            max=3600.0,
        ),
    }

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        prefs: Any = self
        layout.prop(self, "server_url")
        layout.prop(self, "token")
        layout.prop(self, "timeout")
        layout.prop(self, "autostart")
        column = layout.column()
        column.enabled = prefs.autostart
        column.prop(self, "python_path")
        column.prop(self, "project_dir")
        column.prop(self, "server_args")
        column.prop(self, "startup_timeout")
        layout.operator("finepose.check_server", icon="URL")


def preferences(context: bpy.types.Context) -> Any:
    """The add-on's preferences, or None when it is not registered as an add-on (tests, the bpy wheel)."""
    addon = context.preferences.addons.get(PACKAGE) if context.preferences else None
    return addon.preferences if addon else None


def client_and_launch(context: bpy.types.Context) -> tuple[ServerClient, LaunchSettings | None]:
    prefs = preferences(context)
    if prefs is None:  # not registered as an add-on (tests, batch with the bpy wheel): the defaults
        project = default_project_dir()
        return ServerClient(), LaunchSettings(default_python(project), project)
    client = ServerClient(prefs.server_url, prefs.token, prefs.timeout)
    launch = (
        LaunchSettings(prefs.python_path, prefs.project_dir, prefs.server_args, prefs.startup_timeout)
        if prefs.autostart
        else None
    )
    return client, launch


CLASSES = (FinePosePreferences,)
