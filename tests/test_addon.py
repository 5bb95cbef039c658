"""The add-on as Blender runs it (the bpy 5.0.1 wheel): registration, the extension zip, and the Lift operator
end to end against a real `python -m server` on 127.0.0.1 (threaded with the timer poller, synchronous in
background mode), its errors, cancelling, and starting a local server itself."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="the bpy wheel is installed by `make setup` (extra 'dev')")
import addon_utils  # noqa: E402

from blender_addon import operators  # noqa: E402
from blender_addon.client import ServerClient  # noqa: E402
from blender_addon.job import LiftJob  # noqa: E402
from blender_addon.properties import apply_options, parse_words, server_options  # noqa: E402
from server.ports import free_port  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.server]
SAMPLE = REPO_ROOT / "samples/office_walk.mp4"


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tiny_checkpoint, tmp_path_factory.mktemp("addon-server") / "work") as process:
        yield process


@pytest.fixture()
def addon() -> Iterator[Any]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True, handle_error=None)
    prefs = bpy.context.preferences.addons["blender_addon"].preferences
    yield prefs
    operators.LOCAL_SERVER.stop()
    addon_utils.disable("blender_addon", default_set=True)


def settings_for_sample(start: int = 10, end: int = 40, preset: str = "fast") -> Any:
    settings = bpy.context.scene.finepose
    settings.video_path = str(SAMPLE)
    settings.frame_start, settings.frame_end, settings.preset = start, end, preset
    settings.action = "walking"
    settings.arms_text = "swinging"
    return settings


def test_register_and_unregister_cleanly() -> None:
    for _ in range(2):  # twice: unregistering must leave nothing that breaks the next registration
        addon_utils.enable("blender_addon", default_set=True, handle_error=None)
        assert hasattr(bpy.types, "VIEW3D_PT_finepose_lift") and hasattr(bpy.types.Scene, "finepose")
        assert bpy.types.VIEW3D_PT_finepose_lift.bl_category == "FinePOSE"
        assert bpy.types.VIEW3D_PT_finepose_lift.bl_label == "Lift Video to Armature"
        prefs = bpy.context.preferences.addons["blender_addon"].preferences
        assert prefs.server_url == "http://127.0.0.1:8765" and prefs.autostart
        assert Path(prefs.python_path) == REPO_ROOT / ".venv/bin/python"
        addon_utils.disable("blender_addon", default_set=True)
        assert not hasattr(bpy.types, "VIEW3D_PT_finepose_lift") and not hasattr(bpy.types.Scene, "finepose")
        assert not hasattr(bpy.types, "FINEPOSE_OT_lift")


def test_the_extension_zip_installs_in_blender(tmp_path: Path) -> None:
    manifest = tomllib.loads((REPO_ROOT / "blender_addon/blender_manifest.toml").read_text())
    assert manifest["schema_version"] == "1.0.0" and manifest["blender_version_min"] == "4.2.0"
    assert set(manifest["permissions"]) == {"network", "files"}
    build = subprocess.run(
        [sys.executable, "scripts/build_extension.py", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    package = Path(build.stdout.strip())
    assert package.name == f"finepose_lift-{manifest['version']}.zip"
    # a fresh Blender user folder, so that the developer's own Blender is untouched
    script = (
        "import bpy\n"
        f"print(bpy.ops.extensions.package_install_files(filepath={str(package)!r}, repo='user_default', "
        "enable_on_install=True))\n"
        "print('panel', hasattr(bpy.types, 'VIEW3D_PT_finepose_lift'))\n"
        "prefs = bpy.context.preferences.addons['bl_ext.user_default.finepose_lift'].preferences\n"
        "print('project', prefs.project_dir)\n"
    )
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "blender"), "PATH": "/usr/bin:/bin"}
    installed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert "{'FINISHED'}" in installed.stdout, installed.stdout + installed.stderr
    assert "panel True" in installed.stdout and f"project {REPO_ROOT}" in installed.stdout
    assert (tmp_path / "blender/extensions/user_default/finepose_lift/retarget/solve.py").is_file()


def test_lift_operator_end_to_end(server: ServerProcess, addon: Any) -> None:
    addon.server_url, addon.autostart = server.url, False
    settings_for_sample()
    bpy.ops.ed.undo_push(message="before")
    assert bpy.ops.finepose.lift() == {"FINISHED"}  # background mode: synchronous
    state = bpy.context.window_manager.finepose_job
    assert not state.running and not state.is_error and state.progress == 1.0, state.message
    people = [o for o in bpy.data.objects if o.name.startswith("Person.")]
    assert people and all(o.type == "ARMATURE" and o.animation_data.action for o in people)
    assert state.message.startswith(people[0].name) and "animated over frames" in state.message
    camera = bpy.data.objects["FinePOSE Camera"]
    assert camera.data.background_images[0].clip.filepath.endswith("office_walk.mp4")
    scene = bpy.context.scene
    assert scene.frame_start >= 11 and scene.frame_end <= 40 and scene.render.resolution_x == 768
    # the panel shows the words each person was lifted with (this checkpoint reads only bare part names,
    # so the blank parts stay blank; the arms were given words)
    words = parse_words(state.words)
    assert {(part, source) for _, part, source, _ in words} >= {("arms", "user"), ("legs", "none")}
    arms = next(w for _, part, _, w in words if part == "arms")
    assert arms == "swinging"
    bpy.ops.ed.undo()  # one step undoes the whole lift
    assert not [o for o in bpy.data.objects if o.name.startswith("Person.")]
    # "Use" puts a person's words back into the prompt fields, to correct one part and lift again
    bpy.context.scene.finepose.arms_text = ""
    assert bpy.ops.finepose.use_words(person=words[0][0]) == {"FINISHED"}
    assert bpy.context.scene.finepose.arms_text == "swinging"


def test_threaded_job_with_the_timer_poller_and_cancel(server: ServerProcess, addon: Any) -> None:
    settings = settings_for_sample()
    client = ServerClient(server.url)
    state = bpy.context.window_manager.finepose_job
    settings.image_depth = 0.25
    options = server_options(settings)
    assert options["mediapipe_depth"] == 0.25 and options["preset"] == "fast"
    job = LiftJob(SAMPLE, options, client, operators.LOCAL_SERVER, None)
    poller = operators.JobPoller(job, apply_options(settings, str(SAMPLE)))
    state.running = True
    job.start()
    stages = []
    deadline = time.monotonic() + 120
    while poller() is not None and time.monotonic() < deadline:  # what bpy.app.timers does in the UI
        stages.append(state.stage)
        time.sleep(0.05)
    assert not state.running and not state.is_error, state.message
    assert "detect" in stages and state.stage == "done"  # (quick stages can pass between two polls)
    assert [o for o in bpy.data.objects if o.name.startswith("Person.")]

    settings.frame_start, settings.frame_end, settings.preset = 0, 0, "best"  # a long job, then cancel
    job = LiftJob(SAMPLE, server_options(settings), client, operators.LOCAL_SERVER, None)
    poller = operators.JobPoller(job, apply_options(settings, str(SAMPLE)))
    state.running, state.cancel_requested = True, False
    job.start()
    deadline = time.monotonic() + 120
    while poller() is not None and time.monotonic() < deadline:
        if state.stage == "detect":
            state.cancel_requested = True  # what the Cancel button does
        time.sleep(0.05)
    assert state.stage == "cancelled" and not state.is_error
    assert client.status(job.job_id)["state"] == "cancelled"


def test_a_failed_job_shows_the_servers_message(server: ServerProcess, addon: Any) -> None:
    addon.server_url, addon.autostart = server.url, False
    settings_for_sample(start=100_000, end=0)
    # refused when submitted (the server probes the video first), in the server's words
    with pytest.raises(RuntimeError, match=r"422: office_walk.mp4: start frame 100000 is past the end"):
        bpy.ops.finepose.lift()
    state = bpy.context.window_manager.finepose_job
    assert state.is_error and not state.running and "past the end" in state.message


def test_errors_reach_the_user(addon: Any, tmp_path: Path) -> None:
    # an operator's ERROR report reaches a Python caller as RuntimeError (and the user as a report)
    settings = bpy.context.scene.finepose
    settings.video_path = ""
    with pytest.raises(RuntimeError, match="choose a video file first"):
        bpy.ops.finepose.lift()
    settings.video_path = str(tmp_path / "missing.mp4")
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.finepose.lift()
    settings_for_sample()
    state = bpy.context.window_manager.finepose_job
    addon.server_url, addon.autostart = f"http://127.0.0.1:{free_port()}", False
    with pytest.raises(RuntimeError, match="no FinePOSE server answers"):
        bpy.ops.finepose.lift()
    assert state.is_error and not state.running and "make serve" in state.message  # the panel shows it
    addon.autostart, addon.python_path = True, str(tmp_path / "no-python")
    with pytest.raises(RuntimeError, match=r"auto-start failed.*no-python"):
        bpy.ops.finepose.lift()
    # a selected rig without the bones is refused before anything is uploaded, naming the bones
    armature = bpy.data.armatures.new("Bare")
    rig = bpy.data.objects.new("Bare", armature)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    settings.target, settings.bone_map = "SELECTED", "MIXAMO"
    with pytest.raises(RuntimeError, match=r"mixamorig:Hips \(pelvis\)"):
        bpy.ops.finepose.lift()


def test_the_addon_starts_a_local_server_when_none_answers(
    addon: Any, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    port = free_port()
    addon.server_url, addon.autostart, addon.python_path = f"http://127.0.0.1:{port}", True, sys.executable
    addon.project_dir = str(REPO_ROOT)
    addon.server_args = f"--checkpoint {tiny_checkpoint} --device cpu --workdir {tmp_path / 'work'}"
    addon.token = "auto-start-token"  # passed in the environment, not on the command line
    settings_for_sample(start=10, end=20)
    log_path = operators.LOCAL_SERVER.log_path
    logged_before = log_path.stat().st_size if log_path.exists() else 0  # the log is kept across starts
    try:
        assert bpy.ops.finepose.lift() == {"FINISHED"}, bpy.context.window_manager.finepose_job.message
        assert operators.LOCAL_SERVER.running
        assert ServerClient(addon.server_url).health()["model"].startswith("tiny@")
        with pytest.raises(urllib.error.HTTPError) as refused:  # the started server does need the token
            urllib.request.urlopen(f"{addon.server_url}/v1/model", timeout=10)
        assert refused.value.code == 401
        log = log_path.read_bytes()[logged_before:].decode(errors="replace")
        assert "serving tiny" in log  # this start's lines
        assert "auto-start-token" not in log and "visible to other users" not in log
    finally:
        addon.token = ""
        operators.LOCAL_SERVER.stop()  # also done at unregister and when Blender exits
    assert not operators.LOCAL_SERVER.running


def test_the_compatibility_check_script_passes_with_this_blender() -> None:
    """scripts/check_blender_compat.py is what users run in their own Blender (see the README for 4.2)."""
    run = subprocess.run(
        [sys.executable, "scripts/check_blender_compat.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Blender 5.0.1; keyframes through slotted actions" in run.stdout and run.stdout.count(": ok") == 4


class RecordingLayout:
    """Blender builds UI layouts only while it draws a window, which background mode never does, so the
    panel's drawing of the words is checked against this stand-in that records the labels and buttons."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def box(self) -> RecordingLayout:
        return self

    def row(self) -> RecordingLayout:
        return self

    def label(self, text: str = "", icon: str = "") -> None:
        self.lines.append(text)

    def operator(self, name: str, text: str = "", icon: str = "") -> Any:
        self.lines.append(f"<{name}>")
        return type("Props", (), {})()


def test_the_panel_lists_each_persons_words_wrapped(addon: Any) -> None:
    from blender_addon.panel import WORDS_WIDTH, VIEW3D_PT_finepose_lift
    from blender_addon.properties import words_lines
    from blender_addon.retarget.result_file import PersonTrack

    words = "left arm raised above the head, left elbow straight, right arm down, hands together"
    person = PersonTrack(
        3, [0], np.zeros((1, 17, 3)), np.zeros((1, 17, 3)), {"arms": words}, {"arms": "auto"}
    )
    state = bpy.context.window_manager.finepose_job
    state.words = words_lines([person])
    lines: list[str] = []
    VIEW3D_PT_finepose_lift.draw_words(RecordingLayout(lines), state)
    assert lines[:3] == ["Words Used", "Person 3", "<finepose.use_words>"]
    assert "Head [none]: (no words)" in lines and lines[
        lines.index("Head [none]: (no words)") + 2
    ].startswith("Arms [auto]: left arm")
    shown = [line for line in lines if line.startswith(("Arms", "    "))]
    assert " ".join(line.split(": ", 1)[-1].strip() for line in shown) == words  # nothing lost in wrapping
    assert all(len(line) <= WORDS_WIDTH + len("Arms [auto]: ") for line in shown) and len(shown) > 1
