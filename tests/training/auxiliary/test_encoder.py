"""training/auxiliary/encoder.py: an encoder trained for a few steps on a small real ONNX generator
exports a valid ONNX file bound to that generator, and is refused for another one."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from inference import Generator, InferenceError
from inference.encoder import Encoder, encoder_path, file_sha256
from inference.projection import project
from tests.helpers import make_philox_generator
from training.auxiliary.encoder import EncoderError, train_encoder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A philox toy generator (z of 16 -> 28x28) and an encoder trained for it for 60 steps."""
    folder = tmp_path_factory.mktemp("encoder")
    model = make_philox_generator(folder / "toy.onnx")
    facts = train_encoder(model, steps=60, command="pytest")
    return model, facts


def test_the_encoder_is_a_valid_onnx_bound_to_its_generator_and_learned_something(trained):
    model, facts = trained
    path = encoder_path(model)
    assert path.name == "toy.encoder.onnx" and path.is_file()
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["gan_studio.encoder"] == "1" and props["gan_studio.generator_sha256"] == file_sha256(model)
    assert props["gan_studio.latent_dim"] == "16" and props["gan_studio.image_shape"] == "1,28,28"
    g = Generator.load(model, device="cpu")
    e = Encoder.load(path, g)
    z = g.sample_latent(300, seed=4242)
    guess = e.encode(g.run(z))
    assert guess.shape == (300, 16) and guess.dtype == np.float32
    # a toy generator (tanh of a linear map) is easy to invert: 60 steps already beat guessing the mean
    mse = float(((guess - z) ** 2).mean())
    assert mse < 0.6 * float(z.var()), f"encoder z mse {mse:.3f} vs latent variance {z.var():.3f}"
    assert facts["val_z_mse"] < facts["val_z_variance"] and facts["parity_max_abs_diff"] <= 1e-3
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["encoder"]["file"] == path.name and card["encoder"]["train_steps"] == 60
    assert card["encoder"]["training_command"] == "pytest" and card["encoder"]["pairs"] > 0


def test_an_encoder_for_another_generator_is_refused(trained, tmp_path):
    model, _ = trained
    other = make_philox_generator(tmp_path / "other.onnx", meta={"train_steps": 200})  # the same shapes, another file
    shutil.copy(encoder_path(model), encoder_path(other))
    g = Generator.load(other, device="cpu")
    with pytest.raises(InferenceError, match=r"toy.encoder.onnx|other.encoder.onnx") as caught:
        Encoder.load(encoder_path(other), g)
    assert "trained for another generator (toy.onnx" in str(caught.value) and "train-encoder" in str(caught.value)
    target = g.run(g.sample_latent(1, seed=1))[0]
    with pytest.raises(InferenceError, match="trained for another generator"):
        project(g, target, init="encoder", n_start=4, rounds=1, population=4)
    fallback = project(g, target, init="auto", n_start=8, rounds=1, population=8)  # auto: the search, saying why
    assert fallback.init == "search" and "trained for another generator" in fallback.note


def test_an_encoder_is_not_written_over_its_own_generator(trained):
    model, _ = trained
    with pytest.raises(EncoderError, match="is the generator itself"):
        train_encoder(model, model, steps=1, force=True)
