"""Evaluation: `python -m finepose_core.evaluate --checkpoint CKPT --data PATH [--hypotheses H] [--steps K]
[--aggregation jpma|mean|median] [--json]`.

PATH is a clip file, a folder of clip files (the rendered evaluation files of ../shared/data/rendered are
read as one clip per person), or a Human3.6M folder in VideoPose3D's layout (its test subjects S9, S11).
Reports MPJPE, P-MPJPE, N-MPJPE, MPJVE (root-relative, millimetres) and PCK@150 mm / AUC, per action
(frame-weighted inside an action, unweighted mean across actions) and overall. Aggregation never sees the
ground truth; `--oracle` adds the J-Best figure, labelled oracle. Unless `--no-compare`, the same network is
also run with every prompt nulled ("without prompts"), so that the effect of the prompts on this data shows.
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


def evaluate(
    lifter: Lifter,
    clips: list[Clip],
    options: LiftOptions,
    use_prompts: bool = True,
    oracle: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    scores = []
    for clip in tqdm(
        clips, desc="evaluate" if use_prompts else "evaluate (no prompts)", disable=not progress
    ):
        if clip.joints3d is None:
            raise ClipError(f"{clip.source}: has no joints3d ground truth to evaluate against")
        prompts = Prompts(action=clip.action, off=not use_prompts)
        wanted = options if not oracle else LiftOptions(**{**asdict(options), "return_hypotheses": True})
        result = lifter.lift(
            clip.keypoints2d, clip.K, clip.image_size, clip.confidence2d, prompts, clip.fps, wanted
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
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--hypotheses", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--aggregation", default="mean", choices=["mean", "jpma", "median"])
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument(
        "--oracle", action="store_true", help="also report J-Best, which uses the ground truth"
    )
    parser.add_argument("--no-compare", action="store_true", help="skip the run with every prompt nulled")
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
    started = time.monotonic()
    try:
        lifter = Lifter.from_checkpoint(args.checkpoint, device=args.device)
        clips = load_any(args.data)
        with_prompts = evaluate(lifter, clips, options, True, args.oracle, progress=not args.json)
        without = None if args.no_compare else evaluate(lifter, clips, options, False, progress=not args.json)
    except (CheckpointError, ClipError, H36MError, TextEncoderError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    report = {
        **with_prompts,
        "without_prompts": without,
        "settings": {
            "checkpoint": str(args.checkpoint),
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
        print_table("with prompts", with_prompts)
        if without is not None:
            print_table("without prompts (every text nulled)", without)
    return 0


if __name__ == "__main__":
    sys.exit(main())
