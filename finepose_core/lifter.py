"""The public inference API: 2D keypoints of people in pixels → root-relative 3D joints with uncertainty.

    lifter = Lifter.from_checkpoint("finepose.pt", device="auto")
    result = lifter.lift(keypoints2d, K, image_size, prompts=Prompts(action="walking"), fps=30)
    result.joints3d      # [F, 17, 3] metres, root-relative, camera orientation
    result.uncertainty   # [F, 17] metres, spread of the hypotheses

Sequences of any length are cut into overlapping windows of the model's N frames and blended back; all
windows of all people, all hypotheses, prompt variants and mirrored copies run batched, in groups of about
`max_batch` network sequences (progress is reported and a cancellation honoured between groups).
Prompt embeddings are computed once per distinct prompt set of a lift (a person's windows share one unless
their parts are described window by window), the text features once per distinct text, ever.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from finepose_core.assets import default_checkpoint_path
from finepose_core.captions import with_described_parts
from finepose_core.checkpoint import Checkpoint
from finepose_core.data.windows import WindowPlan
from finepose_core.devices import DEFAULT_DEVICE, resolve_device
from finepose_core.diffusion import aggregation
from finepose_core.diffusion.ddim import DDIMScheduler
from finepose_core.diffusion.sampler import HypothesisSampler, SamplingOptions
from finepose_core.diffusion.schedule import NoiseSchedule
from finepose_core.geometry.camera import (
    estimate_root_translation,
    from_virtual,
    normalize_window,
    person_rotations,
)
from finepose_core.model.denoiser import FinePoseDenoiser
from finepose_core.model.prompts import (
    PART_KEYS,
    PROMPT_KEYS,
    PartPrompt,
    PromptEmbedding,
    Prompts,
    speed_from_keypoints,
)
from finepose_core.model.text_encoders import (
    MINILM_ID,
    MiniLMTextEncoder,
    TextEncoder,
    TextFeatureCache,
    load_text_encoder,
)
from finepose_core.sequence import interpolate_missing
from finepose_core.skeleton import BODY_PARTS, H36M_JOINTS, NUM_H36M_JOINTS

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LiftOptions:
    hypotheses: int = 5  # H
    steps: int = 5  # K, DDIM steps
    eta: float = 0.0  # DDIM stochasticity
    flip: bool = True  # average with the left/right mirror at every step
    # mean | jpma | median. The mean is the default because it is the better choice on the validation
    # subjects with the default checkpoint (docs/model.md): its hypotheses spread widely, and JPMA's
    # per-joint, per-frame choice adds that spread as jitter.
    aggregation: str = "mean"
    overlap: int | None = None  # frames shared by neighbouring windows; default N // 4
    seed: int = 0
    return_hypotheses: bool = False
    # Sequences per network call; None: by device. On a CPU, calls of a few dozen sequences are faster than
    # one large call (the working set stays in cache; benchmarks/lift_throughput.py measures it); a GPU
    # wants large batches.
    max_batch: int | None = None
    precision: str = "fp32"  # fp32 | bf16 | fp16 (the last two on CUDA only)

    def __post_init__(self) -> None:
        if self.hypotheses < 1 or self.steps < 1:
            raise ValueError("hypotheses and steps must be at least 1")
        if self.aggregation not in aggregation.METHODS:
            raise ValueError(f"aggregation must be one of {', '.join(aggregation.METHODS)}")
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise ValueError("precision must be fp32, bf16 or fp16")


@dataclass
class PersonInput:
    keypoints2d: NDArray[np.floating[Any]]  # [F, 17, 2] pixels, NaN where unknown
    confidence: NDArray[np.floating[Any]] | None = None  # [F, 17]
    prompts: Prompts = field(default_factory=Prompts)
    # The person's 3D from another source per frame [F, 17, 3] (MediaPipe's own; NaN where unknown): with
    # it, each window's parts that the prompts leave without words are described from it
    # (captions.with_described_parts); `up` is the world's up in its frame (None: estimated)
    describe_from: NDArray[np.floating[Any]] | None = None
    up: NDArray[np.floating[Any]] | None = None


@dataclass
class LiftResult:
    joints3d: FloatArray  # [F, 17, 3] root-relative metres, camera orientation
    uncertainty: FloatArray  # [F, 17] metres
    root_translation: FloatArray  # [F, 3] camera space, from the 2D and the lifted pose; NaN if unknown
    texts: dict[str, str]  # the seven prompt texts used (for described parts, the most frequent words)
    hypotheses: FloatArray | None = None  # [H, F, 17, 3] when asked for
    # where each part's words came from: "user", "auto" (described, in most windows) or "none"
    sources: dict[str, str] = field(default_factory=dict)
    # per window: (first frame, frame after the last, the four part texts)
    window_texts: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)


@dataclass
class WindowBatch:
    """What `Lifter.prepare` makes of several people's keypoints for one batched sampling."""

    people: list[PersonInput]
    pixels: list[FloatArray]  # per person [F, 17, 2], gaps filled
    plans: list[WindowPlan]  # per person, how the frames are cut into windows
    speeds: list[str]  # per person, resolved (never "auto")
    prompts: list[Prompts]  # per window: the person's prompts, parts described where asked
    sources: list[dict[str, str]]  # per window: where each part's words came from
    keypoints: torch.Tensor  # [W_all, N, 17, 2] normalised model input of every window
    rotations: NDArray[np.float64] | None  # [W_all, N, 3, 3] virtual-camera rotations ("person" input)
    prompt_sets: torch.Tensor  # [W_all] each window's distinct prompt set
    embedding: PromptEmbedding  # [S·V] prompt embeddings of the distinct sets, set-major
    weights: torch.Tensor  # [S, V, 17] guidance weights
    # [S·V] the same for the mirror image (left and right swapped in the words), where flip augmentation
    # runs and some words name a side; the mirrored copy of a window must not be told "right arm raised"
    # when its raised arm is now the left
    mirrored: PromptEmbedding | None = None


def _part_texts(prompts: Prompts) -> dict[str, str]:
    return {part: prompts.part(part).description for part in PART_KEYS}


def _summary_texts(
    prompts: list[Prompts], sources: list[dict[str, str]], speed: str
) -> tuple[dict[str, str], dict[str, str]]:
    """A person's seven texts and each part's source over their windows: per text the most frequent."""
    all_texts = [p.texts(speed)[0] for p in prompts]
    texts = {key: Counter(t[k] for t in all_texts).most_common(1)[0][0] for k, key in enumerate(PROMPT_KEYS)}
    summary = {part: Counter(s[part] for s in sources).most_common(1)[0][0] for part in PART_KEYS}
    return texts, summary


def guidance_weights(prompts: Prompts, variant_parts: list[str]) -> NDArray[np.float32]:
    """[V, J] weights of the full prediction (row 0) and of each part-off variant, per joint."""
    weights = np.zeros((1 + len(variant_parts), NUM_H36M_JOINTS), np.float32)
    weights[0] = 1.0
    for v, part in enumerate(variant_parts, start=1):
        strength = prompts.part(part).strength
        joints = list(BODY_PARTS[part])
        weights[0, joints] = strength
        weights[v, joints] = 1.0 - strength
    return weights


class Lifter:
    def __init__(
        self,
        model: FinePoseDenoiser,
        cache: TextFeatureCache,
        device: str = DEFAULT_DEVICE,
        name: str = "",
        sha256: str = "",
        schedule: NoiseSchedule | None = None,
        input_normalization: str = "image",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device = resolve_device(device)
        # the checkpoint's training summary and validation metrics, for clients that show them
        self.metadata = metadata or {}
        self.model = model.to(self.device).eval()
        self.model.requires_grad_(False)
        self.cache = cache
        self.name = name
        self.sha256 = sha256
        self.schedule = schedule or NoiseSchedule.cosine()
        self.input_normalization = input_normalization

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path | None = None,
        device: str = DEFAULT_DEVICE,
        text_encoder: TextEncoder | str | None = None,
    ) -> Lifter:
        """Load a checkpoint; without a path, the project's default one (or $FINEPOSE_CHECKPOINT)."""
        checkpoint = Checkpoint.load(Path(path) if path is not None else default_checkpoint_path())
        encoder = load_text_encoder(text_encoder) if isinstance(text_encoder, str) else text_encoder
        loader = MiniLMTextEncoder if encoder is None and checkpoint.text_encoder_id == MINILM_ID else None
        cache = TextFeatureCache(
            checkpoint.text_encoder_id,
            checkpoint.text_width,
            checkpoint.text_features,
            encoder,
            loader,
            tokens=checkpoint.config.encoded_tokens,
        )
        return cls(
            checkpoint.build_model(),
            cache,
            device,
            checkpoint.name,
            checkpoint.sha256,
            input_normalization=checkpoint.input_normalization,
            metadata={"training": checkpoint.training, "validation": checkpoint.validation},
        )

    @property
    def window(self) -> int:
        return self.model.config.frames

    @property
    def reads_descriptions(self) -> bool:
        """Whether the checkpoint was trained with described body parts (captions.py), so that words
        described from a pose mean something to it; earlier checkpoints saw only the bare part names."""
        config = self.metadata.get("training", {}).get("config", {})
        return float(config.get("described_parts", 0.0)) > 0.0

    def lift(
        self,
        keypoints2d: NDArray[np.floating[Any]],
        K: NDArray[np.floating[Any]],
        image_size: tuple[int, int],
        confidence: NDArray[np.floating[Any]] | None = None,
        prompts: Prompts | None = None,
        fps: float = 30.0,
        options: LiftOptions | None = None,
    ) -> LiftResult:
        person = PersonInput(keypoints2d, confidence, prompts or Prompts())
        return self.lift_people([person], K, image_size, fps, options)[0]

    def encode_prompts(
        self, prompts: list[Prompts], speeds: list[str]
    ) -> tuple[PromptEmbedding, torch.Tensor]:
        """P for every prompt set and prompt variant ([S·V], ordered set-major), and weights [S, V, J]."""
        variant_parts = sorted({part for p in prompts for part in p.guided_parts()})
        features, nulled, weights = [], [], []
        for prompt, speed in zip(prompts, speeds, strict=True):
            texts, base_null = prompt.texts(speed)
            set_features = self.cache.prompt_features([texts], [base_null])[0]
            for part in [None, *variant_parts]:
                mask = list(base_null)
                if part is not None:
                    mask[PROMPT_KEYS.index(part)] = True
                features.append(set_features)
                nulled.append(mask)
            weights.append(guidance_weights(prompt, variant_parts))
        text = torch.stack(features).to(self.device)
        null = torch.tensor(nulled, dtype=torch.bool, device=self.device)
        with torch.inference_mode():
            embedding = self.model.encode_prompts(text, null)
        return embedding, torch.from_numpy(np.stack(weights)).to(self.device)

    def lift_people(
        self,
        people: list[PersonInput],
        K: NDArray[np.floating[Any]],
        image_size: tuple[int, int],
        fps: float = 30.0,
        options: LiftOptions | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> list[LiftResult]:
        """Lift several people seen by one camera (each with its own frames and prompts) in one batch.

        `progress` gets the fraction of windows done after each group of windows; an exception raised by
        it (a cancellation) stops the lift there.
        """
        options = options or LiftOptions()
        if not people:
            return []
        batch = self.prepare(people, K, image_size, fps, options)
        samples = self.sample(batch, options, progress)
        return self.assemble(batch, samples, K, options)

    def prepare(
        self,
        people: list[PersonInput],
        K: NDArray[np.floating[Any]],
        image_size: tuple[int, int],
        fps: float,
        options: LiftOptions,
    ) -> WindowBatch:
        """Every person's keypoints (gaps filled) cut into the model's windows and normalised, their
        speeds resolved, each window's prompts (parts described from the person's other 3D where given),
        and the prompt embeddings and guidance weights of every window."""
        width, height = image_size
        overlap = self.window // 4 if options.overlap is None else options.overlap
        pixels, plans, windows, rotations, owners = [], [], [], [], []
        window_prompts: list[Prompts] = []
        window_sources: list[dict[str, str]] = []
        for index, person in enumerate(people):
            filled = self._checked_keypoints(person.keypoints2d, index)
            pixels.append(filled)
            plan = WindowPlan.create(len(filled), self.window, min(overlap, self.window - 1))
            plans.append(plan)
            cut = plan.cut(filled)
            windows.append(normalize_window(cut, self.input_normalization, width, height, K))
            if self.input_normalization == "person":
                rotations.append(person_rotations(cut, K))
            owners.extend([index] * plan.count)
            references = None if person.describe_from is None else plan.cut(np.asarray(person.describe_from))
            seen = None
            if references is not None and person.confidence is not None:
                seen = plan.cut(np.asarray(person.confidence, np.float64))
            for w in range(plan.count):
                reference = None if references is None else references[w]
                prompt, sources = with_described_parts(
                    person.prompts, reference, fps, person.up, None if seen is None else seen[w]
                )
                window_prompts.append(prompt)
                window_sources.append(sources)
        speeds = [
            p.prompts.speed if p.prompts.speed != "auto" else speed_from_keypoints(px, fps)
            for p, px in zip(people, pixels, strict=True)
        ]
        # one embedding per distinct prompt set: windows that share their texts, nulls and strengths share it
        distinct: dict[tuple[Any, ...], int] = {}
        set_prompts: list[Prompts] = []
        set_speeds: list[str] = []
        window_sets: list[int] = []
        for prompt, owner in zip(window_prompts, owners, strict=True):
            texts, nulled = prompt.texts(speeds[owner])
            key = (*texts, *nulled, *(prompt.part(part).strength for part in PART_KEYS))
            if key not in distinct:
                distinct[key] = len(set_prompts)
                set_prompts.append(prompt)
                set_speeds.append(speeds[owner])
            window_sets.append(distinct[key])
        embedding, weights = self.encode_prompts(set_prompts, set_speeds)
        mirrored = None
        if options.flip:
            mirrored_prompts = [p.mirrored() for p in set_prompts]
            if mirrored_prompts != set_prompts:
                mirrored, _ = self.encode_prompts(mirrored_prompts, set_speeds)
        return WindowBatch(
            people=people,
            pixels=pixels,
            plans=plans,
            speeds=speeds,
            prompts=window_prompts,
            sources=window_sources,
            keypoints=torch.from_numpy(np.concatenate(windows)).float().to(self.device),
            rotations=np.concatenate(rotations) if rotations else None,
            prompt_sets=torch.tensor(window_sets, device=self.device),
            embedding=embedding,
            weights=weights,
            mirrored=mirrored,
        )

    def sample(
        self, batch: WindowBatch, options: LiftOptions, progress: Callable[[float], None] | None = None
    ) -> NDArray[np.floating[Any]]:
        """H hypotheses of every window [H, W_all, N, J, 3], in the real camera's orientation.

        Windows go through the sampler in groups so that a caller sees progress and can stop the lift (its
        callback raises) at a group boundary; one group holds about `max_batch` network sequences.
        """
        variants = batch.weights.shape[1]
        sets = batch.prompt_sets
        rows = (sets[:, None] * variants + torch.arange(variants, device=self.device)[None]).reshape(-1)
        scheduler = DDIMScheduler(self.schedule, eta=options.eta)
        sampler = HypothesisSampler(self.model, scheduler)
        max_batch = options.max_batch or (32 if self.device.type == "cpu" else 1024)
        sampling = SamplingOptions(options.hypotheses, options.steps, options.flip, max_batch)
        generator = torch.Generator().manual_seed(options.seed)
        # Groups are sized without the prompt variants (the sampler chunks its network calls to max_batch
        # anyway), so that a window draws the same noise whatever the guidance strengths: a strength sweep
        # then compares the strengths, not different draws.
        group = max(1, max_batch // (options.hypotheses * (2 if options.flip else 1)))
        report = progress or (lambda fraction: None)
        total = len(sets)
        parts = []
        for start in range(0, total, group):
            chunk = slice(start, start + group)
            chunk_rows = rows.view(-1, variants)[chunk].reshape(-1)
            with self._autocast(options.precision):
                samples = sampler.sample(
                    batch.keypoints[chunk],
                    batch.embedding[chunk_rows],
                    batch.weights[sets[chunk]],
                    sampling,
                    generator,
                    None if batch.mirrored is None else batch.mirrored[chunk_rows],
                )
            parts.append(samples.float().cpu().numpy())
            report(min(start + group, total) / total)
        samples_np: NDArray[np.floating[Any]] = np.concatenate(parts, axis=1)  # [H, W_all, N, J, 3]
        if batch.rotations is not None:  # from each frame's virtual camera back to the real one
            samples_np = from_virtual(samples_np, batch.rotations[None])
        return samples_np

    def assemble(
        self,
        batch: WindowBatch,
        samples: NDArray[np.floating[Any]],
        K: NDArray[np.floating[Any]],
        options: LiftOptions,
    ) -> list[LiftResult]:
        """Each person's windows blended back into one sequence, the hypotheses aggregated, the spread
        kept as the uncertainty."""
        results, first = [], 0
        for person, plan, filled, speed in zip(
            batch.people, batch.plans, batch.pixels, batch.speeds, strict=True
        ):
            hyps = plan.blend(samples[:, first : first + plan.count], axis=1)  # [H, F, J, 3]
            # the network's pelvis drifts off the origin; the output contract is root-relative, and the
            # root's position comes from placement, not from the lifter
            hyps = hyps - hyps[:, :, :1]
            pose = aggregation.aggregate(options.aggregation, hyps, filled, K, person.confidence)
            windows = range(first, first + plan.count)
            first += plan.count
            texts, sources = _summary_texts(
                [batch.prompts[w] for w in windows], [batch.sources[w] for w in windows], speed
            )
            frames = len(filled)
            results.append(
                LiftResult(
                    joints3d=pose,
                    uncertainty=aggregation.uncertainty(hyps),
                    root_translation=estimate_root_translation(pose, filled, K, person.confidence),
                    texts=texts,
                    hypotheses=hyps if options.return_hypotheses else None,
                    sources=sources,
                    window_texts=[
                        (min(start, frames), min(start + plan.size, frames), _part_texts(batch.prompts[w]))
                        for start, w in zip(plan.starts, windows, strict=True)
                    ],
                )
            )
        return results

    def _checked_keypoints(self, keypoints2d: NDArray[np.floating[Any]], index: int) -> FloatArray:
        points = np.asarray(keypoints2d, dtype=np.float64)
        if points.ndim != 3 or points.shape[1:] != (NUM_H36M_JOINTS, 2) or len(points) == 0:
            raise ValueError(f"person {index}: keypoints must be [F, 17, 2] with F ≥ 1, got {points.shape}")
        filled, _ = interpolate_missing(points)
        never_seen = [H36M_JOINTS[j] for j in range(NUM_H36M_JOINTS) if not np.isfinite(filled[:, j]).all()]
        if never_seen:
            raise ValueError(f"person {index}: joints {', '.join(never_seen)} are unknown in every frame")
        return filled

    def _autocast(self, precision: str) -> torch.autocast:
        enabled = precision != "fp32" and self.device.type == "cuda"
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype, enabled=enabled)


__all__ = ["LiftOptions", "LiftResult", "Lifter", "PartPrompt", "PersonInput", "Prompts"]
