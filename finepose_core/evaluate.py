"""Evaluation: `python -m finepose_core.evaluate --data PATH [--checkpoint CKPT] [--prompts MODES]
[--hypotheses H] [--steps K] [--aggregation jpma|mean|median] [--json]`.

PATH is a clip file, a folder of clip files (the rendered evaluation files of ../shared/data/rendered are
read as one clip per person), or a Human3.6M folder in VideoPose3D's layout (its test subjects S9, S11).
Reports MPJPE, P-MPJPE, N-MPJPE, MPJVE (root-relative, millimetres) and PCK@150 mm / AUC, per action
(frame-weighted inside an action, unweighted mean across actions) and overall. Aggregation never sees the
ground truth; `--oracle` adds the J-Best figure, labelled oracle.

`--prompts` runs the same network once per source of prompt text, so that the prompts' effect shows:
  none    every text nulled
  action  the clip's action text and the bare part words (what a user who says nothing more gives)
  truth   the describer's words for the clip's ground-truth 3D — ORACLE TEXT: it stands for a user who
          describes what they see, and is never available to the pipeline itself
  wrong   another clip's truth text (words that do not fit)
  auto    the describer on the detector's own 3D, for data that has it (the pipeline's default; clip files
          carry none, so it is measured on video: benchmarks/prompt_sources.py)
The default, `action,none`, is the comparison of earlier versions (`--no-compare`: `action` only).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from finepose_core import metrics
from finepose_core.assets import default_checkpoint_path
from finepose_core.captions import describe
from finepose_core.checkpoint import CheckpointError
from finepose_core.data.clip import Clip, ClipError, load_dataset
from finepose_core.data.h36m import H36MError, is_h36m_folder, load_h36m_clips
from finepose_core.devices import add_device_flag
from finepose_core.diffusion.aggregation import oracle_joint_best
from finepose_core.lifter import Lifter, LiftOptions
from finepose_core.model.prompts import Prompts
from finepose_core.model.text_encoders import TextEncoderError

log = logging.getLogger("finepose_core.evaluate")


def action_group(action: str) -> str:
    """Actions are grouped by their first word ("Walking 1" → "Walking", "dance - arms" → "dance")."""
    words = re.split(r"[\s,;:]+", action.strip())
    return words[0] if words and words[0] else "(none)"


@dataclass
class ClipScore:
    action: str
    frames: int
    mpjpe: NDArray[np.float64]  # per frame, metres
    p_mpjpe: NDArray[np.float64]
    n_mpjpe: NDArray[np.float64]
    mpjve: float
    pck: float
    auc: float
    oracle_mpjpe: NDArray[np.float64] | None = None


def score_clip(
    pred: NDArray[np.float64], truth: NDArray[np.float64], action: str, oracle: NDArray[np.float64] | None
) -> ClipScore:
    usable = np.isfinite(truth).all(axis=(-2, -1)) & np.isfinite(pred).all(axis=(-2, -1))
    p, g = pred[usable], truth[usable]
    return ClipScore(
        action=action_group(action),
        frames=int(usable.sum()),
        mpjpe=metrics.mpjpe_per_frame(p, g),
        p_mpjpe=metrics.p_mpjpe_per_frame(p, g),
        n_mpjpe=metrics.n_mpjpe_per_frame(p, g),
        mpjve=metrics.mpjve(p, g) if len(p) > 1 else float("nan"),
        pck=metrics.pck(p, g),
        auc=metrics.auc(p, g),
        oracle_mpjpe=None if oracle is None else metrics.mpjpe_per_frame(oracle[usable], g),
    )


def summarise(scores: list[ClipScore]) -> dict[str, Any]:
    """Millimetres; per-action tables frame-weighted inside an action, unweighted across actions."""

    def by_action(attribute: str) -> dict[str, float]:
        table = metrics.aggregate_by_action((s.action, getattr(s, attribute)) for s in scores)
        return {key: round(1000 * value, 2) for key, value in table.items()}

    frames = sum(s.frames for s in scores)
    mpjpe = by_action("mpjpe")
    p_mpjpe = by_action("p_mpjpe")
    n_mpjpe = by_action("n_mpjpe")
    summary: dict[str, Any] = {
        "mpjpe_mm": mpjpe["average"],
        "p_mpjpe_mm": p_mpjpe["average"],
        "n_mpjpe_mm": n_mpjpe["average"],
        "mpjve_mm": round(1000 * float(np.nansum([s.mpjve * s.frames for s in scores]) / max(frames, 1)), 2),
        "pck150": round(float(np.sum([s.pck * s.frames for s in scores]) / max(frames, 1)), 4),
        "auc": round(float(np.sum([s.auc * s.frames for s in scores]) / max(frames, 1)), 4),
        "frames": frames,
        "clips": len(scores),
        "per_action": {
            action: {"mpjpe_mm": mpjpe[action], "p_mpjpe_mm": p_mpjpe[action], "n_mpjpe_mm": n_mpjpe[action]}
            for action in mpjpe
            if action != "average"
        },
    }
    if scores and scores[0].oracle_mpjpe is not None:
        summary["oracle_j_best_mpjpe_mm"] = by_action("oracle_mpjpe")["average"]
    return summary


PROMPT_MODES = ("none", "action", "truth", "wrong", "auto")


def clip_prompts(clips: list[Clip], mode: str) -> list[Prompts]:
    """Each clip's prompts for one source of text (see the module's docstring)."""
    if mode == "none":
        return [Prompts(off=True) for _ in clips]
    if mode == "action":
        return [Prompts(action=clip.action) for clip in clips]
    if mode in ("truth", "wrong"):
        truth = []
        for clip in clips:
            if clip.joints3d is None:
                raise ClipError(f"{clip.source}: has no joints3d to describe")
            words = describe(clip.joints3d, clip.fps)  # ORACLE TEXT: from the ground truth
            truth.append(Prompts(action=clip.action, parts=words.parts))
        if mode == "truth":
            return truth
        # another clip's words: half the list away, so that neighbouring windows of one trial are not used
        shift = max(1, len(clips) // 2)
        return [
            Prompts(action=clip.action, parts=truth[(i + shift) % len(clips)].parts)
            for i, clip in enumerate(clips)
        ]
    if mode == "auto":
        raise ClipError(
            "--prompts auto needs the detector's own 3D, which clip files do not carry; measure it on video "
            "with benchmarks/prompt_sources.py"
        )
    raise ValueError(f"unknown prompt source {mode!r}; use {', '.join(PROMPT_MODES)}")


def evaluate(
    lifter: Lifter,
    clips: list[Clip],
    options: LiftOptions,
    use_prompts: bool = True,
    oracle: bool = False,
    progress: bool = True,
    prompts: list[Prompts] | None = None,
    label: str = "",
) -> dict[str, Any]:
    """`prompts`: one per clip (default: the action text, or every text nulled without `use_prompts`)."""
    scores = []
    given = prompts or clip_prompts(clips, "action" if use_prompts else "none")
    description = f"evaluate ({label})" if label else "evaluate" if use_prompts else "evaluate (no prompts)"
    for clip, clip_prompt in tqdm(
        list(zip(clips, given, strict=True)), desc=description, disable=not progress
    ):
        if clip.joints3d is None:
            raise ClipError(f"{clip.source}: has no joints3d ground truth to evaluate against")
        prompts_used = clip_prompt
        wanted = options if not oracle else LiftOptions(**{**asdict(options), "return_hypotheses": True})
        result = lifter.lift(
            clip.keypoints2d, clip.K, clip.image_size, clip.confidence2d, prompts_used, clip.fps, wanted
        )
        truth = clip.joints3d.astype(np.float64)
        truth = truth - truth[:, :1]
        oracle_pose = None
        if oracle and result.hypotheses is not None:
            oracle_pose = oracle_joint_best(result.hypotheses, truth)  # ORACLE: uses the ground truth
        scores.append(score_clip(result.joints3d, truth, clip.action, oracle_pose))
    return summarise(scores)


def load_any(path: Path) -> list[Clip]:
    if path.is_dir() and is_h36m_folder(path):
        return load_h36m_clips(path)
    return load_dataset(path)


def print_table(name: str, summary: dict[str, Any]) -> None:
    print(f"\n{name}: {summary['clips']} clips, {summary['frames']} frames")
    print(f"  {'action':<22}{'MPJPE':>9}{'P-MPJPE':>9}{'N-MPJPE':>9}")
    for action, row in summary["per_action"].items():
        print(f"  {action:<22}{row['mpjpe_mm']:>9.1f}{row['p_mpjpe_mm']:>9.1f}{row['n_mpjpe_mm']:>9.1f}")
    average = (summary["mpjpe_mm"], summary["p_mpjpe_mm"], summary["n_mpjpe_mm"])
    print(f"  {'average (mm)':<22}" + "".join(f"{value:>9.1f}" for value in average))
    print(
        f"  MPJVE {summary['mpjve_mm']:.1f} mm/frame   PCK@150mm {100 * summary['pck150']:.1f}%   "
        f"AUC {100 * summary['auc']:.1f}%"
    )
    if "oracle_j_best_mpjpe_mm" in summary:
        oracle = summary["oracle_j_best_mpjpe_mm"]
        print(f"  ORACLE J-Best MPJPE (picks hypotheses with the ground truth): {oracle:.1f} mm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m finepose_core.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--checkpoint", type=Path, help="a FinePOSE checkpoint (default: the project's)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument(
        "--prompts",
        default="action,none",
        help="comma-separated sources of prompt text, each evaluated: "
        + ", ".join(PROMPT_MODES)
        + " (truth is oracle text; default action,none)",
    )
    parser.add_argument("--hypotheses", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--aggregation", default="mean", choices=["mean", "jpma", "median"])
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument(
        "--oracle", action="store_true", help="also report J-Best, which uses the ground truth"
    )
    parser.add_argument("--no-compare", action="store_true", help="the same as --prompts action")
    parser.add_argument("--seed", type=int, default=0)
    add_device_flag(parser)
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    options = LiftOptions(
        hypotheses=args.hypotheses,
        steps=args.steps,
        aggregation=args.aggregation,
        flip=not args.no_flip,
        seed=args.seed,
    )
    modes = ["action"] if args.no_compare else [m.strip() for m in args.prompts.split(",") if m.strip()]
    unknown = [mode for mode in modes if mode not in PROMPT_MODES]
    if unknown or not modes:
        parser.error(f"--prompts: unknown {unknown or modes}; use {', '.join(PROMPT_MODES)}")
    checkpoint = args.checkpoint or default_checkpoint_path()
    started = time.monotonic()
    try:
        lifter = Lifter.from_checkpoint(checkpoint, device=args.device)
        clips = load_any(args.data)
        results = {
            mode: evaluate(
                lifter,
                clips,
                options,
                True,
                args.oracle and i == 0,
                not args.json,
                clip_prompts(clips, mode),
                mode,
            )
            for i, mode in enumerate(modes)
        }
    except (CheckpointError, ClipError, H36MError, TextEncoderError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    report = {
        **results[modes[0]],
        "prompts": modes[0],
        "without_prompts": results.get("none") if modes[0] != "none" else None,
        "by_prompts": results,
        "settings": {
            "checkpoint": str(checkpoint),
            "checkpoint_sha256": lifter.sha256,
            "data": str(args.data),
            "hypotheses": args.hypotheses,
            "steps": args.steps,
            "aggregation": args.aggregation,
            "flip": not args.no_flip,
            "seed": args.seed,
            "device": str(lifter.device),
            "seconds": round(time.monotonic() - started, 1),
        },
    }
    if args.json:
        print(json.dumps(report))
    else:
        titles = {
            "none": "without prompts (every text nulled)",
            "action": "with prompts (the action and bare part words)",
            "truth": "with the describer's words for the ground truth (ORACLE TEXT)",
            "wrong": "with another clip's words",
        }
        for mode, summary in results.items():
            print_table(titles.get(mode, mode), summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
