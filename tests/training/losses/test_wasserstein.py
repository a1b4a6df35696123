"""The Wasserstein losses and the pitfalls popular implementations got wrong: one interpolation
weight per sample, a penalty that reaches the critic's weights, clipping after every critic step,
no batch norm in a gradient-penalty critic."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.training.losses.common import FAKE, REAL, LinearCritic, loss
from training import config as configs
from training.cli.main import check_config, main
from training.config import ConfigError
from training.losses import wasserstein
from training.losses.wasserstein import gradient_penalty, interpolation_weights
from training.session import build_session
from training.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", ["wasserstein", "wgan-gp"])
def test_wasserstein_losses(name):
    d, stats = loss(name).discriminator_loss(REAL, FAKE)
    estimate = REAL.mean().item() - FAKE.mean().item()
    assert d.item() == pytest.approx(-estimate) and stats["wasserstein"].item() == pytest.approx(estimate)
    g, _ = loss(name).generator_loss(FAKE)
    assert g.item() == pytest.approx(-FAKE.mean().item())


# ----------------------------------------------------------------------------- gradient penalty pitfalls
def test_one_interpolation_weight_per_sample():
    real = torch.rand(6, 3, 5, 5)
    eps = interpolation_weights(real)
    assert eps.shape == (6, 1, 1, 1)
    assert ((eps >= 0) & (eps <= 1)).all()

    fake = torch.rand(6, 3, 5, 5)
    seen = []

    class Recorder(nn.Module):
        def forward(self, x, labels=None):
            seen.append(x.detach().clone())
            return x.flatten(1).sum(1) * 0.1

    gradient_penalty(Recorder(), real, fake, None)
    (x_hat,) = seen
    # Each x_hat is on the segment between its real and its fake image: one t per sample.
    d, offset = (real - fake).flatten(1), (x_hat - fake).flatten(1)
    t = (offset * d).sum(1, keepdim=True) / d.pow(2).sum(1, keepdim=True)  # best t per sample
    assert (offset - t * d).abs().max() < 1e-5, "x_hat is off the segment: weights vary across pixels"
    assert ((t >= 0) & (t <= 1)).all()
    assert t.std() > 0  # and the samples draw different weights


def test_gradient_penalty_matches_the_analytic_value_and_reaches_the_weights():
    w = torch.tensor([[[0.6, -0.8, 1.2], [0.0, 0.5, -0.3]]])  # ||w|| = sqrt(2.78)
    critic = LinearCritic(w)
    real, fake = torch.rand(4, 1, 2, 3), torch.rand(4, 1, 2, 3)
    penalty, mean_norm = gradient_penalty(critic, real, fake, None)
    norm = w.norm().item()
    assert mean_norm.item() == pytest.approx(norm, rel=1e-6)
    assert penalty.item() == pytest.approx((norm - 1) ** 2, rel=1e-6)
    # create_graph=True: the penalty's backward reaches the critic's weights,
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||; the bias does not enter the gradient.
    penalty.backward()
    torch.testing.assert_close(critic.w.grad, 2 * (norm - 1) * w / norm)
    assert critic.b.grad is None or critic.b.grad.item() == 0.0

    # Through the loss, with lambda: the same gradient times gp_lambda, on a nonlinear critic non-zero.
    gp = loss("wgan-gp", gp_lambda=10.0)
    critic.w.grad = None
    value, stats = gp.penalty(critic, real, fake, None)
    assert value.item() == pytest.approx(10 * (norm - 1) ** 2, rel=1e-6)
    assert stats["gradient_penalty"].item() == pytest.approx((norm - 1) ** 2, rel=1e-6)
    value.backward()
    torch.testing.assert_close(critic.w.grad, 20 * (norm - 1) * w / norm)

    mlp = nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    wrapped = lambda x, labels=None: mlp(x).squeeze(1)  # noqa: E731
    value, _ = gp.penalty(wrapped, real, fake, None)
    value.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in list(mlp.parameters())[:3])


def test_fake_images_get_no_gradient_from_the_penalty():
    critic = LinearCritic(torch.ones(1, 2, 2))
    fake = torch.rand(2, 1, 2, 2, requires_grad=True)
    penalty, _ = gradient_penalty(critic, torch.rand(2, 1, 2, 2), fake, None)
    penalty.backward()
    assert fake.grad is None  # the critic's step must not train the generator


def test_gradient_penalty_critic_rejects_batch_norm(tmp_path, capsys):
    config = configs.resolve("wgan-gp-mnist", ["model=dcgan"])
    with pytest.raises(ConfigError, match="batch norm"):
        check_config(config)
    runs = tmp_path / "runs"
    assert main(["train", "--preset", "wgan-gp-mnist", "--set", "model=dcgan", "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "batch norm" in err and "Traceback" not in err
    assert not runs.exists() or not any(runs.iterdir())  # refused before any run folder existed
    # The preset's own critic and the SNGAN critic have none.
    check_config(configs.resolve("wgan-gp-mnist"))
    check_config(configs.resolve("wgan-gp-mnist", ["model=sngan", "g_width=8", "d_width=8"]))


# ----------------------------------------------------------------------------- clipping after every critic step
def test_clipping_follows_every_critic_step(mnist_train, monkeypatch):
    config = configs.resolve("wgan-mnist", ["batch_size=8", "clip_value=0.005", "g_width=16", "d_width=32"])
    assert config.n_critic == 5
    trainer = Trainer(build_session(config, dataset=mnist_train), None)
    events = []
    step = trainer.session.opt_d.step

    def counted_step(*args, **kwargs):
        events.append("step")
        return step(*args, **kwargs)

    original = trainer.session.loss.after_discriminator_step

    def counted_clip(discriminator):
        original(discriminator)
        events.append("clip")
        assert all(p.abs().max() <= config.clip_value for p in discriminator.parameters())

    monkeypatch.setattr(trainer.session.opt_d, "step", counted_step)
    monkeypatch.setattr(trainer.session.loss, "after_discriminator_step", counted_clip)
    for _ in range(2):
        trainer.train_step()
    assert events == ["step", "clip"] * 10
    assert all(p.abs().max() <= config.clip_value for p in trainer.session.D.parameters())
    assert max(p.abs().max().item() for p in trainer.session.D.parameters()) == pytest.approx(config.clip_value)


def test_clipping_clamps_every_critic_weight():
    clip = loss("wasserstein", clip_value=0.01)
    critic = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.uniform_(-1, 1)
    clip.after_discriminator_step(critic)
    assert all(p.abs().max() <= 0.01 for p in critic.parameters())
    # The gradient-penalty loss does not clip.
    with torch.no_grad():
        critic[0].weight.fill_(0.5)
    loss("wgan-gp").after_discriminator_step(critic)
    assert critic[0].weight.max().item() == 0.5


def test_wasserstein_module_names_its_losses():
    assert isinstance(loss("wasserstein"), wasserstein.WeightClippingLoss)
    assert isinstance(loss("wgan-gp"), wasserstein.GradientPenaltyLoss)
