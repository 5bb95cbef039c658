"""Write the training run's fixed validation windows as clip files, for `python -m finepose_core.evaluate`.

The same windows that `train.py` validates on and `benchmarks/baseline_mlp.py` scores (held-out CMU
subject and trials; body proportions, cameras and detector imitation pinned in
finepose_core/data/validation.py, apart from training's): OUT/exact/*.npz with the exact projected 2D and
OUT/noisy/*.npz with detector-like 2D. The CMU motion data: "The data used in this project was obtained from
mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."

Usage: python scripts/export_validation_clips.py [--out runs/val_clips] [--windows 48] [--frames 81]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from finepose_core.data.clip import Clip
from finepose_core.data.joint_maps import joint_map
from finepose_core.data.mocap import load_descriptions
from finepose_core.train import TrainConfig, load_split, validation_windows

CMU = Path(__file__).resolve().parents[2] / "shared/data/mocap/cmu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/val_clips"))
    parser.add_argument("--windows", type=int, default=TrainConfig().validation_windows)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--data", type=Path, default=CMU, help="the CMU BVH library (default ../shared's)")
    args = parser.parse_args(argv)
    config = TrainConfig.from_recipe("cmu_small", args.data)
    jm = joint_map(config.joint_map)
    descriptions = load_descriptions(Path(config.descriptions)) if config.descriptions else {}
    _, val = load_split(config, jm, descriptions)
    for kind, windows in validation_windows(val, jm, args.frames, args.windows).items():
        for index, window in enumerate(windows):
            Clip(
                keypoints2d=window.keypoints2d.astype(np.float32),
                K=window.K.astype(np.float32),
                image_size=window.image_size,
                fps=config.fps,
                joints3d=window.joints3d.astype(np.float32),
                action=window.action,
                subject=window.subject,
                source=f"cmu validation window {index} ({kind} 2D)",
            ).save(args.out / kind / f"{index:03d}.npz")
        print(f"{len(windows)} {kind} windows → {args.out / kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
