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


def test_a_half_life_in_images_sets_the_decay_whatever_the_batch():
    from training import config as configs
    from training.ema import ema_decay

    for batch in (32, 128):
        config = configs.build_config({"batch_size": batch, "ema_halflife_images": 10_000, "ema_decay": 0.9})
        decay = ema_decay(config)
        assert decay == 0.5 ** (batch / 10_000)
        assert abs(decay ** (10_000 / batch) - 0.5) < 1e-9  # a weight's share halves every 10,000 images
    assert ema_decay(configs.build_config({"batch_size": 64, "ema_halflife_images": 10_000}), world_size=2) == \
        0.5 ** (128 / 10_000)
    assert ema_decay(configs.build_config({"ema_decay": 0.95})) == 0.95  # no half-life: ema_decay as given
