"""evaluation/provenance.py: the record every stored score takes, when two records compare, and
the table that prints one."""
from __future__ import annotations

import math

import pytest

from evaluation.metrics import METRICS
from evaluation.provenance import (comparison, feature_network_hash, format_table, from_live_row,
                                   same_feature_network, with_provenance)

HASH_A, HASH_B = "a" * 64, "b" * 64


def record(fid: float, sha: str = HASH_A, n: int = 1000, **extra) -> dict:
    return with_provenance({"fid": fid, "coverage": 0.5},
                           feature_network=f"mnist-cnn.onnx:features(128) sha256:{sha[:12]}",
                           reference="mnist test (10,000)", n_generated=n, n_reference=10_000,
                           feature_network_sha256=sha, **extra)


def test_with_provenance_validates():
    ok = dict(feature_network="f", reference="r", n_generated=1, n_reference=1)
    assert with_provenance({"reverse_kl": math.inf}, **ok)["metrics"]["reverse_kl"] is None
    for bad in ({"feature_network": ""}, {"reference": " "}, {"n_generated": 0},
                {"n_reference": 2.5}, {"n_generated": True}):
        with pytest.raises(ValueError):
            with_provenance({}, **{**ok, **bad})
    with pytest.raises(ValueError):
        with_provenance({}, **ok, metrics=1)


def test_a_records_hash_is_its_full_hash_or_the_prefix_its_name_holds():
    assert feature_network_hash(record(1.0)) == HASH_A
    old_card = {"feature_network": "mnist-cnn.onnx:features(128) sha256:01207bad3175"}  # cards before the full hash
    assert feature_network_hash(old_card) == "01207bad3175" and feature_network_hash({}) is None
    assert same_feature_network(old_card, {"feature_network_sha256": "01207bad3175" + "0" * 52})
    assert not same_feature_network(record(1.0), record(1.0, HASH_B))
    assert not same_feature_network({"feature_network": "no hash here"}, record(1.0))


def test_scores_of_another_evaluator_say_so_instead_of_comparing():
    lines = comparison(record(8.0), record(9.0, HASH_B))
    assert len(lines) == 1 and "another evaluator" in lines[0] and "8.0" not in lines[0]
    assert f"sha256:{HASH_A[:12]}" in lines[0] and f"sha256:{HASH_B[:12]}" in lines[0]
    same = comparison(record(8.0, n=10_000), record(9.0))
    assert any("fid" in line and "8.0000 -> 9.0000" in line for line in same)
    assert any("another sample count" in line for line in same)
    assert comparison({}, record(1.0)) == [] and comparison(None, record(1.0)) == []


def test_a_live_row_becomes_a_record_of_its_registered_metrics():
    row = {"kind": "eval", "step": 40, "epoch": 1, "time": 3.5, "fid": 7.0, "kid_mean": 0.2, "best": True,
           "n_generated": 200, "eval_seconds": 1.5, "feature_network": "f sha256:0123456789ab",
           "feature_network_sha256": HASH_A, "reference": "mnist test (10,000)"}
    got = from_live_row(row)
    assert got["metrics"] == {"fid": 7.0, "kid_mean": 0.2} and got["step"] == 40 and got["n_generated"] == 200
    assert got["feature_network_sha256"] == HASH_A and got["source"] == "live evaluation during training"


def test_the_table_names_every_registered_metric():
    report = record(8.0, seed=0, source="g.onnx (unconditional)")
    report["metrics"]["extra_thing"] = None
    table = format_table(report)
    for key in METRICS.keys():
        assert key in table
    assert "8.0000" in table and "lower is better" in table and "not computed here:" in table
    assert "extra_thing" in table and "n/a" in table and "feature network: mnist-cnn.onnx" in table
    assert not math.isnan(report["metrics"]["fid"])
