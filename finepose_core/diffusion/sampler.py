"""Sampling H pose hypotheses for a batch of windows: DDIM, per-part guidance and flip augmentation.

Everything for one denoising step runs as one batch (chunked only to bound memory): the H hypotheses,
the prompt variants of per-part guidance, and the mirrored copies of flip augmentation.

Per-part classifier-free guidance: variant 0 uses the full prompt; variant p uses it with part p's text
nulled. For the joints of part p, Ŷ_0 = Ŷ_0^{p off} + s_p (Ŷ_0^{full} − Ŷ_0^{p off}), i.e. weights s_p on
the full prediction and 1 − s_p on the part-off one; strength 1 is plain conditioning, 0 ignores the
part's prompt. The weights come in as a [B, V, J] tensor that sums to one over V.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from finepose_core.diffusion.ddim import DDIMScheduler
from finepose_core.diffusion.schedule import CLAMP_M
from finepose_core.model.denoiser import FinePoseDenoiser
from finepose_core.model.prompts import PromptEmbedding
from finepose_core.skeleton import flip_permutation


@dataclass(frozen=True)
class SamplingOptions:
    hypotheses: int = 1  # H
    steps: int = 1  # K
    flip: bool = False
    max_batch: int = 1024  # sequences per network call; bounds memory


def mirror(poses: Tensor) -> Tensor:
    """Mirror model-space poses [..., J, D] left↔right: negate x and swap left and right joints."""
    flipped = poses[..., flip_permutation(), :].clone()
    flipped[..., 0] = -flipped[..., 0]
    return flipped


class HypothesisSampler:
    def __init__(self, model: FinePoseDenoiser, scheduler: DDIMScheduler) -> None:
        self.model = model
        self.scheduler = scheduler

    def _network(
        self, noisy: Tensor, keypoints: Tensor, t: Tensor, prompt: PromptEmbedding, chunk: int
    ) -> Tensor:
        outputs = []
        for start in range(0, noisy.shape[0], chunk):
            part = slice(start, start + chunk)
            outputs.append(self.model(noisy[part], keypoints[part], t[part], prompt[part]))
        return torch.cat(outputs)

    def predict_clean(
        self,
        noisy: Tensor,
        keypoints: Tensor,
        t: int,
        prompt: PromptEmbedding,
        weights: Tensor,
        options: SamplingOptions,
        mirrored: PromptEmbedding | None = None,
    ) -> Tensor:
        """Ŷ_0 for noisy poses [H, B, N, J, 3], combining prompt variants and mirrored copies; `mirrored`
        is the prompt for the mirror image (left and right swapped in its words), `prompt` by default."""
        hyps, batch, frames, joints, _ = noisy.shape
        variants = weights.shape[1]
        # [H, B, V, N, J, ·]: every hypothesis of every window with every prompt variant
        y = noisy[:, :, None].expand(hyps, batch, variants, frames, joints, 3)
        x = keypoints[None, :, None].expand(hyps, batch, variants, frames, joints, 2)
        y = y.reshape(-1, frames, joints, 3).clamp(-CLAMP_M, CLAMP_M)
        x = x.reshape(-1, frames, joints, 2)
        # prompt is [B·V] ordered (b, v); tile it over the hypotheses
        prompts = prompt.tile(hyps)
        if options.flip:
            y = torch.cat([y, mirror(y)])
            x = torch.cat([x, mirror(x)])
            prompts = PromptEmbedding.cat([prompts, prompts if mirrored is None else mirrored.tile(hyps)])
        steps = torch.full((y.shape[0],), t, dtype=torch.long, device=y.device)
        clean = self._network(y, x, steps, prompts, options.max_batch)
        if options.flip:
            direct, flipped = clean.chunk(2)
            clean = 0.5 * (direct + mirror(flipped))
        clean = clean.view(hyps, batch, variants, frames, joints, 3)
        return (clean * weights[None, :, :, None, :, None]).sum(dim=2)

    @torch.inference_mode()
    def sample(
        self,
        keypoints: Tensor,
        prompt: PromptEmbedding,
        weights: Tensor,
        options: SamplingOptions,
        generator: torch.Generator | None = None,
        mirrored: PromptEmbedding | None = None,
    ) -> Tensor:
        """keypoints [B, N, J, 2] (model space), prompt [B·V] (and its mirror image's, for flip), weights
        [B, V, J] → [H, B, N, J, 3]."""
        batch, frames, joints, _ = keypoints.shape
        if weights.shape[:1] != (batch,) or prompt.tokens.shape[0] != batch * weights.shape[1]:
            raise ValueError("prompt variants and guidance weights do not match the batch")
        shape = (options.hypotheses, batch, frames, joints, 3)
        sample = torch.randn(shape, generator=generator).to(keypoints.device, keypoints.dtype)
        for t, t_prev in self.scheduler.set_timesteps(options.steps):
            clean = self.predict_clean(sample, keypoints, t, prompt, weights, options, mirrored)
            sample = self.scheduler.step(clean, t, t_prev, sample, generator)
        return sample
