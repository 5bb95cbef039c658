"""The training objective: predict Y_0 from Y_t (paper section 3.3), MSE over joints and frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from finepose_core.diffusion.schedule import CLAMP_M, NoiseSchedule
from finepose_core.model.denoiser import FinePoseDenoiser
from finepose_core.model.prompts import PromptEmbedding


def denoising_loss(
    model: FinePoseDenoiser | nn.Module,
    schedule: NoiseSchedule,
    clean: Tensor,
    keypoints: Tensor,
    prompt: PromptEmbedding,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One random t per clip; Y_t = q(Y_t | Y_0) clamped to ±CLAMP_M; loss ‖Y_0 − D(Y_t, X, t, P)‖².

    `model` may be the denoiser or a wrapper with the same forward (DistributedDataParallel).
    """
    batch = clean.shape[0]
    t = schedule.sample_timesteps(batch, generator).to(clean.device)
    noise = torch.randn(clean.shape, generator=generator).to(clean.device, clean.dtype)
    noisy = schedule.add_noise(clean, noise, t).clamp(-CLAMP_M, CLAMP_M)
    loss: Tensor = F.mse_loss(model(noisy, keypoints, t, prompt), clean)
    return loss
