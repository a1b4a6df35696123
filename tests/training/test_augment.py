"""DiffAugment (training/augment.py): each operation keeps the images' shape and value range, really
transforms them, and lets the gradient through to the input; the config refuses unknown names."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.augment import OPERATIONS, DiffAugment, color
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
    session.augment = lambda images: made.append(augment(images)) or made[-1]
    session.D.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    training_step(session, 0)
    assert len(seen) == 3  # D's step: the real batch and the fakes; G's step: the fakes
    assert all(any(x is y for y in made) for x in seen), "D saw an image that was not augmented"
    assert len(made) == 3


def test_color_leaves_an_alpha_channel_as_it_is():
    x = torch.rand(4, 4, 8, 8) * 2 - 1
    out = color(x, -1.0, 1.0)
    assert out.shape == x.shape and torch.equal(out[:, 3], x[:, 3]) and not torch.equal(out[:, :3], x[:, :3])
