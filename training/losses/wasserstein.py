"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and gradient penalty (Gulrajani et al. 2017).

The critic maximises E[D(x)] - E[D(G(z))], the Wasserstein estimate logged as ``wasserstein``.
Clipping keeps the critic Lipschitz by clamping every weight after every critic step. The gradient
penalty instead pushes ||grad D(x_hat)|| to 1 on points x_hat between real and fake samples.
"""
from __future__ import annotations

import torch

from training.config import ConfigError
from training.losses import LOSSES, GANLoss
from training.models import has_batch_norm


class WassersteinLoss(GANLoss):
    def discriminator_loss(self, real_scores, fake_scores):
        estimate = real_scores.mean() - fake_scores.mean()
        return -estimate, {"wasserstein": estimate.detach(), "d_real": real_scores.mean().detach(),
                           "d_fake": fake_scores.mean().detach()}

    def generator_loss(self, fake_scores):
        return -fake_scores.mean(), {}


@LOSSES.register(
    "wasserstein",
    description="WGAN (Arjovsky et al. 2017): the critic kept Lipschitz by clamping its weights to +-clip_value",
    fields=("clip_value", "r1_gamma"),
)
class WeightClippingLoss(WassersteinLoss):
    @torch.no_grad()
    def after_discriminator_step(self, discriminator):
        c = self.config.clip_value
        for p in discriminator.parameters():
            p.clamp_(-c, c)


def interpolation_weights(real: torch.Tensor) -> torch.Tensor:
    """One weight per sample, broadcast over its pixels: per-pixel weights (a common slip)
    would not put x_hat on the line between a real and a fake image."""
    return torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)


def gradient_penalty(discriminator, real, fake, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """E[(||grad D(x_hat)|| - 1)^2] and the mean gradient norm.

    ``create_graph=True`` keeps the graph of the gradient itself, so the penalty's backward
    reaches the critic's weights; without it the penalty would have no effect on training.
    """
    eps = interpolation_weights(real)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(x_hat, labels)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return (norms - 1).pow(2).mean(), norms.mean().detach()


@LOSSES.register(
    "wgan-gp",
    description="WGAN-GP (Gulrajani et al. 2017): a gradient penalty pushes the critic's gradient norm to 1",
    fields=("gp_lambda", "r1_gamma"),
)
class GradientPenaltyLoss(WassersteinLoss):
    def penalty(self, discriminator, real, fake, labels):
        penalty, norm = gradient_penalty(discriminator, real, fake, labels)
        return self.config.gp_lambda * penalty, {"gradient_penalty": penalty.detach(), "critic_grad_norm": norm}

    def check_models(self, discriminator):
        if has_batch_norm(discriminator):
            raise ConfigError(
                "wgan-gp penalises each sample's gradient, which batch norm in the critic mixes across "
                "the batch; pick a model whose critic has no batch norm (wgan-mlp, sngan)."
            )
