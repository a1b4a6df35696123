"""FreezeD (training/finetune/freeze.py): what a layer of D is, and that the frozen layers keep their
loaded weights through real training steps while the rest of D and all of G learn."""
from __future__ import annotations

import pytest
import torch

from training import config as configs
from training.config import ConfigError
from training.export.safetensors_io import read_weights
from training.finetune.freeze import discriminator_layers
from training.models import build_models
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import image_folder
from tests.training.finetune.common import small_dcgan, write_weights

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")


@pytest.mark.parametrize("model,expected", [
    ("dcgan", ["Conv2d", "Conv2d+BatchNorm2d", "Linear"]),  # the stride-2 blocks, then the logit
    ("wgan-mlp", ["Linear", "Linear", "Linear"]),
    ("sngan", ["ParametrizedConv2d"] * 5 + ["ParametrizedLinear"]),  # spectral norm wraps each layer
])
def test_a_layer_is_a_convolution_or_linear_layer_in_the_order_d_runs_them(model, expected):
    config = configs.resolve("dcgan-mnist", [], {"model": model, "g_width": 8, "d_width": 8, "pack": 2})
    discriminator = build_models(config).discriminator
    layers = discriminator_layers(discriminator, config)
    assert ["+".join(type(m).__name__ for m in layer) for layer in layers] == expected


def test_frozen_layers_keep_their_weights_through_real_steps(tmp_path):
    images = image_folder(tmp_path / "images", 16)
    pretrained = write_weights(tmp_path / "weights", small_dcgan(images, seed=4))
    loaded = read_weights(pretrained.with_name("pretrained.discriminator.safetensors")).tensors()
    session = build_session(small_dcgan(images, init_from=str(pretrained), freeze_d=2, steps=4))
    frozen = [p for layer in discriminator_layers(session.D, session.config)[:2] for m in layer for p in m.parameters()]
    assert {id(p) for p in frozen}.isdisjoint(id(p) for g in session.opt_d.param_groups for p in g["params"])
    before_g = [p.detach().clone() for p in session.G.parameters()]

    assert Trainer(session, None).train() == "finished"
    D, G = session.D, session.G
    for name in ("features.0.weight", "features.0.bias", "features.2.weight", "features.3.weight", "features.3.bias"):
        assert torch.equal(D.state_dict()[name], loaded[name]), name  # conv 1, conv 2 and its batch norm's scale
    assert not any(p.requires_grad for p in frozen)  # still off after G's steps turned D's gradients back on
    assert not torch.equal(D.linear.weight, loaded["linear.weight"])  # the third layer learned
    assert all(not torch.equal(a, b) for a, b in zip(before_g, G.parameters()))


def test_freezing_every_layer_is_refused(tmp_path):
    images = image_folder(tmp_path / "images", 16)
    pretrained = write_weights(tmp_path / "weights", small_dcgan(images))
    with pytest.raises(ConfigError, match=r"freeze_d=3: the dcgan discriminator has 3 layers \(Conv2d, Conv2d, "
                                          r"Linear\), and at least one must learn; set freeze_d to at most 2"):
        build_session(small_dcgan(images, init_from=str(pretrained), freeze_d=3))
    with pytest.raises(ConfigError, match="freeze_d=1 keeps D's first layers as init_from loaded them: set init_from"):
        small_dcgan(images, freeze_d=1)
