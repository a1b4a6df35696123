"""Projection (inference.projection): find the latent of a real MNIST test digit with the shipped
generator, judged by the shipped MNIST evaluator; and uploads that cannot be used are refused clearly."""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from inference import Generator, InferenceError
from inference.projection import onnx_features, project
from inference.target_image import read_target
from tests.helpers import REPO_ROOT, make_exact_encoder, make_onnx_generator

MODEL = REPO_ROOT / "exported" / "mnist-dcgan.onnx"
EVALUATOR = REPO_ROOT / "exported" / "evaluators" / "mnist-cnn.onnx"
shipped = pytest.mark.skipif(not (MODEL.exists() and EVALUATOR.exists()), reason="needs the shipped MNIST generator and evaluator")


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


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


@pytest.mark.parametrize("data, message", [
    (png(np.full((64, 64), 255, np.uint8)), r"is blank \(one flat colour"),
    (b"GIF89a but not really", "is not an image GAN Studio can read"),
    (b"", "is empty"),
    (png(np.random.default_rng(0).integers(0, 255, (12, 12), dtype=np.uint8)), r"12x12 pixels, smaller than the generator's 28x28"),
    (png(np.random.default_rng(0).integers(0, 255, (30, 300), dtype=np.uint8)), "too long and thin"),
    (b"\x89PNG" + bytes(21 * 2**20), r"21.0 MiB; the limit is 20 MiB"),
])
def test_unusable_uploads_are_refused_with_a_clear_message(data, message):
    with pytest.raises(InferenceError, match=message):
        read_target(data, (1, 28, 28), name="upload.png")


def test_a_big_dark_on_light_picture_is_fitted_and_the_fixes_are_named():
    page = np.full((300, 200), 250, np.uint8)
    page[100:200, 90:110] = 10  # a dark stroke on a light page
    target = read_target(png(page), (1, 28, 28))
    assert target.image.shape == (28, 28, 1)
    assert target.image[0, 0, 0] < 20 and target.image[14, 14, 0] > 200   # inverted: light ink on black
    assert any("inverted" in n for n in target.notes) and any("padded" in n for n in target.notes)


def test_cli_project_writes_the_match_and_refuses_bad_images(tmp_path):
    model = make_onnx_generator(tmp_path / "toy.onnx")
    g = Generator.load(model, device="cpu")
    image = tmp_path / "digit.png"
    image.write_bytes(png(g.generate(g.sample_latent(1, seed=3))[0, ..., 0]))
    out = tmp_path / "match.png"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "inference", str(model), *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
    done = cli("--project", str(image), "--out", str(out), "--latent-out", str(tmp_path / "z.npy"))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and out.is_file() and np.load(tmp_path / "z.npy").shape == (g.latent_dim,)
    again = cli("--project", str(image), "--out", str(out))
    assert again.returncode == 2 and "exists; pass --force" in again.stderr
    (tmp_path / "blank.png").write_bytes(png(np.zeros((28, 28), np.uint8)))
    (tmp_path / "text.png").write_text("not an image")
    for bad, message in (("blank.png", "is blank"), ("text.png", "is not an image"), ("missing.png", "no such image file")):
        p = cli("--project", str(tmp_path / bad), "--out", str(tmp_path / "m.png"))
        assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert not (tmp_path / "m.png").exists()


def test_projection_from_an_encoder_is_deterministic_and_starts_from_its_guess(tmp_path):
    from tests.helpers import make_philox_generator

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


def test_cli_project_init_encoder(tmp_path):
    model = make_onnx_generator(tmp_path / "toy.onnx")
    g = Generator.load(model, device="cpu")
    image = tmp_path / "digit.png"
    image.write_bytes(png(g.generate(g.sample_latent(1, seed=3))[0, ..., 0]))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "inference", str(model), *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
    missing = cli("--project", str(image), "--out", str(tmp_path / "m.png"), "--init", "encoder")
    assert missing.returncode == 2 and "encoder not found" in missing.stderr and not (tmp_path / "m.png").exists()
    make_exact_encoder(model)
    done = cli("--project", str(image), "--out", str(tmp_path / "m.png"), "--init", "encoder")
    assert done.returncode == 0 and "started from the encoder toy.encoder.onnx" in done.stdout, done.stderr
    alone = cli("--init", "search", "--out", str(tmp_path / "x.png"))
    assert alone.returncode == 2 and "--init needs --project" in alone.stderr
