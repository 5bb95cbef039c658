"""`python -m finepose_core.lift VIDEO -o result.json`: people in a video → finepose.result/1 JSON.

    python -m finepose_core.lift clip.mp4 -o result.json --action "dancing" \\
        --part arms="raised overhead"@1.5 --preset best --fov 60

Progress is shown per stage; a one-line summary ends the run (people found, frames, time per stage).
Bad input ends with one clear line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from finepose_core.devices import add_device_flag
from finepose_core.model.prompts import PART_KEYS
from finepose_core.option_flags import add_flags, given_options
from finepose_core.option_specs import describe_errors, option_specs
from finepose_core.options import JobOptions
from finepose_core.pipeline import CancelledError, Pipeline, PipelineConfig, PipelineError
from finepose_core.result import camera_summary


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
    add_flags(parser, option_specs(JobOptions))
    add_device_flag(parser)
    parser.add_argument("--checkpoint", help="a FinePOSE checkpoint (default: the project's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--verbose", action="store_true", help="log details (MediaPipe's own start-up messages included)"
    )
    return parser


def words_summary(prompts: dict[str, str], sources: dict[str, str]) -> str:
    """One line of a person's part words and their sources: "arms [auto] left arm down, …; legs [none]"."""
    pieces = []
    for part in PART_KEYS:
        words = prompts.get(part, part).removeprefix(part).strip()
        pieces.append(f"{part} [{sources.get(part, 'none')}]" + (f" {words}" if words else ""))
    return "; ".join(pieces)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.verbose:  # this project's details, not every library's
        logging.getLogger("finepose_core").setLevel(logging.DEBUG)
    bars = StageBars(enabled=not args.quiet)
    started = time.perf_counter()
    try:
        options = JobOptions.model_validate(given_options(args, option_specs(JobOptions)))
        pipeline = Pipeline(PipelineConfig(checkpoint=args.checkpoint, device=args.device))
        result = pipeline.run(args.video, options, progress=bars)
        bars.close()
        result.write_json(args.output)
        if args.npz:
            result.write_npz(args.output.with_suffix(".npz"))
    except ValidationError as error:
        bars.close()
        print(f"error: {describe_errors(error)}", file=sys.stderr)
        return 2
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
    if result.people:
        print(camera_summary(result.camera, result.video.width))
    for person in result.people:  # the words each person was lifted with, to correct and lift again
        print(f"person {person.id}: " + words_summary(person.prompts, person.prompt_sources))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
