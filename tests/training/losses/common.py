"""What the loss tests share: fixed scores to compute by hand, and a critic whose input gradient is known."""
from __future__ import annotations

import math

import torch
from torch import nn

from training import config as configs
from training.losses import build_loss

REAL = torch.tensor([2.0, -1.0, 0.5, 3.0])
FAKE = torch.tensor([-2.0, 0.25, 1.5, -0.5])


def loss(name, **changes):
    return build_loss(configs.build_config({"loss": name, **changes}))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def mean(values):
    values = list(values)
    return sum(values) / len(values)


class LinearCritic(nn.Module):
    """D(x) = <w, x> + b: its input gradient is w for every x, so the penalty is known exactly."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w.flatten() + self.b
