"""Learning rates over a run: ``lr_schedule`` (constant, linear_decay, cosine) after ``lr_warmup_steps``.

The rate of every update is a function of the generator step it belongs to and nothing else, set
on the optimisers before each step: a resumed run (whose optimisers come back with the config's
base rates, see Trainer.load_state_dict) takes exactly the rates an uninterrupted run takes, and
a resume with a larger ``steps`` stretches the decay over the new total.
"""
from __future__ import annotations

import math

import torch

from training.config import Config


def rate_factor(schedule: str, step: int, total: int, warmup: int = 0) -> float:
    """The fraction of the base rate for the update at ``step`` (0-based) of ``total``.

    Warm-up: (step + 1) / warmup over the first ``warmup`` steps. Then constant stays at 1;
    linear_decay and cosine fall from 1 at the end of the warm-up towards 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    if schedule == "linear_decay":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown lr_schedule {schedule!r}")


class RateSchedule:
    """Sets each optimiser's rate to its base rate times ``rate_factor`` of the step."""

    def __init__(self, config: Config, optimizers: dict[str, tuple[torch.optim.Optimizer, float]]):
        self.config, self.optimizers = config, optimizers

    @property
    def varies(self) -> bool:
        return self.config.lr_schedule != "constant" or self.config.lr_warmup_steps > 0

    def apply(self, step: int) -> dict[str, float]:
        """Set the rates for the update at ``step``; returns them by name (lr_g, lr_d) when they vary."""
        if not self.varies:
            return {}
        c = self.config
        factor = rate_factor(c.lr_schedule, step, c.steps, c.lr_warmup_steps)
        rates = {}
        for name, (optimizer, base) in self.optimizers.items():
            for group in optimizer.param_groups:
                group["lr"] = base * factor
            rates[name] = base * factor
        return rates
