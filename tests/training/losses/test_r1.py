"""R1: the squared input gradient of D on real data, reaching D's weights, logged by a training step."""
from __future__ import annotations

import math

import pytest
import torch

from tests.training.losses.common import LinearCritic
from training import config as configs
from training.losses.r1 import r1_penalty
from training.session import build_session
from training.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def test_r1_penalty_is_the_squared_input_gradient():
    w = torch.tensor([[[0.5, -1.0], [2.0, 0.0]]])
    critic = LinearCritic(w)
    real = torch.randn(3, 1, 2, 2, requires_grad=True)
    r1 = r1_penalty(critic(real), real)
    assert r1.item() == pytest.approx(w.pow(2).sum().item())
    r1.backward()  # the penalty reaches the weights: d/dw ||w||^2 = 2w
    torch.testing.assert_close(critic.w.grad, 2 * w)


def test_r1_is_the_mean_over_the_batch_of_each_sample_squared_gradient():
    # D(x) = sum(x^2) / 2 has gradient x, so each sample's share is ||x||^2: a sum over the batch
    # (a common slip) would grow with the batch size.
    real = torch.tensor([[1.0, 2.0], [0.0, 3.0]], requires_grad=True)
    scores = real.pow(2).sum(1) / 2
    assert r1_penalty(scores, real).item() == pytest.approx((5 + 9) / 2)


def test_a_training_step_with_r1_logs_it(mnist_train):
    config = configs.resolve("dcgan-mnist", ["batch_size=8", "g_width=8", "d_width=8", "r1_gamma=1"])
    stats = Trainer(build_session(config, dataset=mnist_train), None).train_step()
    assert math.isfinite(float(stats["r1"])) and float(stats["r1"]) > 0
