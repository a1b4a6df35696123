"""Generator/discriminator pairs, one file per architecture, all in one registry.

A factory takes ``(config, num_classes)`` and returns a ``GANModels``. Every generator maps
``(z, labels)`` to images in its ``output_range``; every discriminator maps ``(images, labels)``
to one raw score per image (a logit, or a critic value for Wasserstein losses): the losses
decide what the score means.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from training.config import Config, ConfigError
from training.registry import MODELS


@dataclass
class GANModels:
    generator: nn.Module
    discriminator: nn.Module


def build_models(config: Config, num_classes: int = 0) -> GANModels:
    """Build the pair named by ``config.model``; ``num_classes > 0`` asks for a conditional pair."""
    try:
        factory = MODELS.get(config.model)
    except KeyError as error:
        raise ConfigError(error.args[0]) from None
    models = factory(config, num_classes)
    if config.pack > 1:  # D sees `pack` images as one with pack*C channels, built by the same factory
        wide = dataclasses.replace(config, channels=config.channels * config.pack)
        models.discriminator = Packed(factory(wide, 0).discriminator, config.pack)
    g = models.generator
    for attribute in ("latent_dim", "num_classes", "image_shape", "output_range"):
        if not hasattr(g, attribute):
            raise TypeError(f"model {config.model!r}: its generator must define {attribute}")
    return models


class Packed(nn.Module):
    """PacGAN's packing: [B, C, H, W] -> [B / pack, pack * C, H, W] before the discriminator, so it
    scores a pack of samples together and can see when they lack variety (Lin et al. 2018)."""

    def __init__(self, discriminator: nn.Module, pack: int):
        super().__init__()
        self.discriminator, self.pack = discriminator, pack

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        if b % self.pack:
            raise ValueError(f"a batch of {b} does not split into packs of {self.pack}")
        return self.discriminator(x.reshape(b // self.pack, self.pack * c, h, w))


def require_unconditional(config: Config, num_classes: int) -> None:
    if num_classes:
        raise ConfigError(
            f"model {config.model!r} has no class-conditional version; "
            "use model=dcgan or sngan (as the cgan-* presets do) for conditional training, or conditional=false."
        )


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's init: weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
