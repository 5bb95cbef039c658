"""Lifting throughput: frames per second of FinePOSE sampling for H hypotheses × K DDIM steps.

- the `small` and `paper` presets (random weights: speed does not depend on them), on the CPU and on CUDA
  when there is one; flip augmentation on, as in the quality presets;
- text features cached (computed once per distinct text, what the lifter does) against re-encoding the seven
  prompt texts and re-running the prompt learner at every step (what the official code does), with the
  product's MiniLM and with a text tower of the paper's CLIP ViT-B/32 shape (random weights: nothing is
  downloaded, and the arithmetic per text is the same as with CLIP's own);
- all H hypotheses in one batch against a Python loop over them.

Throughput = frames of the input windows / seconds. Where a configuration would take minutes on a CPU (the
paper preset), one denoising step is measured and multiplied by K (every step costs the same); the table
says so in its "measured" column.

Usage: python benchmarks/lift_throughput.py [--presets small,paper] [--device auto|cpu|cuda] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from finepose_core.devices import add_device_flag, resolve_device
from finepose_core.diffusion.ddim import DDIMScheduler
from finepose_core.diffusion.sampler import HypothesisSampler, SamplingOptions
from finepose_core.diffusion.schedule import NoiseSchedule
from finepose_core.model.denoiser import FinePoseDenoiser, preset
from finepose_core.model.prompts import PromptEmbedding
from finepose_core.model.text_encoders import (
    MiniLMTextEncoder,
    OpenClipTextConfig,
    TextEncoder,
    text_tower,
)

TEXTS = ["person", "walking", "normal", "head", "body", "arms raised", "legs"]
CPU_FULL_BUDGET_S = 3.0  # a configuration whose single step takes longer is scaled from one step


def timed(run: Callable[[], Any], warm_up: bool = True) -> float:
    """Seconds of one run. A run under a second is repeated and the second one kept (the first pays for
    allocations and kernel selection); longer runs are not repeated: that cost is lost in them."""

    def once() -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - started

    first = once()
    return once() if warm_up and first < 1.0 else first


class ClipShapedTextEncoder:
    """CLIP ViT-B/32's text tower (12 layers, 512 wide, 77 tokens) with random weights, for timing the
    official code's re-encoding; its features mean nothing."""

    def __init__(self) -> None:
        config = OpenClipTextConfig.from_model_name("ViT-B-32")  # registers the torchvision shim first
        import open_clip

        torch.manual_seed(0)
        self.tower = text_tower(config).eval().requires_grad_(False)
        self.tokenize = open_clip.tokenize
        self._width = config.width

    @property
    def id(self) -> str:
        return "open_clip:ViT-B-32:random"

    @property
    def width(self) -> int:
        return self._width

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        with torch.inference_mode():
            features: torch.Tensor = self.tower(self.tokenize(list(texts)))[1]
        return features[:, :4].float().clone()


class Bench:
    def __init__(
        self, name: str, device: torch.device, encoder: TextEncoder, windows: int | None = None
    ) -> None:
        config = preset(name, text_width=encoder.width)
        torch.manual_seed(0)
        self.model = FinePoseDenoiser(config).to(device).eval().requires_grad_(False)
        self.device = device
        self.encoder = encoder
        self.windows = windows or (4 if config.frames <= 81 else 1)
        self.frames = config.frames
        self.keypoints = torch.randn(self.windows, config.frames, 17, 2, device=device) * 0.3
        self.features = encoder.encode(TEXTS)[None].expand(self.windows, -1, -1, -1).to(device)
        self.nulled = torch.zeros(self.windows, 7, dtype=torch.bool, device=device)
        self.weights = torch.ones(self.windows, 1, 17, device=device)
        self.sampler = HypothesisSampler(self.model, DDIMScheduler(NoiseSchedule.cosine()))

    @property
    def total_frames(self) -> int:
        return self.windows * self.frames

    def prompt(self) -> PromptEmbedding:
        with torch.inference_mode():
            return self.model.encode_prompts(self.features, self.nulled)

    def sample(self, hypotheses: int, steps: int, reencode: bool = False) -> None:
        options = SamplingOptions(
            hypotheses, steps, True, 32 if self.device.type == "cpu" else 1024
        )  # the lifter's
        generator = torch.Generator().manual_seed(0)
        if not reencode:
            self.sampler.sample(self.keypoints, self.prompt(), self.weights, options, generator)
            return
        original = self.sampler.predict_clean

        def reencoding(noisy: Any, keypoints: Any, t: int, prompt: Any, weights: Any, opts: Any) -> Any:
            # the official code's way: the texts go through the text encoder and the prompt learner again
            features = self.encoder.encode(TEXTS)[None].expand(self.windows, -1, -1, -1).to(self.device)
            with torch.inference_mode():
                fresh = self.model.encode_prompts(features, self.nulled)
            return original(noisy, keypoints, t, fresh, weights, opts)

        self.sampler.predict_clean = reencoding  # type: ignore[method-assign,assignment]
        try:
            self.sampler.sample(self.keypoints, self.prompt(), self.weights, options, generator)
        finally:
            self.sampler.predict_clean = original  # type: ignore[method-assign]

    def loop(self, hypotheses: int, steps: int) -> None:
        for _ in range(hypotheses):
            self.sample(1, steps)


class StepTimes:
    """One denoising step's time per H, measured once. On a CPU a step slower than CPU_FULL_BUDGET_S is
    not repeated for K > 1 (steps cost the same), and past H = 5 such a configuration is scaled from H = 5
    (the cost is linear in H once the matrices are large: the step is compute-bound)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.cache: dict[int, float] = {}

    def step(self, hypotheses: int) -> tuple[float, str]:
        cpu = self.bench.device.type == "cpu"
        if cpu and hypotheses > 5 and self.cache.get(5, 0.0) > CPU_FULL_BUDGET_S:
            return self.cache[5] * hypotheses / 5, f"1 step at H=5 × {hypotheses // 5}"
        if hypotheses not in self.cache:
            slow = cpu and self.cache.get(1, 0.0) > CPU_FULL_BUDGET_S / 5
            self.cache[hypotheses] = timed(lambda: self.bench.sample(hypotheses, 1), warm_up=not slow)
        return self.cache[hypotheses], "1 step"


def measure(bench: Bench, times: StepTimes, hypotheses: int, steps: int) -> tuple[float, str]:
    """(seconds for the whole sampling, how it was measured)."""
    one_step, how = times.step(hypotheses)
    if steps == 1:
        return one_step, "full" if how == "1 step" else how
    if bench.device.type == "cpu" and one_step * steps > CPU_FULL_BUDGET_S:
        return one_step * steps, f"{how} × K"
    return timed(lambda: bench.sample(hypotheses, steps)), "full"


def comparisons(name: str, device: torch.device, encoder: TextEncoder) -> dict[str, Any]:
    """The text-feature cache (H = 1 and 5, K = 10; MiniLM and a CLIP-shaped tower) and hypothesis
    batching (H = 20, K = 5), each against the way without it, for one window (a short clip, one person)
    and for four."""
    cache, batch = [], []
    encoders: list[tuple[str, TextEncoder]] = [
        ("MiniLM", encoder),
        ("CLIP ViT-B/32 shape", ClipShapedTextEncoder()),
    ]
    # the CLIP-shaped tower's two cases bracket the four of MiniLM and keep `make bench` under 10 minutes
    cases = {"MiniLM": [(1, 1), (1, 5), (4, 1), (4, 5)], "CLIP ViT-B/32 shape": [(1, 1), (4, 5)]}
    for label, text_encoder in encoders:
        for windows in (1, 4):
            bench = Bench(name, device, text_encoder, windows)
            for hypotheses in (1, 5):
                if (windows, hypotheses) not in cases[label]:
                    continue
                cached = timed(lambda b=bench, h=hypotheses: b.sample(h, 10))  # type: ignore[misc]
                reencoded = timed(lambda b=bench, h=hypotheses: b.sample(h, 10, reencode=True))  # type: ignore[misc]
                cache.append(
                    {"encoder": label, "windows": windows, "H": hypotheses, "K": 10,
                     "cached_s": round(cached, 4), "reencoded_s": round(reencoded, 4),
                     "speedup": round(reencoded / cached, 1)}
                )  # fmt: skip
                print(
                    f"text cache ({label}), {windows} window(s), H={hypotheses}, K=10: "
                    f"{cache[-1]['speedup']}× faster",
                    flush=True,
                )
    for windows in (1, 4):
        bench = Bench(name, device, encoder, windows)
        batched = timed(lambda b=bench: b.sample(20, 5))  # type: ignore[misc]
        looped = timed(lambda b=bench: b.loop(20, 5))  # type: ignore[misc]
        batch.append(
            {"windows": windows, "H": 20, "K": 5, "batched_s": round(batched, 4), "loop_s": round(looped, 4),
             "speedup": round(looped / batched, 1)}
        )  # fmt: skip
        print(
            f"batched hypotheses, {windows} window(s), H=20, K=5: {batch[-1]['speedup']}× faster", flush=True
        )
    return {"text_cache": cache, "batched_hypotheses": batch}


def matmul_peak_gflops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """The device's measured fp32 matrix-multiply rate: the ceiling the network's FLOP/s is compared with."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    seconds = timed(lambda: [a @ b for _ in range(repeats)])
    return 2 * size**3 * repeats / seconds / 1e9


def step_gflop(bench: Bench) -> float:
    """FLOPs of one denoising step at H = 1 (the network, flip included), counted by torch; they grow
    linearly with H."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        bench.sample(1, 1)
    return counter.get_total_flops() / 1e9


def run(presets: list[str], device: torch.device) -> dict[str, Any]:
    encoder = MiniLMTextEncoder()
    rows: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    peak = matmul_peak_gflops(device)
    print(
        f"{device.type} fp32 matmul peak (2048², {torch.get_num_threads()} threads): {peak:.0f} GFLOP/s",
        flush=True,
    )
    compute: dict[str, Any] = {"matmul_peak_gflops": round(peak, 1)}
    for name in presets:
        bench = Bench(name, device, encoder)
        times = StepTimes(bench)
        gflop = step_gflop(bench)
        seconds_20, _ = times.step(20)
        achieved = 20 * gflop / seconds_20
        compute[name] = {"gflop_per_step_h1": round(gflop, 2), "achieved_gflops_h20": round(achieved, 1)}
        share = 100 * achieved / peak
        print(f"{name}: {gflop:.2f} GFLOP/step (H=1); H=20: {achieved:.0f} GFLOP/s ({share:.0f} % of peak)")
        for hypotheses in (1, 5, 20):
            for steps in (1, 5, 10):
                seconds, how = measure(bench, times, hypotheses, steps)
                rows.append(
                    {
                        "preset": name,
                        "device": device.type,
                        "H": hypotheses,
                        "K": steps,
                        "frames_per_s": round(bench.total_frames / seconds, 1),
                        "measured": how,
                    }
                )
                speed = rows[-1]["frames_per_s"]
                print(
                    f"{name:6} {device.type} H={hypotheses:2} K={steps:2}: {speed:9.1f} frames/s ({how})",
                    flush=True,
                )
        if name == "small":
            extras = comparisons(name, device, encoder)
    return {
        "device": device.type,
        "threads": torch.get_num_threads(),
        "compute": compute,
        "rows": rows,
        **extras,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="small,paper")
    add_device_flag(parser)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    report = run(args.presets.split(","), device)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
