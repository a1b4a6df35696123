"""Hinge loss (Lim & Ye 2017; used by SNGAN, SAGAN and BigGAN).

D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G: -E[D(G(z))]. With a spectrally normalised D it
is the strongest of our recipes at small budgets.
"""
from __future__ import annotations

import torch.nn.functional as F

from training.losses import LOSSES, GANLoss


@LOSSES.register(
    "hinge",
    description="Hinge loss (Lim & Ye 2017; SNGAN, BigGAN): the strongest recipe here with a spectral-norm D",
    fields=("r1_gamma",),
)
class HingeLoss(GANLoss):
    def discriminator_loss(self, real_scores, fake_scores):
        loss = F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()
        return loss, {"d_real": real_scores.mean().detach(), "d_fake": fake_scores.mean().detach()}

    def generator_loss(self, fake_scores):
        return -fake_scores.mean(), {}
