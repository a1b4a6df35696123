"""The evaluator networks in onnxruntime: where they live, their sessions and their hashes.

An evaluator (``exported/evaluators/<dataset>-cnn.onnx``, trained by ``python -m training
train-evaluator``) maps images float32 [N, 1, 28, 28] in [-1, 1] (a folder's: [N, 3, S, S], as its
metadata ``input_shape`` says) to ``features`` [N, D] (the
space of FID, KID, precision/recall, density/coverage) and ``logits`` [N, C] (the classifier
scores). A score is comparable only with scores of the same file, so every score names the file's
SHA-256 (see ``provenance``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from inference import InferenceError, contract, hardware
from inference.files import file_sha256 as sha256_of
from inference.limits import check_model_size

from .errors import EvaluationError

EVALUATOR_DIR = Path(__file__).resolve().parent.parent / "exported" / "evaluators"
# The evaluator CNN per call: 100 keeps its activations in a small CPU's caches (1.1-1.3x the images/s
# of 500 in a sweep on a 2-core Xeon, other settings equal). The features do not depend on it.
BATCH = 100
# The file's contract, which training.export.evaluator writes and Evaluator reads.
INPUT_NAME = "image"
OUTPUTS = ("logits", "features")
INPUT_RANGE = (-1.0, 1.0)
# What a file without ``input_shape`` metadata reads: the MNIST and Fashion-MNIST evaluators' images.
DEFAULT_INPUT_SHAPE = (1, 28, 28)


def cache_dir() -> Path:
    """$GAN_STUDIO_CACHE, default ~/.cache/gan-studio: reference statistics, the Inception network."""
    return Path(os.environ.get("GAN_STUDIO_CACHE", Path.home() / ".cache" / "gan-studio")).expanduser()


def evaluator_dir() -> Path:
    """exported/evaluators, or $GAN_STUDIO_EVALUATORS when set."""
    return Path(os.environ.get("GAN_STUDIO_EVALUATORS", EVALUATOR_DIR)).expanduser()


def default_evaluator_file(dataset: str) -> Path:
    """``<dataset>-cnn.onnx`` in ``evaluator_dir()``: the evaluator scores use unless told otherwise."""
    return evaluator_dir() / f"{dataset}-cnn.onnx"


def evaluator_path(dataset: str) -> Path:
    """``default_evaluator_file(dataset)``, which must exist."""
    folder, path = evaluator_dir(), default_evaluator_file(dataset)
    if not path.exists():
        known = sorted(p.stem.removesuffix("-cnn") for p in folder.glob("*-cnn.onnx"))
        raise EvaluationError(f"no evaluator for dataset {dataset!r} (have: {', '.join(known) or 'none'}); train one "
                              f"with `python -m training train-evaluator --dataset {dataset} --out {path}`")
    return path


def session_options(optimize: bool = False) -> ort.SessionOptions:
    """CPU sessions on every core this process may use, or $GAN_STUDIO_EVAL_THREADS of them."""
    ort.set_default_logger_severity(3)
    opts = ort.SessionOptions()
    cores = hardware.usable_cores()
    opts.intra_op_num_threads = max(1, min(cores, int(os.environ.get("GAN_STUDIO_EVAL_THREADS", cores))))
    # Scoring is long batch work, often beside training on the same cores: idle worker threads that spin
    # take the time slices the busy ones need, while waking them costs microseconds per operator.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


class Evaluator:
    """An evaluator ONNX file in onnxruntime: images in [-1, 1] -> (features, logits)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise EvaluationError(f"evaluator file not found: {self.path}")
        try:
            check_model_size(self.path)
        except InferenceError as error:
            raise EvaluationError(str(error)) from None
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's errors share no base class but Exception
            raise EvaluationError(f"{self.path}: not an ONNX file onnxruntime can load "
                                  f"({str(error).strip().splitlines()[0] if str(error).strip() else error!r})") from None
        self.meta = dict(self.session.get_modelmeta().custom_metadata_map)
        if self.meta.get("gan_studio.evaluator") != "1":
            raise EvaluationError(f"{self.path} is not a GAN Studio evaluator (no gan_studio.evaluator metadata)")
        self.input_name = self.session.get_inputs()[0].name
        self.dataset = self.meta.get("dataset", "")
        self.class_names = _class_names(self.meta.get("class_names", "[]"), self.path)
        try:
            self.feature_dim = int(self.meta["feature_dim"])
        except (KeyError, ValueError):
            raise EvaluationError(f"{self.path}: its feature_dim metadata {self.meta.get('feature_dim')!r} is no "
                                  "whole number; re-export the evaluator.") from None
        self.input_shape = parse_input_shape(self.meta.get("input_shape"), self.path)
        self.sha256 = sha256_of(self.path)

    @property
    def name(self) -> str:
        """How scores name their feature network: file, layer and a hash prefix."""
        return f"{self.path.name}:features({self.feature_dim}) sha256:{self.sha256[:12]}"

    def run(self, images: np.ndarray, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
        """float32 [N, *input_shape] in [-1, 1] -> (features float32 [N, D], logits float32 [N, C])."""
        feats, logits = [], []
        for start in range(0, len(images), batch):
            chunk = np.ascontiguousarray(images[start:start + batch], np.float32)
            lo, fe = self.session.run(list(OUTPUTS), {self.input_name: chunk})
            feats.append(fe)
            logits.append(lo)
        return np.concatenate(feats), np.concatenate(logits)


def _class_names(text: str, path: Path) -> list[str]:
    """The metadata's JSON list of class names, bounded as a generator's are (inference.contract)."""
    try:
        return contract.FIELDS["class_names"][0](text)
    except (ValueError, TypeError) as error:
        raise EvaluationError(f"{path}: its class_names metadata {text[:80]!r} is unusable ({error}); "
                              "re-export the evaluator.") from None


def parse_input_shape(text: str | None, path: Path) -> tuple[int, int, int]:
    """The metadata ``input_shape`` ("C,H,W") as ints; ``DEFAULT_INPUT_SHAPE`` where it is missing."""
    if not text:
        return DEFAULT_INPUT_SHAPE
    try:
        channels, height, width = (int(v) for v in text.split(","))
    except ValueError:
        raise EvaluationError(f"{path}: input_shape metadata {text!r} is not C,H,W") from None
    if channels not in (1, 3):
        raise EvaluationError(f"{path}: an evaluator reads 1 or 3 channels, its metadata says {channels}")
    return channels, height, width


_EVALUATORS: dict[str, tuple] = {}


def get_evaluator(dataset_or_path: str | os.PathLike) -> Evaluator:
    """A dataset's default evaluator, or the .onnx file named; one session per file and process."""
    key = str(dataset_or_path)
    path = Path(key) if key.endswith(".onnx") else evaluator_path(key)
    if not path.is_file():
        raise EvaluationError(f"evaluator file not found: {path}")
    stamp = (str(path.resolve()), path.stat().st_mtime_ns)
    if _EVALUATORS.get(key, (None,))[0] != stamp:  # a retrained file is reloaded
        _EVALUATORS[key] = (stamp, Evaluator(path))
    return _EVALUATORS[key][1]
