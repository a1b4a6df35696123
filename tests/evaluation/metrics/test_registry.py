"""evaluation/metrics/registry.py: metrics registered by name with the keys they write, computed
together on one Samples, and the one list the CLI table, the app's charts and cards read."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.metrics import HIGHER, LOWER, METRICS, NEITHER, MetricRegistry, Samples, Score
from evaluation.provenance import with_provenance
from evaluation.reference import Reference
from studio.registry import RegistryError

from tests.helpers import clusters, one_hot

KEYS = {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"}
CLASS_KEYS = {"classifier_score", "classifier_score_std", "classes_covered", "class_kl"}


def _reference(features: np.ndarray, labels: np.ndarray) -> Reference:
    return Reference(features, 30.0 * one_hot(labels), labels, "clusters (500)")


def test_registered_metrics_of_a_one_class_generator():
    real, real_ids = clusters(50, seed=0)
    fake, fake_ids = clusters(50, seed=1, only=0)
    out = METRICS.compute(Samples(features=fake, logits=30.0 * one_hot(fake_ids), reference=_reference(real, real_ids),
                                  kid_subsets=10))
    assert set(out) == KEYS | CLASS_KEYS
    assert all(type(v) is float for v in out.values())
    assert out["classes_covered"] == 1.0 and out["class_kl"] > 5.0
    assert out["classifier_score"] == pytest.approx(1.0)
    assert out["recall"] < 0.15 and out["fid"] > 100 and out["kid_mean"] > 0


def test_registered_metrics_of_a_good_generator_and_provenance():
    real, real_ids = clusters(50, seed=0)
    fake, _ = clusters(50, seed=1)
    out = METRICS.compute(Samples(features=fake.astype(np.float32), reference=_reference(real, real_ids),
                                  kid_subsets=10))
    assert set(out) == KEYS  # no logits: the class metrics do not apply
    assert out["recall"] > 0.5 and out["coverage"] > 0.8
    report = with_provenance(out, feature_network="lenet.onnx:fc1", reference="mnist/test",
                             n_generated=len(fake), n_reference=len(real), step=1000)
    assert report["metrics"] == out and report["step"] == 1000
    assert report["n_generated"] == 500 and report["feature_network"] == "lenet.onnx:fc1"
    json.dumps(report, allow_nan=False)


def test_every_key_is_registered_once_with_how_it_is_shown():
    scores = METRICS.scores()
    keys = [s.key for s in scores]
    assert len(keys) == len(set(keys)) and keys[:3] == ["fid", "fid_inception", "kid_mean"]
    assert all(s.better in (LOWER, HIGHER, NEITHER) and s.label for s in scores)
    assert METRICS.score("fid").better == LOWER and METRICS.score("coverage").better == HIGHER
    assert METRICS.score("nope") is None
    assert set(METRICS.names()) >= {"fid", "fid-inception", "kid", "prdc", "classifier-score", "class-coverage",
                                    "stacked-mnist-modes", "toy-modes"}
    # what a card shows and what the live charts draw
    assert [s.key for s in METRICS.on_card()][:8] == ["fid", "fid_inception", "kid_mean", "precision", "recall",
                                                     "coverage", "classes_covered", "class_kl"]
    assert {"kid_std", "classifier_score_std", "fid_inception"}.isdisjoint(s.key for s in METRICS.charted())
    with pytest.raises(KeyError, match="unknown metric 'fdi'. Did you mean 'fid'"):
        METRICS["fdi"]


def test_a_registry_refuses_clashes_and_checks_what_a_metric_writes():
    registry = MetricRegistry()

    @registry.register("a", Score("x", "X", LOWER), needs=("features",))
    def _a(samples):
        return {"x": 1, "y": 2}

    with pytest.raises(RegistryError, match="twice"):
        registry.register("a", Score("z", "Z", LOWER))
    with pytest.raises(RegistryError, match="keys another metric writes"):
        registry.register("b", Score("x", "X again", LOWER))
    with pytest.raises(RuntimeError, match="wrote"):
        registry.compute(Samples(features=np.zeros((2, 2))))
    assert registry.compute(Samples()) == {}  # nothing applies
    with pytest.raises(AttributeError):
        Samples().has("featurez")


def test_the_app_takes_its_lists_from_the_registry():
    from app import cards, charts

    assert cards.SCORES_SHOWN == tuple(s.key for s in METRICS.on_card())
    rows = [{"step": 2, "kind": "eval", "fid": 3.0, "kid_mean": 0.1, "kid_std": 0.01, "loss_d": 1.0}]
    groups = dict(charts.chart_groups(rows))
    assert groups[METRICS.score("fid").label] == ["fid"] and groups[METRICS.score("kid_mean").label] == ["kid_mean"]
    assert "kid_std" not in charts.numeric_columns(rows)  # a spread, not charted on its own
