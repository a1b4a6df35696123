"""evaluation/metrics/classes.py: classes covered and the class KL, against the data's prior."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.classes import class_kl, classes_covered
from evaluation.metrics.classifier import predicted_class_histogram
from evaluation.reference import Reference

from tests.helpers import one_hot


def test_one_class_generator():
    probs = one_hot(np.full(1000, 3))
    assert classes_covered(probs) == 1
    assert class_kl(probs) > 5.0


def test_balanced_confident_generator():
    labels = np.tile(np.arange(10), 100)
    assert classes_covered(one_hot(labels)) == 10
    assert class_kl(one_hot(labels)) == pytest.approx(0.0, abs=1e-9)


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


def test_registered_class_coverage_uses_the_reference_prior():
    prior_labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    ref = Reference(np.zeros((100, 2)), np.zeros((100, 3)), prior_labels, "r")
    labels = np.array([0] * 20 + [1] * 70 + [2] * 10)
    got = METRICS["class-coverage"].compute(Samples(logits=30.0 * one_hot(labels, 3), reference=ref))
    assert got["classes_covered"] == 3
    assert got["class_kl"] == pytest.approx(class_kl(one_hot(labels, 3), [0.5, 0.3, 0.2]), rel=1e-6)
