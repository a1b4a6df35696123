"""Fréchet Inception Distance (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update
Rule Converge to a Local Nash Equilibrium", arXiv:1706.08500).

Both feature sets are summarised by a Gaussian N(mu, Sigma); FID is the squared Fréchet
(2-Wasserstein) distance between the two Gaussians (Dowson & Landau, 1982):

    d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

The numerical treatment follows the reference implementations (TTUR, pytorch-fid): when the
matrix square root of S1 S2 fails (singular product, e.g. fewer samples than dimensions), eps*I
is added to both covariances; a small imaginary part left by sqrtm's round-off is dropped,
a large one is an error. numpy/scipy only, so it runs on features from ONNX evaluators.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from .checks import as_features, check_same_dim
from .registry import LOWER, METRICS, Samples, Score

__all__ = ["feature_statistics", "frechet_distance", "fid"]


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (float64) of ``features [N, D]``, N >= 2."""
    x = as_features(features, "features", dtype=np.float64, min_rows=2)
    mu = x.mean(axis=0)
    sigma = np.cov(x, rowvar=False)
    return mu, np.atleast_2d(sigma)


def _sqrtm(a: np.ndarray) -> np.ndarray:
    # scipy warns (or returns nan/inf) on singular input; the caller checks the result itself.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return linalg.sqrtm(a)


def _is_good_root(root: np.ndarray, a: np.ndarray, rtol: float = 1e-5) -> bool:
    """Finite and actually a square root of ``a`` (sqrtm can return garbage on singular input)."""
    if not np.isfinite(root).all():
        return False
    scale = max(float(np.linalg.norm(a)), np.finfo(np.float64).tiny)
    return float(np.linalg.norm(root @ root - a)) <= rtol * scale


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6, imag_tol: float = 1e-3) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``eps`` is added to both diagonals only when sqrtm(sigma1 @ sigma2) fails; ``imag_tol`` is the
    largest imaginary part on the diagonal of the root accepted as round-off (else ValueError).
    The result is clipped at 0: it is a squared distance, and tiny negatives are round-off.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise ValueError(f"means must be vectors of one length, got {mu1.shape} and {mu2.shape}")
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"covariances must be [{d}, {d}], got {sigma1.shape} and {sigma2.shape}"
        )
    for name, arr in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values")

    diff = mu1 - mu2
    product = sigma1 @ sigma2
    covmean = _sqrtm(product)
    if not _is_good_root(covmean, product):
        offset = eps * np.eye(d)
        product = (sigma1 + offset) @ (sigma2 + offset)
        covmean = _sqrtm(product)
        if not np.isfinite(covmean).all():
            raise ValueError(
                f"sqrtm(sigma1 @ sigma2) is not finite even with eps={eps} added to the diagonals"
            )

    if np.iscomplexobj(covmean):
        max_imag = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if max_imag > imag_tol:
            raise ValueError(f"sqrtm left a large imaginary component ({max_imag:.3g})")
        covmean = covmean.real

    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def fid(features_a, features_b, eps: float = 1e-6) -> float:
    """FID between two feature sets ``[N, D]`` and ``[M, D]`` (e.g. Inception pool3 features).

    FID is biased for small N (it grows as N shrinks); compare only scores computed with the
    same feature network and sample counts (Chong & Forsyth, 2020, "Effectively Unbiased FID").
    """
    a = as_features(features_a, "features_a", min_rows=2)
    b = as_features(features_b, "features_b", min_rows=2)
    check_same_dim(a, b, "features_a", "features_b")
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    return frechet_distance(mu1, s1, mu2, s2, eps=eps)


@METRICS.register("fid", Score("fid", "FID (evaluator or Inception features)", LOWER, on_card=True))
def _fid(samples: Samples) -> dict[str, float]:
    # the reference statistics are computed once per process (live evaluation reuses them)
    return {"fid": frechet_distance(*samples.reference.stats, *feature_statistics(samples.features))}


@METRICS.register("fid-inception", Score("fid_inception", "Inception-v3 FID", LOWER, charted=False, on_card=True),
                  needs=("inception_features", "inception_reference"), when="with --inception")
def _fid_inception(samples: Samples) -> dict[str, float]:
    mu, sigma, _ = samples.inception_reference
    return {"fid_inception": frechet_distance(mu, sigma, *feature_statistics(samples.inception_features))}
