"""evaluation/metrics/toy.py: the ring and grid mixtures of VEEGAN and PacGAN, and the 2-D mode
benchmark (bench/modes_toy.py) that scores with them."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.toy import grid_modes, ring_modes, sample_mixture, toy_metrics

from tests.helpers import REPO_ROOT


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


def test_registered_toy_modes_apply_to_points_only():
    centres, std = ring_modes()
    samples = Samples(points=sample_mixture(centres, std, 500, seed=3), mixture=(centres, std))
    assert [m.name for m in METRICS.applicable(samples)] == ["toy-modes"]
    assert METRICS.compute(samples) == pytest.approx(toy_metrics(samples.points, centres, std))


def test_ring_and_grid_benchmarks_run_end_to_end(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    import modes_toy

    out = tmp_path / "toy.md"
    assert modes_toy.main(["--steps", "20", "--pack", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| ring |" in text and "| grid |" in text
    row = modes_toy.train_toy("grid", steps=10, loss="hinge")
    assert row["num_modes"] == 25 and 0 <= row["modes_covered"] <= 25
    assert 0 <= row["high_quality_share"] <= 1
    assert row["exact_samples_high_quality_share"] > 0.97
