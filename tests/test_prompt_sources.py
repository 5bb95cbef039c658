"""Where each person's part words come from at inference (issue: prompts that carry meaning): the user's
words, "auto" — described window by window from MediaPipe's own 3D of the tracked person — or none; recorded
per person in the result, on the real sample clip with the real MediaPipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from finepose_core.checkpoint import Checkpoint
from finepose_core.model.denoiser import DenoiserConfig, FinePoseDenoiser
from finepose_core.model.prompts import PART_KEYS, SPEEDS
from finepose_core.model.text_encoders import ENCODED_TOKENS, MiniLMTextEncoder, TextFeatureCache
from finepose_core.options import JobOptions, PartOptions
from finepose_core.pipeline import Pipeline, PipelineConfig
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "samples/office_walk.mp4"


def _checkpoint(folder: Path, reads_descriptions: bool) -> Path:
    cache = TextFeatureCache.for_encoder(MiniLMTextEncoder(), tokens=ENCODED_TOKENS)
    cache.pin(["person", "walking", *SPEEDS, *PART_KEYS])
    torch.manual_seed(0)
    model = FinePoseDenoiser(
        DenoiserConfig(
            frames=9, width=32, depth=1, heads=2, prompt_layers=1, text_width=384, text_tokens=ENCODED_TOKENS
        )
    )
    training = {"config": {"described_parts": 0.6}} if reads_descriptions else {}
    path = folder / f"tiny_{reads_descriptions}.pt"
    Checkpoint.from_model(model, cache, "tiny", training, input_normalization="person").save(path)
    return path


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Pipeline]:
    folder = tmp_path_factory.mktemp("sources")
    return {
        reads: Pipeline(PipelineConfig(checkpoint=str(_checkpoint(folder, reads)), device="cpu"))
        for reads in (True, False)
    }


def test_blank_parts_are_described_from_the_image_window_by_window(pipelines: dict[bool, Pipeline]) -> None:
    options = JobOptions(
        preset="fast", start=10, end=60, action="walking", parts={"legs": PartOptions(description="striding")}
    )
    person = pipelines[True].run(SAMPLE, options).people[0]
    assert person.prompt_sources["legs"] == "user" and person.prompts["legs"] == "legs striding"
    assert "auto" in person.prompt_sources.values()
    auto = [part for part, source in person.prompt_sources.items() if source == "auto"]
    for part in auto:  # the words came from the describer, not from the bare part name
        assert person.prompts[part].startswith(part + " ") and len(person.prompts[part]) > len(part) + 3
    # one entry per lifter window, inside the frames where the person is, in video frame indices
    windows = person.part_texts
    assert len(windows) >= 2
    assert all(person.frames[0] <= w["frames"][0] < w["frames"][1] <= person.frames[-1] + 1 for w in windows)
    assert all(w["legs"] == "striding" for w in windows)
    assert any(w[part] for w in windows for part in auto)


def test_none_and_untrained_checkpoints_leave_blank_parts_blank(pipelines: dict[bool, Pipeline]) -> None:
    for pipeline, part_texts in ((pipelines[True], "none"), (pipelines[False], "auto")):
        options = JobOptions(preset="fast", start=10, end=40, part_texts=part_texts)
        person = pipeline.run(SAMPLE, options).people[0]
        assert set(person.prompt_sources.values()) == {"none"}
        assert all(person.prompts[part] == part for part in PART_KEYS)
        assert all(not w[part] for w in person.part_texts for part in PART_KEYS)
