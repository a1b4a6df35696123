"""Building blocks that several architectures share."""
from __future__ import annotations

import torch
from torch import nn


def projection_score(linear: nn.Module, embed: nn.Module | None, h: torch.Tensor,
                     labels: torch.Tensor | None) -> torch.Tensor:
    """A discriminator's score from its last features ``h`` [B, F]; a conditional one adds the
    projection term <embed(y), h> (Miyato & Koyama 2018)."""
    score = linear(h).squeeze(1)
    return score if embed is None else score + (embed(labels) * h).sum(1)
