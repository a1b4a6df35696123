"""SNGAN (training/models/sngan.py): a spectrally normalised critic with no batch norm, images in
[-1, 1] at each size, and a conditional pair whose labels change what G draws and how D scores."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.training.models.common import latents, pair, small
from training.losses import build_loss
from training.models import has_batch_norm

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (64, 3)])
def test_the_generator_draws_the_configured_shape_and_the_critic_one_score_each(size, channels):
    config = small("sngan-mnist", image_size=size, channels=channels)
    models = pair(config)
    images = models.generator(latents(config) * 20)
    assert images.shape == (4, channels, size, size) and images.abs().max() <= 1
    assert models.generator.output_range == (-1.0, 1.0)
    assert models.discriminator(images).shape == (4,)


def test_every_critic_layer_is_spectrally_normalised_to_norm_one():
    d = pair(small("sngan-mnist")).discriminator.train()
    with torch.no_grad():
        for _ in range(30):  # each training forward runs one power iteration
            d(torch.randn(2, 1, 28, 28))
    d.eval()
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, rel=0.02)
    assert not has_batch_norm(d)
    assert {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)} == {0.1}


def test_the_critic_passes_the_gradient_penalty_check():
    config = small("sngan-mnist", "loss=wgan-gp")
    build_loss(config).check_models(pair(config).discriminator)  # raises if batch norm were inside


def test_the_conditional_pair_draws_and_scores_by_label():
    config = small("sngan-mnist", conditional=True)
    models = pair(config, num_classes=10)
    g, d = models.generator, models.discriminator.eval()
    assert g.num_classes == 10
    z = latents(config, 1).repeat(10, 1)
    with torch.no_grad():  # per-class scales start equal (see below): spread them as training would
        nn.init.normal_(next(m for m in g.modules() if isinstance(m, nn.Embedding)).weight, 1.0, 0.5)
        images = g(z, torch.arange(10))
        scores = d(images[:1].repeat(10, 1, 1, 1), torch.arange(10))
    assert images.shape == (10, 1, 28, 28) and images.abs().max() <= 1
    assert torch.cdist(images.flatten(1), images.flatten(1)).fill_diagonal_(1).min() > 0
    assert scores.shape == (10,) and scores.std() > 0


def test_a_conditional_generator_starts_as_its_unconditional_self():
    # Per-class scales start at 1 and shifts at 0: every label draws the same image until training moves them.
    config = small("sngan-mnist", conditional=True)
    g = pair(config, num_classes=10).generator.eval()
    z = latents(config, 1).repeat(3, 1)
    with torch.no_grad():
        images = g(z, torch.tensor([0, 4, 9]))
    torch.testing.assert_close(images[0], images[1])
    torch.testing.assert_close(images[0], images[2])
