"""The feature space of a dataset without an evaluator network of its own (an image folder, CIFAR-10,
SVHN...): Inception-v3 pool3 (``inception``), or the ONNX file ``$GAN_STUDIO_FEATURE_NETWORK`` names.

A feature network here is any object with ``features(images01, batch, progress) -> [N, D]``,
``name``, ``device`` and ``sha256`` (the hash every score records, so that scores of two networks
are never compared). Images reach it in [0, 1]; transparency is composited over black first, for
real and generated images alike (``composite_over_black``), so that a 4-channel RGBA image is
seen as the RGB picture a viewer shows on black.

``$GAN_STUDIO_FEATURE_NETWORK`` takes any ONNX file with one input ``[N, 3 or 1, H, W]`` in [0, 1]
and one output ``[N, D]``: a network of your own for your images, or a tiny one where Inception's
~5.7 G multiply-adds an image are too slow (the tests write one).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .errors import EvaluationError
from .evaluators import session_options, sha256_of
from .images import to_unit_range
from .inception import inception_extractor

FEATURE_NETWORK_VARIABLE = "GAN_STUDIO_FEATURE_NETWORK"
ALPHA_NOTE = "RGBA composited over black (RGB * alpha), real and generated alike"
BATCH = 100


def composite_over_black(images01: np.ndarray) -> np.ndarray:
    """float [N, C, H, W] in [0, 1] -> the picture on black: RGBA -> RGB * A, gray+alpha -> gray * A;
    1 and 3 channels unchanged."""
    x = np.asarray(images01, np.float32)
    if x.shape[1] in (2, 4):
        return x[:, :-1] * x[:, -1:]
    if x.shape[1] not in (1, 3):
        raise EvaluationError(f"expected images with 1 to 4 channels, got {x.shape[1]}")
    return x


def feature_input(images: np.ndarray, output_range=(-1.0, 1.0)) -> np.ndarray:
    """Generator output (or uint8) [N, C, H, W] -> float32 [N, 1 or 3, H, W] in [0, 1], alpha composited."""
    return composite_over_black(to_unit_range(images, output_range))


class ONNXFeatures:
    """An ONNX feature network: images [N, C, H, W] in [0, 1] -> its first output [N, D]."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise EvaluationError(f"${FEATURE_NETWORK_VARIABLE}={self.path}: no such file")
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own types: a broken or foreign file is the user's to fix
            raise EvaluationError(f"{self.path} is not an ONNX feature network: {error}") from None
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name, self.channels = inp.name, inp.shape[1] if isinstance(inp.shape[1], int) else 3
        self.sha256 = sha256_of(self.path)
        dim = out.shape[-1] if out.shape and isinstance(out.shape[-1], int) else "?"
        self.name = f"{self.path.name}:{out.name}({dim}) sha256:{self.sha256[:12]}"
        self.device = f"cpu (onnxruntime {ort.__version__})"

    def features(self, images01: np.ndarray, batch: int = BATCH, progress=None) -> np.ndarray:
        out = []
        for start in range(0, len(images01), batch):
            x = np.asarray(images01[start:start + batch], np.float32)
            if x.shape[1] == 1 and self.channels == 3:
                x = np.repeat(x, 3, axis=1)
            out.append(self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0].reshape(len(x), -1))
            if progress:
                progress(min(start + batch, len(images01)), len(images01))
        return np.concatenate(out).astype(np.float64)


_NETWORKS: dict[tuple, object] = {}


def feature_network():
    """$GAN_STUDIO_FEATURE_NETWORK's file when set, else Inception-v3 (raises, naming the command
    that exports it, when it is not exported yet); one session per file and process."""
    wanted = os.environ.get(FEATURE_NETWORK_VARIABLE, "").strip()
    if not wanted:
        return inception_extractor()
    path = Path(wanted).expanduser()
    key = (str(path.resolve()), path.stat().st_mtime_ns if path.is_file() else None)
    if key not in _NETWORKS:
        _NETWORKS[key] = ONNXFeatures(path)
    return _NETWORKS[key]
