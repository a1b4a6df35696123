"""Projection (inference.projection): find the latent of a real MNIST test digit with the shipped
generator, judged by the shipped MNIST evaluator; deterministic searches, from seeds or an encoder."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from inference import Generator, InferenceError
from inference.projection import onnx_features, project
from inference.target_image import read_target
from tests.helpers import REPO_ROOT, make_exact_encoder, make_onnx_generator, make_philox_generator

MODEL = REPO_ROOT / "exported" / "mnist-dcgan.onnx"
EVALUATOR = REPO_ROOT / "exported" / "evaluators" / "mnist-cnn.onnx"
shipped = pytest.mark.skipif(not (MODEL.exists() and EVALUATOR.exists()), reason="needs the shipped MNIST generator and evaluator")


@shipped
def test_projection_of_real_digits_finds_the_digit_and_beats_random_search(mnist_test):
    g = Generator.load(MODEL, device="cpu")
    features = onnx_features(EVALUATOR)
    classifier = ort.InferenceSession(str(EVALUATOR), providers=["CPUExecutionProvider"])
    random_z = g.sample_latent(4096, seed=123_456)
    random_features = features(g.run(random_z))
    picks = [0, 1, 2, 3]  # test digits 7, 2, 1, 0
    right = beaten = 0
    for i in picks:
        target = read_target(mnist_test.images[i, 0], g.image_shape)
        found = project(g, target, features=features, seed=i)
        assert found.seconds < 15 and found.evaluations > 0
        logits = classifier.run(["logits"], {"image": found.image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1})[0]
        right += int(logits.argmax() == mnist_test.labels[i])
        best_random = np.linalg.norm(random_features - features(target.as_model_input())[0], axis=1).min()
        beaten += int(found.feature_distance < best_random)
        # the returned image is the generator's image of the returned latent
        assert np.array_equal(found.image, g.generate(found.z[None])[0])
    assert right >= 3, f"only {right} of {len(picks)} matches are classified as the input's digit"
    assert beaten >= 3, f"only {beaten} of {len(picks)} matches are closer than the best of 4,096 random samples"


def test_projection_is_deterministic_and_improves_on_its_start(tmp_path):
    g = Generator.load(make_onnx_generator(tmp_path / "toy.onnx"), device="cpu")
    target = g.generate(g.sample_latent(1, seed=99))[0]
    a = project(g, read_target(target, g.image_shape), seed=5, n_start=64, rounds=6, population=32)
    b = project(g, read_target(target, g.image_shape), seed=5, n_start=64, rounds=6, population=32)
    start = project(g, read_target(target, g.image_shape), seed=5, n_start=64, rounds=0)
    assert np.array_equal(a.z, b.z) and a.feature_distance is None
    assert a.pixel_distance < start.pixel_distance                        # the refinement does something
    with pytest.raises(InferenceError, match="unconditional"):
        project(g, read_target(target, g.image_shape), label=3)


def test_projection_from_an_encoder_is_deterministic_and_starts_from_its_guess(tmp_path):
    model = make_philox_generator(tmp_path / "toy.onnx")
    g = Generator.load(model, device="cpu")
    target = read_target(g.generate(g.sample_latent(1, seed=77))[0], g.image_shape)
    budget = dict(n_start=8, rounds=2, population=8)
    without = project(g, target, seed=1, **budget)                  # auto, no encoder there: the search
    assert without.init == "search" and "no encoder beside the model" in without.note
    with pytest.raises(InferenceError, match="encoder not found"):
        project(g, target, init="encoder", **budget)
    make_exact_encoder(model)
    a = project(g, target, seed=1, init="encoder", **budget)
    b = project(g, target, seed=1, init="encoder", **budget)
    auto = project(g, target, seed=1, **budget)
    assert a.init == auto.init == "encoder" and "toy.encoder.onnx" in a.note
    assert np.array_equal(a.z, b.z) and np.array_equal(a.z, auto.z)
    # the inverse is exact up to the target's 8 bits (amplified where tanh saturates): far closer than the search
    assert a.pixel_distance < 0.05 and a.pixel_distance < without.pixel_distance / 4, (a.pixel_distance, without.pixel_distance)
    assert project(g, target, seed=1, init="search", **budget).init == "search"
