"""The loss package itself: build_loss by name, and the regulariser every loss shares (its own
penalty plus R1 when asked). Each loss's values are tested beside it in tests/training/losses/."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from tests.training.losses.common import LinearCritic, loss
from training import config as configs
from training.config import ConfigError
from training.losses import GANLoss, build_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def test_every_registered_loss_builds_by_name():
    for name in ["minimax", "non-saturating", "hinge", "wasserstein", "wgan-gp"]:
        built = loss(name)
        assert isinstance(built, GANLoss) and built.config.loss == name


def test_an_unknown_loss_is_a_config_error_that_suggests_the_nearest_name():
    # The config validates names itself; build_loss must still say so for a config built another way.
    config = dataclasses.replace(configs.build_config({}), loss="hinj")
    with pytest.raises(ConfigError, match="Did you mean 'hinge'"):
        build_loss(config)


@pytest.mark.parametrize("name", ["minimax", "non-saturating", "hinge", "wasserstein", "wgan-gp"])
def test_every_loss_adds_r1_to_its_regularizer_when_asked(name):
    w = torch.tensor([[[0.5, -1.0], [2.0, 0.0]]])
    critic = LinearCritic(w)
    fake = torch.rand(3, 1, 2, 2)
    plain = loss(name)
    real = plain.prepare_real(torch.rand(3, 1, 2, 2))
    assert not real.requires_grad  # r1_gamma=0: no input gradient is paid for
    own, own_stats = plain.regularizer(critic, real, fake, None, critic(real))
    assert "r1" not in own_stats and (own is None) == (name != "wgan-gp")

    with_r1 = loss(name, r1_gamma=4.0)
    real = with_r1.prepare_real(torch.rand(3, 1, 2, 2))
    assert real.requires_grad  # before D sees it, so D's own forward serves R1
    torch.manual_seed(0)  # the gradient penalty draws its interpolation weights
    value, stats = with_r1.regularizer(critic, real, fake, None, critic(real))
    assert stats["r1"].item() == pytest.approx(w.pow(2).sum().item())
    expected = 4.0 / 2 * w.pow(2).sum().item()
    if name == "wgan-gp":  # beside the loss's own penalty, not instead of it
        torch.manual_seed(0)
        gp, _ = with_r1.penalty(critic, real, fake, None)
        expected += gp.item()
        assert "gradient_penalty" in stats
    assert value.item() == pytest.approx(expected, rel=1e-6)
    value.backward()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0  # it trains the critic


def test_r1_reuses_full_precision_scores_and_rescores_half_precision_ones():
    # Scores from autocast are bf16, too coarse for R1's gradient; fp32 scores are reused, saving a forward.
    calls = []

    class CountingCritic(LinearCritic):
        def forward(self, x, labels=None):
            calls.append(x.dtype)
            return super().forward(x, labels)

    w = torch.tensor([[[0.5, -1.0], [2.0, 0.0]]])
    critic = CountingCritic(w)
    with_r1 = loss("hinge", r1_gamma=2.0)
    real = with_r1.prepare_real(torch.rand(3, 1, 2, 2))
    fake = torch.rand(3, 1, 2, 2)
    scores = critic(real)
    with_r1.regularizer(critic, real, fake, None, scores)
    assert len(calls) == 1
    _, stats = with_r1.regularizer(critic, real, fake, None, scores.to(torch.bfloat16))
    assert len(calls) == 2
    assert stats["r1"].dtype == torch.float32
    assert stats["r1"].item() == pytest.approx(w.pow(2).sum().item(), rel=1e-6)
