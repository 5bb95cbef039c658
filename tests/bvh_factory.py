"""Small BVH files with the joint names of the CMU "MotionBuilder" conversion, written from scratch.

The skeleton is a simplified CMU layout (same names and nesting, round offsets); the motion is smooth
sinusoidal rotations plus a forward walk of the root, so tests need no external data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (name, parent, offset) in CMU units (1 unit = 0.0254 / 0.45 m); "*_End" entries are End Sites
SKELETON: list[tuple[str, str | None, tuple[float, float, float]]] = [
    ("Hips", None, (0.0, 0.0, 0.0)),
    ("LHipJoint", "Hips", (0.0, 0.0, 0.0)),
    ("LeftUpLeg", "LHipJoint", (1.6, -1.8, 0.6)),
    ("LeftLeg", "LeftUpLeg", (0.0, -7.6, 0.0)),
    ("LeftFoot", "LeftLeg", (0.0, -7.3, 0.0)),
    ("LeftFoot_End", "LeftFoot", (0.0, -0.5, 2.0)),
    ("RHipJoint", "Hips", (0.0, 0.0, 0.0)),
    ("RightUpLeg", "RHipJoint", (-1.6, -1.8, 0.6)),
    ("RightLeg", "RightUpLeg", (0.0, -7.6, 0.0)),
    ("RightFoot", "RightLeg", (0.0, -7.3, 0.0)),
    ("RightFoot_End", "RightFoot", (0.0, -0.5, 2.0)),
    ("LowerBack", "Hips", (0.0, 0.0, 0.0)),
    ("Spine", "LowerBack", (0.0, 2.0, 0.0)),
    ("Spine1", "Spine", (0.0, 2.0, 0.0)),
    ("Neck", "Spine1", (0.0, 0.0, 0.0)),
    ("Neck1", "Neck", (0.0, 1.6, 0.0)),
    ("Head", "Neck1", (0.0, 1.6, 0.0)),
    ("Head_End", "Head", (0.0, 1.6, 0.0)),
    ("LeftShoulder", "Spine1", (0.0, 0.0, 0.0)),
    ("LeftArm", "LeftShoulder", (3.5, 0.9, 0.0)),
    ("LeftForeArm", "LeftArm", (4.9, 0.0, 0.0)),
    ("LeftHand", "LeftForeArm", (3.4, 0.0, 0.0)),
    ("LeftHand_End", "LeftHand", (1.0, 0.0, 0.0)),
    ("RightShoulder", "Spine1", (0.0, 0.0, 0.0)),
    ("RightArm", "RightShoulder", (-3.5, 0.9, 0.0)),
    ("RightForeArm", "RightArm", (-4.9, 0.0, 0.0)),
    ("RightHand", "RightForeArm", (-3.4, 0.0, 0.0)),
    ("RightHand_End", "RightHand", (-1.0, 0.0, 0.0)),
]


def bvh_text(frames: int = 60, fps: float = 120.0, seed: int = 0, phase: float = 0.0) -> str:
    rng = np.random.default_rng(seed)
    children: dict[str | None, list[int]] = {}
    for index, (_, parent, _) in enumerate(SKELETON):
        children.setdefault(parent, []).append(index)
    lines = ["HIERARCHY"]
    joints: list[str] = []

    def emit(index: int, depth: int) -> None:
        name, parent, offset = SKELETON[index]
        pad = "  " * depth
        if name.endswith("_End"):
            lines.extend(
                [
                    f"{pad}End Site",
                    f"{pad}{{",
                    f"{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}",
                    f"{pad}}}",
                ]
            )
            return
        lines.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}")
        if parent is None:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation")
        else:
            lines.append(f"{pad}  CHANNELS 3 Zrotation Yrotation Xrotation")
        joints.append(name)
        for child in children.get(name, []):
            emit(child, depth + 1)
        lines.append(f"{pad}}}")

    emit(0, 0)
    amplitude = rng.uniform(5, 30, size=(len(joints), 3))
    speed = rng.uniform(0.5, 2.0, size=(len(joints), 3))
    t = np.arange(frames) / fps
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1 / fps:.7f}"]
    for f in range(frames):
        values = [0.2 * t[f] / 0.05644, 17.0, 0.0]  # walks along +x at 0.2 m/s, hips 0.96 m up
        for j in range(len(joints)):
            values += list(amplitude[j] * np.sin(2 * np.pi * speed[j] * t[f] + phase))
        lines.append(" ".join(f"{v:.5f}" for v in values))
    return "\n".join(lines) + "\n"


def write_library(root: Path, subjects: dict[str, int], frames: int = 120) -> Path:
    """Folders root/<subject>/<subject>_<trial>.bvh, `subjects[s]` trials each, and a descriptions CSV."""
    rows = ['"Subject","Trial #","Motion Description","framerate"']
    for number, (subject, trials) in enumerate(subjects.items(), start=1):
        for trial in range(1, trials + 1):
            folder = root / subject
            folder.mkdir(parents=True, exist_ok=True)
            text = bvh_text(frames, seed=100 * number + trial, phase=trial)
            (folder / f"{subject}_{trial:02d}.bvh").write_text(text)
            rows.append(f'{int(subject)},{trial},"{"walk" if trial % 2 else "wave - arms"}",120')
    (root / "descriptions.csv").write_text("\n".join(rows) + "\n")
    return root
