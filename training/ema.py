"""An exponential moving average of the generator's weights (Karras et al. 2018)."""
from __future__ import annotations

import copy

import torch
from torch import nn


def ema_decay(config, world_size: int = 1) -> float:
    """The decay per generator step: ``ema_decay``, or the one that halves a weight's share every
    ``ema_halflife_images`` generated images (Karras et al.'s half-life in images, which keeps the
    horizon the same when the batch size changes)."""
    if config.ema_halflife_images:
        return 0.5 ** (config.batch_size * world_size / config.ema_halflife_images)
    return config.ema_decay


class EMA:
    """The averaged generator, ``model``, used for samples, evaluation and export.

    Before ``start`` it just copies the weights, so early samples are not dragged toward init.
    Buffers (batch-norm statistics) are copied, not averaged.
    """

    def __init__(self, generator: nn.Module, decay: float, start: int):
        self.model = copy.deepcopy(generator).eval().requires_grad_(False)
        self.decay, self.start = decay, start

    @torch.no_grad()
    def update(self, generator: nn.Module, step: int) -> None:
        weight = 1.0 if step < self.start else 1.0 - self.decay
        for average, current in zip(self.model.parameters(), generator.parameters()):
            average.lerp_(current, weight)
        for average, current in zip(self.model.buffers(), generator.buffers()):
            average.copy_(current)
