"""Precision/recall and density/coverage of generated samples, from k-NN balls in feature space.

* Precision and recall: Kynkäänniemi et al., 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models", arXiv:1904.06991 (k = 3). The real manifold is the union of balls
  B(x_i, NND_k(x_i)) around the real features, NND_k being the distance to the k-th nearest
  *other* real point; the fake manifold likewise.
      precision = share of fake samples inside the real manifold   (fidelity)
      recall    = share of real samples inside the fake manifold   (diversity)
* Density and coverage: Naeem et al., 2020, "Reliable Fidelity and Diversity Metrics for
  Generative Models", arXiv:2002.09797 (k = 5). Only real balls are used, which makes both far
  less sensitive to outliers among the fakes:
      density  = 1/(k M) Σ_j Σ_i 1[y_j ∈ B(x_i, NND_k(x_i))]   (≈ 1 for matching distributions,
                 can exceed 1; for a set against *itself* it is exactly (k+1)/k)
      coverage = 1/N Σ_i 1[∃ j: y_j ∈ B(x_i, NND_k(x_i))]

Balls are closed (distance <= radius) as in the papers' definitions; the PyPI ``prdc`` package uses
``<``, which differs only on exact ties. Squared distances are compared throughout (no sqrt).

Memory: the N x M distance matrix is never materialised. Distances come in row blocks of about
``block_elems`` entries (||a||² + ||b||² - 2 a·b, computed in place in the features' dtype, so
float32 features stay float32 and are not copied), and each block is reduced on the spot.
"""

from __future__ import annotations

import numpy as np

from .checks import as_features, check_same_dim
from .registry import HIGHER, METRICS, Samples, Score

__all__ = ["knn_radii", "prdc", "reference_subset"]

K_PR, K_DC = 3, 5  # the papers' choices

DEFAULT_BLOCK_ELEMS = 1 << 23  # 8M entries: 32 MiB per float32 block (64 MiB float64)


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _sq_dist_block(a: np.ndarray, a_sq: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``[len(a), len(b)]``, built in place in one array."""
    block = a @ b.T
    block *= -2.0
    block += a_sq[:, None]
    block += b_sq[None, :]
    np.maximum(block, 0.0, out=block)  # round-off can make near-duplicates slightly negative
    return block


def _row_blocks(n_rows: int, n_cols: int, block_elems: int):
    step = max(1, int(block_elems) // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield start, min(n_rows, start + step)


def knn_radii(features, ks=(3,), block_elems: int = DEFAULT_BLOCK_ELEMS, squared: bool = False) -> np.ndarray:
    """Distance from each point to its k-th nearest *other* point, for each k in ``ks``.

    Returns ``[len(ks), N]`` (float64). The point itself is excluded (its own distance is set to
    exactly 0, then the k-th order statistic of the row is taken, index 0 being the point itself).
    """
    x = as_features(features, "features")
    ks = [int(k) for k in np.atleast_1d(ks)]
    n = x.shape[0]
    if min(ks) < 1 or max(ks) >= n:
        raise ValueError(f"k must be in [1, {n - 1}] for {n} points, got {ks}")
    x_sq = _sq_norms(x)
    out = np.empty((len(ks), n), dtype=np.float64)
    for start, stop in _row_blocks(n, n, block_elems):
        block = _sq_dist_block(x[start:stop], x_sq[start:stop], x, x_sq)
        rows = np.arange(stop - start)
        block[rows, start + rows] = 0.0  # self-distance exactly 0, whatever the round-off
        block.partition(ks, axis=1)  # in place: no second copy of the block
        out[:, start:stop] = block[:, ks].T
    return out if squared else np.sqrt(out)


def prdc(
    real_features,
    fake_features,
    k_pr: int = K_PR,
    k_dc: int = K_DC,
    block_elems: int = DEFAULT_BLOCK_ELEMS,
) -> dict[str, float]:
    """Precision, recall (k = ``k_pr``), density and coverage (k = ``k_dc``) as a dict of floats.

    ``real_features [N, D]``, ``fake_features [M, D]``; needs N > max(k_pr, k_dc) and M > k_pr.
    """
    real = as_features(real_features, "real_features")
    fake = as_features(fake_features, "fake_features")
    check_same_dim(real, fake, "real_features", "fake_features")
    dtype = np.result_type(real.dtype, fake.dtype)  # one dtype for both, no mixed matmuls
    real, fake = real.astype(dtype, copy=False), fake.astype(dtype, copy=False)

    # Radii in the blocks' dtype (exact: they are block entries), so comparisons need no upcast.
    r_pr, r_dc = knn_radii(real, (k_pr, k_dc), block_elems, squared=True).astype(dtype)
    f_pr = knn_radii(fake, (k_pr,), block_elems, squared=True)[0].astype(dtype)

    n_real, n_fake = real.shape[0], fake.shape[0]
    real_sq, fake_sq = _sq_norms(real), _sq_norms(fake)
    fake_in_real = np.zeros(n_fake, dtype=bool)  # precision: fake j in some real k_pr-ball
    real_in_fake = np.empty(n_real, dtype=bool)  # recall: real i in some fake k_pr-ball
    balls_per_fake = np.zeros(n_fake, dtype=np.int64)  # density: real k_dc-balls holding fake j
    real_covered = np.empty(n_real, dtype=bool)  # coverage: real k_dc-ball i holds some fake
    for start, stop in _row_blocks(n_real, n_fake, block_elems):
        block = _sq_dist_block(real[start:stop], real_sq[start:stop], fake, fake_sq)
        fake_in_real |= (block <= r_pr[start:stop, None]).any(axis=0)
        in_dc = block <= r_dc[start:stop, None]
        balls_per_fake += in_dc.sum(axis=0)
        real_covered[start:stop] = in_dc.any(axis=1)
        del in_dc
        real_in_fake[start:stop] = (block <= f_pr[None, :]).any(axis=1)

    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(balls_per_fake.sum() / (k_dc * n_fake)),
        "coverage": float(real_covered.mean()),
    }


def reference_subset(reference_features: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """As many reference points as generated ones (the papers compare equal-sized sets): a fixed,
    seeded subset when fewer are generated than there are references, else all of them."""
    if n >= len(reference_features):
        return reference_features
    return reference_features[np.sort(np.random.default_rng(seed).choice(len(reference_features), n, replace=False))]


@METRICS.register("prdc", Score("precision", "Precision", HIGHER, on_card=True),
                  Score("recall", "Recall", HIGHER, on_card=True), Score("density", "Density", HIGHER),
                  Score("coverage", "Coverage", HIGHER, on_card=True))
def _prdc(samples: Samples) -> dict[str, float]:
    real = reference_subset(samples.reference.features, len(samples.features), samples.seed)
    samples.provenance.update(n_reference_prdc=len(real), k_pr=K_PR, k_dc=K_DC)
    return prdc(real, samples.features, k_pr=K_PR, k_dc=K_DC)
