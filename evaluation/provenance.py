"""The provenance record: the form every stored score takes (eval.json, metrics.jsonl rows, model
cards), and whether two records can be compared.

A score without its provenance is not comparable with any other: FID depends on the feature network,
on the reference split and, being biased, on the sample counts. So a record is

    {"metrics": {...}, "feature_network": "mnist-cnn.onnx:features(128) sha256:0123456789ab",
     "feature_network_sha256": "<64 hex digits>", "reference": "mnist test (10,000)",
     "n_generated": 10000, "n_reference": 10000, ...}

and two records compare only when their feature networks have the same hash: a retrained evaluator
gives other numbers for the same generator.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from .metrics import METRICS

_HASH_IN_NAME = re.compile(r"sha256:([0-9a-f]{6,64})")


def with_provenance(metrics: dict, /, *, feature_network: str, reference: str, n_generated: int, n_reference: int,
                    **extra) -> dict:
    """Wrap ``metrics`` with what they were computed from; the form every stored score takes.

    Returns ``{"metrics": {...}, "feature_network": str, "reference": str, "n_generated": int,
    "n_reference": int, **extra}``. Non-finite metric values become ``None`` so the result is
    strict JSON; ``extra`` may add e.g. ``step`` or ``seed``.
    """
    if not isinstance(feature_network, str) or not feature_network.strip():
        raise ValueError("feature_network must name the evaluator network (and layer)")
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("reference must name the reference data (dataset and split)")
    counts = {"n_generated": n_generated, "n_reference": n_reference}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    clean = {}
    for key, value in metrics.items():
        value = float(value)
        clean[str(key)] = value if math.isfinite(value) else None
    reserved = {"metrics", "feature_network", "reference", *counts}
    clash = reserved.intersection(extra)
    if clash:
        raise ValueError(f"extra provenance keys clash with reserved ones: {sorted(clash)}")
    return {"metrics": clean, "feature_network": feature_network, "reference": reference,
            "n_generated": int(n_generated), "n_reference": int(n_reference), **extra}


def from_live_row(row: dict[str, Any], source: str = "live evaluation during training") -> dict[str, Any]:
    """A trainer's ``kind: eval`` row of metrics.jsonl as a record (what export puts in the card)."""
    scores = {key: row[key] for key in METRICS.keys() if key in row}
    record = {"metrics": scores, "feature_network": row.get("feature_network"), "reference": row.get("reference"),
              "n_generated": row.get("n_generated"), "step": row.get("step"), "source": source}
    if row.get("feature_network_sha256"):
        record["feature_network_sha256"] = row["feature_network_sha256"]
    return record


def feature_network_hash(record: dict[str, Any] | None) -> str | None:
    """The evaluator's SHA-256 a record names: the full hash, or the prefix in its feature_network."""
    if not record:
        return None
    if record.get("feature_network_sha256"):
        return str(record["feature_network_sha256"])
    found = _HASH_IN_NAME.search(str(record.get("feature_network") or ""))
    return found.group(1) if found else None


def same_feature_network(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """True when both records name a hash and one is a prefix of the other (cards keep 12 digits)."""
    ha, hb = feature_network_hash(a), feature_network_hash(b)
    return bool(ha and hb) and (ha.startswith(hb) or hb.startswith(ha))


def _short(record: dict[str, Any]) -> str:
    found = feature_network_hash(record)
    return f"sha256:{found[:12]}" if found else "no recorded hash"


def comparison(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Lines comparing ``current``'s scores with ``previous`` (e.g. a model card's record), or one
    line saying why they cannot be compared; [] when ``previous`` holds no scores."""
    old = (previous or {}).get("metrics") or {}
    if not any(isinstance(v, (int, float)) for v in old.values()):
        return []
    if not same_feature_network(previous, current):
        return [f"not compared with the card's scores: they were computed with another evaluator "
                f"({_short(previous)}; these: {_short(current)}), so the numbers measure different things"]
    counted = previous.get("n_generated")
    lines = [f"compared with the card's scores ({f'{counted:,}' if isinstance(counted, int) else '?'} generated, "
             f"{previous.get('reference', '?')}; same evaluator, {_short(current)}):"]
    if previous.get("reference") != current.get("reference"):
        lines.append(f"  (another reference: {current.get('reference')} here)")
    if previous.get("n_generated") != current.get("n_generated"):
        lines.append(f"  (another sample count: {current.get('n_generated'):,} here; FID, being biased, moves with it)")
    for score in METRICS.scores():
        before, now = old.get(score.key), current["metrics"].get(score.key)
        if isinstance(before, (int, float)) and isinstance(now, (int, float)):
            lines.append(f"  {score.key:22s} {before:.4f} -> {now:.4f}")
    return lines


def _cell(value) -> str:
    return f"{'n/a':>10s}" if value is None else f"{value:10.4f}"


def format_table(report: dict[str, Any]) -> str:
    """A record as a table: every registered metric (those that did not apply say when they do),
    then what the scores were computed from."""
    m = report["metrics"]
    lines = [f"{'metric':22s} {'value':>10s}  meaning"]
    for score in METRICS.scores():
        if score.key in m:
            value = m[score.key]
            better = f", {score.better} is better" if score.better else ""
            lines.append(f"{score.key:22s} {_cell(value)}  {score.label}{better}")
    lines += [f"{key:22s} {_cell(value)}" for key, value in m.items() if METRICS.score(key) is None]
    skipped = [f"{', '.join(metric.keys)} ({metric.when})" for metric in METRICS if not set(metric.keys) & set(m)]
    if skipped:
        lines.append(f"not computed here: {'; '.join(skipped)}")
    lines.append("")
    lines.append(f"feature network: {report['feature_network']}")
    lines.append(f"reference:       {report['reference']}  (precision/recall/density/coverage: "
                 f"{report.get('n_reference_prdc', report['n_reference']):,} of them)")
    lines.append(f"generated:       {report['n_generated']:,} from {report.get('source', '?')}, seed {report.get('seed')}")
    if report.get("kid_subset_size"):
        lines.append(f"KID:             unbiased MMD², mean of {report['kid_subsets']} subsets of "
                     f"{report['kid_subset_size']:,} generated against {report['kid_subset_size']:,} reference")
    if report.get("classifier"):
        lines.append(f"classes:         {report['classifier']}")
    if report.get("alpha"):
        lines.append(f"transparency:    {report['alpha']}")
    if report.get("device"):
        lines.append(f"runtime:         {report['device']}")
    if "inception" in report:
        inc = report["inception"]
        lines.append(f"inception FID:   {inc['metrics']['fid']:.3f}  ({inc['feature_network']}; {inc['reference']}; "
                     f"{inc['n_generated']:,} generated)")
    return "\n".join(lines)
