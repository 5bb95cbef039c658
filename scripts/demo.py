"""`make demo`: the headless batch on the bundled sample clip, then where everything is.

It runs scripts/batch.py with the bpy wheel of the project's .venv: a local FinePOSE server is started on a
free port (and stopped at the end), the clip is lifted, and the batch writes a .blend (armature, camera with
the video behind it, scene range and fps), the result JSON, an FBX and a BVH of the person, and a Workbench
preview of the armature over the video.

Usage: python scripts/demo.py [--video PATH] [--out DIR] [--preset fast|balanced|best] [--action TEXT]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from finepose_core.option_flags import add_flags
from finepose_core.option_specs import option_specs
from finepose_core.options import JobOptions
from server.ports import free_port

REPO = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=REPO / "samples/office_walk.mp4")
    parser.add_argument("--out", type=Path, default=REPO / "out/demo")
    demo_options = [spec for spec in option_specs(JobOptions) if spec["name"] in ("preset", "action")]
    add_flags(parser, demo_options)
    parser.set_defaults(action="walking")  # what the sample clip shows
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.video.is_file():
        print(f"error: {args.video}: no such file", file=sys.stderr)
        return 1
    out = args.out.resolve()
    stem = args.video.stem
    command = [
        sys.executable,
        str(REPO / "scripts/batch.py"),
        "--",
        "--video",
        str(args.video),
        "--out",
        str(out / f"{stem}.blend"),
        "--preset",
        args.preset,
        "--action",
        args.action,
        "--export-fbx",
        str(out / "fbx"),
        "--export-bvh",
        str(out / "bvh"),
        "--preview",
        str(out / "preview.png"),
        "--server",
        f"http://127.0.0.1:{free_port()}",  # its own server, whatever else runs on this machine
    ]
    print(f"FinePOSE demo: {args.video.name} → {out}", flush=True)
    batch = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    written = [
        line.split("wrote ", 1)[1] for line in batch.stdout.splitlines() if line.strip().startswith("wrote ")
    ]
    summary = [line for line in batch.stdout.splitlines() if line.strip().startswith(("ok:", "FAILED:"))]
    if batch.returncode != 0 or not written:
        print(batch.stdout[-3000:], file=sys.stderr)
        print(batch.stderr[-3000:], file=sys.stderr)
        print("error: the batch failed (its output is above)", file=sys.stderr)
        return 1
    for line in summary:
        print(f"  {line.strip()}")
    labels = {".blend": "Blender file", ".json": "result (finepose.result/1)", ".fbx": "FBX", ".bvh": "BVH"}
    for path in written:
        suffix = Path(path).suffix
        label = "preview (Workbench, armature over the video)" if suffix == ".png" else labels.get(suffix, "")
        print(f"  {label}: {path}")
    print(
        "Open the .blend in Blender 4.2+ and look through its camera (Numpad 0): the armature is on the clip."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
