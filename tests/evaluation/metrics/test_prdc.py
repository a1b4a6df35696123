"""evaluation/metrics/prdc.py: precision/recall and density/coverage against a brute-force
transcription of the papers, their limits, and the registered metric's equal-sized reference."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.prdc import knn_radii, prdc, reference_subset
from evaluation.reference import Reference

from tests.helpers import clusters


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
    r = np.random.default_rng(100 + seed)
    real = r.standard_normal((int(r.integers(40, 90)), 5))
    fake = 0.8 * r.standard_normal((int(r.integers(30, 80)), 5)) + 0.3
    got = prdc(real, fake, block_elems=block_elems)
    want = brute_prdc(real, fake)
    assert got == pytest.approx(want, abs=1e-12)


def test_knn_radii_match_sorted_distances():
    x = np.random.default_rng(11).standard_normal((50, 4))
    got = knn_radii(x, (1, 3, 5), block_elems=64)
    want = np.sort(cdist(x, x), axis=1)[:, [1, 3, 5]].T
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_prdc_float32_close_to_float64():
    r = np.random.default_rng(12)
    real, fake = r.standard_normal((300, 16)), r.standard_normal((300, 16)) + 0.2
    a, b = prdc(real, fake), prdc(real.astype(np.float32), fake.astype(np.float32))
    assert a == pytest.approx(b, abs=0.01)


def test_prdc_identical_sets():
    x = np.random.default_rng(13).standard_normal((300, 8))
    got = prdc(x, x)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0
    # Each real ball holds its own point and its k nearest neighbours: exactly (k+1)/k.
    assert got["density"] == pytest.approx(6 / 5)


def test_prdc_same_distribution():
    real, fake = np.random.default_rng(14).standard_normal((2000, 8)), np.random.default_rng(15).standard_normal((2000, 8))
    got = prdc(real, fake)
    assert got["density"] == pytest.approx(1.0, abs=0.1)
    assert got["coverage"] > 0.9  # expected 1 - 2^-k = 0.97 for equal set sizes (Naeem et al.)
    assert got["precision"] > 0.6 and got["recall"] > 0.6


def test_prdc_disjoint_sets():
    x = np.random.default_rng(16).standard_normal((200, 8))
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


def test_registered_prdc_compares_equal_sized_sets():
    real = np.random.default_rng(40).standard_normal((500, 4)).astype(np.float32)
    fake = np.random.default_rng(41).standard_normal((100, 4)).astype(np.float32)
    subset = reference_subset(real, 100, seed=2)
    assert len(subset) == 100 and np.array_equal(subset, reference_subset(real, 100, seed=2))  # fixed by the seed
    assert reference_subset(real, 600) is real  # more generated than references: all of them
    ref = Reference(real, np.zeros((500, 2)), np.zeros(500, np.int64), "r")
    samples = Samples(features=fake, reference=ref, seed=2)
    assert METRICS["prdc"].compute(samples) == prdc(subset, fake)
    assert samples.provenance == {"n_reference_prdc": 100, "k_pr": 3, "k_dc": 5}
