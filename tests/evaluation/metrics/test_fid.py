"""evaluation/metrics/fid.py: FID against closed forms, its numerical guards, and the registered
metrics (evaluator FID, Inception FID)."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.fid import feature_statistics, fid, frechet_distance
from evaluation.reference import Reference


def test_no_torch_import():
    code = "import sys, evaluation.metrics; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_feature_statistics_float64():
    x = np.random.default_rng(0).standard_normal((100, 5)).astype(np.float32)
    mu, sigma = feature_statistics(x)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False))


def test_fid_of_set_with_itself_is_zero():
    x = np.random.default_rng(0).standard_normal((2000, 16))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_diagonal_closed_form():
    r = np.random.default_rng(1)
    mu1, mu2 = r.standard_normal(6), r.standard_normal(6)
    a, b = r.uniform(0.1, 3.0, 6), r.uniform(0.1, 3.0, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_general_covariances():
    # Independent route: Tr (S1 S2)^{1/2} = sum of sqrt eigenvalues of S1^{1/2} S2 S1^{1/2}.
    r = np.random.default_rng(2)
    d = 7
    m1, m2 = r.standard_normal((d, d)), r.standard_normal((d, d))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(d), m2 @ m2.T + 0.1 * np.eye(d)
    mu1, mu2 = r.standard_normal(d), r.standard_normal(d)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(w)) @ v.T
    tr_cov = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_cov
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fid_large_samples_match_closed_form():
    r = np.random.default_rng(3)
    a, b = np.array([1.0, 0.5, 2.0, 0.25]), np.array([0.3, 1.5, 1.0, 0.25])
    mu1, mu2 = np.zeros(4), np.array([0.5, -0.5, 0.0, 1.0])
    x = mu1 + np.sqrt(a) * r.standard_normal((40000, 4))
    y = mu2 + np.sqrt(b) * r.standard_normal((40000, 4))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert fid(x, y) == pytest.approx(expected, rel=0.03)


def test_fid_singular_covariances_fewer_samples_than_dims():
    x = np.random.default_rng(4).standard_normal((10, 32))
    y = np.random.default_rng(5).standard_normal((10, 32)) + 1.0
    assert fid(x, x) == pytest.approx(0.0, abs=1e-4)
    value = fid(x, y)
    assert math.isfinite(value) and value > 32 * 0.5


def test_frechet_distance_rejects_large_imaginary_part():
    # A "covariance" with a negative eigenvalue makes sqrt(S1 S2) genuinely complex.
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), np.diag([1.0, 1.0]), np.zeros(2), np.diag([-1.0, 1.0]))


def test_fid_rejects_bad_input():
    with pytest.raises(ValueError):
        fid(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError):
        fid(np.full((10, 3), np.nan), np.zeros((10, 3)))
    with pytest.raises(ValueError):
        fid(np.zeros(10), np.zeros(10))


def test_registered_fids_read_the_reference_statistics_and_inception_features():
    real = np.random.default_rng(20).standard_normal((300, 6))
    fake = np.random.default_rng(21).standard_normal((200, 6))
    ref = Reference(real.astype(np.float32), np.zeros((300, 10), np.float32), np.zeros(300, np.int64), "r")
    assert METRICS["fid"].compute(Samples(features=fake, reference=ref))["fid"] == pytest.approx(fid(real, fake))
    inception = Samples(inception_features=fake, inception_reference=(*feature_statistics(real), 300))
    assert METRICS["fid-inception"].compute(inception)["fid_inception"] == pytest.approx(fid(real, fake))
    assert [m.name for m in METRICS.applicable(inception)] == ["fid-inception"]  # nothing else reads those
    assert math.isfinite(ref.stats[1].sum()) and ref.stats is ref.stats  # computed once
