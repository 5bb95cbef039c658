"""The baseline FinePOSE must beat: a plain deterministic temporal MLP lifter, trained on the same data.

27-frame window of person-centred, scale-normalised 2D (the same input as the checkpoint's), three
1024-wide hidden layers, the 3D of the middle frame as output; no diffusion, no prompts. It trains on the
same CMU subjects, virtual cameras and detector-like noise as the default checkpoint, for a fixed wall
time, and is scored on the same validation windows (held-out subjects 02 and 06).

Usage: python benchmarks/baseline_mlp.py [--minutes 12] [--out runs/baseline_mlp] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from finepose_core import metrics
from finepose_core.data.joint_maps import joint_map
from finepose_core.data.mocap import Window, WindowSampler, load_descriptions
from finepose_core.geometry.camera import from_virtual, normalize_window, person_rotations, to_virtual
from finepose_core.train import TrainConfig, load_split, validation_windows

CMU = Path(__file__).resolve().parents[2] / "shared/data/mocap/cmu"

WINDOW = 27


class TemporalMLP(nn.Module):
    def __init__(self, window: int = WINDOW, width: int = 1024) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(window * 17 * 2, width),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(width, 17 * 3),
        )

    def forward(self, keypoints: torch.Tensor) -> torch.Tensor:
        """[B, window, 17, 2] → the middle frame's root-relative 3D [B, 17, 3]."""
        out: torch.Tensor = self.net(keypoints.flatten(1)).view(-1, 17, 3)
        return out


def training_pairs(windows: list[Window]) -> tuple[torch.Tensor, torch.Tensor]:
    inputs, targets = [], []
    for window in windows:
        width, height = window.image_size
        inputs.append(normalize_window(window.keypoints2d, "person", width, height, window.K))
        middle = window.joints3d[WINDOW // 2 : WINDOW // 2 + 1]
        rotation = person_rotations(window.keypoints2d[WINDOW // 2 : WINDOW // 2 + 1], window.K)
        targets.append(to_virtual(middle - middle[:, :1], rotation)[0])
    return torch.from_numpy(np.stack(inputs)).float(), torch.from_numpy(np.stack(targets)).float()


def predict_sequence(model: TemporalMLP, window: Window) -> np.ndarray[Any, Any]:
    """Every frame of a longer window, each from the 27 frames around it (edges held)."""
    frames = len(window.keypoints2d)
    padded = np.pad(window.keypoints2d, [(WINDOW // 2, WINDOW // 2), (0, 0), (0, 0)], mode="edge")
    width, height = window.image_size
    chunks = np.stack([padded[f : f + WINDOW] for f in range(frames)])
    inputs = torch.from_numpy(normalize_window(chunks, "person", width, height, window.K)).float()
    with torch.inference_mode():
        virtual = np.asarray(model(inputs).numpy(), dtype=np.float64)
    return from_virtual(virtual[:, None], person_rotations(window.keypoints2d[:, None], window.K))[:, 0]


def score(model: TemporalMLP, windows: list[Window]) -> dict[str, float]:
    model.eval()
    pred = np.concatenate([predict_sequence(model, w) for w in windows])
    truth = np.concatenate([w.joints3d - w.joints3d[:, :1] for w in windows])
    return {
        "mpjpe_mm": round(1000 * metrics.mpjpe(pred, truth), 2),
        "p_mpjpe_mm": round(1000 * metrics.p_mpjpe(pred, truth), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("runs/baseline_mlp"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = TrainConfig.from_recipe("cmu_small", CMU)
    jm = joint_map(config.joint_map)
    descriptions = load_descriptions(Path(config.descriptions)) if config.descriptions else {}
    train, val = load_split(config, jm, descriptions)
    sampler = WindowSampler(train, jm, WINDOW, seed=config.seed, noise_probability=config.noise_probability)
    validation = validation_windows(val, jm, 81, config.validation_windows)

    torch.manual_seed(0)
    model = TemporalMLP()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    started = time.monotonic()
    step = 0
    progress = tqdm(desc="baseline MLP", unit="step")
    while time.monotonic() - started < 60 * args.minutes:
        model.train()
        windows = [sampler.sample(step * args.batch + k) for k in range(args.batch)]
        inputs, targets = training_pairs(windows)
        if np.random.default_rng([7, step]).random() < 0.5:  # the same flip augmentation
            from finepose_core.diffusion.sampler import mirror

            inputs, targets = mirror(inputs), mirror(targets)
        loss = nn.functional.mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        step += 1
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.4f}")
    progress.close()
    result = {
        "model": "temporal MLP, 27 frames, 3 × 1024",
        "steps": step,
        "batch": args.batch,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "validation_subjects": config.val_subjects,
        "validation_trials": config.val_trials,
        **{
            f"{kind}_{key}": value
            for kind, windows in validation.items()
            for key, value in score(model, windows).items()
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "mlp.pt")
    (args.out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
