"""The MLP pair of the WGAN and WGAN-GP write-ups.

G: z -> g_width -> 2x -> 4x -> 8x (128-256-512-1024 by default), LeakyReLU 0.2, batch norm after
every hidden layer but the first, tanh out. The critic: C*H*W -> d_width -> d_width/2 -> 1
(512-256-1), LeakyReLU 0.2, no sigmoid and no batch norm, so it also serves WGAN-GP, whose
per-sample gradient penalty batch norm would break.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from training.models import MODELS, GANModels, require_unconditional


class WGANGenerator(nn.Module):
    output_range = (-1.0, 1.0)

    def __init__(self, latent_dim, width, image_shape, bn_momentum, bn_eps):
        super().__init__()
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, 0, image_shape
        sizes = [latent_dim, width, width * 2, width * 4, width * 8]
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i > 0:
                layers.append(nn.BatchNorm1d(n_out, eps=bn_eps, momentum=bn_momentum))
            layers.append(nn.LeakyReLU(0.2))
        layers += [nn.Linear(sizes[-1], math.prod(image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)


class WGANCritic(nn.Module):
    def __init__(self, width, image_shape):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(image_shape), width), nn.LeakyReLU(0.2),
            nn.Linear(width, width // 2), nn.LeakyReLU(0.2),
            nn.Linear(width // 2, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)


@MODELS.register(
    "wgan-mlp",
    description="The MLP pair of the WGAN write-ups: G 128-256-512-1024 with batch norm, a critic without it",
    fields=("latent_dim", "g_width", "d_width", "bn_momentum", "bn_eps", "channels", "image_size"),
)
def build(config, num_classes: int) -> GANModels:
    require_unconditional(config, num_classes)
    shape = (config.channels, config.image_size, config.image_size)
    g = WGANGenerator(config.latent_dim, config.g_width, shape, config.bn_momentum, config.bn_eps)
    return GANModels(g, WGANCritic(max(config.d_width, 2), shape))
