"""The checkpoint file: config, weights, text encoder id, cached text features, training and validation.

One `torch.save` file holding only tensors and plain Python values, so it loads with
`torch.load(weights_only=True)` (no code runs from it) and never needs the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import torch

from finepose_core.assets import sha256_of
from finepose_core.geometry.camera import INPUT_NORMALIZATIONS
from finepose_core.model.denoiser import DenoiserConfig, FinePoseDenoiser
from finepose_core.model.text_encoders import TextFeatureCache

FORMAT: Final = "finepose.checkpoint/1"


class CheckpointError(RuntimeError):
    """The file is not a usable FinePOSE checkpoint; the message says why."""


@dataclass
class Checkpoint:
    config: DenoiserConfig
    state_dict: dict[str, torch.Tensor]
    text_encoder_id: str
    text_width: int
    text_features: dict[str, torch.Tensor]
    input_normalization: str = "image"
    training: dict[str, Any] = field(default_factory=dict)  # data summary, steps, time
    validation: dict[str, Any] = field(default_factory=dict)  # metrics on the validation split
    name: str = ""
    sha256: str = ""  # of the file it was read from

    @classmethod
    def from_model(
        cls,
        model: FinePoseDenoiser,
        cache: TextFeatureCache,
        name: str,
        training: dict[str, Any] | None = None,
        validation: dict[str, Any] | None = None,
        input_normalization: str = "image",
    ) -> Checkpoint:
        state = cache.state()
        return cls(
            input_normalization=input_normalization,
            config=model.config,
            state_dict={key: value.detach().cpu() for key, value in model.state_dict().items()},
            text_encoder_id=state["encoder_id"],
            text_width=state["width"],
            text_features=state["features"],
            training=training or {},
            validation=validation or {},
            name=name,
        )

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "name": self.name,
            "config": self.config.to_dict(),
            "state_dict": self.state_dict,
            "text_encoder": {"id": self.text_encoder_id, "width": self.text_width},
            "text_features": self.text_features,
            "input_normalization": self.input_normalization,
            "training": self.training,
            "validation": self.validation,
        }
        partial = path.with_name(path.name + ".partial")
        torch.save(payload, partial)
        partial.replace(path)  # never leave a half-written checkpoint under the real name

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path} not found")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises many types for a corrupt or foreign file
            raise CheckpointError(f"{path} is not a readable FinePOSE checkpoint: {error}") from error
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise CheckpointError(f"{path} has format {found!r}; this version reads {FORMAT!r}")
        normalization = payload.get("input_normalization", "image")
        if normalization not in INPUT_NORMALIZATIONS:
            raise CheckpointError(
                f"{path} uses input normalisation {normalization!r}, unknown to this version"
            )
        return cls(
            config=DenoiserConfig.from_dict(payload["config"]),
            state_dict=payload["state_dict"],
            text_encoder_id=payload["text_encoder"]["id"],
            text_width=int(payload["text_encoder"]["width"]),
            text_features=payload["text_features"],
            input_normalization=normalization,
            training=payload.get("training", {}),
            validation=payload.get("validation", {}),
            name=payload.get("name", path.stem),
            sha256=sha256_of(path),
        )

    def build_model(self) -> FinePoseDenoiser:
        model = FinePoseDenoiser(self.config)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as error:
            raise CheckpointError(f"checkpoint weights do not fit its config: {error}") from error
        return model
