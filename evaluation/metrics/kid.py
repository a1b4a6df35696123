"""Kernel Inception Distance (Bińkowski et al., 2018, "Demystifying MMD GANs", arXiv:1801.01401).

KID is the squared Maximum Mean Discrepancy (Gretton et al., 2012) between the feature
distributions under the cubic polynomial kernel

    k(x, y) = (x·y / d + 1)^3,        d = feature dimension,

estimated without bias (the diagonal terms k(x_i, x_i) are left out):

    MMD²_u = 1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m-1)) Σ_{i≠j} k(y_i, y_j)
             - 2/m² Σ_{i,j} k(x_i, y_j).

Unlike FID the estimator is unbiased, so it can be (slightly) negative for matching
distributions and is comparable across sample sizes. As in the reference code, it is averaged
over ``n_subsets`` random subsets of ``subset_size`` points drawn without replacement from each
set; the std over subsets is reported beside the mean.
"""

from __future__ import annotations

import numpy as np

from .checks import as_features, check_same_dim
from .registry import LOWER, METRICS, NEITHER, Samples, Score

__all__ = ["polynomial_kernel", "mmd2_unbiased", "kid"]

SUBSET_SIZE = 1000


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """Kernel matrix ``(x @ y.T / d + coef0) ** degree`` for ``x [n, d]``, ``y [m, d]``."""
    d = x.shape[1]
    k = x @ y.T
    k /= d
    k += coef0
    return k**degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD² between samples ``x [m, d]`` and ``y [n, d]`` (m, n >= 2), polynomial kernel."""
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError("the unbiased MMD² needs at least 2 samples per set")
    kxx = polynomial_kernel(x, x, degree, coef0)
    kyy = polynomial_kernel(y, y, degree, coef0)
    kxy = polynomial_kernel(x, y, degree, coef0)
    # Off-diagonal sums: the diagonal k(x_i, x_i) terms are what makes the plain V-statistic biased.
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    sxy = kxy.sum() / (m * n)
    return float(sxx + syy - 2.0 * sxy)


def kid(
    features_real,
    features_fake,
    n_subsets: int = 100,
    subset_size: int = SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID as ``(mean, std)`` of the unbiased MMD² over random subsets (same ``seed`` -> same value).

    The subset size is ``min(subset_size, N_real, N_fake)``; subsets are drawn without replacement
    within a subset, independently across subsets. Computed in float64: the score is a small
    difference of kernel means of order 1-10, which float32 sums would swamp.
    """
    real = as_features(features_real, "features_real", dtype=np.float64, min_rows=2)
    fake = as_features(features_fake, "features_fake", dtype=np.float64, min_rows=2)
    check_same_dim(real, fake, "features_real", "features_fake")
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be >= 1, got {n_subsets}")
    m = min(int(subset_size), real.shape[0], fake.shape[0])
    if m < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")

    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for i in range(n_subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        values[i] = mmd2_unbiased(x, y)
    return float(values.mean()), float(values.std())


@METRICS.register("kid", Score("kid_mean", "KID", LOWER, on_card=True),
                  Score("kid_std", "KID, std over subsets", NEITHER, charted=False))
def _kid(samples: Samples) -> dict[str, float]:
    size = min(SUBSET_SIZE, len(samples.features), len(samples.reference.features))
    samples.provenance.update(kid_subset_size=size, kid_subsets=samples.kid_subsets)
    mean, std = kid(samples.reference.features, samples.features, samples.kid_subsets, size, samples.seed)
    return {"kid_mean": mean, "kid_std": std}
