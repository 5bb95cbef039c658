"""Training: `python -m finepose_core.train --config PRESET_OR_FILE [--data …] [--out runs/NAME] [--resume]`.

Trains the FinePOSE denoiser on a motion-capture library (BVH, filmed by virtual cameras) with held-out
subjects for validation. Checkpoints are chosen on the validation subjects only, never on test data.

- AdamW, warm-up then cosine or per-epoch exponential learning-rate decay, gradient clipping, AMP (bf16)
  on CUDA, flip augmentation, prompt dropout;
- tqdm progress with loss and ETA, a JSON-lines log (`log.jsonl`), validation every so many steps;
- `best.pt` (lowest validation MPJPE with detector-like 2D) and `last.pt` (also the optimiser and random
  states); `--resume` continues from `last.pt` exactly: samples are a pure function of (seed, index);
- several GPUs with `torchrun --nproc_per_node G -m finepose_core.train …` (DistributedDataParallel):
  every process draws its own disjoint sample indices.

Fine-tune on your own BVH library with one command, for example:
    python -m finepose_core.train --config small --data ~/mocap --joint-map my_rig.json \\
        --init finepose_core/checkpoints/finepose_small_cmu.pt --val-subjects actor3 --out runs/mine
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from finepose_core import metrics
from finepose_core.captions import describe
from finepose_core.checkpoint import Checkpoint, CheckpointError
from finepose_core.data import validation
from finepose_core.data.joint_maps import JointMap, JointMapError, joint_map
from finepose_core.data.mocap import (
    MocapError,
    MocapSequence,
    Window,
    WindowSampler,
    describe_library,
    load_descriptions,
    load_library,
)
from finepose_core.data.pose_perturbation import PosePerturbation
from finepose_core.devices import DEFAULT_DEVICE, add_device_flag, resolve_device
from finepose_core.diffusion.ddim import DDIMScheduler
from finepose_core.diffusion.loss import denoising_loss
from finepose_core.diffusion.sampler import HypothesisSampler, SamplingOptions, mirror
from finepose_core.diffusion.schedule import NoiseSchedule
from finepose_core.geometry.camera import normalize_window, person_rotations, to_virtual
from finepose_core.model.denoiser import DenoiserConfig, FinePoseDenoiser, parameter_count, preset
from finepose_core.model.prompts import (
    PART_KEYS,
    PROMPT_KEYS,
    SPEEDS,
    PartPrompt,
    Prompts,
    adapt_text_tokens,
    prompt_dropout,
    speed_from_keypoints,
)
from finepose_core.model.text_encoders import TextEncoderError, TextFeatureCache, load_text_encoder

log = logging.getLogger("finepose_core.train")


RECIPES = Path(__file__).resolve().parent / "recipes"


@dataclass
class TrainConfig:
    """A training run's settings. Nothing here points at a particular library: give `data` (a folder of
    .bvh files) and a validation split, or start from a recipe (`--config cmu_small`: the default
    checkpoint's split of the CMU library, finepose_core/recipes/)."""

    preset: str = "small"
    model: dict[str, Any] = field(default_factory=dict)  # overrides of the preset's DenoiserConfig
    data: str | None = None  # a folder searched recursively for .bvh files
    descriptions: str | None = None  # CSV of action texts (CMU's index columns)
    joint_map: str = "cmu_mb"
    # Validation, which alone chooses the checkpoint: held-out subjects (folders) and trials (file names).
    val_subjects: list[str] = field(default_factory=list)
    val_trials: list[str] = field(default_factory=list)
    # Trials in neither set, e.g. the motions of test clips.
    exclude_trials: list[str] = field(default_factory=list)
    fps: float = 30.0
    text_encoder: str = "minilm"
    input_normalization: str = "person"
    steps: int = 2400
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 200
    lr_schedule: str = "cosine"  # cosine | exponential (× lr_decay per epoch, the paper's)
    lr_decay: float = 0.993
    grad_clip: float = 1.0
    # learning rate of everything outside the text pathway (prompt learner, prompt-pose cross-attention,
    # PTS) relative to `lr`: below 1 when fine-tuning a model to read new texts, so that the pathway
    # learns at full rate while the pose network it feeds is kept close to its trained weights
    backbone_lr_scale: float = 1.0
    # which modules count as the text pathway (name prefixes); empty: TEXT_PATHWAY. Naming only
    # part_conditioning teaches a trained model a new path to the words while everything it already knew,
    # prompt embeddings included, moves at the backbone's rate.
    text_pathway: list[str] = field(default_factory=list)
    flip_probability: float = 0.5
    prompt_dropout: float = 0.1  # each text nulled independently, on top of the part texts' own nulls
    # Part texts per window: the describer's words for the window's ground truth (finepose_core/captions.py)
    # with this chance, else the bare part word with `bare_parts`, else nulled; and the whole prompt nulled
    # in a share of windows, so that "no prompt at all" is something the model has seen.
    described_parts: float = 0.6
    bare_parts: float = 0.3
    prompt_all_null: float = 0.1
    # phrasing variants per described pose: varied words, few enough that the text cache hits; 0: canonical
    phrasings: int = 4
    text_cache_size: int = 20_000  # described texts kept encoded (the least recently used go first)
    # standardise the text features on a sample of this run's texts (model/prompts.py says why); a model
    # that already carries a standardisation keeps it
    standardize_text: bool = True
    use_prompts: bool = True  # False: the paper's "w/o Prompt" (every text nulled)
    noise_probability: float = 0.8
    # chance that a training window's joints are bent by random smooth rotations (pose_perturbation.py);
    # 0 trains on the captured poses only
    pose_perturbation: float = 0.0
    validate_every: int = 300
    validation_windows: int = 48
    save_every: int = 100
    log_every: int = 10
    seed: int = 0
    max_minutes: float | None = None  # stop (and save) after this much wall time
    init: str | None = None  # start from this checkpoint's weights (fine-tuning)

    @classmethod
    def from_recipe(cls, name: str, library: Path) -> TrainConfig:
        """A recipe of finepose_core/recipes/ on a library folder whose index CSV, if any, lies in it."""
        config = cls.from_file(RECIPES / f"{name}.json")
        descriptions = next(iter(sorted(library.glob("*descriptions*.csv"))), None)
        return replace(config, data=str(library), descriptions=str(descriptions) if descriptions else None)

    @classmethod
    def from_file(cls, path: Path) -> TrainConfig:
        raw = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        return cls(**raw)


class TrainingError(RuntimeError):
    pass


@dataclass
class Batch:
    clean: torch.Tensor  # [B, N, 17, 3] root-relative metres
    keypoints: torch.Tensor  # [B, N, 17, 2] normalised
    texts: list[list[str]]  # 7 texts per sample
    nulled: torch.Tensor  # [B, 7]


def window_texts(
    window: Window,
    config: TrainConfig,
    rng: np.random.Generator | None,
    flipped: bool = False,
    described: bool = False,
) -> tuple[list[str], list[bool]]:
    """The seven texts of a window and which are nulled. Without `rng` (validation): the action and the
    bare part words, or with `described` the describer's canonical words for every part. With it, each
    part's text is the describer's words for the window's true 3D (mirrored when the window is), the bare
    part word or nothing, by the config's shares; and now and then every text is nulled."""
    speed = speed_from_keypoints(window.exact2d, config.fps)
    if rng is None:
        if described:
            canonical = describe(window.joints3d, config.fps, window.up)
            return Prompts(action=window.action, parts=dict(canonical.parts)).texts(speed)
        return Prompts(action=window.action).texts(speed)
    if rng.random() < config.prompt_all_null:
        texts, _ = Prompts(action=window.action).texts(speed)
        return texts, [True] * len(PROMPT_KEYS)
    choices = rng.random(len(PART_KEYS))
    parts: dict[str, PartPrompt] = {}
    if (choices < config.described_parts).any():
        joints, up = window.joints3d, window.up
        if flipped:  # the words must follow the mirrored body: its left arm is the original's right
            joints = mirror(torch.from_numpy(joints)).numpy()
            up = None if up is None else up * np.array([-1.0, 1.0, 1.0])
        seed = int(rng.integers(config.phrasings)) if config.phrasings > 0 else None
        words = describe(joints, config.fps, up, seed=seed)
        parts = {
            p: words.part(p) for p, c in zip(PART_KEYS, choices, strict=True) if c < config.described_parts
        }
    off = choices >= config.described_parts + config.bare_parts
    texts, nulled = Prompts(action=window.action, parts=parts).texts(speed)
    first_part = PROMPT_KEYS.index(PART_KEYS[0])
    for k, part_off in enumerate(off):
        nulled[first_part + k] = nulled[first_part + k] or bool(part_off)
    return texts, nulled


def make_batch(
    windows: list[Window],
    config: TrainConfig,
    rng: np.random.Generator | None,
    device: torch.device,
    described: bool = False,
) -> Batch:
    clean, keypoints, texts, nulled = [], [], [], []
    for window in windows:
        width, height = window.image_size
        x = normalize_window(window.keypoints2d, config.input_normalization, width, height, window.K)
        y = window.joints3d - window.joints3d[:, :1]
        if config.input_normalization == "person":  # the target as the virtual camera sees it
            y = to_virtual(y, person_rotations(window.keypoints2d, window.K))
        flipped = rng is not None and rng.random() < config.flip_probability
        sample_texts, sample_null = window_texts(window, config, rng, flipped, described)
        if not config.use_prompts:
            sample_null = [True] * len(PROMPT_KEYS)
        if flipped:
            x = mirror(torch.from_numpy(x)).numpy()
            y = mirror(torch.from_numpy(y)).numpy()
        clean.append(y)
        keypoints.append(x)
        texts.append(sample_texts)
        nulled.append(sample_null)
    return Batch(
        clean=torch.from_numpy(np.stack(clean)).float().to(device),
        keypoints=torch.from_numpy(np.stack(keypoints)).float().to(device),
        texts=texts,
        nulled=torch.tensor(nulled, dtype=torch.bool, device=device),
    )


def vocabulary(sequences_actions: set[str]) -> list[str]:
    """Every text a training or validation sample can use."""
    words = {"person", *SPEEDS, *PART_KEYS, *(a for a in sequences_actions if a)}
    return sorted(words)


def load_split(
    config: TrainConfig, jm: JointMap, descriptions: dict[tuple[int, int], str]
) -> tuple[list[MocapSequence], list[MocapSequence]]:
    """The training and validation sequences of `config`: validation is its subjects plus its trials; the
    excluded trials are in neither."""
    if config.data is None:
        raise TrainingError(
            "no training data: give --data FOLDER (searched for .bvh files) or a config file that names one"
        )
    data = Path(config.data)
    train = load_library(
        data,
        jm,
        config.fps,
        descriptions,
        exclude_subjects=config.val_subjects,
        exclude_trials=[*config.exclude_trials, *config.val_trials],
    )
    if not config.val_subjects and not config.val_trials:
        return train, []
    val = load_library(
        data,
        jm,
        config.fps,
        descriptions,
        subjects=config.val_subjects,
        trials=config.val_trials,
        exclude_trials=config.exclude_trials,
    )
    return train, val


def validation_windows(
    sequences: list[MocapSequence], jm: JointMap, frames: int, count: int
) -> dict[str, list[Window]]:
    """A fixed validation set, independent of the training seed so runs compare: `count` windows with the
    exact projected 2D and `count` with detector-like 2D, from the held-out subjects."""
    if not sequences:
        return {}
    sampler = WindowSampler(
        sequences,
        jm,
        frames,
        seed=validation.SEED,
        cameras=validation.CAMERAS,
        noise=validation.NOISE,
        scale_groups=validation.scale_groups(jm),
        offsets=validation.detector_offsets(),
    )
    return {
        "exact": [sampler.sample(i, noisy=False) for i in range(count)],
        "noisy": [sampler.sample(validation.NOISY_OFFSET + i, noisy=True) for i in range(count)],
    }


TEXT_PATHWAY: Final = (
    "prompt_learner.",
    "part_conditioning.",
    "cross_norm.",
    "cross_attention.",
    "stylization.",
)


def parameter_groups(
    model: nn.Module, backbone_lr_scale: float, text_pathway: tuple[str, ...] = TEXT_PATHWAY
) -> list[dict[str, Any]]:
    """The optimiser's groups: the text pathway at the full learning rate, the rest scaled."""
    prefixes = tuple(p if p.endswith(".") else p + "." for p in text_pathway)
    text: list[nn.Parameter] = []
    backbone: list[nn.Parameter] = []
    for name, parameter in model.named_parameters():
        (text if name.startswith(prefixes) else backbone).append(parameter)
    return [
        {"params": text, "lr_scale": 1.0},
        {"params": backbone, "lr_scale": backbone_lr_scale},
    ]


def learning_rate(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.lr_schedule == "exponential":
        return config.lr * config.lr_decay ** (step // max(steps_per_epoch, 1))
    progress = (step - config.warmup_steps) / max(config.steps - config.warmup_steps, 1)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class Trainer:
    def __init__(self, config: TrainConfig, out: Path, device: str = DEFAULT_DEVICE) -> None:
        self.config = config
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.rank = int(os.environ.get("RANK", "0"))
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        if self.world > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            torch.distributed.init_process_group(backend)
        self.device = resolve_device(device)
        if self.device.type == "cuda" and self.world > 1:  # one GPU per process under torchrun
            self.device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
            torch.cuda.set_device(self.device)

        jm = joint_map(config.joint_map)
        descriptions = load_descriptions(Path(config.descriptions)) if config.descriptions else {}
        train, val = load_split(config, jm, descriptions)
        model_config = preset(config.preset, **config.model)
        self.encoder_cache = self._text_cache(model_config, {s.action for s in train + val})
        model_config = replace(model_config, text_width=self.encoder_cache.width)
        torch.manual_seed(config.seed)  # the initial weights and drop-path draws follow the seed
        self.model = FinePoseDenoiser(model_config).to(self.device)
        if config.init:
            initial = self._initial_weights(Path(config.init), model_config)
            # a part-conditioning path the initial checkpoint lacks starts as built: its zero output layer
            # leaves the initial function unchanged
            fresh = {k: v for k, v in self.model.state_dict().items() if k.startswith("part_conditioning.")}
            self.model.load_state_dict({**fresh, **initial})
        self.sampler = WindowSampler(
            train,
            jm,
            model_config.frames,
            config.seed,
            noise_probability=config.noise_probability,
            perturb=PosePerturbation(probability=config.pose_perturbation)
            if config.pose_perturbation > 0
            else None,
        )
        standardize_prompts = config.standardize_text and not self.model.prompt_learner.standardized
        part_path = self.model.part_conditioning
        if standardize_prompts or (part_path is not None and not part_path.standardized):
            # a fine-tuned projection is not rescaled to keep its old function: that keeps the differences
            # between texts as faint as before, and the words are what the run is to teach
            self._standardize_text(prompts=standardize_prompts)
        self.validation = validation_windows(val, jm, model_config.frames, config.validation_windows)
        self.data_summary = {
            "train": describe_library(train, config.fps),
            "validation": describe_library(val, config.fps) if val else {},
        }
        self.steps_per_epoch = max(self.sampler.total_frames // (model_config.frames // 4) // config.batch, 1)
        self.schedule = NoiseSchedule.cosine()
        self.optimizer = torch.optim.AdamW(
            parameter_groups(
                self.model, config.backbone_lr_scale, tuple(config.text_pathway) or TEXT_PATHWAY
            ),
            lr=config.lr,
            weight_decay=config.weight_decay,
        )
        self.network: nn.Module = self.model
        if self.world > 1:
            self.network = nn.parallel.DistributedDataParallel(
                self.model, device_ids=None if self.device.type == "cpu" else [self.device]
            )
        self.generator = torch.Generator().manual_seed(config.seed * 1000 + self.rank)
        self.step = 0
        self.best = math.inf

    def _text_cache(self, model_config: DenoiserConfig, actions: set[str]) -> TextFeatureCache:
        try:
            encoder = load_text_encoder(self.config.text_encoder)
        except TextEncoderError as error:
            raise TrainingError(str(error)) from None
        cache = TextFeatureCache.for_encoder(
            encoder, model_config.encoded_tokens, self.config.text_cache_size
        )
        cache.pin(vocabulary(actions))  # the fixed texts, encoded once and kept in checkpoints
        return cache

    def _standardize_text(self, prompts: bool, windows: int = 256) -> None:
        """The text standardisations (the prompt learner's if `prompts`, and a new part-conditioning
        path's) from the texts of a fixed sample of training windows."""
        rng = np.random.default_rng([self.config.seed, 11])
        texts: set[str] = set()
        for index in range(windows):
            sample_texts, nulled = window_texts(self.sampler.sample(index), self.config, rng)
            texts.update(t for t, off in zip(sample_texts, nulled, strict=True) if not off and t)
        features = self.encoder_cache.features(sorted(texts)).to(self.device)
        if prompts:
            self.model.prompt_learner.standardize(features[:, : self.model.config.text_tokens])
        part_path = self.model.part_conditioning
        if part_path is not None and not part_path.standardized:
            part_path.standardize(self.model.sentence_features(features))
        log.info("text features standardised on %d texts", len(texts))

    @staticmethod
    def _initial_weights(path: Path, model_config: DenoiserConfig) -> dict[str, torch.Tensor]:
        """A checkpoint's weights for this run's model; one with fewer features per text is adapted."""
        initial = Checkpoint.load(path)
        same = replace(
            initial.config,
            text_tokens=model_config.text_tokens,
            part_conditioning=model_config.part_conditioning or initial.config.part_conditioning,
        )
        if same != model_config:
            raise TrainingError(f"--init {path}: its model config differs from this run's")
        try:
            return adapt_text_tokens(initial.state_dict, initial.config.text_tokens, model_config.text_tokens)
        except ValueError as error:
            raise TrainingError(f"--init {path}: {error}") from None

    # ----------------------------------------------------------------------------------------- state
    def _state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "best": self.best,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "config": asdict(self.config),
        }

    def save(self, name: str, validation: dict[str, Any] | None = None) -> None:
        if self.rank != 0:
            return
        training = {
            "data": self.data_summary,
            "steps": self.step,
            "preset": self.config.preset,
            "config": asdict(self.config),
            "parameters": parameter_count(self.model),
        }
        checkpoint = Checkpoint.from_model(
            self.model,
            self.encoder_cache,
            name=f"{self.out.name}/{name}",
            training=training,
            validation=validation or {},
            input_normalization=self.config.input_normalization,
        )
        checkpoint.save(self.out / f"{name}.pt")
        if name == "last":
            state_path = self.out / "last_state.pt"
            partial = state_path.with_name(state_path.name + ".partial")
            torch.save(self._state(), partial)
            partial.replace(state_path)

    def resume(self) -> None:
        last, state_path = self.out / "last.pt", self.out / "last_state.pt"
        if not (last.is_file() and state_path.is_file()):
            raise TrainingError(f"--resume: {self.out} has no last.pt and last_state.pt to resume from")
        self.model.load_state_dict(Checkpoint.load(last).state_dict)
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.best = float(state["best"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed %s at step %d", self.out, self.step)

    # -------------------------------------------------------------------------------------- training
    def _batch(self, step: int) -> Batch:
        size = self.config.batch
        first = (step * self.world + self.rank) * size
        windows = [self.sampler.sample(first + k) for k in range(size)]
        rng = np.random.default_rng([self.config.seed, 7, step, self.rank])
        return make_batch(windows, self.config, rng, self.device)

    def text_features(self, batch: Batch) -> torch.Tensor:
        """[B, 7, 4, D_text] of the batch's texts (nulled ones are not encoded)."""
        return self.encoder_cache.prompt_features(batch.texts, batch.nulled.tolist()).to(self.device)

    def train_step(self) -> float:
        batch = self._batch(self.step)
        lr = learning_rate(self.config, self.step, self.steps_per_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        self.network.train()
        features = self.text_features(batch)
        nulled = prompt_dropout(batch.nulled, self.config.prompt_dropout, self.generator)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            prompt = self.model.encode_prompts(features, nulled)
            # the network (the DDP wrapper when distributed) so that gradients are synchronised
            loss = denoising_loss(
                self.network, self.schedule, batch.clean, batch.keypoints, prompt, self.generator
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.step += 1
        return float(loss.item())

    @torch.inference_mode()
    def validate(self) -> dict[str, Any]:
        """MPJPE and P-MPJPE (mm) of one-hypothesis, two-step sampling on the validation windows, with the
        bare part words and (for models trained with them) the describer's words for the true pose; the
        score that chooses the checkpoint is the mean over the texts of the detector-like windows' MPJPE."""
        self.model.eval()
        sampler = HypothesisSampler(self.model, DDIMScheduler(self.schedule))
        results: dict[str, Any] = {}
        texts = {"": False, "described_": True} if self.config.described_parts > 0 else {"": False}
        for kind, windows in self.validation.items():
            for label, described in texts.items():
                batch = make_batch(windows, self.config, None, self.device, described)
                prompt = self.model.encode_prompts(self.text_features(batch), batch.nulled)
                weights = torch.ones(len(windows), 1, 17, device=self.device)
                generator = torch.Generator().manual_seed(0)
                options = SamplingOptions(1, 2)
                predicted = sampler.sample(batch.keypoints, prompt, weights, options, generator)[0]
                pred = predicted.cpu().numpy().reshape(-1, 17, 3)
                truth = batch.clean.cpu().numpy().reshape(-1, 17, 3)
                results[f"{kind}_{label}mpjpe_mm"] = round(1000 * metrics.mpjpe(pred, truth), 2)
                results[f"{kind}_{label}p_mpjpe_mm"] = round(1000 * metrics.p_mpjpe(pred, truth), 2)
        if "noisy" in self.validation:
            scores = [results[f"noisy_{label}mpjpe_mm"] for label in texts]
            results["score_mm"] = round(sum(scores) / len(scores), 2)
        return results

    def run(self) -> dict[str, Any]:
        config = self.config
        log_path = self.out / "log.jsonl"
        started = time.monotonic()
        last_validation: dict[str, Any] = {}
        progress = tqdm(
            total=config.steps, initial=self.step, desc="train", unit="step", disable=self.rank != 0
        )
        with log_path.open("a") as log_file:
            while self.step < config.steps:
                loss = self.train_step()
                progress.update(1)
                progress.set_postfix(loss=f"{loss:.4f}", best=f"{self.best:.1f}")
                if self.rank == 0 and (self.step % config.log_every == 0 or self.step == 1):
                    entry = {
                        "step": self.step,
                        "loss": round(loss, 6),
                        "lr": learning_rate(config, self.step - 1, self.steps_per_epoch),
                        "seconds": round(time.monotonic() - started, 1),
                    }
                    log_file.write(json.dumps(entry) + "\n")
                    log_file.flush()
                finished = self.step >= config.steps
                out_of_time = (
                    config.max_minutes is not None and time.monotonic() - started > 60 * config.max_minutes
                )
                if self.validation and (self.step % config.validate_every == 0 or finished or out_of_time):
                    last_validation = self.validate()
                    score = last_validation["score_mm"]
                    if score < self.best:
                        self.best = score
                        self.save("best", {**last_validation, "step": self.step})
                    if self.rank == 0:
                        log_file.write(json.dumps({"step": self.step, "validation": last_validation}) + "\n")
                        log_file.flush()
                        log.info("step %d validation %s", self.step, last_validation)
                if self.step % config.save_every == 0 or finished or out_of_time:
                    self.save("last", last_validation)
                if out_of_time:
                    log.info("stopping after %.1f minutes at step %d", config.max_minutes, self.step)
                    break
        progress.close()
        return {
            "steps": self.step,
            "best_score_mm": self.best,
            "last_validation": last_validation,
            "minutes": round((time.monotonic() - started) / 60, 1),
        }


def build_config(args: argparse.Namespace) -> TrainConfig:
    source = Path(args.config)
    if source.suffix == ".json":
        config = TrainConfig.from_file(source)
    elif (RECIPES / f"{args.config}.json").is_file():
        config = TrainConfig.from_file(RECIPES / f"{args.config}.json")
    else:
        config = TrainConfig(preset=args.config)
    overrides = {
        "data": args.data,
        "descriptions": args.descriptions,
        "joint_map": args.joint_map,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "max_minutes": args.max_minutes,
        "init": args.init,
        "text_encoder": args.text_encoder,
        "pose_perturbation": args.pose_perturbation,
        "backbone_lr_scale": args.backbone_lr_scale,
    }
    values = {key: value for key, value in overrides.items() if value is not None}
    if args.val_subjects is not None:
        values["val_subjects"] = [s for s in args.val_subjects.split(",") if s]
    if args.val_trials is not None:
        values["val_trials"] = [s for s in args.val_trials.split(",") if s]
    if args.exclude_trials is not None:
        values["exclude_trials"] = [s for s in args.exclude_trials.split(",") if s]
    if args.no_prompts:
        values["use_prompts"] = False
    if args.text_pathway is not None:
        values["text_pathway"] = [s for s in args.text_pathway.split(",") if s]
    if args.model is not None:
        values["model"] = {**config.model, **json.loads(args.model)}
    if args.keep_prompt_features:
        values["standardize_text"] = False
    return replace(config, **values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m finepose_core.train", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--config",
        default="small",
        help="a model preset (small, paper), a recipe of finepose_core/recipes (cmu_small: the default "
        "checkpoint's split) or a JSON file of TrainConfig",
    )
    parser.add_argument("--data", help="folder of .bvh files (searched recursively)")
    parser.add_argument("--descriptions", help="CSV of action texts (CMU index columns)")
    parser.add_argument("--joint-map", help="joint-mapping preset or JSON file (default cmu_mb)")
    parser.add_argument("--val-subjects", help="comma-separated subject folders held out for validation")
    parser.add_argument("--val-trials", help="comma-separated trials (e.g. 02_06) held out for validation")
    parser.add_argument("--exclude-trials", help="comma-separated trials (file names) never used")
    parser.add_argument("--out", type=Path, default=Path("runs/finepose"))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--max-minutes", type=float)
    parser.add_argument("--init", help="checkpoint to fine-tune from")
    parser.add_argument("--text-encoder", help="minilm (default) or open_clip:MODEL:PATH")
    parser.add_argument(
        "--pose-perturbation",
        type=float,
        help="chance that a training window's joints are bent by random smooth rotations (default 0)",
    )
    parser.add_argument(
        "--backbone-lr-scale",
        type=float,
        help="learning rate outside the text pathway relative to --lr (default 1; below 1 to teach a "
        "trained model new texts while keeping its pose network close)",
    )
    parser.add_argument(
        "--text-pathway",
        help="comma-separated module prefixes trained at the full --lr (default: the whole text pathway; "
        "part_conditioning alone adds a path to the words while the rest moves at the backbone's rate)",
    )
    parser.add_argument(
        "--model",
        help="JSON of DenoiserConfig overrides, e.g. '{\"text_tokens\": 4}' to keep a 4-token checkpoint's "
        "prompt learner as it is",
    )
    parser.add_argument(
        "--keep-prompt-features",
        action="store_true",
        help="do not standardise the prompt learner's text features (a fine-tune that keeps its function)",
    )
    parser.add_argument("--no-prompts", action="store_true", help="train the paper's w/o Prompt variant")
    add_device_flag(parser)
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        config = build_config(args)
        args.out.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(config, args.out, args.device)
        if args.resume:
            trainer.resume()
        elif (args.out / "last.pt").exists():
            raise TrainingError(f"{args.out} already holds a run; use --resume or another --out")
        log.info(
            "training %s: %d parameters, data %s",
            config.preset,
            parameter_count(trainer.model),
            trainer.data_summary,
        )
        (args.out / "config.json").write_text(json.dumps(asdict(config), indent=1) + "\n")
        summary = trainer.run()
    except (TrainingError, MocapError, JointMapError, CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; resume with --resume", file=sys.stderr)
        return 130
    log.info("done: %s", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
