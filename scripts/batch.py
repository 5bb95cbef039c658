"""Headless lifting into .blend files, with the add-on's own modules (nothing here is written twice).

    blender -b -P scripts/batch.py -- --video CLIP.mp4 [--out OUT.blend]
        [--rig FILE.blend:Armature --map PRESET] [every job option of the lift CLI: --action TEXT,
        --part arms="raised overhead"@1.5, --preset best, --fov DEG, --start S, --end E, …]
        [--no-root-motion] [--no-floor] [--no-foot-locking] [--no-flat-feet] [--smoothing S]
        [--export-fbx DIR] [--export-bvh DIR] [--preview PREVIEW.png|.mp4]
        [--server URL] [--token T] [--no-autostart] [--python PY] [--server-args "..."]
    python scripts/batch.py -- ...            (the same with the bpy wheel, e.g. the project's .venv)

The job options' flags, defaults, ranges and help come from the add-on's options schema (generated from
the server's own definition); `--help` lists them.

Runs synchronously (timers do not fire in `blender -b -P`); talks to the server at --server or starts one
from the project's .venv. Next to each OUT.blend it writes OUT.json, the server's finepose.result/1.
--video also takes a folder or a glob: every video is processed, a failing one is reported and skipped, a
summary table ends the run, and the exit code is 1 when any failed (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bpy  # noqa: E402

from blender_addon.apply import ApplyError, ApplyOptions, apply_result  # noqa: E402
from blender_addon.client import ServerClient, ServerError  # noqa: E402
from blender_addon.exports import ExportError, append_rig, export_bvh, export_fbx, render_preview  # noqa: E402
from blender_addon.job import LiftJob  # noqa: E402
from blender_addon.local_server import LaunchSettings, LocalServer, default_project_dir, default_python  # noqa: E402
from blender_addon.options_schema import load  # noqa: E402
from blender_addon.retarget.bones import PRESETS  # noqa: E402
from blender_addon.retarget.prepare import SMOOTHING_RANGE, MotionOptions  # noqa: E402
from blender_addon.retarget.result_file import ResultFileError, parse_result  # noqa: E402

# Standard library only, so importable inside Blender; the flags come from the add-on's schema file.
from finepose_core.option_flags import add_flags, given_options  # noqa: E402

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


class BatchError(RuntimeError):
    pass


def script_arguments(argv: list[str]) -> list[str]:
    """Blender passes its own arguments too: ours follow `--` (also accepted without it for `python`)."""
    return argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]


def smoothing(text: str) -> float:
    value = float(text)
    if not SMOOTHING_RANGE[0] <= value <= SMOOTHING_RANGE[1]:
        raise argparse.ArgumentTypeError(
            f"{text}: must be within {SMOOTHING_RANGE[0]:g}–{SMOOTHING_RANGE[1]:g}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="batch.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", required=True, help="a video, a folder of videos, or a glob")
    parser.add_argument("--out", type=Path, help="OUT.blend for one video, or a folder (default out/batch)")
    parser.add_argument("--rig", help="FILE.blend:ArmatureName to retarget onto instead of new armatures")
    parser.add_argument(
        "--map",
        default="auto",
        help="bone map: auto, " + ", ".join(k.lower() for k in PRESETS) + ", or a JSON file",
    )
    parser.add_argument(
        "--person", type=int, default=-1, help="with --rig: the person id (default: the longest seen)"
    )
    add_flags(parser.add_argument_group("job options (sent to the server)"), load().job_specs)
    motion = parser.add_argument_group("motion on the armature")
    motion.add_argument("--no-root-motion", action="store_true", help="keep the armature in place")
    motion.add_argument("--no-floor", action="store_true", help="leave the height as lifted")
    motion.add_argument("--no-foot-locking", action="store_true", help="do not pin planted feet")
    motion.add_argument(
        "--no-flat-feet", action="store_true", help="let the feet follow the shins, also while planted"
    )
    motion.add_argument(
        "--smoothing",
        type=smoothing,
        default=MotionOptions().smoothing,
        help=f"0 (off) to 1 (a Gaussian of 0.1 s); default {MotionOptions().smoothing}",
    )
    parser.add_argument("--export-fbx", type=Path, metavar="DIR")
    parser.add_argument("--export-bvh", type=Path, metavar="DIR")
    parser.add_argument("--preview", type=Path, metavar="PNG_OR_MP4")
    parser.add_argument(
        "--preview-frame", type=int, help="video frame of a PNG preview (default: the middle)"
    )
    parser.add_argument("--server", default=os.environ.get("FINEPOSE_SERVER", load().server_url))
    parser.add_argument("--token", default=os.environ.get("FINEPOSE_TOKEN", ""))
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--no-autostart", action="store_true", help="fail when no server answers")
    parser.add_argument(
        "--python", default=default_python(default_project_dir()), help="Python that runs the server"
    )
    parser.add_argument("--server-args", default="", help="more `python -m server` flags when starting one")
    return parser


def videos_of(pattern: str) -> list[Path]:
    path = Path(pattern)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    elif path.is_file():
        found = [path]
    else:
        found = sorted(Path(p) for p in glob.glob(pattern) if Path(p).suffix.lower() in VIDEO_SUFFIXES)  # noqa: PTH207
    if not found:
        raise BatchError(
            f"--video {pattern}: no video found (give a file, a folder or a glob of "
            f"{', '.join(sorted(VIDEO_SUFFIXES))})"
        )
    return found


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    return given_options(args, load().job_specs)


def apply_options(args: argparse.Namespace, video: Path) -> ApplyOptions:
    bone_map = args.map.upper()
    custom = ""
    if args.map.lower().endswith(".json"):
        bone_map, custom = "CUSTOM", args.map
    elif bone_map != "AUTO" and bone_map not in PRESETS:
        raise BatchError(
            f"--map {args.map}: use auto, {', '.join(k.lower() for k in PRESETS)} or a .json file"
        )
    return ApplyOptions(
        target="SELECTED" if args.rig else "NEW",
        bone_map=bone_map,
        custom_map_path=custom,
        person=args.person,
        motion=MotionOptions(
            root_motion=not args.no_root_motion,
            put_on_floor=not args.no_floor,
            foot_locking=not args.no_foot_locking,
            flat_feet=not args.no_flat_feet,
            smoothing=args.smoothing,
        ),
        video_path=str(video.resolve()),
    )


@dataclass
class Outcome:
    video: Path
    ok: bool
    message: str
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def output_blend(args: argparse.Namespace, video: Path, several: bool) -> Path:
    out: Path | None = args.out
    if out is not None and out.suffix == ".blend" and not several:
        return out
    folder = out if out is not None else REPO / "out" / "batch"
    return folder / f"{video.stem}.blend"


def process(
    args: argparse.Namespace, video: Path, several: bool, client: ServerClient, server: LocalServer
) -> Outcome:
    started = time.monotonic()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    context = bpy.context
    options = apply_options(args, video)
    if args.rig:
        blend_path, _, name = args.rig.rpartition(":")
        if not blend_path or not name:
            raise BatchError(f"--rig {args.rig}: use FILE.blend:ArmatureName")
        append_rig(context, Path(blend_path), name)
    launch = (
        None if args.no_autostart else LaunchSettings(args.python, default_project_dir(), args.server_args)
    )
    job = LiftJob(video, server_options(args), client, server, launch)
    job.run()  # synchronous: no timers in background Blender
    final = [m for m in job.drain() if m.kind != "progress"]
    if not final or final[-1].kind != "result" or final[-1].document is None:
        raise BatchError(final[-1].text if final else "the job ended without an answer")
    result = parse_result(final[-1].document)
    summary = apply_result(context, result, options)
    blend = output_blend(args, video, several)
    blend.parent.mkdir(parents=True, exist_ok=True)
    result_json = blend.with_suffix(".json")  # the finepose.result/1 document, next to the .blend
    result_json.write_text(json.dumps(final[-1].document), encoding="utf-8")
    outputs: list[Path] = [result_json]
    for name in summary.armatures:
        armature = bpy.data.objects[name]
        if args.export_fbx:
            outputs.append(export_fbx(context, armature, args.export_fbx / video.stem))
        if args.export_bvh:
            outputs.append(export_bvh(context, armature, args.export_bvh / video.stem))
    bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    outputs.insert(0, blend)
    if args.preview and summary.camera:
        preview = args.preview if not several else args.preview.parent / f"{video.stem}{args.preview.suffix}"
        frame = None if args.preview_frame is None else args.preview_frame + 1
        outputs.append(
            render_preview(
                context,
                summary.armatures,
                summary.camera,
                options.video_path,
                result.frame_count,
                preview,
                frame,
            )
        )
    for person in result.people:  # the words each person was lifted with, to correct and lift again
        print(f"  person {person.id}: {person.words_line()}", flush=True)
    people = ", ".join(summary.armatures)
    first, last = summary.frame_range
    message = f"{people}: frames {first}–{last}" + "".join(f"; {w}" for w in summary.warnings)
    return Outcome(video, True, message, outputs, time.monotonic() - started)


def run(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(script_arguments(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        videos = videos_of(args.video)
    except BatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    client = ServerClient(args.server, args.token, args.timeout)
    server = LocalServer()
    several = len(videos) > 1
    outcomes: list[Outcome] = []
    try:
        for video in videos:
            print(f"lifting {video} …", flush=True)
            try:
                outcome = process(args, video, several, client, server)
            except (BatchError, ServerError, ApplyError, ResultFileError, ExportError, OSError) as error:
                outcome = Outcome(video, False, str(error))
            except Exception as error:  # one broken video must not stop the others
                traceback.print_exc()
                outcome = Outcome(video, False, f"unexpected {type(error).__name__}: {error}")
            outcomes.append(outcome)
            print(("  ok: " if outcome.ok else "  FAILED: ") + outcome.message, flush=True)
            for path in outcome.outputs:
                print(f"  wrote {path}", flush=True)
    finally:
        server.stop()
    print("\nvideo | result | seconds | outputs")
    for outcome in outcomes:
        status = f"{'ok' if outcome.ok else 'FAILED'}: {outcome.message.splitlines()[0]}"
        print(f"{outcome.video.name} | {status} | {outcome.seconds:.1f} | {len(outcome.outputs)}")
    failed = sum(not o.ok for o in outcomes)
    print(
        f"{len(outcomes) - failed} of {len(outcomes)} videos lifted"
        + (f", {failed} failed" if failed else "")
    )
    return 1 if failed else 0


def main() -> None:
    code = run(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # In `blender -b -P`, SystemExit from a script is swallowed and Blender exits 0; leave with our code.
    os._exit(code)


if __name__ == "__main__":
    main()
