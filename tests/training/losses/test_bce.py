"""The cross-entropy losses (minimax and non-saturating) against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from tests.training.losses.common import FAKE, REAL, loss, mean, sigmoid
from training.losses.bce import MinimaxLoss, NonSaturatingLoss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("name", ["minimax", "non-saturating"])
def test_cross_entropy_losses(name, smoothing):
    t = 1 - smoothing  # one-sided: only the real labels are smoothed
    expected_d = mean(-(t * math.log(sigmoid(r)) + (1 - t) * math.log(1 - sigmoid(r))) for r in REAL.tolist()) \
        + mean(-math.log(1 - sigmoid(f)) for f in FAKE.tolist())
    value, stats = loss(name, label_smoothing=smoothing).discriminator_loss(REAL, FAKE)
    assert value.item() == pytest.approx(expected_d, rel=1e-6)
    assert stats["d_real"].item() == pytest.approx(mean(sigmoid(r) for r in REAL.tolist()), rel=1e-6)
    assert stats["d_fake"].item() == pytest.approx(mean(sigmoid(f) for f in FAKE.tolist()), rel=1e-6)

    g, _ = loss(name, label_smoothing=smoothing).generator_loss(FAKE)
    if name == "minimax":  # G minimises log(1 - D(G(z))), the game as written
        expected_g = mean(math.log(1 - sigmoid(f)) for f in FAKE.tolist())
    else:  # G minimises -log D(G(z))
        expected_g = mean(-math.log(sigmoid(f)) for f in FAKE.tolist())
    assert g.item() == pytest.approx(expected_g, rel=1e-6)


def test_cross_entropy_is_stable_for_large_logits():
    d, _ = loss("non-saturating").discriminator_loss(torch.tensor([200.0]), torch.tensor([-200.0]))
    g, _ = loss("non-saturating").generator_loss(torch.tensor([-200.0]))
    assert d.item() == pytest.approx(0.0, abs=1e-6) and g.item() == pytest.approx(200.0)


def test_smoothing_is_one_sided():
    plain, _ = loss("non-saturating").discriminator_loss(REAL, FAKE)
    smoothed, _ = loss("non-saturating", label_smoothing=0.2).discriminator_loss(REAL, FAKE)
    real_only = REAL.new_tensor([-50.0] * 4)  # fakes scored as certainly fake: no smoothing applies
    a, _ = loss("non-saturating").discriminator_loss(REAL, real_only)
    b, _ = loss("non-saturating", label_smoothing=0.2).discriminator_loss(REAL, real_only)
    assert smoothed.item() != plain.item()
    assert (b - a).item() == pytest.approx((smoothed - plain).item(), rel=1e-6)


def test_the_minimax_generator_gradient_vanishes_where_the_non_saturating_one_does_not():
    # Early on D rejects every fake (very negative logits): the reason the paper proposes -log D(G(z)).
    rejected = torch.tensor([-8.0, -10.0], requires_grad=True)
    loss("minimax").generator_loss(rejected)[0].backward()
    minimax_grad = rejected.grad.abs().max().item()
    rejected.grad = None
    loss("non-saturating").generator_loss(rejected)[0].backward()
    assert minimax_grad < 1e-3 < rejected.grad.abs().min().item()


def test_the_names_build_their_classes():
    assert type(loss("minimax")) is MinimaxLoss and type(loss("non-saturating")) is NonSaturatingLoss
