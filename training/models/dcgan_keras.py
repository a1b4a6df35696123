"""The DCGAN of TensorFlow's Keras tutorial ("Deep Convolutional Generative Adversarial Network").

G: Dense(7*7*256, no bias), BN, LeakyReLU, reshape; Conv2DTranspose 128 (5x5, stride 1),
64 (5x5, stride 2), 1 (5x5, stride 2, tanh), each but the last without bias and followed by
BN + LeakyReLU. D: Conv 64 and 128 (5x5, stride 2, 'same'), LeakyReLU, Dropout 0.3, Dense 1
(the dropout is layers.Dropout: nn.Dropout's distribution from a cheaper mask).
Keras defaults kept: LeakyReLU slope 0.3, BN momentum 0.99 (PyTorch 0.01) and eps 1e-3,
Glorot-uniform weights. Widths scale with g_width/d_width (64 gives the tutorial's 256/128/64).
"""
from __future__ import annotations

import torch
from torch import nn

from training.config import ConfigError
from training.models import MODELS, GANModels, require_unconditional
from training.models.layers import Dropout

KERAS_SLOPE = 0.3
KERAS_BN = dict(momentum=0.01, eps=1e-3)


def glorot_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class KerasGenerator(nn.Module):
    output_range = (-1.0, 1.0)

    def __init__(self, latent_dim, width, image_shape):
        super().__init__()
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, 0, image_shape
        channels, size, _ = image_shape
        self.start, self.width = size // 4, width
        c = 4 * width
        self.project = nn.Sequential(
            nn.Linear(latent_dim, c * self.start**2, bias=False),
            nn.BatchNorm1d(c * self.start**2, **KERAS_BN), nn.LeakyReLU(KERAS_SLOPE),
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(c, 2 * width, 5, 1, padding=2, bias=False),
            nn.BatchNorm2d(2 * width, **KERAS_BN), nn.LeakyReLU(KERAS_SLOPE),
            nn.ConvTranspose2d(2 * width, width, 5, 2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(width, **KERAS_BN), nn.LeakyReLU(KERAS_SLOPE),
            nn.ConvTranspose2d(width, channels, 5, 2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )
        glorot_init(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z).view(-1, 4 * self.width, self.start, self.start)
        return self.net(h)


class KerasDiscriminator(nn.Module):
    def __init__(self, width, image_shape, dropout):
        super().__init__()
        channels, size, _ = image_shape
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 5, 2, padding=2), nn.LeakyReLU(KERAS_SLOPE), Dropout(dropout),
            nn.Conv2d(width, 2 * width, 5, 2, padding=2), nn.LeakyReLU(KERAS_SLOPE), Dropout(dropout),
            nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, 1),
        )
        glorot_init(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)


@MODELS.register(
    "dcgan-keras",
    description="The DCGAN of TensorFlow's Keras tutorial: a dense 7x7 block, 5x5 transposed convolutions",
    fields=("latent_dim", "g_width", "d_width", "dropout", "channels", "image_size"),
)
def build(config, num_classes: int) -> GANModels:
    require_unconditional(config, num_classes)
    if config.image_size % 4:
        raise ConfigError(f"dcgan-keras upsamples twice by 2, so image_size must be a multiple of 4 (28 for MNIST); got {config.image_size}.")
    shape = (config.channels, config.image_size, config.image_size)
    return GANModels(KerasGenerator(config.latent_dim, config.g_width, shape),
                     KerasDiscriminator(config.d_width, shape, config.dropout))
