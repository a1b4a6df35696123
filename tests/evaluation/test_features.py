"""evaluation/features.py: transparency composited over black, an ONNX file as the feature network
($GAN_STUDIO_FEATURE_NETWORK), Inception-v3 otherwise."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation import features as F
from evaluation.errors import EvaluationError

from tests.evaluation.common import make_feature_network


def test_rgba_is_the_picture_on_black_and_opaque_images_are_unchanged():
    rgba = np.zeros((1, 4, 2, 2), np.float32)
    rgba[0, :3] = 0.8
    rgba[0, 3] = [[1.0, 0.5], [0.0, 0.25]]
    on_black = F.composite_over_black(rgba)
    assert on_black.shape == (1, 3, 2, 2)
    assert np.allclose(on_black[0, 0], [[0.8, 0.4], [0.0, 0.2]])
    rgb = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    assert np.array_equal(F.composite_over_black(rgb), rgb)
    assert F.composite_over_black(np.ones((1, 2, 3, 3))).shape == (1, 1, 3, 3)  # gray + alpha
    with pytest.raises(EvaluationError, match="1 to 4 channels"):
        F.composite_over_black(np.ones((1, 5, 3, 3)))


def test_generator_output_is_mapped_to_unit_range_before_compositing():
    out = np.full((1, 4, 2, 2), 1.0, np.float32)
    out[:, 3] = -1.0  # fully transparent in [-1, 1]
    assert np.array_equal(F.feature_input(out, (-1.0, 1.0)), np.zeros((1, 3, 2, 2), np.float32))


def test_an_onnx_file_named_by_the_variable_replaces_inception(tmp_path, monkeypatch):
    path = make_feature_network(tmp_path / "tiny.onnx", dim=16)
    monkeypatch.setenv(F.FEATURE_NETWORK_VARIABLE, str(path))
    network = F.feature_network()
    assert network is F.feature_network()  # one session per file and process
    assert network.name.startswith("tiny.onnx:features(16) sha256:") and len(network.sha256) == 64
    gray = np.random.default_rng(1).random((5, 1, 8, 8)).astype(np.float32)
    feats = network.features(gray, batch=2)
    assert feats.shape == (5, 16) and feats.dtype == np.float64
    assert np.allclose(feats, network.features(np.repeat(gray, 3, axis=1)))  # gray is seen as RGB


def test_a_missing_or_broken_feature_file_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv(F.FEATURE_NETWORK_VARIABLE, str(tmp_path / "none.onnx"))
    with pytest.raises(EvaluationError, match="no such file"):
        F.feature_network()
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    monkeypatch.setenv(F.FEATURE_NETWORK_VARIABLE, str(tmp_path / "bad.onnx"))
    with pytest.raises(EvaluationError, match="not an ONNX feature network"):
        F.feature_network()


def test_without_the_variable_it_is_inception(tmp_path, monkeypatch):
    monkeypatch.delenv(F.FEATURE_NETWORK_VARIABLE, raising=False)
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path))  # nothing exported there
    monkeypatch.setattr(F, "inception_extractor", lambda: "inception")
    assert F.feature_network() == "inception"
