"""evaluation/metrics/kid.py: the unbiased MMD² estimator and KID over subsets, registered."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.kid import kid, mmd2_unbiased
from evaluation.reference import Reference


def test_mmd2_unbiased_matches_explicit_sums():
    r = np.random.default_rng(6)
    x, y = r.standard_normal((7, 3)), r.standard_normal((9, 3)) + 0.5
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(9)) / (7 * 9)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_same_distribution_near_zero_and_shift_positive():
    x, y = np.random.default_rng(7).standard_normal((1000, 16)), np.random.default_rng(8).standard_normal((1000, 16))
    mean, std = kid(x, y, n_subsets=20, subset_size=500)
    assert abs(mean) < 3 * std + 1e-4
    mean_shift, std_shift = kid(x, y + 0.5, n_subsets=20, subset_size=500)
    assert mean_shift > 0.05 and mean_shift > 10 * std_shift


def test_kid_seeded_and_subset_size_clamped():
    x, y = np.random.default_rng(9).standard_normal((60, 4)), np.random.default_rng(10).standard_normal((50, 4))
    assert kid(x, y, n_subsets=5, seed=3) == kid(x, y, n_subsets=5, seed=3)
    # subset_size 1000 is clamped to 50: with one subset covering all of y, same as a direct call.
    mean, std = kid(x[:50], y, n_subsets=1, subset_size=1000)
    assert mean == pytest.approx(mmd2_unbiased(x[:50], y), rel=1e-12) and std == 0.0


def test_registered_kid_records_its_subsets():
    real, fake = np.random.default_rng(30).standard_normal((80, 4)), np.random.default_rng(31).standard_normal((60, 4))
    samples = Samples(features=fake, reference=Reference(real, np.zeros((80, 2)), np.zeros(80, np.int64), "r"),
                      kid_subsets=3, seed=5)
    got = METRICS["kid"].compute(samples)
    assert (got["kid_mean"], got["kid_std"]) == kid(real, fake, 3, 60, 5)
    assert samples.provenance == {"kid_subset_size": 60, "kid_subsets": 3}
