"""evaluation/metrics/labels.py: a conditional generator's share of samples drawn as the asked class."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.metrics import label_accuracy
from evaluation.scoring import evaluate_images, evaluate_model

from tests.helpers import REPO_ROOT


def test_label_accuracy_counts_argmax_hits():
    logits = np.array([[3.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 5.0]])
    assert label_accuracy(logits, np.array([0, 1, 1, 1])) == 0.75
    with pytest.raises(ValueError, match="labels"):
        label_accuracy(logits, np.array([0, 1]))


def test_true_labels_score_the_evaluators_accuracy_and_wrong_ones_chance(mnist_test):
    images, labels = mnist_test.images[:1000], mnist_test.labels[:1000]
    right = evaluate_images(images, "mnist", kid_subsets=2, labels=labels)["metrics"]["label_accuracy"]
    shifted = evaluate_images(images, "mnist", kid_subsets=2, labels=(labels + 1) % 10)["metrics"]["label_accuracy"]
    assert right > 0.97 and shifted < 0.05
    with pytest.raises(EvaluationError, match="one per image"):
        evaluate_images(images, "mnist", kid_subsets=2, labels=labels[:10])


def test_the_shipped_conditional_generator_draws_the_asked_digit():
    report = evaluate_model(REPO_ROOT / "exported" / "mnist-cgan.onnx", n=1000, kid_subsets=2)
    assert report["metrics"]["label_accuracy"] > 0.95
    unconditional = evaluate_model(REPO_ROOT / "exported" / "mnist-dcgan.onnx", n=200, kid_subsets=2)
    assert "label_accuracy" not in unconditional["metrics"]
