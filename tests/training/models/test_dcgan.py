"""DCGAN (training/models/dcgan.py): G maps z to the config's image shape in [-1, 1], D gives one
logit per image, the layout follows the write-up at every image size, and the conditional pair
uses its labels."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.training.models.common import latents, pair, small
from training.config import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("size, channels, upsamplings", [(28, 1, 2), (32, 3, 3), (64, 3, 4), (48, 1, 3)])
def test_the_generator_draws_the_configured_shape_in_minus_one_to_one(size, channels, upsamplings):
    config = small("dcgan-mnist", image_size=size, channels=channels)
    models = pair(config)
    g = models.generator
    assert (g.latent_dim, g.num_classes, g.image_shape, g.output_range) == (100, 0, (channels, size, size), (-1.0, 1.0))
    images = g(latents(config) * 50)  # far-out latents still land inside the range: tanh out
    assert images.shape == (4, channels, size, size)
    assert images.abs().max() <= 1 and images.std() > 0
    # 28 = 7*2*2, 32 = 4*2^3, 64 = 4*2^4, 48 = 6*2^3: one stride-2 transposed convolution each doubling.
    ups = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(ups) == upsamplings and all(m.stride == (2, 2) and m.kernel_size == (5, 5) for m in ups)
    assert models.discriminator(images).shape == (4,)


def test_sizes_that_do_not_halve_to_a_small_block_are_refused_with_the_sizes_that_work():
    with pytest.raises(ConfigError, match="image_size 30 does not halve.*28, 32"):
        pair(small("dcgan-mnist", image_size=30))


def test_the_discriminator_follows_the_write_up():
    d = pair(small("dcgan-mnist", "bn_momentum=0.3", "bn_eps=0.001")).discriminator
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(c.stride == (2, 2) and c.kernel_size == (5, 5) for c in convs)
    assert len(norms) == len(convs) - 1  # batch norm after every convolution but the first
    assert all((n.momentum, n.eps) == (0.3, 0.001) for n in norms)
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in d.modules())


def test_the_generator_uses_the_configured_batch_norm_and_relu():
    g = pair(small("wgan-mnist", "model=dcgan", "bn_momentum=0.2", "bn_eps=0.8")).generator
    norms = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all((n.momentum, n.eps) == (0.2, 0.8) for n in norms)
    assert any(isinstance(m, nn.ReLU) for m in g.modules()) and isinstance(list(g.modules())[-1], nn.Tanh)


def test_weights_start_as_the_paper_says():
    models = pair(small("dcgan-mnist", "g_width=64", "d_width=64"))  # enough weights for a tight estimate
    for net in (models.generator, models.discriminator):
        weights = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))])
        assert abs(weights.mean().item()) < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)
        scales = torch.cat([m.weight for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)])
        assert scales.mean().item() == pytest.approx(1.0, abs=0.01)


def test_the_dropout_asked_for_sits_after_every_discriminator_layer():
    d = pair(small("dcgan-mnist", "dropout=0.25")).discriminator
    assert [m.p for m in d.modules() if isinstance(m, nn.Dropout)] == [0.25, 0.25]
    assert not any(isinstance(m, nn.Dropout) for m in pair(small("dcgan-mnist")).discriminator.modules())


def test_the_conditional_pair_draws_and_scores_by_label():
    config = small("cgan-mnist")
    models = pair(config, num_classes=10)
    g, d = models.generator.eval(), models.discriminator.eval()
    assert g.num_classes == 10
    z = latents(config, 1).repeat(10, 1)
    with torch.no_grad():
        images = g(z, torch.arange(10))
        assert images.shape == (10, 1, 28, 28) and images.abs().max() <= 1
        # One latent, ten labels: ten different images.
        assert torch.cdist(images.flatten(1), images.flatten(1)).fill_diagonal_(1).min() > 0
        # The projection term: the same image scores differently under another label.
        same = images[:1].repeat(10, 1, 1, 1)
        scores = d(same, torch.arange(10))
    assert scores.shape == (10,) and scores.std() > 0


def test_class_codes_start_no_larger_than_the_latent():
    # At N(0, 1) the codes outweigh z and G draws one image per class whatever z is.
    g = pair(small("cgan-mnist", "g_width=8"), num_classes=10).generator
    norms = g.embed.weight.norm(dim=1)
    assert norms.mean().item() == pytest.approx(1.0, rel=0.2)  # about a one-hot's length; z's is sqrt(100)
