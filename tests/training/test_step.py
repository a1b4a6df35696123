"""One training step (training/step.py): n_critic updates of D, each on a fresh real batch and
followed by the loss's after-step (weight clipping), then g_steps updates of G, the first on the
last critic step's fakes, then the EMA; and the figures it returns."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.session import build_session
from training.step import training_step

from tests.helpers import image_folder

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")


@pytest.fixture
def images(tmp_path):
    return image_folder(tmp_path / "images", 32)


def tiny(preset: str, images, **changes) -> configs.Config:
    """``preset`` shrunk to a folder of 28x28 gray images: a few milliseconds a step."""
    return configs.resolve(preset, [], dict(dataset="folder", data_root=str(images), image_size=28, channels=1,
                                            batch_size=8, g_width=8, d_width=8, latent_dim=8) | changes)


def recorded(session, events: list[str]) -> None:
    """Appends to ``events`` each optimiser step (d, g), each after-step of the loss (after_d: the
    weight clipping of a clipped critic), each real batch drawn (real) and each forward pass of G (G)."""
    for name, optimizer in (("d", session.opt_d), ("g", session.opt_g)):
        step = optimizer.step
        optimizer.step = lambda *args, step=step, name=name, **kwargs: events.append(name) or step(*args, **kwargs)
    after, real_batch = session.loss.after_discriminator_step, session.real_batch
    session.loss.after_discriminator_step = lambda D: after(D) or events.append("after_d")
    session.real_batch = lambda: events.append("real") or real_batch()
    session.G.register_forward_hook(lambda *args: events.append("G"))


@pytest.mark.parametrize("n_critic,g_steps", [(1, 2), (3, 1)])
def test_a_step_makes_n_critic_discriminator_and_g_steps_generator_updates(n_critic, g_steps, images):
    session = build_session(tiny("dcgan-mnist", images, n_critic=n_critic, g_steps=g_steps))
    events: list[str] = []
    recorded(session, events)
    training_step(session, 0)
    # D: a fresh real batch and fresh fakes per update; G: the first update reuses the last fakes.
    assert events == ["real", "G", "d", "after_d"] * n_critic + ["g"] + ["G", "g"] * (g_steps - 1)
    adam_steps = lambda optimizer: {int(state["step"]) for state in optimizer.state.values()}  # noqa: E731
    assert adam_steps(session.opt_d) == {n_critic}
    assert adam_steps(session.opt_g) == {g_steps}


def test_weights_are_clipped_after_every_critic_update(images):
    config = tiny("wgan-mnist", images, clip_value=0.005, n_critic=3)
    session = build_session(config)
    clipped = []
    after = session.loss.after_discriminator_step

    def checked(discriminator):
        after(discriminator)
        clipped.append(max(p.abs().max().item() for p in discriminator.parameters()))

    session.loss.after_discriminator_step = checked
    training_step(session, 0)
    assert len(clipped) == 3 and all(bound <= config.clip_value for bound in clipped)
    assert max(clipped) == pytest.approx(config.clip_value)  # RMSprop's first steps push weights past it


def test_the_ema_copies_g_until_its_start_then_averages(images):
    session = build_session(tiny("sngan-mnist", images, ema=True, ema_start=2, ema_decay=0.5))
    for step in range(2):  # steps 0 and 1: copies
        training_step(session, step)
    for a, b in zip(session.ema.model.parameters(), session.G.parameters()):
        assert torch.equal(a, b)
    previous = [p.clone() for p in session.ema.model.parameters()]
    training_step(session, 2)  # averages with decay 0.5
    for average, old, current in zip(session.ema.model.parameters(), previous, session.G.parameters()):
        torch.testing.assert_close(average, 0.5 * old + 0.5 * current)


def test_a_step_returns_its_losses_the_losss_figures_and_gradient_norms_when_asked(images):
    session = build_session(tiny("wgan-gp-mnist", images, n_critic=2, lr_warmup_steps=4))
    stats = training_step(session, 0)
    assert set(stats) == {"lr_g", "lr_d", "loss_d", "d_real", "d_fake", "wasserstein", "gradient_penalty",
                          "critic_grad_norm", "loss_g"}
    assert stats["lr_g"] == pytest.approx(session.config.lr_g / 4)  # the first warm-up step's rate
    assert stats["loss_d"].requires_grad is False and stats["loss_g"].requires_grad is False

    measured = training_step(session, 1, measure_grads=True)
    assert set(measured) == set(stats) | {"grad_norm_d", "grad_norm_g"}
    assert measured["grad_norm_d"] > 0 and measured["grad_norm_g"] > 0


def test_d_keeps_no_gradient_from_gs_update_and_learns_again_after_it(images):
    session = build_session(tiny("gan-mlp-mnist", images))
    grads_after_d = []
    step = session.opt_d.step

    def remember(*args, **kwargs):
        grads_after_d[:] = [p.grad.clone() for p in session.D.parameters()]
        return step(*args, **kwargs)

    session.opt_d.step = remember
    training_step(session, 0)
    for kept, now in zip(grads_after_d, [p.grad for p in session.D.parameters()]):
        assert torch.equal(kept, now)  # G's backward added nothing to D's gradients
    assert all(p.requires_grad for p in session.D.parameters())


def test_a_gradient_scaler_changes_neither_the_update_nor_the_logged_gradient_norms(images):
    """fp16's path through a GradScaler (CUDA only in a run), here on the CPU: the scale is a power
    of two, so unscaled gradients, the norms measured after unscaling and the new weights are exact."""
    config = tiny("gan-mlp-mnist", images, precision="fp32")
    plain, scaled = build_session(config), build_session(config)
    scaled.scaler_g = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    scaled.scaler_d = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    torch.manual_seed(5)
    expected = training_step(plain, 0, measure_grads=True)
    torch.manual_seed(5)
    stats = training_step(scaled, 0, measure_grads=True)
    for key in ("grad_norm_d", "grad_norm_g", "loss_d", "loss_g"):
        assert float(stats[key]) == pytest.approx(float(expected[key]), rel=1e-6), key
    for a, b in zip([*plain.G.parameters(), *plain.D.parameters()], [*scaled.G.parameters(), *scaled.D.parameters()]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert scaled.scaler_d.get_scale() == 2.0 ** 12  # no overflow, so the scale stays until its growth interval
