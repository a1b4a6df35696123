"""GAN objectives, one file each, in one registry.

A loss sees the discriminator's raw scores and turns them into the two players' losses; it may
also add a regulariser to the discriminator's step (the gradient penalty) and act after the
discriminator's optimiser step (weight clipping). R1 (Mescheder et al. 2018) is available to
every loss through ``r1_gamma``. Each method returns ``(loss, stats)``; stats are detached scalars
logged to ``metrics.jsonl`` under the same names.
"""
from __future__ import annotations

import torch
from torch import nn

from training.config import Config, ConfigError
from training.registry import Registry, import_submodules

LOSSES: Registry = Registry("loss")

Stats = dict[str, torch.Tensor]


class GANLoss:
    def __init__(self, config: Config):
        self.config = config

    def discriminator_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def generator_loss(self, fake_scores: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def regularizer(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    labels: torch.Tensor | None) -> tuple[torch.Tensor | None, Stats]:
        return None, {}

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        pass

    def check_models(self, discriminator: nn.Module) -> None:
        """Refuse pairings known to be wrong before any step is taken."""


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """gamma/2 * E||grad_x D(x)||^2 on real data; ``real`` must require grad before D saw it."""
    (grad,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def build_loss(config: Config) -> GANLoss:
    try:
        return LOSSES.get(config.loss)(config)
    except KeyError as error:
        raise ConfigError(error.args[0]) from None


import_submodules(__name__)
