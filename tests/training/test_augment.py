"""DiffAugment (training/augment.py): each operation keeps the images' shape and value range, really
transforms them, and lets the gradient through to the input; the config refuses unknown names."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.augment import OPERATIONS, AdaptiveAugment, DiffAugment, color
from training.data.dataset import normalize

POLICIES = ["translation", "cutout", "color", "translation,cutout,color"]


@pytest.fixture
def real(mnist_train):
    """64 real MNIST digits in the generators' range [-1, 1]."""
    return normalize(mnist_train.images[:64], (-1.0, 1.0)).float()


@pytest.mark.parametrize("policy", POLICIES)
def test_an_augmentation_keeps_shape_and_range_and_changes_the_images(real, policy):
    torch.manual_seed(0)
    out = DiffAugment(policy, (-1.0, 1.0))(real)
    assert out.shape == real.shape and out.dtype == real.dtype
    assert out.min() >= -1.0 and out.max() <= 1.0
    changed = (out - real).abs().flatten(1).amax(1) > 1e-6
    assert changed.float().mean() > 0.5, f"{policy} left most images as they were"


@pytest.mark.parametrize("policy", POLICIES)
def test_the_gradient_flows_through_to_the_input(real, policy):
    torch.manual_seed(1)
    x = real.clone().requires_grad_(True)
    weights = torch.randn_like(real)
    (DiffAugment(policy, (-1.0, 1.0))(x) * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert (x.grad.abs().flatten(1).sum(1) > 0).all(), "some image got no gradient at all"


def test_translation_moves_the_digit_and_pads_with_background(real):
    torch.manual_seed(2)
    out = OPERATIONS["translation"](real, -1.0, 1.0)
    centre = lambda x: (x + 1).sum((1, 2)).argmax(-1).float()  # noqa: E731 - the column with most ink
    assert (centre(out) != centre(real)).any()
    moved = (out - real).abs().flatten(1).amax(1) > 0
    # MNIST's border is background (-1): shifted-in pixels are background too, so no new value appears
    assert set(out[moved].unique().tolist()) <= set(real.unique().tolist())


def test_cutout_blanks_a_square_to_the_range_low_end(real):
    torch.manual_seed(3)
    white = torch.ones(8, 1, 28, 28)
    out = OPERATIONS["cutout"](white, -1.0, 1.0)
    blanked = (out == -1.0).flatten(1).sum(1)
    assert (blanked > 0).all() and (blanked <= 14 * 14).all() and ((out == 1.0) | (out == -1.0)).all()


def test_an_empty_policy_is_the_identity_and_unknown_names_are_refused(real):
    augment = DiffAugment("", (-1.0, 1.0))
    assert not augment and augment(real) is real
    assert configs.build_config({"augment": " translation , color "}).augment
    with pytest.raises(configs.ConfigError, match="augment: unknown augmentation 'flip'"):
        configs.build_config({"augment": "translation,flip"})


def test_a_step_augments_every_image_d_sees_real_and_fake(tmp_path, one_thread):
    from training.session import build_session
    from training.step import training_step

    from tests.helpers import image_folder, tiny_config

    session = build_session(tiny_config(image_folder(tmp_path / "images", 16), augment="translation,color"))
    made, seen = [], []
    augment = session.augment

    class Recording(type(augment)):
        def __call__(self, images):
            made.append(augment(images))
            return made[-1]

    session.augment = Recording("translation,color", (-1.0, 1.0))
    session.D.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    training_step(session, 0)
    assert len(seen) == 3  # D's step: the real batch and the fakes; G's step: the fakes
    assert all(any(x is y for y in made) for x in seen), "D saw an image that was not augmented"
    assert len(made) == 3


def test_color_leaves_an_alpha_channel_as_it_is():
    x = torch.rand(4, 4, 8, 8) * 2 - 1
    out = color(x, -1.0, 1.0)
    assert out.shape == x.shape and torch.equal(out[:, 3], x[:, 3]) and not torch.equal(out[:, :3], x[:, :3])


# ---------------------------------------------------------------- adaptive augmentation (ADA)
def _adaptive_session(tmp_path, **changes):
    from training.session import build_session

    from tests.helpers import image_folder, tiny_config

    config = tiny_config(image_folder(tmp_path / "images", 16), augment="translation,cutout,color", ada_target=0.6,
                         ada_kimg=1, lr_d=0.01, lr_g=1e-6, steps=200, **changes)
    return build_session(config)


def test_ada_raises_p_while_d_overfits_and_lowers_it_when_d_is_unsure(tmp_path, one_thread):
    from training.step import training_step

    session = _adaptive_session(tmp_path)
    assert isinstance(session.augment, AdaptiveAugment) and session.augment.p == 0
    # 16 real images, D learning fast and G frozen in place: D soon calls the reals real (r_t > target)
    stats = [training_step(session, step) for step in range(40)]
    p, rt = [s["ada_p"] for s in stats], [s["ada_rt"] for s in stats[3::4]]
    assert sum(rt[1:]) / len(rt[1:]) > 0.6 and p[-1] >= 0.25, (rt, p)  # 32 images an adjustment, 1,000 from 0 to 1
    high = p[-1]
    # now D calls everything fake, reals included (r_t = -1), and cannot learn otherwise (a zero gradient):
    # augmentation must fall back at the pace it rose
    session.D.register_forward_hook(lambda module, args, out: out * 0 - 5)
    stats = [training_step(session, step) for step in range(40, 60)]
    assert stats[-1]["ada_rt"] == -1 and session.augment.p == pytest.approx(high - 5 * 0.032)


def test_ada_applies_each_operation_to_about_p_of_the_images(real):
    augment = DiffAugment("cutout", (-1.0, 1.0), p=0.5)
    torch.manual_seed(0)
    changed = (augment(real) != real).flatten(1).any(1).float().mean().item()
    assert 0.3 < changed < 0.7
    assert torch.equal(DiffAugment("cutout", (-1.0, 1.0), p=0.0)(real), real)


def test_ada_p_is_in_the_checkpoint_and_resumes(tmp_path, one_thread):
    from training.trainer import Trainer

    trainer = Trainer(_adaptive_session(tmp_path), None)
    for _ in range(12):
        trainer.train_step()
    saved = trainer.state_dict()
    assert saved["augment"]["p"] == trainer.session.augment.p > 0
    fresh = Trainer(_adaptive_session(tmp_path), None)
    fresh.load_state_dict(saved)
    assert fresh.session.augment.state_dict() == trainer.session.augment.state_dict()


def test_ada_needs_a_policy_to_steer():
    with pytest.raises(configs.ConfigError, match="ada_target steers how often the augment policy applies"):
        configs.build_config({"ada_target": 0.6})
