"""R1 (Mescheder et al. 2018): the squared gradient of D's scores on real data, for any loss.

``GANLoss.regularizer`` adds ``r1_gamma / 2`` times it to the discriminator's loss when the config
asks for it, beside the loss's own penalty (e.g. WGAN-GP's gradient penalty).
"""
from __future__ import annotations

import torch


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E||grad_x D(x)||^2 over the real batch; ``real`` must require grad before D saw it.

    ``create_graph=True`` keeps the gradient's own graph, so the penalty's backward reaches D's
    weights; without it R1 would have no effect on training.
    """
    (grad,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()
