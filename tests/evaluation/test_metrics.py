"""Tests for training.metrics (numpy/scipy only; fast)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from training.metrics import (
    class_kl,
    classes_covered,
    classifier_score,
    compute_all,
    feature_statistics,
    fid,
    frechet_distance,
    grid_modes,
    kid,
    predicted_class_histogram,
    prdc,
    ring_modes,
    sample_mixture,
    stacked_mnist_metrics,
    toy_metrics,
    with_provenance,
)
from training.metrics.classifier import stacked_mnist_modes
from training.metrics.kid import mmd2_unbiased
from training.metrics.prdc import knn_radii


def rng(seed=0):
    return np.random.default_rng(seed)


def clusters(n_per, n_clusters=10, dim=8, spread=20.0, std=1.0, seed=0, only=None):
    """Gaussian clusters with fixed, well separated centres; ``only`` draws from one cluster."""
    centres = np.random.default_rng(1234).standard_normal((n_clusters, dim)) * spread
    r = rng(seed)
    ids = np.repeat(np.arange(n_clusters), n_per) if only is None else np.full(n_per * n_clusters, only)
    return centres[ids] + std * r.standard_normal((ids.size, dim)), ids


# --------------------------------------------------------------------------------------- FID

def test_no_torch_import():
    code = "import sys, training.metrics; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_feature_statistics_float64():
    x = rng().standard_normal((100, 5)).astype(np.float32)
    mu, sigma = feature_statistics(x)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False))


def test_fid_of_set_with_itself_is_zero():
    x = rng().standard_normal((2000, 16))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_diagonal_closed_form():
    r = rng(1)
    mu1, mu2 = r.standard_normal(6), r.standard_normal(6)
    a, b = r.uniform(0.1, 3.0, 6), r.uniform(0.1, 3.0, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_general_covariances():
    # Independent route: Tr (S1 S2)^{1/2} = sum of sqrt eigenvalues of S1^{1/2} S2 S1^{1/2}.
    r = rng(2)
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
    r = rng(3)
    a, b = np.array([1.0, 0.5, 2.0, 0.25]), np.array([0.3, 1.5, 1.0, 0.25])
    mu1, mu2 = np.zeros(4), np.array([0.5, -0.5, 0.0, 1.0])
    x = mu1 + np.sqrt(a) * r.standard_normal((40000, 4))
    y = mu2 + np.sqrt(b) * r.standard_normal((40000, 4))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert fid(x, y) == pytest.approx(expected, rel=0.03)


def test_fid_singular_covariances_fewer_samples_than_dims():
    x = rng(4).standard_normal((10, 32))
    y = rng(5).standard_normal((10, 32)) + 1.0
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


# --------------------------------------------------------------------------------------- KID

def test_mmd2_unbiased_matches_explicit_sums():
    r = rng(6)
    x, y = r.standard_normal((7, 3)), r.standard_normal((9, 3)) + 0.5
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(9)) / (7 * 9)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_same_distribution_near_zero_and_shift_positive():
    x, y = rng(7).standard_normal((1000, 16)), rng(8).standard_normal((1000, 16))
    mean, std = kid(x, y, n_subsets=20, subset_size=500)
    assert abs(mean) < 3 * std + 1e-4
    mean_shift, std_shift = kid(x, y + 0.5, n_subsets=20, subset_size=500)
    assert mean_shift > 0.05 and mean_shift > 10 * std_shift


def test_kid_seeded_and_subset_size_clamped():
    x, y = rng(9).standard_normal((60, 4)), rng(10).standard_normal((50, 4))
    assert kid(x, y, n_subsets=5, seed=3) == kid(x, y, n_subsets=5, seed=3)
    # subset_size 1000 is clamped to 50: with one subset covering all of y, same as a direct call.
    mean, std = kid(x[:50], y, n_subsets=1, subset_size=1000)
    assert mean == pytest.approx(mmd2_unbiased(x[:50], y), rel=1e-12) and std == 0.0


# -------------------------------------------------------------------------------------- PRDC

def brute_prdc(real, fake, k_pr=3, k_dc=5):
    """Direct transcription of the papers' definitions on the full distance matrices."""
    drr, dff, drf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_pr = np.sort(drr, axis=1)[:, k_pr]
    r_dc = np.sort(drr, axis=1)[:, k_dc]
    f_pr = np.sort(dff, axis=1)[:, k_pr]
    return {
        "precision": np.mean([(drf[:, j] <= r_pr).any() for j in range(len(fake))]),
        "recall": np.mean([(drf[i] <= f_pr).any() for i in range(len(real))]),
        "density": sum((drf[:, j] <= r_dc).sum() for j in range(len(fake))) / (k_dc * len(fake)),
        "coverage": np.mean([(drf[i] <= r_dc[i]).any() for i in range(len(real))]),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("block_elems", [1, 97, 1 << 23])
def test_prdc_matches_brute_force(seed, block_elems):
    r = rng(100 + seed)
    real = r.standard_normal((int(r.integers(40, 90)), 5))
    fake = 0.8 * r.standard_normal((int(r.integers(30, 80)), 5)) + 0.3
    got = prdc(real, fake, block_elems=block_elems)
    want = brute_prdc(real, fake)
    assert got == pytest.approx(want, abs=1e-12)


def test_knn_radii_match_sorted_distances():
    x = rng(11).standard_normal((50, 4))
    got = knn_radii(x, (1, 3, 5), block_elems=64)
    want = np.sort(cdist(x, x), axis=1)[:, [1, 3, 5]].T
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_prdc_float32_close_to_float64():
    r = rng(12)
    real, fake = r.standard_normal((300, 16)), r.standard_normal((300, 16)) + 0.2
    a, b = prdc(real, fake), prdc(real.astype(np.float32), fake.astype(np.float32))
    assert a == pytest.approx(b, abs=0.01)


def test_prdc_identical_sets():
    x = rng(13).standard_normal((300, 8))
    got = prdc(x, x)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0
    # Each real ball holds its own point and its k nearest neighbours: exactly (k+1)/k.
    assert got["density"] == pytest.approx(6 / 5)


def test_prdc_same_distribution():
    got = prdc(rng(14).standard_normal((2000, 8)), rng(15).standard_normal((2000, 8)))
    assert got["density"] == pytest.approx(1.0, abs=0.1)
    assert got["coverage"] > 0.9  # expected 1 - 2^-k = 0.97 for equal set sizes (Naeem et al.)
    assert got["precision"] > 0.6 and got["recall"] > 0.6


def test_prdc_disjoint_sets():
    x = rng(16).standard_normal((200, 8))
    got = prdc(x, x + 1000.0)
    assert got == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_one_cluster_generator_has_low_recall():
    real, _ = clusters(100, seed=0)
    fake, _ = clusters(100, seed=1, only=0)
    got = prdc(real, fake)
    assert got["precision"] > 0.7  # fidelity stays high: the fakes are real-looking
    assert got["recall"] < 0.15 and got["coverage"] < 0.15


def test_prdc_needs_more_points_than_k():
    with pytest.raises(ValueError):
        prdc(np.zeros((5, 2)), np.ones((10, 2)))


# -------------------------------------------------------------------------------- classifier

def one_hot(labels, num_classes=10, confidence=1.0):
    p = np.full((len(labels), num_classes), (1 - confidence) / (num_classes - 1))
    p[np.arange(len(labels)), labels] = confidence
    return p


def test_one_class_generator():
    probs = one_hot(np.full(1000, 3))
    assert classes_covered(probs) == 1
    assert class_kl(probs) > 5.0
    mean, std = classifier_score(probs)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0)
    np.testing.assert_array_equal(predicted_class_histogram(probs), np.eye(10)[3])


def test_balanced_confident_generator():
    labels = np.tile(np.arange(10), 100)
    mean, std = classifier_score(one_hot(labels))
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    mean_soft, _ = classifier_score(one_hot(labels, confidence=0.999))
    assert 9.8 < mean_soft < 10.0
    assert classes_covered(one_hot(labels)) == 10
    assert class_kl(one_hot(labels)) == pytest.approx(0.0, abs=1e-9)


def test_classifier_accepts_logits():
    logits = rng(17).standard_normal((200, 10)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert classifier_score(logits, from_logits=True) == pytest.approx(classifier_score(probs))
    with pytest.raises(ValueError):
        classifier_score(logits)  # logits passed as probabilities


def test_classes_covered_threshold():
    # Class 9 predicted once in 1000 (share 0.001 < 0.1 * 0.1): not covered; class 8 at 0.015 is.
    labels = np.concatenate([np.tile(np.arange(8), 123), [8] * 15, [9]]).astype(int)
    hist = predicted_class_histogram(one_hot(labels))
    assert hist[8] == 0.015 and hist[9] == 0.001
    assert classes_covered(one_hot(labels)) == 9
    assert classes_covered(one_hot(labels), min_fraction=0.001) == 10


def test_class_kl_direction_with_prior():
    prior = np.array([0.5, 0.3, 0.2])
    labels = np.array([0] * 20 + [1] * 70 + [2] * 10)
    p_gen = np.array([0.2, 0.7, 0.1])
    expected = np.sum(prior * np.log(prior / p_gen))  # KL(p_data || p_gen)
    assert class_kl(one_hot(labels, 3), prior) == pytest.approx(expected, rel=1e-4)


def test_stacked_mnist_all_modes():
    digits = np.array([[m // 100, m // 10 % 10, m % 10] for m in range(1000)] * 3)
    np.testing.assert_array_equal(stacked_mnist_modes(digits[:1000]), np.arange(1000))
    got = stacked_mnist_metrics(digits)
    assert got["modes_captured"] == 1000 and got["mode_kl"] == pytest.approx(0.0, abs=1e-12)


def test_stacked_mnist_collapsed_and_scores_input():
    scores = np.zeros((50, 3, 10))
    scores[:, 0, 1] = scores[:, 1, 2] = scores[:, 2, 3] = 1.0  # every sample is mode 123
    assert stacked_mnist_modes(scores)[0] == 123
    got = stacked_mnist_metrics(scores)
    assert got["modes_captured"] == 1 and got["mode_kl"] == pytest.approx(math.log(1000))
    with pytest.raises(ValueError):
        stacked_mnist_modes(np.array([[1, 2, 10]]))


# ------------------------------------------------------------------------------------- toy 2-D

def test_mode_layouts():
    ring, std = ring_modes()
    assert ring.shape == (8, 2) and std == 0.02
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    grid, std = grid_modes()
    assert grid.shape == (25, 2) and std == 0.05
    assert sorted(set(grid[:, 0])) == sorted(set(grid[:, 1])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    with pytest.raises(ValueError):
        grid_modes(24)


@pytest.mark.parametrize("layout", [ring_modes, grid_modes])
def test_true_mixture_scores_perfectly(layout):
    centres, std = layout()
    got = toy_metrics(sample_mixture(centres, std, 20000, seed=0), centres, std)
    assert got["modes_covered"] == got["num_modes"] == len(centres)
    # Euclidean 3-sigma ball of a 2-D Gaussian holds 1 - exp(-9/2) = 0.98889 of its mass.
    assert got["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert got["high_quality_share"] > 0.98
    assert got["reverse_kl"] < 0.01


def test_single_mode_generator():
    centres, std = ring_modes()
    got = toy_metrics(sample_mixture(centres[:1], std, 2000, seed=1), centres, std)
    assert got["modes_covered"] == 1
    assert got["reverse_kl"] == pytest.approx(math.log(8))


def test_no_high_quality_samples():
    centres, std = grid_modes()
    got = toy_metrics(np.full((10, 2), 1.0), centres, std)  # midway between modes
    assert got["modes_covered"] == 0 and got["high_quality_share"] == 0.0
    assert got["reverse_kl"] == math.inf


# ---------------------------------------------------------------------------------- compute_all

KEYS = {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"}
CLASS_KEYS = {"classifier_score", "classifier_score_std", "classes_covered", "class_kl"}


def test_compute_all_one_class_generator():
    real, _ = clusters(50, seed=0)
    fake, fake_ids = clusters(50, seed=1, only=0)
    out = compute_all(real, fake, one_hot(fake_ids), kid_subsets=10, kid_subset_size=200)
    assert set(out) == KEYS | CLASS_KEYS
    assert all(type(v) is float for v in out.values())
    assert out["classes_covered"] == 1.0 and out["class_kl"] > 5.0
    assert out["classifier_score"] == pytest.approx(1.0)
    assert out["recall"] < 0.15 and out["fid"] > 100 and out["kid_mean"] > 0


def test_compute_all_good_generator_and_provenance():
    real, _ = clusters(50, seed=0)
    fake, fake_ids = clusters(50, seed=1)
    out = compute_all(real, fake.astype(np.float32), kid_subsets=10, kid_subset_size=200)
    assert set(out) == KEYS
    assert out["recall"] > 0.5 and out["coverage"] > 0.8
    report = with_provenance(out, feature_network="lenet.onnx:fc1", reference="mnist/test",
                             n_generated=len(fake), n_reference=len(real), step=1000)
    assert report["metrics"] == out and report["step"] == 1000
    assert report["n_generated"] == 500 and report["feature_network"] == "lenet.onnx:fc1"
    json.dumps(report, allow_nan=False)


def test_with_provenance_validates():
    ok = dict(feature_network="f", reference="r", n_generated=1, n_reference=1)
    assert with_provenance({"reverse_kl": math.inf}, **ok)["metrics"]["reverse_kl"] is None
    for bad in ({"feature_network": ""}, {"reference": " "}, {"n_generated": 0},
                {"n_reference": 2.5}, {"n_generated": True}):
        with pytest.raises(ValueError):
            with_provenance({}, **{**ok, **bad})
    with pytest.raises(ValueError):
        with_provenance({}, **ok, metrics=1)
