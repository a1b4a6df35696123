"""GAN objectives, one file each, in one registry.

A loss sees the discriminator's raw scores and turns them into the two players' losses; it may
also add its own penalty to the discriminator's step (the gradient penalty) and act after the
discriminator's optimiser step (weight clipping). R1 (Mescheder et al. 2018, ``losses/r1.py``) is
added to every loss's regulariser through ``r1_gamma``. Each method returns ``(loss, stats)``;
stats are detached scalars logged to ``metrics.jsonl`` under the same names.
"""
from __future__ import annotations

import torch
from torch import nn

from training.config import Config, ConfigError
from training.losses.r1 import r1_penalty
from training.registry import LOSSES

Stats = dict[str, torch.Tensor]


class GANLoss:
    def __init__(self, config: Config):
        self.config = config

    def discriminator_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def generator_loss(self, fake_scores: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def prepare_real(self, real: torch.Tensor) -> torch.Tensor:
        """The real batch as D must see it: R1 differentiates D's scores with respect to it."""
        return real.requires_grad_(True) if self.config.r1_gamma else real

    def regularizer(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    labels: torch.Tensor | None, real_scores: torch.Tensor) -> tuple[torch.Tensor | None, Stats]:
        """All that D's step adds to its loss: this loss's own ``penalty``, then R1 when ``r1_gamma``
        is set. ``real_scores`` are D's scores of ``real`` (as ``prepare_real`` returned it), reused
        so that R1 costs no second forward pass."""
        total, stats = self.penalty(discriminator, real, fake, labels)
        if self.config.r1_gamma:
            if real_scores.dtype != torch.float32:  # scored under autocast: R1's gradient needs fp32
                real_scores = discriminator(real, labels)
            r1 = r1_penalty(real_scores, real)
            weighted = self.config.r1_gamma / 2 * r1
            total = weighted if total is None else total + weighted
            stats = {**stats, "r1": r1.detach()}
        return total, stats

    def penalty(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                labels: torch.Tensor | None) -> tuple[torch.Tensor | None, Stats]:
        """This loss's own regulariser (e.g. WGAN-GP's gradient penalty); none by default."""
        return None, {}

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        pass

    def check_models(self, discriminator: nn.Module) -> None:
        """Refuse pairings known to be wrong before any step is taken."""


def build_loss(config: Config) -> GANLoss:
    try:
        return LOSSES.get(config.loss)(config)
    except KeyError as error:
        raise ConfigError(error.args[0]) from None
