"""The builder of a run's parts (training/session.py): each part is the one the config names, the
same config builds the same weights and noise twice, the batches come out as D must see them, and a
fine-tuning run starts from the weights it names (unread on resume, where the checkpoint wins)."""
from __future__ import annotations

import pytest
import torch

from studio.errors import UserError
from training import config as configs
from training.config import ConfigError
from training.ema import EMA
from training.session import build_session

from tests.helpers import REPO_ROOT, image_folder

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")


def tiny(preset: str, images, **changes) -> configs.Config:
    """``preset`` shrunk to a folder of 28x28 gray images: a few milliseconds to build."""
    return configs.resolve(preset, [], dict(dataset="folder", data_root=str(images), image_size=28, channels=1,
                                            batch_size=8, g_width=8, d_width=8, latent_dim=8) | changes)


@pytest.fixture
def images(tmp_path):
    return image_folder(tmp_path / "images", 16)


@pytest.fixture
def labelled(tmp_path):
    """A folder of two classes, 8 images each."""
    for name in ("circles", "squares"):
        image_folder(tmp_path / "labelled" / name, 8)
    return tmp_path / "labelled"


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in module.state_dict().values()]


def test_the_optimisers_are_the_ones_the_config_names(images):
    adam = build_session(tiny("gan-mlp-mnist", images, lr_g=3e-4, lr_d=1e-4, beta1=0.3, beta2=0.8))
    assert type(adam.opt_g) is torch.optim.Adam and type(adam.opt_d) is torch.optim.Adam
    assert adam.opt_g.param_groups[0]["lr"] == 3e-4 and adam.opt_d.param_groups[0]["lr"] == 1e-4
    assert adam.opt_d.param_groups[0]["betas"] == (0.3, 0.8)
    assert {id(p) for g in adam.opt_g.param_groups for p in g["params"]} == {id(p) for p in adam.G.parameters()}
    assert {id(p) for g in adam.opt_d.param_groups for p in g["params"]} == {id(p) for p in adam.D.parameters()}

    rmsprop = build_session(tiny("wgan-mnist", images))
    assert type(rmsprop.opt_g) is torch.optim.RMSprop and type(rmsprop.opt_d) is torch.optim.RMSprop
    assert rmsprop.opt_d.param_groups[0]["lr"] == rmsprop.config.lr_d == 5e-5


def test_ema_augment_and_precision_follow_the_config(images):
    plain = build_session(tiny("gan-mlp-mnist", images, ema=False, precision="fp32"))
    assert plain.ema is None and not plain.augment
    assert plain.precision.name == "fp32" and plain.scaler_g is None and plain.scaler_d is None
    assert plain.device == torch.device("cpu") and not plain.channels_last  # NHWC is for CUDA only

    averaged = build_session(tiny("gan-mlp-mnist", images, ema=True, ema_decay=0.9, ema_start=3,
                                  augment="translation,color"))
    assert isinstance(averaged.ema, EMA) and (averaged.ema.decay, averaged.ema.start) == (0.9, 3)
    assert averaged.ema.model is not averaged.G  # a copy, with G's weights
    for average, current in zip(weights(averaged.ema.model), weights(averaged.G)):
        assert torch.equal(average, current)
    assert averaged.augment.names == ["translation", "color"]


def test_one_process_trains_the_nets_themselves(images):
    session = build_session(tiny("gan-mlp-mnist", images))
    assert session.G_train is session.G and session.D_train is session.D  # DDP only with several processes
    assert len(session.images) == 16 and session.images.dtype == torch.uint8


def test_a_conditional_run_has_the_datas_classes_and_an_unconditional_one_none(labelled):
    conditional = build_session(tiny("cgan-mnist", labelled))
    assert conditional.num_classes == 2 and conditional.class_names == ["circles", "squares"]
    fakes, labels = conditional.fake_batch(5)
    assert fakes.shape == (5, 1, 28, 28) and labels.shape == (5,) and set(labels.tolist()) <= {0, 1}
    real, real_labels = conditional.real_batch()
    assert real.shape == (8, 1, 28, 28) and real_labels is not None

    unconditional = build_session(tiny("gan-mlp-mnist", labelled))
    assert unconditional.num_classes == 0 and unconditional.class_names == []
    assert unconditional.real_batch()[1] is None and unconditional.fake_batch(3)[1] is None


def test_a_conditional_config_on_unlabelled_data_is_refused(images):
    with pytest.raises(ConfigError, match="conditional=true needs a labelled dataset"):
        build_session(tiny("cgan-mnist", images))


def test_one_config_builds_the_same_weights_and_noise_twice(images):
    config = tiny("dcgan-mnist", images, seed=11)
    first = build_session(config)
    first_noise = torch.rand(4)
    second = build_session(config)
    second_noise = torch.rand(4)
    for net in ("G", "D"):
        for a, b in zip(weights(getattr(first, net)), weights(getattr(second, net))):
            assert torch.equal(a, b), net
    assert torch.equal(first_noise, second_noise)  # the noise stream starts at the same place
    assert torch.equal(first.order.next(), second.order.next())  # and so does the data order

    other = build_session(tiny("dcgan-mnist", images, seed=12))
    assert not all(torch.equal(a, b) for a, b in zip(weights(first.G), weights(other.G)))


def test_a_real_batch_is_in_the_generators_output_range(images):
    session = build_session(tiny("dcgan-mnist", images))
    real, _ = session.real_batch()
    lo, hi = session.G.output_range
    assert real.dtype == torch.float32 and real.min() >= lo and real.max() <= hi
    assert real.min() < lo + 0.1 and real.max() > hi - 0.1  # random pixels span the range


def test_a_run_initialised_from_the_shipped_mnist_dcgan_draws_its_images_at_step_0(images, tmp_path):
    """Fine-tuning starts from the shipped generator itself: the run's step-0 sample grid (EMA
    generator, eval mode) is the shipped ONNX file's grid of the same latents, byte for byte."""
    import numpy as np
    from PIL import Image

    from inference import Generator
    from inference.images import image_grid
    from training.runfolder.folder import create_run
    from training.trainer import Trainer

    config = configs.resolve("dcgan-mnist-tuned", [], dict(
        dataset="folder", data_root=str(images), batch_size=8, steps=1, sample_every=1000, checkpoint_every=1000,
        eval_every=0, health_check=False, tensorboard=False, init_from="mnist-dcgan"))
    session = build_session(config)
    for average, current in zip(weights(session.ema.model), weights(session.G)):  # the EMA starts there too
        assert torch.equal(average, current)
    assert session.D.features[0].weight.std() < 0.03  # the shipped model keeps no D: DCGAN's N(0, 0.02) init
    run = create_run(tmp_path / "runs", "finetune", config.to_dict())
    assert Trainer(session, run).train() == "finished"

    shipped = Generator.load(REPO_ROOT / "exported" / "mnist-dcgan.onnx", device="cpu")
    expected = image_grid(shipped.generate(shipped.sample_latent(64, seed=config.seed)), nrow=8)
    with Image.open(run.sample_path(0)) as grid:
        drawn = np.asarray(grid.convert("L"))
    assert np.array_equal(drawn, expected[..., 0])
    with Image.open(run.sample_path(1)) as grid:  # one step later G has learned something
        assert not np.array_equal(np.asarray(grid.convert("L")), expected[..., 0])


def test_a_resumed_session_leaves_init_from_unread(images, tmp_path):
    gone = tmp_path / "deleted.generator.safetensors"
    config = tiny("dcgan-mnist", images, init_from=str(gone))
    with pytest.raises(UserError, match="deleted.generator.safetensors does not exist"):
        build_session(config)
    assert build_session(config, load_init_from=False).G is not None  # the checkpoint brings the weights
