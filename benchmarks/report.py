"""Markdown tables from the JSON that `make bench` wrote (runs/bench/), for docs/; also the validation
video's (`benchmarks/quality_rendered.py --rendered runs/val_rendered --json runs/bench/quality_val_rendered.json`
and `benchmarks/depth_weight.py --json runs/bench/depth_weight_val.json`) where they were written.

Usage: python benchmarks/report.py [--bench runs/bench]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def load(folder: Path, name: str) -> Any:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def throughput(report: Any) -> list[str]:
    lines = ["| preset | device | H | K | frames/s | measured |", "|---|---|---|---|---|---|"]
    for row in report["rows"]:
        lines.append(
            f"| {row['preset']} | {row['device']} | {row['H']} | {row['K']} | {row['frames_per_s']:,} | {row['measured']} |"
        )
    compute = report.get("compute", {})
    if compute:
        lines.insert(0, "")
        parts = [
            f"{name}: {c['gflop_per_step_h1']} GFLOP per step at H = 1, {c['achieved_gflops_h20']} GFLOP/s at H = 20"
            for name, c in compute.items()
            if isinstance(c, dict)
        ]
        lines.insert(
            0,
            f"{report['device']} fp32 matmul peak {compute['matmul_peak_gflops']} GFLOP/s; "
            + "; ".join(parts)
            + ".",
        )
    lines += [
        "",
        "| comparison | windows | H | K | with (s) | without (s) | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["text_cache"]:
        lines.append(
            f"| text features cached / re-encoded every step ({row.get('encoder', 'MiniLM')}) | {row['windows']} | {row['H']} | {row['K']} | {row['cached_s']} | {row['reencoded_s']} | {row['speedup']}× |"
        )
    for row in report["batched_hypotheses"]:
        lines.append(
            f"| hypotheses batched / looped | {row['windows']} | {row['H']} | {row['K']} | {row['batched_s']} | {row['loop_s']} | {row['speedup']}× |"
        )
    return lines


def end_to_end(report: Any) -> list[str]:
    lines = [
        f"Clip: {report['clip']}; model and text encoder loading (once per server) {report['model_load_s']} s.",
        "",
        "| preset | detect (s) | track | lift | place | total | × real time | people |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['preset']} | {row['detect']} | {row['track']} | {row['lift']} | {row['place']} | "
            f"{row['total_s']} | {row['realtime_factor']} | {row['people']} |"
        )
    return lines


def keyframes(report: Any) -> list[str]:
    bulk, single = report["foreach_set"], report["keyframe_insert"]
    return [
        f"{report['keys']:,} keys (2 armatures × {report['bones']} bones × {report['frames']} frames): "
        f"`foreach_set` {bulk['seconds']} s ({bulk['keys_per_s']:,} keys/s), `keyframe_insert` "
        f"{single['seconds']} s ({single['keys_per_s']:,} keys/s): **{report['speedup']}×**."
    ]


def memory(report: Any) -> list[str]:
    return [
        f"Server with the default checkpoint on the CPU: {report['idle_rss_mb']} MB resident idle; "
        f"{report['job_peak_rss_mb']} MB sampled peak during a {report['preset']} job on the 10-second clip "
        f"(high-water mark {report['high_water_mb']} MB)."
    ]


def _triple(scores: dict[str, Any]) -> str:
    accel = scores.get("accel_mm")
    return f"{scores['mpjpe_mm']} / {scores['p_mpjpe_mm']}" + (f" / {accel}" if accel is not None else "")


def accuracy(folder: Path) -> list[str]:
    lines = []
    for kind in ("exact", "noisy"):
        report = load(folder, f"accuracy_val_{kind}")
        if report:
            off = report.get("without_prompts") or {}
            lines.append(
                f"- held-out CMU windows, {kind} 2D: MPJPE {report['mpjpe_mm']}, P-MPJPE {report['p_mpjpe_mm']}, "
                f"MPJVE {report['mpjve_mm']} mm/frame; prompts nulled: {off.get('mpjpe_mm')} / {off.get('p_mpjpe_mm')}"
            )
    rendered = load(folder, "accuracy_rendered")
    if rendered:
        lines += ["", *quality_table(rendered)]
    return lines


def quality_table(report: Any) -> list[str]:
    lines = [
        "| clip | people | exact 2D MPJPE / P-MPJPE | detected | id switches | pipeline MPJPE / P-MPJPE / accel "
        "| lifter's depth alone | root error | MediaPipe 3D MPJPE / P-MPJPE / accel |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for clip in report["clips"]:
        exact, pipe, mp = clip["lifter_exact_2d"], clip["pipeline"], clip["mediapipe_3d"]
        alone = clip.get("pipeline_lifter_depth")
        lines.append(
            f"| {clip['clip']} | {clip['people']} | {exact['mpjpe_mm']} / {exact['p_mpjpe_mm']} | "
            f"{100 * pipe['detection_rate']:.0f} % | {pipe['id_switches']} | {_triple(pipe)} | "
            f"{_triple(alone) if alone else '–'} | {pipe['root_error_m']} m | {_triple(mp)} |"
        )
    return lines


def depth_weights(report: Any) -> list[str]:
    """P-MPJPE per validation clip and weight W, and the mean MPJPE / P-MPJPE / accel per weight."""
    weights = list(report["mean"])
    lines = [
        "| W | " + " | ".join(report["clips"]) + " | mean MPJPE / P-MPJPE / accel |",
        "|---|" + "---|" * (len(report["clips"]) + 1),
    ]
    for weight in weights:
        cells = [str(report["clips"][clip][weight]["p_mpjpe_mm"]) for clip in report["clips"]]
        lines.append(f"| {weight} | " + " | ".join(cells) + f" | {_triple(report['mean'][weight])} |")
    lines += ["", f"Lowest mean P-MPJPE: W = {report['best_weight']}."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, default=REPO / "runs/bench")
    args = parser.parse_args(argv)
    sections = {
        "lift_throughput": throughput,
        "end_to_end": end_to_end,
        "keyframes": keyframes,
        "server_memory": memory,
    }
    for name, render in sections.items():
        report = load(args.bench, name)
        if report is not None:
            print(f"### {name}\n")
            print("\n".join(render(report)) + "\n")
    lines = accuracy(args.bench)
    if lines:
        print("### accuracy\n")
        print("\n".join(lines) + "\n")
    validation = {"quality_val_rendered": quality_table, "depth_weight_val": depth_weights}
    for name, render in validation.items():
        report = load(args.bench, name)
        if report is not None:
            print(f"### {name} (validation video: scripts/render_validation_clips.py)\n")
            print("\n".join(render(report)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
