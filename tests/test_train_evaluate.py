"""Training lowers the loss and resumes exactly; evaluation's JSON agrees with independent metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from finepose_core import metrics
from finepose_core.checkpoint import Checkpoint
from finepose_core.data.clip import Clip
from finepose_core.diffusion.loss import denoising_loss
from finepose_core.lifter import Lifter, LiftOptions
from finepose_core.model.prompts import Prompts
from finepose_core.train import TrainConfig, Trainer, main
from tests.bvh_factory import write_library
from tests.conftest import REPO_ROOT

TINY = {"frames": 9, "width": 32, "depth": 1, "heads": 2, "prompt_layers": 1, "drop_path": 0.1}


def _config(root: Path, **overrides: object) -> TrainConfig:
    config = TrainConfig(
        preset="small",
        model=TINY,
        data=str(root),
        descriptions=str(root / "descriptions.csv"),
        val_subjects=["02"],
        exclude_trials=[],
        steps=40,
        batch=4,
        lr=3e-3,
        warmup_steps=5,
        validate_every=20,
        validation_windows=4,
        save_every=5,
        log_every=1,
        seed=1,
    )
    return replace(config, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_library(tmp_path_factory.mktemp("bvh"), {"01": 3, "02": 1}, frames=160)


def _fixed_loss(trainer: Trainer) -> float:
    """The loss on fixed batches with fixed noise: comparable before and after training."""
    trainer.model.eval()
    total = 0.0
    with torch.no_grad():
        for step in range(4):
            batch = trainer._batch(10_000 + step)
            prompt = trainer.model.encode_prompts(trainer.text_features(batch), batch.nulled)
            generator = torch.Generator().manual_seed(step)
            total += float(
                denoising_loss(
                    trainer.model, trainer.schedule, batch.clean, batch.keypoints, prompt, generator
                )
            )
    return total / 4


def test_training_lowers_the_loss(library: Path, tmp_path: Path) -> None:
    trainer = Trainer(_config(library), tmp_path)
    before = _fixed_loss(trainer)
    summary = trainer.run()
    after = _fixed_loss(trainer)
    assert summary["steps"] == 40
    assert after < 0.5 * before, (before, after)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "loss" in entry][:3] == [1, 2, 3]
    assert any("validation" in entry for entry in log)
    best = Checkpoint.load(tmp_path / "best.pt")
    assert best.input_normalization == "person" and "walk" in best.text_features
    assert best.validation["noisy_mpjpe_mm"] > 0 and best.training["data"]["validation"]["subjects"] == ["02"]


def test_resume_after_interruption_continues_exactly(library: Path, tmp_path: Path) -> None:
    """A kill -9 between saves: the saved step-5 state, resumed, gives the uninterrupted step-10 weights
    (with pose perturbation on: its random bends follow the sample index too)."""
    settings = {"steps": 10, "validate_every": 1000, "pose_perturbation": 0.5}
    straight = Trainer(_config(library, **settings), tmp_path / "a")
    straight.run()
    partial = Trainer(_config(library, **settings, save_every=5), tmp_path / "b")
    for _ in range(5):
        partial.train_step()
    partial.save("last")
    partial.train_step()  # work after the last save, lost in the "kill"
    del partial
    resumed = Trainer(_config(library, **settings), tmp_path / "b")
    resumed.resume()
    assert resumed.step == 5
    resumed.run()
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_cli_errors_are_one_line(tmp_path: Path, library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", "small", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")]) == 1
    # the defaults point at no library (nothing of the developers' shared data): --data is asked for
    assert TrainConfig().data is None and TrainConfig().descriptions is None
    assert main(["--config", "cmu_small", "--out", str(tmp_path / "r2")]) == 1
    assert "give --data FOLDER" in capsys.readouterr().err
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "finepose_core.train",
            "--config",
            "small",
            "--data",
            str(library),
            "--joint-map",
            "nonexistent",
            "--out",
            str(tmp_path / "r2"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert (
        result.returncode == 1 and "unknown joint map" in result.stderr and "Traceback" not in result.stderr
    )


def test_evaluation_json_agrees_with_independent_metrics(library: Path, tmp_path: Path) -> None:
    trainer = Trainer(_config(library, steps=5, validate_every=1000), tmp_path / "run")
    trainer.run()
    checkpoint = tmp_path / "run" / "last.pt"
    # two clips of validation-subject windows, saved as clip files
    clips_dir = tmp_path / "clips"
    for index in range(2):
        window = trainer.sampler.sample(500 + index, noisy=False)
        Clip(
            window.keypoints2d.astype(np.float32),
            window.K.astype(np.float32),
            window.image_size,
            30.0,
            joints3d=window.joints3d.astype(np.float32),
            action="walk fast" if index else "wave",
        ).save(clips_dir / f"{index}.npz")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "finepose_core.evaluate",
            "--checkpoint",
            str(checkpoint),
            "--data",
            str(clips_dir),
            "--hypotheses",
            "2",
            "--steps",
            "2",
            "--json",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)  # exactly one JSON object
    assert report["frames"] == 18 and report["settings"]["hypotheses"] == 2
    assert set(report["per_action"]) == {"walk", "wave"}
    # the same lift, scored here with the metrics module
    lifter = Lifter.from_checkpoint(checkpoint, device="cpu")
    options = LiftOptions(hypotheses=2, steps=2)
    per_action: dict[str, tuple[float, float]] = {}
    for path, action in ((clips_dir / "0.npz", "wave"), (clips_dir / "1.npz", "walk")):
        data = np.load(path)
        pred = lifter.lift(
            data["keypoints2d"],
            data["K"],
            tuple(data["image_size"]),
            prompts=Prompts(action=str(data["action"])),
            fps=30.0,
            options=options,
        ).joints3d
        truth = data["joints3d"] - data["joints3d"][:, :1]
        per_action[action] = (metrics.mpjpe(pred, truth), metrics.p_mpjpe(pred, truth))
    for action, (mpjpe, p_mpjpe) in per_action.items():
        assert report["per_action"][action]["mpjpe_mm"] == pytest.approx(1000 * mpjpe, abs=0.01)
        assert report["per_action"][action]["p_mpjpe_mm"] == pytest.approx(1000 * p_mpjpe, abs=0.01)
    assert report["mpjpe_mm"] == pytest.approx(1000 * np.mean([m for m, _ in per_action.values()]), abs=0.02)
    assert report["without_prompts"]["frames"] == 18


@pytest.mark.slow
def test_two_processes_with_torchrun(library: Path, tmp_path: Path) -> None:
    """DistributedDataParallel with the gloo backend on the CPU: the same command line, two processes."""
    config = _config(library, steps=4, validate_every=1000, save_every=2)
    (tmp_path / "config.json").write_text(json.dumps(asdict(config)))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29533",
            "-m",
            "finepose_core.train",
            "--config",
            str(tmp_path / "config.json"),
            "--out",
            str(tmp_path / "ddp"),
            "--device",
            "cpu",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    saved = Checkpoint.load(tmp_path / "ddp" / "last.pt")
    assert saved.training["steps"] == 4
    entries = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in entries if "loss" in e] == [1, 2, 3, 4]  # only rank 0 writes the log
    assert [e["step"] for e in entries if "validation" in e] == [4]
