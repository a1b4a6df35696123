"""inference/encoder.py: an encoder file beside a generator (NAME.encoder.onnx) is found, loaded only
for the exact generator file it was trained for, and maps that generator's images back to latents.
The encoders here are exact inverses built with onnx alone (tests.helpers.make_exact_encoder)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from inference import Generator, InferenceError
from inference.encoder import BATCH, Encoder, encoder_path, find_encoder
from tests.helpers import make_exact_encoder, make_onnx_generator


@pytest.fixture
def toy(tmp_path) -> Generator:
    return Generator.load(make_onnx_generator(tmp_path / "toy.onnx"), device="cpu")


def set_prop(path: Path, key: str, value: str) -> None:
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(model, str(path))


def test_the_encoder_lives_beside_its_model():
    assert encoder_path("exported/mnist-dcgan.onnx") == Path("exported/mnist-dcgan.encoder.onnx")
    assert encoder_path(Path("/m/a.b.onnx")) == Path("/m/a.b.encoder.onnx")  # only the last .onnx is replaced
    assert encoder_path("model") == Path("model.encoder.onnx")


def test_an_encoder_maps_its_generators_images_back_to_their_latents_in_batches(toy):
    encoder = Encoder.load(make_exact_encoder(toy.path), toy)
    z = toy.sample_latent(2 * BATCH + 37, seed=11)  # more than one batch, and a ragged last one
    images = toy.run(z)
    guess = encoder.encode(images)
    assert guess.shape == z.shape and guess.dtype == np.float32
    # Exact but where tanh saturates (the encoder clips there): far closer than any other latent.
    assert np.corrcoef(guess.ravel(), z.ravel())[0, 1] > 0.99
    np.testing.assert_array_equal(guess[BATCH:BATCH + 5], encoder.encode(images[BATCH:BATCH + 5]))
    assert encoder.metadata["latent_dim"] == "16" and encoder.metadata["generator"] == "toy.onnx"


def test_a_missing_encoder_says_how_to_train_one(toy, tmp_path):
    with pytest.raises(InferenceError, match=r"encoder not found: .*toy.encoder.onnx \(train one: python -m training "
                                             r"train-encoder .*toy.onnx\)"):
        Encoder.load(encoder_path(toy.path), toy)


def test_a_file_that_is_not_an_encoder_is_refused(toy, tmp_path):
    junk = tmp_path / "junk.encoder.onnx"
    junk.write_bytes(b"not onnx at all")
    with pytest.raises(InferenceError, match="junk.encoder.onnx is not an ONNX network onnxruntime can load"):
        Encoder.load(junk, toy)
    # A real ONNX file, but a generator: it has neither the input nor the metadata of an encoder.
    with pytest.raises(InferenceError, match=r"toy.onnx is not a GAN Studio encoder \(it needs input 'image', output 'z'"):
        Encoder.load(toy.path, toy)


def test_an_encoder_is_refused_for_any_other_generator_file_with_the_way_to_retrain(toy, tmp_path):
    make_exact_encoder(toy.path)
    # The same network re-exported: other bytes, so another file; its latents would mean nothing there.
    other = Generator.load(make_onnx_generator(tmp_path / "other.onnx", meta={"train_steps": 200}), device="cpu")
    with pytest.raises(InferenceError) as caught:
        Encoder.load(encoder_path(toy.path), other)
    message = str(caught.value)
    assert "toy.encoder.onnx was trained for another generator (toy.onnx, sha256 " in message
    assert "not for other.onnx" in message and "train-encoder" in message and "--force" in message


def test_an_encoder_whose_shapes_disagree_with_its_generator_is_refused(toy):
    path = make_exact_encoder(toy.path)
    set_prop(path, "gan_studio.latent_dim", "32")
    with pytest.raises(InferenceError, match=r"maps 1,28,28 images to 32 latents; toy.onnx needs 1,28,28 and 16"):
        Encoder.load(path, toy)


def test_find_encoder_uses_a_fitting_one_and_otherwise_says_why_not(toy):
    assert find_encoder(toy) == (None, "no encoder beside the model (toy.encoder.onnx)")
    path = make_exact_encoder(toy.path)
    encoder, note = find_encoder(toy)
    assert isinstance(encoder, Encoder) and note == "started from the encoder toy.encoder.onnx"
    set_prop(path, "gan_studio.generator_sha256", "0" * 64)
    encoder, note = find_encoder(toy)
    assert encoder is None and note.startswith("encoder not used: toy.encoder.onnx was trained for another generator")
