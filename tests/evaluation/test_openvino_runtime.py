"""evaluation/openvino_runtime.py: an ONNX file in OpenVINO's CPU runtime gives onnxruntime's output,
in fp32 even on a CPU where OpenVINO would choose bf16 by itself, and each run's output is its own."""
from __future__ import annotations

import importlib.util

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from evaluation.openvino_runtime import OpenVINOSession, openvino_available
from tests.helpers import save_onnx_model

needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs OpenVINO")


@pytest.fixture
def matmul_model(tmp_path):
    """x [N, 8] -> tanh(x W) [N, 4]: a real ONNX graph small enough to check by hand."""
    w = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    path = save_onnx_model(tmp_path / "net.onnx",
                           [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])],
                           [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                           [numpy_helper.from_array(w, "W")])
    return path, w


def test_available_says_whether_openvino_imports():
    assert openvino_available() == (importlib.util.find_spec("openvino") is not None)


@needs_openvino
def test_the_output_is_onnxruntimes(matmul_model):
    path, w = matmul_model
    x = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    session = OpenVINOSession(path, threads=1)
    got = session.run(x)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert got.shape == (5, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert session.version[0].isdigit() and "-" not in session.version


@needs_openvino
def test_the_precision_stays_fp32(tmp_path):
    # x I - 1 with x = 1 + 2**-12: bf16 keeps 8 bits of mantissa, so on a CPU with AVX512-BF16 or AMX
    # OpenVINO's own choice (bf16 matmuls) gives 0 here.
    ones = np.ones((1, 64), np.float32)
    path = save_onnx_model(tmp_path / "diff.onnx",
                           [helper.make_node("MatMul", ["x", "I"], ["h"]), helper.make_node("Sub", ["h", "one"], ["y"])],
                           [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
                           [numpy_helper.from_array(np.eye(64, dtype=np.float32), "I"), numpy_helper.from_array(ones, "one")])
    got = OpenVINOSession(path, threads=1).run(ones + np.float32(2**-12))
    np.testing.assert_array_equal(got, np.full((1, 64), 2**-12, np.float32))


@needs_openvino
def test_each_run_returns_its_own_array(matmul_model):
    # The infer request reuses one output buffer: a result kept from an earlier batch must not change.
    path, _ = matmul_model
    session = OpenVINOSession(path, threads=1)
    a_in, b_in = np.full((2, 8), 0.1, np.float32), np.full((2, 8), -0.3, np.float32)
    a = session.run(a_in)
    kept = a.copy()
    b = session.run(b_in)
    np.testing.assert_array_equal(a, kept)
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(session.run(a_in), kept, rtol=0, atol=0)
