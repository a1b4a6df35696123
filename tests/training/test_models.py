"""The model package itself (training/models/__init__.py): build_models by name, PacGAN's packing,
the refusal of a conditional pair an architecture lacks, DCGAN's init and the batch-norm check.
Each architecture is tested beside it in tests/training/models/."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from tests.training.models.common import latents, pair, small
from training import config as configs
from training.config import ConfigError
from training.models import Packed, build_models, dcgan_init, has_batch_norm, require_unconditional

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("preset", ["gan-mlp-mnist", "dcgan-mnist", "dcgan-keras-mnist", "wgan-mnist", "sngan-mnist"])
def test_every_generator_says_what_it_draws_and_draws_it(preset):
    config = small(preset)
    models = pair(config)
    g = models.generator
    assert (g.latent_dim, g.num_classes, g.image_shape) == (config.latent_dim, 0, (1, 28, 28))
    lo, hi = g.output_range
    images = g(latents(config))
    assert images.shape == (4, 1, 28, 28) and lo <= images.min() and images.max() <= hi
    assert models.discriminator(images).shape == (4,)


def test_an_unknown_model_is_a_config_error_that_suggests_the_nearest_name():
    # The config validates names itself; build_models must still say so for a config built another way.
    config = dataclasses.replace(configs.build_config({}), model="sngna")
    with pytest.raises(ConfigError, match="Did you mean 'sngan'"):
        build_models(config)


def test_packed_discriminator_scores_packs_of_samples():
    config = configs.resolve("pacgan-stacked-mnist", ["pack=4", "batch_size=8"])
    models = build_models(config)
    assert isinstance(models.discriminator, Packed)
    first_conv = next(m for m in models.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 3 * 4
    x = torch.randn(8, 3, 28, 28)
    scores = models.discriminator(x)
    assert scores.shape == (2,)
    # A pack is one sample to D: changing an image changes only its own pack's score.
    x2 = x.clone()
    x2[5] += 1
    changed = models.discriminator.eval()(x2) != models.discriminator(x)
    assert changed.tolist() == [False, True]
    with pytest.raises(configs.ConfigError, match="multiple of pack"):
        configs.resolve("pacgan-stacked-mnist", ["pack=3"])
    with pytest.raises(configs.ConfigError, match="unconditional"):
        configs.resolve("cgan-mnist", ["pack=2"])


def test_a_pack_is_its_images_stacked_along_the_channels():
    seen = []

    class Recorder(nn.Module):
        def forward(self, x, labels=None):
            seen.append(x)
            return x.flatten(1).sum(1)

    x = torch.arange(6 * 2 * 1 * 1, dtype=torch.float32).reshape(6, 2, 1, 1)
    Packed(Recorder(), 3)(x)
    assert seen[0].shape == (2, 6, 1, 1)
    assert seen[0][1].flatten().tolist() == x[3:6].flatten().tolist()  # images 3, 4, 5, channel by channel
    with pytest.raises(ValueError, match="batch of 7 does not split into packs of 3"):
        Packed(Recorder(), 3)(torch.zeros(7, 2, 1, 1))


@pytest.mark.parametrize("model", ["mlp-gan", "dcgan-keras", "wgan-mlp"])
def test_a_conditional_pair_an_architecture_lacks_is_refused_with_the_ones_that_have_it(model):
    config = configs.build_config({"model": model})
    require_unconditional(config, 0)
    with pytest.raises(ConfigError, match=f"model '{model}' has no class-conditional version.*dcgan or sngan"):
        require_unconditional(config, 10)


def test_dcgan_init_draws_weights_from_n_0_002_and_zeroes_biases():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(8, 64, 5), nn.BatchNorm2d(64), nn.Linear(64, 512), nn.ConvTranspose2d(64, 32, 5),
                        nn.BatchNorm1d(512), nn.LeakyReLU())
    dcgan_init(net)
    weights = torch.cat([net[i].weight.flatten() for i in (0, 2, 3)])
    assert abs(weights.mean().item()) < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.03)
    scales = torch.cat([net[1].weight, net[4].weight])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.005) and scales.std().item() == pytest.approx(0.02, rel=0.2)
    assert all(not net[i].bias.any() for i in (0, 1, 2, 3, 4))


def test_has_batch_norm_finds_any_kind_at_any_depth():
    assert has_batch_norm(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.BatchNorm1d(2))))
    assert has_batch_norm(nn.Sequential(nn.SyncBatchNorm(3)))
    assert not has_batch_norm(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2), nn.GroupNorm(1, 2)))
    assert has_batch_norm(pair(small("dcgan-mnist")).discriminator)
    assert not has_batch_norm(pair(small("wgan-gp-mnist")).discriminator)
