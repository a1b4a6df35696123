"""evaluation/metrics/stacked.py: Stacked MNIST's 1,000 modes from per-channel digits."""
from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.stacked import stacked_mnist_metrics, stacked_mnist_modes

from tests.helpers import one_hot


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


def test_registered_modes_read_three_logit_rows_per_image():
    digits = np.array([[m // 100, m // 10 % 10, m % 10] for m in range(1000)])
    logits = 30.0 * one_hot(digits.reshape(-1))  # rows 3i, 3i+1, 3i+2: the channels of image i
    assert "stacked-mnist-modes" not in [m.name for m in METRICS.applicable(Samples(logits=logits))]
    got = METRICS["stacked-mnist-modes"].compute(Samples(logits=logits, stacked_images=1000))
    assert got == {"modes_captured": 1000, "mode_kl": pytest.approx(0.0, abs=1e-12)}
