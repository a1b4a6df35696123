"""Weights files (training/export/safetensors_io.py): a net's state_dict round-trips with the header
that rebuilds it, and anything but a GAN Studio weights file is refused with one clear line."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from training import config as configs
from training.export.safetensors_io import (FORMAT, WeightsError, read_weights, save_weights, weights_metadata,
                                            weights_path)
from training.models import build_models


def test_a_nets_weights_round_trip_with_the_config_that_rebuilds_it(tmp_path):
    config = configs.resolve("cgan-mnist", ["g_width=8", "d_width=8", "latent_dim=12"])
    torch.manual_seed(0)
    generator = build_models(config, 3).generator
    path = weights_path(tmp_path / "m.onnx", "generator")
    assert path.name == "m.generator.safetensors"
    save_weights(path, generator.state_dict(), weights_metadata("generator", config, 3, ["a", "b", "c"], "a test",
                                                                train_steps="7", parity=1.5e-6))
    found = read_weights(path, "generator")
    assert found.metadata["format"] == FORMAT and found.metadata["architecture"] == "dcgan"
    assert found.num_classes == 3 and json.loads(found.metadata["class_names"]) == ["a", "b", "c"]
    assert found.metadata["train_steps"] == "7" and json.loads(found.metadata["parity"]) == 1.5e-6
    assert found.config() == config
    assert found.shapes == {k: tuple(v.shape) for k, v in generator.state_dict().items()}

    rebuilt = build_models(found.config(), found.num_classes).generator
    rebuilt.load_state_dict(found.tensors())  # batch-norm statistics and their counters included
    for name, tensor in generator.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[name], tensor), name
    assert not list(tmp_path.glob(".*"))  # written through a temporary file, renamed into place


def test_anything_but_a_gan_studio_weights_file_is_refused(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        read_weights(tmp_path / "missing.generator.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header")
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        read_weights(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(WeightsError, match="no GAN Studio weights"):
        read_weights(foreign)

    config = configs.resolve("gan-mlp-mnist", ["g_width=8", "d_width=8"])
    discriminator = tmp_path / "m.discriminator.safetensors"
    save_weights(discriminator, build_models(config).discriminator.state_dict(),
                 weights_metadata("discriminator", config, 0, [], "a test"))
    with pytest.raises(WeightsError, match="holds discriminator weights, not a generator's"):
        read_weights(discriminator, "generator")


@pytest.mark.parametrize("field, value, words", [
    ("config", "[" * 100_000, "its recorded config cannot be read .*nests more than 64 levels deep"),
    ("num_classes", str(10**9), "its num_classes '1000000000' must be at most 100,000"),
])
def test_a_header_that_would_crash_or_exhaust_a_reader_is_one_clear_line(tmp_path, field, value, words):
    config = configs.resolve("gan-mlp-mnist", ["g_width=8", "d_width=8"])
    path = weights_path(tmp_path / "m.onnx", "generator")
    save_weights(path, build_models(config).generator.state_dict(),
                 weights_metadata("generator", config, 0, [], "a test") | {field: value})
    found = read_weights(path, "generator")
    with pytest.raises(WeightsError, match=words):
        found.config() if field == "config" else found.num_classes
