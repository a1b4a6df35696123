"""What the architecture tests share: a small config of a preset, and its pair built for a class count."""
from __future__ import annotations

import torch

from training import config as configs
from training.models import build_models


def small(preset: str, *overrides: str, **extra):
    """The preset with narrow nets, so a forward pass costs milliseconds."""
    return configs.resolve(preset, ["g_width=8", "d_width=8", *overrides], extra or None)


def pair(config, num_classes: int = 0):
    torch.manual_seed(0)
    return build_models(config, num_classes)


def latents(config, n: int = 4) -> torch.Tensor:
    return torch.randn(n, config.latent_dim, generator=torch.Generator().manual_seed(1))
