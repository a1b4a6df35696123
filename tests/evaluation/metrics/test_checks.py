"""evaluation/metrics/checks.py: every metric's input is a finite 2-D float array, or a ValueError
that names the argument and what is wrong with it; float inputs are taken without a copy."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics.checks import as_features, check_same_dim


def test_float_arrays_are_taken_as_they_are_and_anything_else_becomes_float64():
    single = np.ones((4, 3), np.float32)
    assert as_features(single) is single  # no copy of a large feature matrix
    double = np.ones((4, 3))
    assert as_features(double) is double
    from_ints = as_features(np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert from_ints.dtype == np.float64 and from_ints.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert as_features([[1, 2], [3, 4]]).dtype == np.float64  # nested lists too


def test_a_requested_dtype_is_applied():
    assert as_features(np.ones((2, 2), np.float32), dtype=np.float64).dtype == np.float64
    assert as_features(np.ones((2, 2)), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("x, kwargs, message", [
    (np.zeros(5), {}, r"real must be a 2-D array \[N, D\], got shape \(5,\)"),
    (np.zeros((2, 3, 4)), {}, r"real must be a 2-D array \[N, D\], got shape \(2, 3, 4\)"),
    (np.zeros((1, 3)), {"min_rows": 2}, "real needs at least 2 rows, got 1"),
    (np.zeros((0, 3)), {}, "real needs at least 1 rows, got 0"),
    (np.zeros((3, 0)), {}, "real has no feature dimensions"),
    (np.array([[0.0, np.nan]]), {}, "real contains NaN or infinite values"),
    (np.array([[0.0, -np.inf]], np.float32), {}, "real contains NaN or infinite values"),
])
def test_bad_features_are_refused_naming_the_argument(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        as_features(x, "real", **kwargs)


def test_two_sets_must_have_the_same_feature_dimension():
    check_same_dim(np.zeros((3, 5)), np.zeros((7, 5)), "real", "fake")  # the counts may differ
    with pytest.raises(ValueError, match="real and fake differ in feature dimension: 5 vs 4"):
        check_same_dim(np.zeros((3, 5)), np.zeros((3, 4)), "real", "fake")
