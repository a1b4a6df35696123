"""evaluation/scoring.py: images and exported generators scored with every registered metric and
their provenance; a collapsed generator is caught; Stacked MNIST is scored digit by digit."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dataio import read_split
from evaluation.errors import EvaluationError
from evaluation.metrics import METRICS
from evaluation.scoring import evaluate_images, evaluate_model, inception_fid

from tests.helpers import FakeInception, make_onnx_generator, real_image_generator

ALWAYS = [key for metric in METRICS if metric.when == "always" for key in metric.keys]


def test_collapsed_generator_is_caught_by_class_coverage_and_recall(tmp_path, mnist_test):
    ones = mnist_test.images[mnist_test.labels == 1][:500, 0]
    healthy = mnist_test.images[:500, 0]
    reports = {}
    for name, images in (("ones", ones), ("healthy", healthy)):
        reports[name] = evaluate_model(real_image_generator(tmp_path / f"{name}.onnx", images), n=1000,
                                       kid_subsets=5)["metrics"]
    collapsed, ok = reports["ones"], reports["healthy"]
    assert collapsed["classes_covered"] == 1 and ok["classes_covered"] == 10
    assert collapsed["class_kl"] > 1.5 > 0.1 > ok["class_kl"]
    assert collapsed["recall"] < 0.2 < ok["recall"]
    assert collapsed["coverage"] < 0.2 < ok["coverage"]
    assert collapsed["fid"] > 10 * ok["fid"]


def test_a_generators_report_holds_every_metric_and_its_provenance(tmp_path, mnist_test):
    model = real_image_generator(tmp_path / "real.onnx", mnist_test.images[:1000, 0])
    report = evaluate_model(model, n=1000, seed=3, kid_subsets=5)
    assert list(report["metrics"]) == ALWAYS  # registration order
    assert all(isinstance(v, float) and math.isfinite(v) for v in report["metrics"].values())
    assert report["reference"] == "mnist test (10,000)" and report["n_generated"] == 1000
    assert report["feature_network"].startswith("mnist-cnn.onnx:features(128) sha256:")
    assert report["feature_network"].endswith(report["feature_network_sha256"][:12])
    assert report["n_reference_prdc"] == 1000 and report["kid_subsets"] == 5 and report["kid_subset_size"] == 1000
    assert report["seed"] == report["latent_seed"] == 3 and report["source"] == "real.onnx (unconditional)"
    assert report["train_steps"] == 0 and sum(report["predicted_class_histogram"]) == pytest.approx(1, abs=1e-3)


def test_stacked_mnist_is_scored_digit_by_digit_with_its_modes(mnist_test):
    stacked = read_split("stacked-mnist", None, "test").images[:3000]
    full = evaluate_images(stacked, "stacked-mnist", kid_subsets=5)
    m = full["metrics"]
    # Real triples: nearly all modes (3,000 draws of 1,000 equally likely modes leave ~50 unseen) and
    # a KL from uniform near its finite-sample value, ~(1000 - 1) / (2 * 3000).
    assert m["modes_captured"] >= 930 and m["mode_kl"] < 0.3
    assert m["classes_covered"] == 10 and m["fid"] < 1.0  # each channel is real MNIST
    assert full["n_generated"] == 9_000 and full["n_stacked_images"] == 3_000
    assert "each of the 3 channels" in full["reference"]
    one_digit_last = stacked.copy()
    one_digit_last[:, 2] = stacked[0, 2]  # the last channel never changes: at most 100 modes
    m = evaluate_images(one_digit_last, "stacked-mnist", kid_subsets=5)["metrics"]
    assert m["modes_captured"] <= 100 and m["mode_kl"] > math.log(10) - 0.1
    with pytest.raises(EvaluationError, match="3 channels"):
        evaluate_images(stacked[:, :1], "stacked-mnist")


def test_the_inception_fid_joins_the_report_with_its_own_provenance(tmp_path, monkeypatch, mnist_root, mnist_test):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path))
    images = mnist_test.images[:300].astype(np.float32) / 127.5 - 1
    alone = inception_fid(images, "mnist", data_root=mnist_root, ref_limit=200, extractor=FakeInception())
    assert alone["feature_network"] == "fake inception" and alone["n_reference"] == 200
    report = evaluate_images(images, "mnist", data_root=mnist_root, kid_subsets=2, inception=FakeInception(),
                             inception_n=100)
    assert report["inception"]["n_generated"] == 100 and report["inception"]["device"] == "cpu (test)"
    assert report["metrics"]["fid_inception"] == report["inception"]["metrics"]["fid"]


def test_a_model_that_names_no_dataset_or_is_not_a_generator(tmp_path):
    model = make_onnx_generator(tmp_path / "g.onnx", meta={"dataset": ""})
    with pytest.raises(EvaluationError, match="names no dataset"):
        evaluate_model(model, n=10)
    with pytest.raises(EvaluationError, match="not found"):
        evaluate_model(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(EvaluationError):
        evaluate_model(tmp_path / "bad.onnx")
