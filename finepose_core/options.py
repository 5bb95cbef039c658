"""A job's options, each defined once here: default, range, choices and help.

`JobOptions` is what the pipeline runs with and what the server validates requests against. The lift CLI,
the batch script and the demo build their flags from it (`option_flags.py`); the Blender add-on reads the
same definitions from `blender_addon/options_schema.json`, generated from this module by
`scripts/build_options_schema.py` (a test keeps the file current), so it imports nothing from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from finepose_core.detect.landmarker import LandmarkerConfig
from finepose_core.geometry.camera import DEFAULT_HORIZONTAL_FOV_DEG
from finepose_core.lifter import LiftOptions
from finepose_core.model.prompts import MAX_STRENGTH, MIN_STRENGTH, PartPrompt, Prompts, SpeedName
from finepose_core.option_specs import option
from finepose_core.skeleton import PartName

MAX_TEXT: Final = 200  # characters of one prompt text; the encoder reads a sentence, not a page


@dataclass(frozen=True)
class QualityPreset:
    """How hard the lifter works: hypotheses H, DDIM steps K, flip augmentation."""

    hypotheses: int
    steps: int
    flip: bool

    def summary(self) -> str:
        plural = "is" if self.hypotheses == 1 else "es"
        text = f"{self.hypotheses} hypothes{plural}, {self.steps} step{'s' * (self.steps != 1)}"
        return text + (", flip" if self.flip else "")


PresetName = Literal["fast", "balanced", "best"]
QUALITY_PRESETS: Final[dict[PresetName, QualityPreset]] = {
    "fast": QualityPreset(1, 1, False),
    "balanced": QualityPreset(5, 5, True),
    "best": QualityPreset(20, 10, True),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartOptions(_Strict):
    description: str = option("", "extra words about this body part", max_length=MAX_TEXT)
    strength: float = option(
        PartPrompt().strength,
        "guidance of this part's prompt: 0 ignores it, 1 is plain, up to 2 exaggerates",
        ge=MIN_STRENGTH,
        le=MAX_STRENGTH,
    )


class JobOptions(_Strict):
    """One job's options; every field is optional."""

    action: str = option("", "what the people do, in free text; empty: unknown", max_length=MAX_TEXT)
    speed: Literal["auto", SpeedName] = option("auto", "how fast they move; auto: judged from the 2D motion")
    parts: dict[PartName, PartOptions] = option(
        {}, "a body part's description and guidance strength", flag="--part"
    )
    part_texts: Literal["auto", "none"] = option(
        "auto",
        "words for the parts you leave blank: auto describes them from MediaPipe's own 3D of each person, "
        "window by window (with checkpoints trained to read such words); none leaves them blank",
        label="Blank Parts",
    )
    prompts_off: bool = option(False, "null every prompt: the model without text", label="Prompts Off")
    preset: PresetName = option(
        "balanced", "quality: how many hypotheses and denoising steps", label="Quality"
    )
    hypotheses: int | None = option(None, "hypotheses H; overrides the preset's", ge=1, le=64)
    steps: int | None = option(None, "DDIM steps K; overrides the preset's", ge=1, le=50)
    focal_px: float | None = option(
        None, "focal length in pixels", ge=1.0, le=1e6, group="camera", label="Focal (px)", ui_default=1000.0
    )
    fov_deg: float | None = option(
        None,
        "horizontal field of view in degrees",
        ge=1.0,
        le=179.0,
        flag="--fov",
        group="camera",
        label="FOV",
        ui_default=DEFAULT_HORIZONTAL_FOV_DEG,
    )
    max_people: int = option(4, "the most people tracked at once", ge=1, le=16)
    min_detection_confidence: float = option(0.5, "MediaPipe's person detection threshold", ge=0.0, le=1.0)
    min_presence_confidence: float = option(0.5, "MediaPipe's pose presence threshold", ge=0.0, le=1.0)
    min_tracking_confidence: float = option(0.5, "MediaPipe's tracking threshold", ge=0.0, le=1.0)
    start: int = option(0, "first video frame", ge=0, le=10_000_000)
    end: int | None = option(None, "video frame after the last one; unset: to the end", ge=1, le=10_000_000)
    step: int = option(1, "use every step-th frame", ge=1, le=1000)
    seed: int = option(0, "random seed of the diffusion sampling", ge=0, le=2**31 - 1)
    # Only video jobs use it: callers that bring their own 2D keypoints have no detector 3D to blend.
    mediapipe_depth: float = option(
        0.5,
        "MediaPipe's own 3D's share of each joint's depth, blended with the lifter's; 0: the lifter's alone",
        ge=0.0,
        le=1.0,
        label="Image Depth",
    )

    second_look: bool = option(
        True,
        "look again where the detection seems to miss someone (several people, one behind another, small or "
        "seen from above): person-like regions the first pass left unexplained and the surroundings of each "
        "person found, with those found painted out, enlarged; slower where it looks",
        label="Second Look",
    )
    plant_feet: bool = option(
        True,
        "find where each foot is planted (still in the image, low, slow) and keep it there, on the floor",
        label="Plant Feet",
    )

    @model_validator(mode="after")
    def _consistent(self) -> JobOptions:
        if self.focal_px is not None and self.fov_deg is not None:
            raise ValueError("give a focal length or a field of view, not both")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self

    @property
    def prompts(self) -> Prompts:
        parts: dict[str, PartPrompt] = {
            name: PartPrompt(part.description, part.strength) for name, part in self.parts.items()
        }
        return Prompts(action=self.action, speed=self.speed, parts=parts, off=self.prompts_off)

    def frame_range(self, frame_count: int) -> range:
        """The frames this job reads from a video of `frame_count` frames (empty: start past the end)."""
        return range(self.start, min(self.end or frame_count, frame_count), self.step)

    def lift_options(self) -> LiftOptions:
        preset = QUALITY_PRESETS[self.preset]
        return LiftOptions(
            hypotheses=self.hypotheses or preset.hypotheses,
            steps=self.steps or preset.steps,
            flip=preset.flip,
            seed=self.seed,
        )

    def landmarker_config(self) -> LandmarkerConfig:
        return LandmarkerConfig(
            max_people=self.max_people,
            min_detection_confidence=self.min_detection_confidence,
            min_presence_confidence=self.min_presence_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
        )
