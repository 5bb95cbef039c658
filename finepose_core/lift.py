"""`python -m finepose_core.lift VIDEO -o result.json`: people in a video → finepose.result/1 JSON.

    python -m finepose_core.lift clip.mp4 -o result.json --action "dancing" \\
        --part arms="raised overhead"@1.5 --preset best --fov 60

Progress is shown per stage; a one-line summary ends the run (people found, frames, time per stage).
Bad input ends with one clear line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from finepose_core.model.prompts import PART_KEYS, SPEEDS, PartPrompt, Prompts
from finepose_core.pipeline import (
    QUALITY_PRESETS,
    CancelledError,
    JobOptions,
    Pipeline,
    PipelineConfig,
    PipelineError,
)

PART_PATTERN = re.compile(r"^(?P<part>\w+)=(?P<text>.*?)(?:@(?P<strength>[0-9.]+))?$")


def parse_part(value: str) -> tuple[str, PartPrompt]:
    """`arms="raised overhead"@1.5` (the shell removes the quotes) → ("arms", PartPrompt(...))."""
    match = PART_PATTERN.match(value.strip())
    if not match or match.group("part") not in PART_KEYS:
        raise argparse.ArgumentTypeError(
            f"--part {value!r}: use PART=DESCRIPTION[@STRENGTH] with PART one of {', '.join(PART_KEYS)}"
        )
    strength = float(match.group("strength")) if match.group("strength") else 1.0
    text = match.group("text").strip().strip("\"'")
    try:
        return match.group("part"), PartPrompt(text, strength)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--part {value!r}: {error}") from None


class StageBars:
    """One tqdm bar per pipeline stage, created when the stage reports first."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, tqdm[Any]] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(stage)
        if bar is None:
            for other in self.bars.values():
                other.close()
            bar = self.bars[stage] = tqdm(
                total=100, desc=f"{stage:<7}", unit="%", bar_format="{l_bar}{bar}| {elapsed}"
            )
        bar.update(round(100 * fraction) - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m finepose_core.lift", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("video", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True, help="result JSON to write")
    parser.add_argument("--npz", action="store_true", help="also write the arrays next to it as .npz")
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument("--focal-px", type=float, help="focal length in pixels")
    camera.add_argument("--fov", type=float, help="horizontal field of view in degrees")
    parser.add_argument("--max-people", type=int, default=4)
    parser.add_argument("--action", default="", help="what the people do, in free text")
    parser.add_argument("--speed", default="auto", choices=[*SPEEDS, "auto"])
    parser.add_argument(
        "--part",
        action="append",
        type=parse_part,
        default=[],
        metavar='PART="TEXT"@S',
        help='a body part\'s description and guidance strength 0–2, e.g. arms="raised overhead"@1.5',
    )
    parser.add_argument("--preset", default="balanced", choices=list(QUALITY_PRESETS))
    parser.add_argument("--hypotheses", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument(
        "--mediapipe-depth",
        type=float,
        default=0.5,
        metavar="W",
        help="MediaPipe's own 3D's share 0–1 of each joint's depth, blended with the lifter's "
        "(0: the lifter's alone; default 0.5)",
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--end", type=int)
    parser.add_argument("--step", type=int, default=1, help="use every n-th frame")
    parser.add_argument("--checkpoint", help="a FinePOSE checkpoint (default: the project's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--verbose", action="store_true", help="log details (MediaPipe's own start-up messages included)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.verbose:  # this project's details, not every library's
        logging.getLogger("finepose_core").setLevel(logging.DEBUG)
    bars = StageBars(enabled=not args.quiet)
    started = time.perf_counter()
    try:
        options = JobOptions(
            prompts=Prompts(action=args.action, speed=args.speed, parts=dict(args.part)),
            preset=args.preset,
            hypotheses=args.hypotheses,
            steps=args.steps,
            focal_px=args.focal_px,
            fov_deg=args.fov,
            max_people=args.max_people,
            start=args.start,
            end=args.end,
            step=args.step,
            mediapipe_depth=args.mediapipe_depth,
        )
        pipeline = Pipeline(PipelineConfig(checkpoint=args.checkpoint, device=args.device))
        result = pipeline.run(args.video, options, progress=bars)
        bars.close()
        result.write_json(args.output)
        if args.npz:
            result.write_npz(args.output.with_suffix(".npz"))
    except (PipelineError, ValueError, OSError) as error:
        bars.close()
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (CancelledError, KeyboardInterrupt):
        bars.close()
        print("cancelled", file=sys.stderr)
        return 130
    person_frames = sum(len(person.frames) for person in result.people)
    processed = len(range(options.start, options.end or result.video.frame_count, options.step))
    stages = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in result.timings.items())
    total = time.perf_counter() - started
    print(
        f"{len(result.people)} people, {person_frames} person-frames in {processed} frames; "
        f"{stages}; total {total:.1f}s → {args.output}"
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
