"""The one latent sampler of training, export and evaluation: the config's distribution and bound,
and reproducible from a seeded generator without touching the global RNG."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.latents import sample_latents

CPU = torch.device("cpu")


def test_uniform_latents_fill_the_bound():
    config = configs.build_config({"latent_distribution": "uniform", "latent_bound": 0.5, "latent_dim": 7})
    z = sample_latents(config, 4000, CPU, torch.Generator().manual_seed(0))
    assert z.shape == (4000, 7) and z.dtype == torch.float32
    assert z.abs().max() <= 0.5 and z.min() < -0.49 and z.max() > 0.49
    assert z.mean().abs() < 0.01


@pytest.mark.parametrize("bound", [None, 1.5])
def test_normal_latents_are_clamped_only_when_bounded(bound):
    config = configs.build_config({"latent_distribution": "normal", "latent_bound": bound, "latent_dim": 8})
    z = sample_latents(config, 4000, CPU, torch.Generator().manual_seed(1))
    assert z.std().item() == pytest.approx(1.0 if bound is None else 0.88, abs=0.03)  # clipping narrows it
    if bound is None:
        assert z.abs().max() > 3
    else:
        assert z.abs().max() == pytest.approx(bound)


def test_a_seeded_generator_repeats_the_latents_and_leaves_the_global_stream_alone():
    config = configs.build_config({})
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    first = sample_latents(config, 16, CPU, torch.Generator().manual_seed(9))
    again = sample_latents(config, 16, CPU, torch.Generator().manual_seed(9))
    assert torch.equal(first, again)
    assert torch.equal(torch.rand(3), expected_next)  # the training RNG stream never moved

