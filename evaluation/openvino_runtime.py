"""An ONNX file in OpenVINO's CPU runtime, fp32, as an onnxruntime session would run it.

OpenVINO compiles the graph with its own fused, blocked oneDNN kernels; on Inception-v3 that is
1.2-1.4x onnxruntime's images/s on a 2-core AVX-512 Xeon with the same features to ~2e-6 relative
(bench/inception_speed.py). The precision is pinned to f32 because OpenVINO otherwise lowers it to
bf16 by itself on CPUs with AVX512-BF16 or AMX: 2.3-3.8x as fast there, but it moved the Inception
FID by +3.1% on the same samples, too far for a score.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401 - an optional dependency: only asks whether it imports
    except ImportError:
        return False
    return True


class OpenVINOSession:
    """``run(x) -> the first output`` of the ONNX file at ``path``, on ``threads`` CPU threads."""

    def __init__(self, path: str | os.PathLike, threads: int):
        import openvino as ov  # optional and heavy (60 MB): loaded only when this runtime is chosen

        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(Path(path))), "CPU", {
            "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})
        self.request = compiled.create_infer_request()
        self.version = ov.__version__.split("-")[0]

    def run(self, x: np.ndarray) -> np.ndarray:
        self.request.infer({0: x})
        return self.request.get_output_tensor(0).data.copy()  # the request reuses its output buffer
