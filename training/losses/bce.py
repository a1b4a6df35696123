"""The original GAN objectives (Goodfellow et al. 2014), from logits.

D minimises binary cross-entropy with real labels 1 - label_smoothing (one-sided smoothing,
Salimans et al. 2016: only the real side, so D is not rewarded for pushing fakes up).
``minimax``: G minimises log(1 - D(G(z))), the game as written, whose gradient vanishes early on.
``non-saturating``: G minimises -log D(G(z)), the fix the same paper proposes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from training.losses import LOSSES, GANLoss


class BCELoss(GANLoss):
    saturating: bool

    def discriminator_loss(self, real_scores, fake_scores):
        target = 1.0 - self.config.label_smoothing
        # t*softplus(-l) + (1-t)*softplus(l) is the cross-entropy of sigmoid(l) against t.
        real_loss = target * F.softplus(-real_scores) + (1 - target) * F.softplus(real_scores)
        loss = real_loss.mean() + F.softplus(fake_scores).mean()
        return loss, {"d_real": torch.sigmoid(real_scores).mean().detach(),
                      "d_fake": torch.sigmoid(fake_scores).mean().detach()}

    def generator_loss(self, fake_scores):
        # log(1 - sigmoid(l)) = -softplus(l) and -log sigmoid(l) = softplus(-l), stable for any logit.
        loss = -F.softplus(fake_scores) if self.saturating else F.softplus(-fake_scores)
        return loss.mean(), {}


@LOSSES.register("minimax", fields=("label_smoothing", "r1_gamma"),
                 description="The game as written (Goodfellow et al. 2014): G minimises log(1 - D(G(z))), "
                             "which stalls early")
class MinimaxLoss(BCELoss):
    saturating = True


@LOSSES.register(
    "non-saturating",
    description="The original paper's fix: G minimises -log D(G(z)); D's cross-entropy, one-sided smoothing",
    fields=("label_smoothing", "r1_gamma"),
)
class NonSaturatingLoss(BCELoss):
    saturating = False
