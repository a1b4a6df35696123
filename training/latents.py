"""Latent vectors for torch generators: the one sampler that training, export and evaluation share.

Noise is drawn here and never inside a model's ``forward``: the ONNX exporter would bake it in as
a constant. Pass a ``torch.Generator`` to keep the caller's RNG stream untouched (sample grids,
evaluation and export draw from their own seeded generators).
"""
from __future__ import annotations

import torch

from training.config import Config


def sample_latents(config: Config, n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` latents [n, latent_dim] from the config's distribution: uniform in +-latent_bound, or
    normal, clamped to +-latent_bound when a bound is set."""
    if config.latent_distribution == "uniform":
        z = torch.rand(n, config.latent_dim, device=device, generator=generator) * 2 - 1
        return z * config.latent_bound
    z = torch.randn(n, config.latent_dim, device=device, generator=generator)
    return z.clamp_(-config.latent_bound, config.latent_bound) if config.latent_bound else z
