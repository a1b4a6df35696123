"""evaluation/feature_scoring.py: a folder scored in general features: FID, KID (unbiased, N stated),
precision/recall/density/coverage against all its images, with the record saying what was compared
with what; the real Inception-v3 on a few images (slow)."""
from __future__ import annotations

import numpy as np
import pytest

from dataio import read_split
from evaluation.errors import EvaluationError
from evaluation.feature_scoring import evaluate_in_features
from evaluation.features import FEATURE_NETWORK_VARIABLE, ONNXFeatures
from evaluation.provenance import format_table
from evaluation.scoring import check_dataset, evaluate_images, scored_in_features

from tests.evaluation.common import make_feature_network
from tests.helpers import rgba_folder


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(FEATURE_NETWORK_VARIABLE, str(make_feature_network(tmp_path / "tiny.onnx")))
    return rgba_folder(tmp_path / "images", per_class=8, size=16)


def test_which_datasets_are_scored_in_general_features():
    assert scored_in_features("folder") and scored_in_features("folder", evaluator="mine.onnx")
    assert scored_in_features("cifar10") and scored_in_features("svhn")
    assert not scored_in_features("mnist") and not scored_in_features("stacked-mnist")
    assert not scored_in_features("cifar10", evaluator="mine.onnx")  # its own network, as before


def test_the_folder_against_itself_scores_near_zero_and_noise_far(folder):
    real = read_split("folder", folder, "test", 16).images
    same = evaluate_images(real, "folder", data_root=folder, kid_subsets=20)
    noise = evaluate_images(np.random.default_rng(0).uniform(-1, 1, real.shape).astype(np.float32), "folder",
                            data_root=folder, kid_subsets=20)
    assert same["metrics"]["fid"] < 1e-3 < noise["metrics"]["fid"]
    assert abs(same["metrics"]["kid_mean"]) < noise["metrics"]["kid_mean"]
    assert same["metrics"]["coverage"] == 1.0 > noise["metrics"]["coverage"]
    assert same["n_generated"] == same["n_reference"] == 16 and same["kid_subset_size"] == 16
    assert same["feature_network"].startswith("tiny.onnx:features(16)") and len(same["feature_network_sha256"]) == 64
    assert "all 16 images" in same["reference"] and same["device"].startswith("cpu (onnxruntime")
    assert "label_accuracy" not in same["metrics"] and "classes_covered" not in same["metrics"]


def test_rgba_output_is_composited_and_the_record_says_so(folder):
    rgba = read_split("folder", folder, "test", 16, transparency="alpha").images
    assert rgba.shape[1] == 4
    report = evaluate_images(rgba, "folder", data_root=folder, kid_subsets=5)
    assert "composited over black" in report["alpha"] and "transparency alpha" in report["reference"]
    assert report["metrics"]["fid"] < 1e-3  # the reference was read with its alpha too, and composited alike
    table = format_table(report)
    for line in ("feature network: tiny.onnx", "reference:       folder", "KID:             unbiased MMD², mean of 5 "
                 "subsets of 16", "transparency:    RGBA composited", "runtime:         cpu (onnxruntime"):
        assert line in table


def test_labels_without_a_classifier_are_ignored_and_bad_shapes_refused(folder):
    real = read_split("folder", folder, "test", 16).images
    network = ONNXFeatures(make_feature_network(folder.parent / "other.onnx"))
    report = evaluate_in_features(real, "folder", data_root=folder, network=network, labels=np.zeros(len(real)))
    assert "label_accuracy" not in report["metrics"]
    with pytest.raises(EvaluationError, match="1 to 4 channels"):
        evaluate_in_features(np.zeros((2, 5, 16, 16)), "folder", data_root=folder, network=network)


def test_a_dataset_without_an_evaluator_needs_the_feature_network(tmp_path, monkeypatch):
    monkeypatch.delenv(FEATURE_NETWORK_VARIABLE, raising=False)
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path))
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)  # no fid-helper, nothing exported
    with pytest.raises(EvaluationError, match="python -m training evaluate --inception"):
        check_dataset("folder")


@pytest.mark.slow
def test_the_real_inception_scores_a_few_rgba_images(tmp_path, monkeypatch, inception_cache):
    """Inception-v3 itself (exported by training once for the test run, as `evaluate --inception` does)."""
    from training.evaluate import ensure_feature_network  # torch: exporting the network needs it

    monkeypatch.delenv(FEATURE_NETWORK_VARIABLE, raising=False)
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(inception_cache))
    folder = rgba_folder(tmp_path / "images", per_class=3, size=32)
    ensure_feature_network("folder")
    real = read_split("folder", folder, "test", 32).images
    report = evaluate_images(real, "folder", data_root=folder, kid_subsets=2)
    assert report["feature_network"].startswith("Inception-v3 pool3 (2048)")
    assert report["n_reference"] == 6 and report["metrics"]["fid"] < 1e-3 and report["metrics"]["coverage"] == 1.0
