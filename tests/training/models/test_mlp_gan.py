"""The first MLP GAN (training/models/mlp_gan.py): G's sigmoid puts images in [0, 1], one hidden
layer each side, and D gives a raw logit (the sigmoid lives in the loss)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.training.models.common import latents, pair, small
from training.config import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_pair_has_the_write_ups_sizes():
    models = pair(small("gan-mlp-mnist", "g_width=256", "d_width=128"))
    assert [(m.in_features, m.out_features) for m in models.generator.modules() if isinstance(m, nn.Linear)] == \
        [(128, 256), (256, 784)]
    assert [(m.in_features, m.out_features) for m in models.discriminator.modules() if isinstance(m, nn.Linear)] == \
        [(784, 128), (128, 1)]


def test_the_generator_draws_images_in_zero_to_one():
    config = small("gan-mlp-mnist")
    g = pair(config).generator
    assert g.output_range == (0.0, 1.0) and g.image_shape == (1, 28, 28) and g.num_classes == 0
    images = g(latents(config) * 50)
    assert images.shape == (4, 1, 28, 28) and images.min() >= 0 and images.max() <= 1


def test_the_discriminator_gives_one_unbounded_logit_per_image():
    config = small("gan-mlp-mnist")
    d = pair(config).discriminator
    with torch.no_grad():
        for layer in d.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.fill_(1.0)
        scores = d(torch.ones(3, 1, 28, 28))
    assert scores.shape == (3,) and (scores > 1).all()  # no sigmoid inside: the loss applies it stably


def test_colour_images_of_other_sizes():
    config = small("gan-mlp-mnist", image_size=32, channels=3)
    models = pair(config)
    images = models.generator(latents(config))
    assert images.shape == (4, 3, 32, 32) and models.discriminator(images).shape == (4,)


def test_it_has_no_conditional_version():
    with pytest.raises(ConfigError, match="no class-conditional version"):
        pair(small("gan-mlp-mnist"), num_classes=10)
