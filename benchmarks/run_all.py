"""`make bench`: the CPU benchmarks, one after the other, each writing its JSON to runs/bench/.

The quick set (the default; within ten minutes on 2 cores):
    lift_throughput  frames/s of the `small` preset for H × K; text cache and hypothesis batching
    end_to_end       a 10-second 30 fps clip through the whole job, fast and balanced presets
    keyframes        Blender keyframe writing: foreach_set against keyframe_insert
    server_memory    the server's resident memory, idle and during a job
    accuracy         the lifter on the held-out CMU windows with the exact 2D, with and without prompts
                     (needs ../shared; skipped without it)
`--full` adds the `paper` preset's throughput, the best preset end to end, the detector-like windows and
the whole pipeline on the rendered test clips against MediaPipe's own 3D (about half an hour more).

Usage: python benchmarks/run_all.py [--full] [--only NAME,...] [--out runs/bench]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CHECKPOINT = REPO / "finepose_core/checkpoints/finepose_small_cmu.pt"


def commands(out: Path, full: bool) -> dict[str, list[list[str]]]:
    py = sys.executable
    accuracy = [
        [
            py,
            "-m",
            "finepose_core.evaluate",
            "--checkpoint",
            str(CHECKPOINT),
            "--data",
            str(REPO / "runs/val_clips/exact"),
            "--json",
            ">",
            str(out / "accuracy_val_exact.json"),
        ],
    ]
    if full:
        accuracy += [
            [
                py, "-m", "finepose_core.evaluate", "--checkpoint", str(CHECKPOINT), "--json",
                "--data", str(REPO / "runs/val_clips/noisy"), ">", str(out / "accuracy_val_noisy.json"),
            ],
            [py, "benchmarks/quality_rendered.py", "--json", str(out / "accuracy_rendered.json")],
        ]  # fmt: skip
    # written every time (seconds): a folder left by an older checkout may hold another split's windows
    accuracy.insert(0, [py, "scripts/export_validation_clips.py"])
    presets = "small,paper" if full else "small"
    e2e_presets = "fast,balanced,best" if full else "fast,balanced"
    return {
        "lift_throughput": [
            [
                py,
                "benchmarks/lift_throughput.py",
                "--presets",
                presets,
                "--json",
                str(out / "lift_throughput.json"),
            ]
        ],
        "end_to_end": [
            [py, "benchmarks/end_to_end.py", "--presets", e2e_presets, "--json", str(out / "end_to_end.json")]
        ],
        "keyframes": [[py, "benchmarks/keyframes.py", "--json", str(out / "keyframes.json")]],
        "server_memory": [[py, "benchmarks/server_memory.py", "--json", str(out / "server_memory.json")]],
        "accuracy": accuracy,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the whole set (about half an hour more)")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--out", type=Path, default=REPO / "runs/bench")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = commands(args.out, args.full)
    if args.only:
        chosen = {name: chosen[name] for name in args.only.split(",")}
    if "accuracy" in chosen and not SHARED.is_dir():
        print(f"accuracy: skipped, {SHARED} is absent (the held-out mocap and the rendered clips live there)")
        del chosen["accuracy"]
    failed, started = [], time.perf_counter()
    for name, steps in chosen.items():
        print(f"\n=== {name} ===", flush=True)
        begun = time.perf_counter()
        for command in steps:
            target = Path(command[-1]) if len(command) > 2 and command[-2] == ">" else None
            if target is None:
                returncode = subprocess.run(command, cwd=REPO, check=False).returncode
            else:
                with target.open("w") as sink:
                    returncode = subprocess.run(command[:-2], cwd=REPO, check=False, stdout=sink).returncode
            if returncode != 0:
                failed.append(name)
                break
        print(f"({name}: {time.perf_counter() - begun:.0f} s)", flush=True)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s; JSON in {args.out}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
