"""evaluation/reference.py: the test split through a feature network, computed once (with dataio,
no torch) and cached under the evaluator's hash."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation import reference as R
from evaluation.errors import EvaluationError
from evaluation.evaluators import get_evaluator


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path))
    monkeypatch.setattr(R, "_REFERENCES", {})  # this process has seen no reference yet
    return tmp_path


def test_the_reference_is_computed_once_and_named_after_the_evaluator(cache, mnist_root, mnist_test):
    ev = get_evaluator("mnist")
    ref = R.get_reference(ev, data_root=mnist_root)
    (path,) = (cache / "reference").iterdir()
    assert path.name == f"mnist-test-{ev.sha256[:16]}.npz"
    assert ref.description == "mnist test (10,000)" and ref.features.shape == (10_000, 128)
    assert np.array_equal(ref.labels, mnist_test.labels)
    assert R.get_reference(ev, data_root=mnist_root) is ref  # once per process
    R._REFERENCES.clear()
    again = R.get_reference(ev, data_root="/nonexistent")  # from the file: the data is not read again
    assert np.array_equal(again.features, ref.features) and again.description == ref.description
    assert ref.class_prior.sum() == pytest.approx(1.0) and ref.class_prior.shape == (10,)


def test_a_missing_split_is_an_evaluation_error(cache, tmp_path):
    with pytest.raises(EvaluationError, match="no mnist test split"):
        R.get_reference(get_evaluator("mnist"), "mnist", data_root=tmp_path / "empty")


def test_inception_statistics_are_cached_per_dataset_and_limit(cache, mnist_root):
    calls = []

    def features_of(images01):
        calls.append(images01.shape)
        return images01.reshape(len(images01), -1)[:, :5].astype(np.float64)

    mu, sigma, n = R.inception_statistics("mnist", features_of, mnist_root, limit=50)
    assert calls == [(50, 1, 28, 28)] and n == 50 and mu.shape == (5,) and sigma.shape == (5, 5)
    assert (cache / "reference" / "mnist-test-inception-default1-50.npz").is_file()
    mu2, _, _ = R.inception_statistics("mnist", features_of, mnist_root, limit=50)
    assert len(calls) == 1 and np.array_equal(mu, mu2)
