"""The Keras tutorial's DCGAN (training/models/dcgan_keras.py): the tutorial's layer sizes at
width 64, Keras' defaults, 28x28 images in [-1, 1], one logit per image, and the sizes it refuses."""
from __future__ import annotations

import math

import pytest
from torch import nn

from tests.training.models.common import latents, pair, small
from training.config import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_at_width_64_the_layers_are_the_tutorials():
    config = small("dcgan-keras-mnist", "g_width=64", "d_width=64")
    models = pair(config)
    g, d = models.generator, models.discriminator
    dense = g.project[0]
    assert (dense.in_features, dense.out_features, dense.bias) == (100, 7 * 7 * 256, None)
    ups = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.out_channels, m.stride) for m in ups] == [(128, (1, 1)), (64, (2, 2)), (1, (2, 2))]
    assert all(m.kernel_size == (5, 5) and m.bias is None for m in ups)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.stride) for m in convs] == [(64, (2, 2)), (128, (2, 2))]
    assert [m.p for m in d.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert d.net[-1].out_features == 1


def test_keras_defaults_are_kept():
    models = pair(small("dcgan-keras-mnist"))
    modules = [*models.generator.modules(), *models.discriminator.modules()]
    # Keras' BatchNormalization momentum 0.99 is PyTorch's 0.01; its epsilon is 1e-3; LeakyReLU's slope 0.3.
    assert {(m.momentum, m.eps) for m in modules if isinstance(m, nn.modules.batchnorm._BatchNorm)} == {(0.01, 1e-3)}
    assert {m.negative_slope for m in modules if isinstance(m, nn.LeakyReLU)} == {0.3}
    # Glorot-uniform: every weight inside +-sqrt(6 / (fan_in + fan_out)) and biases zero.
    linear = models.discriminator.net[-1]
    bound = math.sqrt(6 / (linear.in_features + linear.out_features))
    assert linear.weight.abs().max() <= bound and linear.weight.abs().max() > 0.9 * bound
    assert all(m.bias is None or not m.bias.any() for m in modules if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_the_generator_draws_28x28_in_minus_one_to_one_and_the_discriminator_one_logit_each():
    config = small("dcgan-keras-mnist")
    models = pair(config)
    images = models.generator(latents(config) * 30)
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1
    assert models.generator.output_range == (-1.0, 1.0)
    assert models.discriminator(images).shape == (4,)


def test_other_multiples_of_four_and_colour_work():
    config = small("dcgan-keras-mnist", image_size=32, channels=3)
    models = pair(config)
    images = models.generator(latents(config))
    assert images.shape == (4, 3, 32, 32) and models.discriminator(images).shape == (4,)


def test_sizes_that_are_not_a_multiple_of_four_are_refused():
    with pytest.raises(ConfigError, match="multiple of 4.*got 30"):
        pair(small("dcgan-keras-mnist", image_size=30))


def test_it_has_no_conditional_version_and_says_which_do():
    with pytest.raises(ConfigError, match="no class-conditional version.*dcgan or sngan"):
        pair(small("dcgan-keras-mnist"), num_classes=10)
