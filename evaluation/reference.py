"""The reference side of every score: a dataset's test split through a feature network, computed
once and cached.

The cache is ``$GAN_STUDIO_CACHE/reference`` (default ``~/.cache/gan-studio/reference``):
* ``<dataset>-<split>-<evaluator sha256[:16]>.npz``: the evaluator's features, logits and the
  labels of the split. Named after the evaluator's hash, so a retrained evaluator never meets
  stale features;
* ``<dataset>-test-inception-default1[-<limit>].npz``: mean and covariance of the split's
  Inception-v3 features (the same for both Inception runtimes, which agree to ~1e-5).

The split is read with ``dataio`` (numpy), so building the cache needs no torch either.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from dataio import DataError, read_split

from .errors import EvaluationError
from .evaluators import Evaluator, cache_dir
from .images import to_evaluator_input
from .metrics.fid import feature_statistics

log = logging.getLogger("evaluation")


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
            self._stats = feature_statistics(self.features)
        return self._stats

    @property
    def class_prior(self) -> np.ndarray:
        counts = np.bincount(self.labels, minlength=self.logits.shape[1]).astype(np.float64)
        return counts / counts.sum()


def read_images(dataset: str, data_root=None, split: str = "test"):
    """The split as dataio reads it (uint8 [N, C, H, W], native size), its errors as ours."""
    try:
        return read_split(dataset, data_root, split)
    except DataError as error:
        raise EvaluationError(f"no {dataset} {split} split to score against: {error}") from None


def save_npz(path: Path, **arrays) -> None:
    """Write atomically: a reader sees the whole file or none (several processes may build it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


_REFERENCES: dict[str, Reference] = {}


def cached_reference(path: Path, compute: Callable[[], Reference]) -> Reference:
    """The reference stored at ``path``: from memory, from the file, or computed once and saved
    there (features, logits, labels and description: what every metric reads)."""
    if str(path) not in _REFERENCES:
        if path.exists():
            with np.load(path) as z:
                ref = Reference(z["features"], z["logits"], z["labels"], str(z["description"]))
        else:
            ref = compute()
            save_npz(path, features=ref.features, logits=ref.logits, labels=ref.labels,
                     description=np.array(ref.description))
        _REFERENCES[str(path)] = ref
    return _REFERENCES[str(path)]


def get_reference(evaluator: Evaluator, dataset: str | None = None, split: str = "test", data_root=None) -> Reference:
    """The split's evaluator outputs, from the cache or computed once."""
    dataset = dataset or evaluator.dataset

    def compute() -> Reference:
        data = read_images(dataset, data_root, split)
        feats, logits = evaluator.run(to_evaluator_input(data.images, input_shape=evaluator.input_shape))
        return Reference(feats, logits, data.labels.astype(np.int64), f"{dataset} {split} ({len(data.labels):,})")

    return cached_reference(cache_dir() / "reference" / f"{dataset}-{split}-{evaluator.sha256[:16]}.npz", compute)


def inception_statistics(dataset: str, features_of, data_root=None, limit: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray, int]:
    """(mean, covariance, count) of the test split's Inception features, from the cache or computed
    once with ``features_of(images01) -> [N, 2048]``."""
    path = cache_dir() / "reference" / f"{dataset}-test-inception-default1{'' if limit is None else f'-{limit}'}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["mu"], z["sigma"], int(z["n"])
    real = read_images(dataset, data_root, "test").images[:limit].astype(np.float32) / 255.0
    log.info("inception: reference statistics of %d test images (slow on a CPU; cached after)", len(real))
    feats = features_of(real)
    mu, sigma, n = feats.mean(0), np.cov(feats, rowvar=False), len(feats)
    save_npz(path, mu=mu, sigma=sigma, n=n)
    return mu, sigma, n
