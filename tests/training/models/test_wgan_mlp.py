"""The WGAN write-ups' MLP pair (training/models/wgan_mlp.py): G 128-256-512-1024 with batch norm
after all but the first hidden layer, tanh out; a critic 512-256-1 with no batch norm and no sigmoid."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.training.models.common import latents, pair, small
from training.config import ConfigError
from training.models import has_batch_norm

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_preset_builds_the_write_ups_sizes():
    models = pair(small("wgan-mnist", "g_width=128", "d_width=512"))
    g_sizes = [m.out_features for m in models.generator.modules() if isinstance(m, nn.Linear)]
    assert g_sizes == [128, 256, 512, 1024, 784]
    d_sizes = [m.out_features for m in models.discriminator.modules() if isinstance(m, nn.Linear)]
    assert d_sizes == [512, 256, 1]


def test_batch_norm_follows_every_hidden_layer_but_the_first_with_the_configured_momentum():
    g = pair(small("wgan-mnist", "bn_eps=0.8")).generator  # the write-up's eps slip, reachable by override
    layers = list(g.net)
    norms = [i for i, m in enumerate(layers) if isinstance(m, nn.BatchNorm1d)]
    linears = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear)]
    assert [i - 1 for i in norms] == linears[1:4]
    assert {(layers[i].momentum, layers[i].eps) for i in norms} == {(0.2, 0.8)}
    assert {m.negative_slope for m in layers if isinstance(m, nn.LeakyReLU)} == {0.2}


def test_images_in_minus_one_to_one_and_one_unbounded_critic_value_each():
    config = small("wgan-mnist")
    models = pair(config)
    images = models.generator(latents(config) * 20)
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1
    critic = models.discriminator
    assert not has_batch_norm(critic)  # so the same critic serves WGAN-GP's per-sample penalty
    with torch.no_grad():
        for layer in critic.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.fill_(0.1)
        values = critic(torch.ones(2, 1, 28, 28))
    assert values.shape == (2,) and (values > 1).all()  # no sigmoid: a critic value, not a probability


def test_the_narrowest_critic_still_has_a_hidden_layer():
    critic = pair(small("wgan-mnist", "d_width=1")).discriminator
    assert [m.out_features for m in critic.modules() if isinstance(m, nn.Linear)] == [2, 1, 1]
    assert critic(torch.zeros(3, 1, 28, 28)).shape == (3,)


def test_it_has_no_conditional_version():
    with pytest.raises(ConfigError, match="no class-conditional version"):
        pair(small("wgan-mnist"), num_classes=10)
