"""The EMA of the generator's weights: a plain copy before ema_start, an average from it on,
batch-norm statistics copied rather than averaged."""
from __future__ import annotations

import torch

from training.ema import EMA


def test_ema_copies_before_start_then_averages():
    torch.manual_seed(0)
    g = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ema = EMA(g, decay=0.9, start=2)
    assert not ema.model.training and not any(p.requires_grad for p in ema.model.parameters())
    for step in (0, 1):  # before ema_start: a plain copy
        with torch.no_grad():
            for p in g.parameters():
                p.add_(torch.randn_like(p))
        g(torch.randn(8, 3))  # moves the running statistics
        ema.update(g, step)
        for a, b in zip(ema.model.state_dict().values(), g.state_dict().values()):
            assert torch.equal(a, b)
    for step in (2, 3):  # from ema_start: decay * average + (1 - decay) * current
        previous = [p.clone() for p in ema.model.parameters()]
        with torch.no_grad():
            for p in g.parameters():
                p.add_(torch.randn_like(p))
        g(torch.randn(8, 3))
        ema.update(g, step)
        for avg, old, cur in zip(ema.model.parameters(), previous, g.parameters()):
            torch.testing.assert_close(avg, 0.9 * old + 0.1 * cur)
        for avg, cur in zip(ema.model.buffers(), g.buffers()):  # statistics are copied, not averaged
            assert torch.equal(avg, cur)


def test_the_average_is_a_copy_that_training_does_not_touch():
    g = torch.nn.Linear(3, 2)
    ema = EMA(g, decay=0.5, start=0)
    with torch.no_grad():
        g.weight.add_(1.0)
    assert not torch.equal(ema.model.weight, g.weight)  # until update, the average keeps its weights
