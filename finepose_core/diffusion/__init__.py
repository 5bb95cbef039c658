"""Diffusion for 3D poses: the noise schedule, the DDIM sampler, multi-hypothesis sampling and aggregation."""
