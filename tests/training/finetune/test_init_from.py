"""``init_from`` (training/finetune/init_from.py): the files a name or path stands for, every tensor
checked against this run's nets with the settings that would fit named, the files' hashes recorded
and held to, and the weights loaded into G and D."""
from __future__ import annotations

import pytest
import torch

from training.export.safetensors_io import read_weights
from training.finetune.init_from import (EXPORTED, InitFromError, check_source, generator_file, load_into,
                                         read_source, recorded)
from training.models import build_models

from tests.helpers import image_folder
from tests.training.finetune.common import small_dcgan, write_weights


@pytest.fixture
def images(tmp_path):
    return image_folder(tmp_path / "images", 16)


def test_a_name_or_a_path_names_the_generators_file(tmp_path, monkeypatch):
    shipped = EXPORTED / "mnist-dcgan.generator.safetensors"
    assert generator_file("mnist-dcgan") == shipped
    monkeypatch.chdir(tmp_path)  # exported/NAME from any folder is the shipped model
    assert generator_file("exported/mnist-dcgan") == shipped
    with pytest.raises(InitFromError, match=r"no .*nothing.generator.safetensors\. .*a shipped model \(.*mnist-dcgan"):
        generator_file("nothing")
    (tmp_path / "old.onnx").write_bytes(b"")
    with pytest.raises(InitFromError, match="upgrade old.onnx --weights` recovers it from the graph"):
        generator_file("old.onnx")
    with pytest.raises(InitFromError, match="neither a file nor a model's name"):
        generator_file("..")


def test_weights_that_do_not_fit_are_refused_with_the_settings_that_would(images):
    for changes, problem, advice in (
            (dict(latent_dim=64), r"project.0.weight is \[6272, 100\] in the file, \[6272, 64\] here",
             "--set latent_dim=100 trains from it"),
            (dict(model="sngan"), "its generator does not fit", "--set model=dcgan"),
            (dict(g_width=32), "its generator does not fit", "--set g_width=64"),
            (dict(conditional=True), "this run's net has embed.weight, the file has not", "--set conditional=false")):
        config = small_dcgan(images, **({"g_width": 64, "latent_dim": 100, "init_from": "mnist-dcgan"} | changes))
        with pytest.raises(InitFromError, match=problem) as refused:
            check_source(config, 2 if config.conditional else 0)
        assert advice in str(refused.value) and "\n" not in str(refused.value)


def test_the_config_records_the_files_and_a_changed_file_is_refused(images, tmp_path):
    path = write_weights(tmp_path / "weights", small_dcgan(images))
    config = recorded(small_dcgan(images, init_from=str(path)), check_source(small_dcgan(images, init_from=str(path)), 0))
    assert config.init_from == str(path.resolve()) and len(config.init_from_sha256) == 64
    assert len(config.init_from_d_sha256) == 64  # the discriminator's file beside G's was found and hashed
    write_weights(tmp_path / "weights", small_dcgan(images, seed=5))  # other weights under the same names
    with pytest.raises(InitFromError, match="the weights it started from changed. Put the file back, or drop init_from_sha256"):
        read_source(config)


def test_the_weights_load_into_g_and_d_and_freeze_d_needs_a_discriminator(images, tmp_path):
    path = write_weights(tmp_path / "weights", small_dcgan(images, seed=9))
    config = small_dcgan(images, init_from=str(path))
    models = build_models(config)
    source = load_into(config, models.generator, models.discriminator)
    for weights, net in ((source.generator, models.generator), (source.discriminator, models.discriminator)):
        for name, tensor in weights.tensors().items():
            assert torch.equal(net.state_dict()[name], tensor), name

    alone = write_weights(tmp_path / "g-only", small_dcgan(images), discriminator=False)
    assert read_source(small_dcgan(images, init_from=str(alone))).discriminator is None  # D from the seed
    with pytest.raises(InitFromError, match="no discriminator's file beside it .* set freeze_d=0"):
        read_source(small_dcgan(images, init_from=str(alone), freeze_d=1))
    assert read_weights(EXPORTED / "mnist-dcgan.generator.safetensors").role == "generator"
