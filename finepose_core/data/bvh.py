"""A BVH motion-capture importer: hierarchy, offsets, channel orders, Euler orders, forward kinematics.

BVH stores a joint tree (each joint with an OFFSET from its parent and a list of CHANNELS) and one line of
channel values per frame. Rotation channels are Euler angles in degrees applied in the listed order:
"Zrotation Yrotation Xrotation" means R = Rz · Ry · Rx (intrinsic rotations, column vectors), so a
joint's global rotation is its parent's times its own, and its position is
    p_joint = p_parent + R_parent_global · offset_joint.
"End Site" blocks are kept as extra leaf joints named "<parent>_End" (a head top, a toe tip).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

FloatArray = NDArray[np.float64]

_POSITION = {"Xposition": 0, "Yposition": 1, "Zposition": 2}
_ROTATION = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}


class BvhError(ValueError):
    """The BVH file cannot be read; the message names the file and the problem."""


@dataclass
class BvhMotion:
    names: list[str]
    parents: list[int]  # -1 for the root
    offsets: FloatArray  # [J, 3] in file units
    channels: list[list[str]]  # per joint; empty for end sites
    frame_time: float  # seconds
    values: FloatArray  # [F, C] all channel values, in file order
    source: str = ""

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def frames(self) -> int:
        return int(self.values.shape[0])

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise BvhError(f"{self.source}: no joint named {name!r}") from None

    def _columns(self) -> list[tuple[int, int]]:
        """(first column, count) of each joint's channels."""
        spans, column = [], 0
        for channels in self.channels:
            spans.append((column, len(channels)))
            column += len(channels)
        return spans

    def local_rotations(self) -> list[Rotation | None]:
        """Per joint, its rotation over all frames (None for joints without rotation channels)."""
        rotations: list[Rotation | None] = []
        for (first, _), channels in zip(self._columns(), self.channels, strict=True):
            axes = [(_ROTATION[c], first + i) for i, c in enumerate(channels) if c in _ROTATION]
            if not axes:
                rotations.append(None)
                continue
            order = "".join(axis for axis, _ in axes)  # upper case: intrinsic, R = R1 · R2 · R3
            angles = self.values[:, [column for _, column in axes]]
            rotations.append(Rotation.from_euler(order, angles, degrees=True))
        return rotations

    def root_translation(self) -> FloatArray:
        """[F, 3] the root's position channels (zeros for channels it lacks), in file units."""
        first, _ = self._columns()[0]
        translation = np.zeros((self.frames, 3))
        for i, channel in enumerate(self.channels[0]):
            if channel in _POSITION:
                translation[:, _POSITION[channel]] = self.values[:, first + i]
        return translation

    def resampled(self, fps: float) -> BvhMotion:
        """The motion at another frame rate: rotations by spherical interpolation, positions linearly."""
        if fps <= 0:
            raise BvhError(f"{self.source}: target fps must be positive, got {fps}")
        duration = (self.frames - 1) * self.frame_time
        times = np.arange(0.0, duration + 1e-9, 1.0 / fps)
        source_times = np.arange(self.frames) * self.frame_time
        ratio = self.fps / fps
        if abs(ratio - round(ratio)) < 1e-3 and round(ratio) >= 1:
            # an integer ratio (120 → 30 fps): keep every n-th frame exactly
            values = self.values[:: round(ratio)].copy()
        else:
            values = self._interpolated(times, source_times)
        return BvhMotion(
            self.names, self.parents, self.offsets, self.channels, 1.0 / fps, values, self.source
        )

    def _interpolated(self, times: FloatArray, source_times: FloatArray) -> FloatArray:
        values = np.empty((len(times), self.values.shape[1]))
        for (first, _), channels, rotation in zip(
            self._columns(), self.channels, self.local_rotations(), strict=True
        ):
            rotation_columns = []
            for i, channel in enumerate(channels):
                if channel in _POSITION:
                    values[:, first + i] = np.interp(times, source_times, self.values[:, first + i])
                else:
                    rotation_columns.append(first + i)
            if rotation is not None:
                order = "".join(_ROTATION[c] for c in channels if c in _ROTATION)
                angles = Slerp(source_times, rotation)(times).as_euler(order, degrees=True)
                values[:, rotation_columns] = angles
        return values

    def forward_kinematics(
        self,
        offset_scale: NDArray[np.floating[Any]] | None = None,
        frames: slice | None = None,
        extra_rotations: Mapping[int, FloatArray] | None = None,
    ) -> FloatArray:
        """Global joint positions [F, J, 3] in file units; `offset_scale` [J] scales each joint's offset;
        `extra_rotations` {joint: [F, 3, 3]} are applied after a joint's own rotation (pose perturbation)."""
        selected = frames or slice(None)
        motion = BvhMotion(
            self.names, self.parents, self.offsets, self.channels, self.frame_time, self.values[selected]
        )
        rotations = motion.local_rotations()
        count = motion.frames
        offsets = self.offsets * (1.0 if offset_scale is None else np.asarray(offset_scale)[:, None])
        positions = np.zeros((count, len(self.names), 3))
        global_rot = np.zeros((count, len(self.names), 3, 3))
        root = motion.root_translation()
        for joint, parent in enumerate(self.parents):
            local = np.broadcast_to(np.eye(3), (count, 3, 3))
            rotation = rotations[joint]
            if rotation is not None:
                local = rotation.as_matrix().reshape(count, 3, 3)
            if extra_rotations is not None and joint in extra_rotations:
                local = local @ extra_rotations[joint]
            if parent < 0:
                positions[:, joint] = root + offsets[joint]
                global_rot[:, joint] = local
            else:
                positions[:, joint] = positions[:, parent] + global_rot[:, parent] @ offsets[joint]
                global_rot[:, joint] = global_rot[:, parent] @ local
        return positions


_TOKEN = re.compile(r"\S+")


def parse_bvh(text: str, source: str = "<string>") -> BvhMotion:
    """Parse BVH text; raises BvhError naming the source and the problem."""
    tokens = _TOKEN.findall(text)
    position = 0

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise BvhError(f"{source}: the file ends early (truncated?)")
        position += 1
        token: str = tokens[position - 1]
        return token

    def expect(word: str) -> None:
        found = take()
        if found != word:
            raise BvhError(f"{source}: expected {word!r}, found {found!r}")

    def number() -> float:
        word = take()
        try:
            return float(word)
        except ValueError:
            raise BvhError(f"{source}: expected a number, found {word!r}") from None

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []

    expect("HIERARCHY")
    if take() != "ROOT":
        raise BvhError(f"{source}: the hierarchy must start with ROOT")
    stack: list[int] = []
    pending_name: str | None = take()
    pending_parent = -1
    pending_end = False
    while True:
        if pending_name is not None:
            expect("{")
            names.append(pending_name)
            parents.append(pending_parent)
            stack.append(len(names) - 1)
            pending_name = None
            expect("OFFSET")
            offsets.append([number(), number(), number()])
            if pending_end:
                channels.append([])
            else:
                expect("CHANNELS")
                count = int(number())
                joint_channels = [take() for _ in range(count)]
                unknown = [c for c in joint_channels if c not in _POSITION and c not in _ROTATION]
                if unknown:
                    raise BvhError(f"{source}: joint {names[-1]!r} has unknown channels {unknown}")
                channels.append(joint_channels)
        word = take()
        if word == "JOINT":
            pending_name, pending_parent, pending_end = take(), stack[-1], False
        elif word == "End":
            expect("Site")
            pending_name, pending_parent, pending_end = f"{names[stack[-1]]}_End", stack[-1], True
        elif word == "}":
            stack.pop()
            if not stack:
                break
        else:
            raise BvhError(f"{source}: unexpected {word!r} in the hierarchy")

    expect("MOTION")
    expect("Frames:")
    frames = int(number())
    expect("Frame")
    expect("Time:")
    frame_time = number()
    if frames < 1 or frame_time <= 0:
        raise BvhError(f"{source}: {frames} frames with frame time {frame_time}")
    width = sum(len(c) for c in channels)
    remaining = tokens[position:]
    if len(remaining) < frames * width:
        raise BvhError(
            f"{source}: {len(remaining) // max(width, 1)} complete frames of motion data, "
            f"the header says {frames}"
        )
    try:
        values = np.array(remaining[: frames * width], dtype=np.float64).reshape(frames, width)
    except ValueError:
        raise BvhError(f"{source}: the motion data holds something that is not a number") from None
    if not np.isfinite(values).all():
        raise BvhError(f"{source}: the motion data holds NaN or infinite values")
    return BvhMotion(names, parents, np.array(offsets), channels, frame_time, values, source)


def load_bvh(path: str | Path) -> BvhMotion:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise BvhError(f"{path}: cannot read ({error.strerror})") from None
    return parse_bvh(text, source=str(path))
