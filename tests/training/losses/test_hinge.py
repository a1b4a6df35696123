"""The hinge loss against hand-computed values."""
from __future__ import annotations

import pytest
import torch

from tests.training.losses.common import FAKE, REAL, loss, mean
from training.losses.hinge import HingeLoss


def test_hinge_loss():
    expected_d = mean(max(0.0, 1 - r) for r in REAL.tolist()) + mean(max(0.0, 1 + f) for f in FAKE.tolist())
    d, stats = loss("hinge").discriminator_loss(REAL, FAKE)
    assert d.item() == pytest.approx(expected_d, rel=1e-6)
    assert stats["d_real"].item() == pytest.approx(REAL.mean().item())
    g, _ = loss("hinge").generator_loss(FAKE)
    assert g.item() == pytest.approx(-FAKE.mean().item())


def test_scores_past_the_margin_cost_the_discriminator_nothing():
    # The hinge stops pushing once a real scores >= 1 and a fake <= -1, unlike the unbounded critic losses.
    real, fake = torch.tensor([1.0, 5.0], requires_grad=True), torch.tensor([-1.0, -7.0], requires_grad=True)
    d, _ = loss("hinge").discriminator_loss(real, fake)
    d.backward()
    assert d.item() == 0.0 and real.grad.abs().sum() == 0 and fake.grad.abs().sum() == 0
    assert isinstance(loss("hinge"), HingeLoss)
