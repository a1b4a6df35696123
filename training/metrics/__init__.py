"""Feature-space GAN metrics, numpy/scipy only (no torch), so a run can be scored from features
of an ONNX evaluator network.

    from training.metrics import compute_all, with_provenance
    scores = compute_all(real_feats, fake_feats, fake_probs=probs)
    report = with_provenance(scores, feature_network="mnist-lenet.onnx:fc1",
                             reference="mnist/test", n_generated=len(fake_feats),
                             n_reference=len(real_feats))

A score without its provenance is not comparable with any other (FID depends on the feature
network, on the reference split and, being biased, on the sample counts), so whatever is stored
(metrics.jsonl, model cards) should be a ``with_provenance`` report.

Modules: ``fid`` (FID), ``kid`` (KID), ``prdc`` (precision/recall, density/coverage),
``classifier`` (classifier score, class coverage and KL, Stacked-MNIST modes), ``toy``
(ring/grid mixtures of VEEGAN and PacGAN).
"""

from __future__ import annotations

import math

import numpy as np

from ._common import as_features, check_same_dim
from .classifier import (
    class_kl,
    classes_covered,
    classifier_score,
    predicted_class_histogram,
    stacked_mnist_metrics,
    to_probs,
)
from .fid import feature_statistics, fid, frechet_distance
from .kid import kid
from .prdc import prdc
from .toy import grid_modes, ring_modes, sample_mixture, toy_metrics

__all__ = [
    "compute_all",
    "with_provenance",
    "feature_statistics",
    "frechet_distance",
    "fid",
    "kid",
    "prdc",
    "classifier_score",
    "classes_covered",
    "class_kl",
    "predicted_class_histogram",
    "stacked_mnist_metrics",
    "ring_modes",
    "grid_modes",
    "sample_mixture",
    "toy_metrics",
]


def compute_all(
    real_features,
    fake_features,
    fake_probs=None,
    data_class_prior=None,
    *,
    from_logits: bool = False,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    k_pr: int = 3,
    k_dc: int = 5,
    n_splits: int = 10,
    min_class_fraction: float = 0.1,
    seed: int = 0,
) -> dict[str, float]:
    """All feature-space metrics as one flat dict of plain floats.

    Keys: ``fid``, ``kid_mean``, ``kid_std``, ``precision``, ``recall``, ``density``,
    ``coverage``; with ``fake_probs`` (evaluator class probabilities, or logits with
    ``from_logits``) also ``classifier_score``, ``classifier_score_std``, ``classes_covered``
    and ``class_kl`` (KL(p_data || p_gen), ``data_class_prior`` defaulting to uniform).
    Deterministic for a given ``seed`` (only KID samples).
    """
    real = as_features(real_features, "real_features", min_rows=2)
    fake = as_features(fake_features, "fake_features", min_rows=2)
    check_same_dim(real, fake, "real_features", "fake_features")

    out: dict[str, float] = {"fid": fid(real, fake)}
    out["kid_mean"], out["kid_std"] = kid(real, fake, kid_subsets, kid_subset_size, seed)
    out.update(prdc(real, fake, k_pr=k_pr, k_dc=k_dc))
    if fake_probs is not None:
        probs = to_probs(fake_probs, from_logits)
        out["classifier_score"], out["classifier_score_std"] = classifier_score(probs, n_splits)
        out["classes_covered"] = float(classes_covered(probs, data_class_prior, min_class_fraction))
        out["class_kl"] = class_kl(probs, data_class_prior)
    return {key: float(value) for key, value in out.items()}


def with_provenance(
    metrics: dict,
    /,
    *,
    feature_network: str,
    reference: str,
    n_generated: int,
    n_reference: int,
    **extra,
) -> dict:
    """Wrap ``metrics`` with what they were computed from; the form every stored score takes.

    Returns ``{"metrics": {...}, "feature_network": str, "reference": str, "n_generated": int,
    "n_reference": int, **extra}``. Non-finite metric values become ``None`` so the result is
    strict JSON; ``extra`` may add e.g. ``step`` or ``seed``.
    """
    if not isinstance(feature_network, str) or not feature_network.strip():
        raise ValueError("feature_network must name the evaluator network (and layer)")
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("reference must name the reference data (dataset and split)")
    counts = {"n_generated": n_generated, "n_reference": n_reference}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    clean = {}
    for key, value in metrics.items():
        value = float(value)
        clean[str(key)] = value if math.isfinite(value) else None
    reserved = {"metrics", "feature_network", "reference", *counts}
    clash = reserved.intersection(extra)
    if clash:
        raise ValueError(f"extra provenance keys clash with reserved ones: {sorted(clash)}")
    return {
        "metrics": clean,
        "feature_network": feature_network,
        "reference": reference,
        "n_generated": int(n_generated),
        "n_reference": int(n_reference),
        **extra,
    }
