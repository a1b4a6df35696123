"""evaluation/metrics/classifier.py: the classifier (Inception-style) score and the class
histogram, from probabilities or logits, registered."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import METRICS, Samples
from evaluation.metrics.classifier import classifier_score, predicted_class_histogram

from tests.helpers import one_hot


def test_one_class_generator():
    probs = one_hot(np.full(1000, 3))
    mean, std = classifier_score(probs)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0)
    np.testing.assert_array_equal(predicted_class_histogram(probs), np.eye(10)[3])


def test_balanced_confident_generator():
    labels = np.tile(np.arange(10), 100)
    mean, std = classifier_score(one_hot(labels))
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    mean_soft, _ = classifier_score(one_hot(labels, confidence=0.999))
    assert 9.8 < mean_soft < 10.0


def test_classifier_accepts_logits():
    logits = np.random.default_rng(17).standard_normal((200, 10)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert classifier_score(logits, from_logits=True) == pytest.approx(classifier_score(probs))
    with pytest.raises(ValueError):
        classifier_score(logits)  # logits passed as probabilities


def test_registered_classifier_score_reads_logits_alone():
    logits = 30.0 * one_hot(np.tile(np.arange(10), 20))
    samples = Samples(logits=logits)
    assert [m.name for m in METRICS.applicable(samples)] == ["classifier-score"]
    got = METRICS["classifier-score"].compute(samples)
    assert got["classifier_score"] == pytest.approx(10.0, abs=1e-6) and got["classifier_score_std"] < 1e-6
