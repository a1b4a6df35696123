"""The first MLP GAN (Goodfellow et al. 2014, as in the seed write-up).

G: z -> g_width (ReLU) -> C*H*W (sigmoid), so images live in [0, 1].
D: C*H*W -> d_width (ReLU) -> 1. D returns a logit; the sigmoid lives in the loss
(binary cross-entropy from logits), which is the same function, computed stably.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from training.models import MODELS, GANModels, require_unconditional


class MLPGenerator(nn.Module):
    output_range = (0.0, 1.0)

    def __init__(self, latent_dim: int, hidden: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, 0, image_shape
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(image_shape)), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, hidden: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)


@MODELS.register(
    "mlp-gan",
    description="The first MLP GAN (Goodfellow et al. 2014): one ReLU hidden layer each, images in [0, 1]",
    fields=("latent_dim", "g_width", "d_width", "channels", "image_size"),
)
def build(config, num_classes: int) -> GANModels:
    require_unconditional(config, num_classes)
    shape = (config.channels, config.image_size, config.image_size)
    return GANModels(MLPGenerator(config.latent_dim, config.g_width, shape), MLPDiscriminator(config.d_width, shape))
