"""training/playground/nets.py: the 2-D GAN on the project's own losses: each update counted at the
optimisers, PacGAN's packing, D's surface as the page shows it, and the pull of G's loss on its samples."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from training.playground.loop import build_gan
from training.playground.nets import PackedCritic, ToyGAN, mlp
from training.playground.settings import LOSSES, check_settings
from training.playground.targets import make_target

pytestmark = pytest.mark.usefixtures("one_thread")


def counted(gan):
    """Optimizer steps as the optimisers themselves see them (torch's step hooks)."""
    counts = {"d": 0, "g": 0}
    gan.opt_d.register_step_post_hook(lambda *a: counts.__setitem__("d", counts["d"] + 1))
    gan.opt_g.register_step_post_hook(lambda *a: counts.__setitem__("g", counts["g"] + 1))
    return counts


@pytest.mark.parametrize("loss", list(LOSSES))
def test_each_loss_trains_and_counts_its_updates(loss):
    gan = build_gan(check_settings({"loss": loss, "n_critic": 3, "pack": 2, "batch_size": 64, "g_width": 16,
                                    "d_width": 16}))
    counts = counted(gan)
    before = [p.detach().clone() for p in gan.G.parameters()]
    gan.iteration()                                      # the usual schedule: n_critic D updates, one G update
    assert counts == {"d": 3, "g": 1} and (gan.d_steps, gan.g_steps) == (3, 1)
    gan.d_step()
    gan.g_step()                                         # what a single step does: one of each
    assert counts == {"d": 4, "g": 2} and (gan.d_steps, gan.g_steps) == (4, 2)
    assert any(not np.allclose(a, b.detach()) for a, b in zip(before, gan.G.parameters()))
    assert np.isfinite(gan.last["loss_d"]) and np.isfinite(gan.last["loss_g"])
    if loss == "wasserstein":                             # clipping acted after each critic update
        assert max(float(p.detach().abs().max()) for p in gan.D.parameters()) <= 0.01 + 1e-7
    surface = gan.surface(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    assert surface.shape == (4, 5)
    points, pull = gan.generator_pull(gan.noise(8))
    assert points.shape == pull.shape == (8, 2) and np.abs(pull).sum() > 0


def test_mlp_has_the_asked_depth_and_width():
    net = mlp(2, 1, 16, 3)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 16), (16, 16), (16, 16), (16, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in net) == 3 and isinstance(net[-1], nn.Linear)  # a raw score out


def test_a_pack_is_consecutive_points_side_by_side():
    seen = []

    class Recorder(nn.Module):
        def forward(self, x):
            seen.append(x)
            return x.sum(1, keepdim=True)

    points = torch.arange(12, dtype=torch.float32).reshape(6, 2)
    scores = PackedCritic(Recorder(), 3)(points)
    assert seen[0].tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]] and scores.shape == (2, 1)


def test_the_batch_is_a_whole_number_of_packs_and_each_real_batch_comes_from_the_target():
    gan = ToyGAN(make_target("ring"), pack=3, batch_size=64, g_width=8, d_width=8)
    assert gan.batch_size == 63
    real = gan.real_batch()
    assert real.shape == (63, 2) and real.dtype == torch.float32
    radius = real.norm(dim=1)
    assert ((radius > 1.8) & (radius < 2.2)).all()  # the ring of radius 2


def test_the_surface_is_a_probability_for_cross_entropy_and_a_raw_score_otherwise():
    xs, ys = np.linspace(-3, 3, 7), np.linspace(-3, 3, 6)
    for loss, probability in (("non-saturating", True), ("minimax", True), ("hinge", False), ("wgan-gp", False)):
        gan = ToyGAN(make_target("ring"), loss=loss, pack=2, g_width=8, d_width=8)
        with torch.no_grad():
            gan.D[-1].bias.fill_(5.0)  # scores far above 1: a probability would saturate near 1
        surface = gan.surface(xs, ys)
        assert surface.shape == (6, 7)
        assert ((surface > 0) & (surface < 1)).all() if probability else (surface > 1).all(), loss


def test_the_samples_of_a_seed_are_the_same_every_time_and_differ_between_seeds():
    gan = ToyGAN(make_target("grid"), g_width=8, d_width=8)
    a, b, c = gan.samples(50, 7), gan.samples(50, 7), gan.samples(50, 8)
    assert a.shape == (50, 2) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_the_pull_is_minus_the_gradient_of_gs_loss_scaled_by_the_batch():
    gan = ToyGAN(make_target("ring"), loss="wgan-gp", g_width=8, d_width=8)
    z = gan.noise(4, torch.Generator().manual_seed(0))
    points, pull = gan.generator_pull(z)
    x = torch.from_numpy(points).requires_grad_(True)
    (-gan.critic(x)).mean().backward()  # the Wasserstein G loss, -E[D(G(z))]
    np.testing.assert_allclose(pull, -4 * x.grad.numpy(), rtol=1e-5, atol=1e-7)
