"""What the prompts do, measured: the lifter on the held-out validation windows with each source of part text,
and the arms' guidance strength swept with true words.

    python benchmarks/prompt_sources.py [--checkpoint CKPT] [--data DIR] [--every N] [--json OUT]

Sources (finepose_core/evaluate.py): none (every text nulled), action (the action and bare part words),
truth (the describer's words for the ground truth: ORACLE TEXT, standing for a user who describes what they
see), wrong (another window's words). The sweep lifts with the truth's arm words at strengths 0, 1, 1.5
and 2 and reports the arms' error, how far the arms moved from strength 0 towards the truth, and how often
the lifted arms say what the words say (the describer's arm categories of the lifted pose against the
truth's, per frame and attribute). The windows come from `python scripts/export_validation_clips.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finepose_core.assets import default_checkpoint_path
from finepose_core.captions import estimate_up, measure
from finepose_core.data.clip import Clip, load_dataset
from finepose_core.evaluate import clip_prompts, evaluate
from finepose_core.lifter import Lifter, LiftOptions
from finepose_core.model.prompts import PartPrompt
from finepose_core.options import QUALITY_PRESETS
from finepose_core.skeleton import BODY_PARTS

REPO = Path(__file__).resolve().parents[1]
MODES = ("none", "action", "truth", "wrong")
STRENGTHS = (0.0, 1.0, 1.5, 2.0)


ARM_FACTS = tuple(
    f"{side} {what}" for side in ("right", "left") for what in ("arm", "arm direction", "elbow")
)


def arm_agreement(poses: list[NDArray[np.float64]], truths: list[NDArray[np.float64]]) -> float:
    """Per cent of frames × arm attributes (height, direction, elbow) where the describer puts the lifted pose
    in the truth's category; both measured in the truth's up, so only the arms' shape counts."""
    same = total = 0
    for pose, truth in zip(poses, truths, strict=True):
        up = estimate_up(truth)
        lifted, true = measure(pose, up).values, measure(truth, up).values
        for key in ARM_FACTS:
            same += sum(a == b for a, b in zip(lifted[key], true[key], strict=True))
            total += len(true[key])
    return 100.0 * same / max(total, 1)


def strength_sweep(lifter: Lifter, clips: list[Clip], options: LiftOptions) -> list[dict[str, Any]]:
    truth_prompts = clip_prompts(clips, "truth")
    arms = list(BODY_PARTS["arms"])
    poses: dict[float, list[NDArray[np.float64]]] = {}
    for strength in STRENGTHS:
        poses[strength] = []
        for clip, prompts in zip(clips, truth_prompts, strict=True):
            words = prompts.part("arms").description
            parts = {**prompts.parts, "arms": PartPrompt(words, strength)}
            lifted = lifter.lift(
                clip.keypoints2d, clip.K, clip.image_size, clip.confidence2d, replace(prompts, parts=parts),
                clip.fps, options,
            )  # fmt: skip
            poses[strength].append(lifted.joints3d)
    rows = []
    truths = [c.joints3d - c.joints3d[:, :1] for c in clips if c.joints3d is not None]
    for strength in STRENGTHS:
        error = np.concatenate(
            [
                np.linalg.norm(p[:, arms] - t[:, arms], axis=-1).ravel()
                for p, t in zip(poses[strength], truths, strict=True)
            ]
        )
        # towards the words: the share of the strength-0 arm error that this strength removed
        base = np.concatenate(
            [
                np.linalg.norm(p[:, arms] - t[:, arms], axis=-1).ravel()
                for p, t in zip(poses[0.0], truths, strict=True)
            ]
        )
        rows.append(
            {
                "strength": strength,
                "arms_mpjpe_mm": round(1000 * float(error.mean()), 1),
                "closer_than_strength_0_mm": round(1000 * float(base.mean() - error.mean()), 1),
                "arm_words_agree_pct": round(arm_agreement(poses[strength], truths), 1),
            }
        )
    return rows


def word_ceiling(lifter: Lifter, clips: list[Clip], hypotheses: int = 10) -> dict[str, Any]:
    """How much the words could help at most with this model: of H hypotheses drawn without words, per window
    the one whose describer categories (every attribute, every frame) agree most with the truth's words,
    against the mean of the hypotheses and the hypothesis nearest the truth (a full oracle). A model that
    read the words perfectly could at best turn its samples towards the agreeing one; if even that pose is
    hardly better, the words say little that the 2D has not said."""
    options = LiftOptions(hypotheses=hypotheses, steps=2, return_hypotheses=True)
    chosen, mean, nearest, truths = [], [], [], []
    for clip in clips:
        assert clip.joints3d is not None
        truth = clip.joints3d - clip.joints3d[:, :1]
        lifted = lifter.lift(
            clip.keypoints2d, clip.K, clip.image_size, clip.confidence2d, None, clip.fps, options
        )
        assert lifted.hypotheses is not None
        hyps = lifted.hypotheses - lifted.hypotheses[:, :, :1]
        up = estimate_up(truth)
        wanted = measure(truth, up).values
        agreement = []
        for pose in hyps:
            values = measure(pose, up).values
            agreement.append(
                sum(sum(a == b for a, b in zip(values[k], wanted[k], strict=True)) for k in wanted)
            )
        errors = np.linalg.norm(hyps - truth[None], axis=-1).mean(axis=(1, 2))
        chosen.append(hyps[int(np.argmax(agreement))])
        mean.append(hyps.mean(axis=0))
        nearest.append(hyps[int(np.argmin(errors))])
        truths.append(truth)

    def mm(poses: list[NDArray[np.float64]]) -> float:
        return round(
            1000
            * float(
                np.mean([np.linalg.norm(p - t, axis=-1).mean() for p, t in zip(poses, truths, strict=True)])
            ),
            1,
        )

    return {
        "hypotheses": hypotheses,
        "mean_mpjpe_mm": mm(mean),
        "agreeing_with_words_mpjpe_mm": mm(chosen),
        "nearest_truth_mpjpe_mm": mm(nearest),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=REPO / "runs/val_clips/exact")
    parser.add_argument("--preset", default="balanced", choices=list(QUALITY_PRESETS))
    parser.add_argument("--every", type=int, default=1, help="use every n-th window (a quicker estimate)")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--ceiling", action="store_true", help="also: the most the true words could help this model (oracle)"
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(
            f"error: {args.data} not found: run `python scripts/export_validation_clips.py`", file=sys.stderr
        )
        return 1
    preset = QUALITY_PRESETS[args.preset]
    options = LiftOptions(hypotheses=preset.hypotheses, steps=preset.steps, flip=preset.flip)
    lifter = Lifter.from_checkpoint(args.checkpoint or default_checkpoint_path(), device="cpu")
    clips = load_dataset(args.data)[:: max(1, args.every)]
    sources = {}
    for mode in MODES:
        summary = evaluate(lifter, clips, options, prompts=clip_prompts(clips, mode), label=mode)
        sources[mode] = {key: summary[key] for key in ("mpjpe_mm", "p_mpjpe_mm", "mpjve_mm")}
        print(f"{mode:<7} MPJPE {summary['mpjpe_mm']:6.1f}  P-MPJPE {summary['p_mpjpe_mm']:6.1f}", flush=True)
    sweep = strength_sweep(lifter, clips, options)
    for row in sweep:
        print(f"arms strength {row['strength']}: arms MPJPE {row['arms_mpjpe_mm']} mm "
              f"({row['closer_than_strength_0_mm']:+} mm against strength 0), "
              f"arm words agree {row['arm_words_agree_pct']} %")  # fmt: skip
    ceiling = word_ceiling(lifter, clips) if args.ceiling else None
    if ceiling:
        print(
            f"word ceiling over {ceiling['hypotheses']} hypotheses (ORACLE):",
            f"mean {ceiling['mean_mpjpe_mm']} mm,",
            f"agreeing most with the true words {ceiling['agreeing_with_words_mpjpe_mm']} mm,",
            f"nearest the truth {ceiling['nearest_truth_mpjpe_mm']} mm",
        )
    report = {
        "checkpoint": lifter.name,
        "sha256": lifter.sha256,
        "data": str(args.data),
        "windows": len(clips),
        "preset": args.preset,
        "sources": sources,
        "arms_strength": sweep,
        "word_ceiling": ceiling,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
