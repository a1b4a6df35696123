"""Training health: the usual ways a GAN run goes wrong, found in what the run already logs.

Torch-free (plain Python and numpy over metrics rows), so the trainer runs it live through
``run_writer`` and the app or a test can replay any run folder with it::

    monitor = HealthMonitor(run.read_config())
    events = [e for row in run.read_metrics() for e in monitor.observe(row)]

It reads the rows of metrics.jsonl as they are written: training rows (losses, D(x) and D(G(z)),
gradient norms, the Wasserstein estimate), ``kind: eval`` rows (FID, recall, coverage, classes
covered) and ``kind: samples`` rows (``grid_diversity``: how different the fixed grid's images
are from each other, measured by ``grid_diversity`` on the grid the writer has just drawn). A sign
becomes a *finding* once it has held long enough (``health_*`` config fields); the finding says
the step where the sign began, its figures, and the remedies that fit this run's loss and model
(``health_remedies``). When the sign goes away a ``cleared`` event follows. Both kinds of event
are the lines of the run's health.jsonl.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping

import numpy as np

from training.config import Config
from training.runfolder.remedies import remedies

TITLES = {
    "d_overpowering": "D overpowering G",
    "oscillating": "oscillating losses",
    "exploding": "exploding losses",
    "mode_collapse": "mode collapse",
    "no_progress": "no progress",
    "divergence": "divergence",
}
BCE_LOSSES = ("minimax", "non-saturating")  # their D(x), D(G(z)) are probabilities; other losses log raw scores
# The live evaluation's signs of variety, and the smallest fall of each that counts (a fall of 0.02 in
# a recall of 0.03 is noise, not collapse).
VARIETY = {"classes_covered": 2, "modes_captured": 20, "coverage": 0.1, "recall": 0.1}


@dataclass(frozen=True)
class Thresholds:
    """The ``health_*`` fields of a config (training/config.py documents each)."""
    warmup: int
    sustain: int
    window: int
    d_confidence: float
    d_fake: float
    explode: float
    oscillation: float
    duplicates: float
    diversity_drop: float
    coverage_drop: float
    fid_patience: int
    fid_gain: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Thresholds":
        defaults = Config()
        return cls(**{f.name: config.get(f"health_{f.name}", getattr(defaults, f"health_{f.name}"))
                      for f in fields(cls)})


def grid_diversity(images: np.ndarray) -> float:
    """Mean distance between two images of a grid: the root-mean-square pixel difference, pixels
    as fractions of their range (uint8 [N, H, W, C] or [N, C, H, W]). 0 means every image is the
    same; MNIST's own images score about 0.35."""
    x = np.asarray(images).reshape(len(images), -1).astype(np.float64) / 255.0
    if len(x) < 2:
        return 0.0
    squares = (x * x).sum(1)
    d2 = np.maximum(squares[:, None] + squares[None, :] - 2.0 * (x @ x.T), 0.0) / x.shape[1]
    return float(np.sqrt(d2[np.triu_indices(len(x), 1)]).mean())


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _fig(value: float) -> float:
    return float(f"{value:.4g}")


class HealthMonitor:
    """Watches one run's rows; ``observe`` returns the events (finding or cleared) each row causes."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = dict(config)
        self.t = Thresholds.from_config(self.config)
        self.bce = self.config.get("loss") in BCE_LOSSES
        self.rows: list[dict[str, Any]] = []      # training rows since warm-up
        self.evals: list[dict[str, Any]] = []
        self.peak_diversity: float | None = None
        self.since: dict[str, int] = {}            # sign -> the step where its current stretch began
        self.active: dict[str, dict[str, Any]] = {}  # sign -> the finding it raised
        self.earlier: list[dict[str, Any]] = []    # findings of this run, in order

    # ------------------------------------------------------------------ what the writer calls
    def observe(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        step = row.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            return []
        kind = row.get("kind", "train")
        if kind == "eval":
            return self._evaluation(row, step)
        if kind == "samples":
            return self._grid(row, step)
        if kind == "train" and step >= self.t.warmup:
            self.rows.append(dict(row))
            del self.rows[:-max(4 * self._rows_in(self.t.window), 64)]  # what the checks look back on
            return self._training(step)
        return []

    def diverged(self, step: int, message: str) -> dict[str, Any]:
        """The divergence finding: what the last rows said, and the findings that came before it."""
        last = self.rows[-3:]
        evidence = {"message": message, "last_rows": [
            {k: _fig(v) for k, v in r.items() if k in ("step", "loss_d", "loss_g", "d_real", "d_fake", "wasserstein",
                                                    "grad_norm_d", "grad_norm_g") and _number(v) is not None}
            for r in last]}
        before = [f"{TITLES[f['kind']]} (from step {f['step']})" for f in self.earlier]
        evidence["preceded_by"] = before
        began = min([f["step"] for f in self.earlier if f["sign"] in self.active] or [step])
        summary = f"training diverged at step {step + 1}" + (
            f", after {'; '.join(before)}" if before else ", with no warning sign before it")
        return self._found("divergence", "divergence", began, step, summary, evidence)

    def line(self) -> str:
        """One short line for status.json and the progress line: the active findings, or 'ok'."""
        return _line(list(self.active.values()), len(self.earlier))

    def replay(self, rows: Iterable[Mapping[str, Any]], events: Iterable[Mapping[str, Any]],
               step: int) -> list[dict[str, Any]]:
        """Rebuild the state of a resumed run from its rows, keeping the events already written
        (so none is written twice). Returns the event to append for a divergence the resume ends."""
        for row in rows:
            self.observe(row)
        self.active, self.earlier = {}, []
        for event in events:
            if event.get("event") == "cleared":
                self.active.pop(event.get("sign"), None)
            elif event.get("kind") in TITLES:
                self.active[event.get("sign")] = dict(event)
                self.earlier.append(dict(event))
        return self._clear("divergence", step)

    # ------------------------------------------------------------------ the signs
    def _rows_in(self, steps: int) -> int:
        every = max(int(self.config.get("log_every") or 1), 1)
        return max(2, -(-steps // every))

    def _training(self, step: int) -> list[dict[str, Any]]:
        row, events = self.rows[-1], []
        if self.bce:
            events += self._overpowering(row, step)
        for key in ("loss_d", "loss_g", "wasserstein", "grad_norm_d", "grad_norm_g"):
            value = _number(row.get(key))
            if value is not None:
                events += self._sustained(f"exploding:{key}", abs(value) >= self.t.explode, step,
                                          lambda began, key=key: self._explode_finding(key, began, step))
        for key in ("loss_d", "loss_g"):
            events += self._oscillation(key, step)
        return events

    def _sustained(self, sign: str, holding: bool, step: int, make) -> list[dict[str, Any]]:
        """A sign that must hold on every row for ``sustain`` steps (and two rows) to be a finding."""
        if not holding:
            self.since.pop(sign, None)
            return self._clear(sign, step)
        began = self.since.setdefault(sign, step)
        rows = sum(1 for r in self.rows if r["step"] >= began)
        if sign not in self.active and step - began >= self.t.sustain and rows >= 2:
            return [make(began)]
        return []

    def _overpowering(self, row: dict[str, Any], step: int) -> list[dict[str, Any]]:
        d_real, d_fake = _number(row.get("d_real")), _number(row.get("d_fake"))
        if d_real is None or d_fake is None:
            return []
        confident = d_real >= self.t.d_confidence and d_fake <= self.t.d_fake

        def make(began: int) -> dict[str, Any]:
            stretch = [r for r in self.rows if r["step"] >= began]
            grads = [g for r in self.rows if (g := _number(r.get("grad_norm_g"))) is not None]
            evidence = {"d_real_mean": _fig(np.mean([r["d_real"] for r in stretch])),
                        "d_fake_mean": _fig(np.mean([r["d_fake"] for r in stretch])),
                        "steps": step - began, "d_real_at_least": self.t.d_confidence, "d_fake_at_most": self.t.d_fake}
            text = (f"D(x) {evidence['d_real_mean']:.3f} and D(G(z)) {evidence['d_fake_mean']:.4f} on average over "
                    f"{step - began} steps: D tells real from fake almost perfectly")
            if grads:
                evidence.update(grad_norm_g=_fig(grads[-1]), grad_norm_g_peak=_fig(max(grads)))
                ratio = grads[-1] / max(grads) if max(grads) > 0 else 0.0
                evidence["grad_norm_g_share_of_peak"] = _fig(ratio)
                text += f"; G's gradient norm is {ratio:.0%} of its peak" + (" (collapsing)" if ratio < 0.1 else "")
            return self._found("d_overpowering", "d_overpowering", began, step, text, evidence)

        return self._sustained("d_overpowering", confident, step, make)

    def _explode_finding(self, key: str, began: int, step: int) -> dict[str, Any]:
        stretch = [abs(v) for r in self.rows if r["step"] >= began and (v := _number(r.get(key))) is not None]
        evidence = {"series": key, "value": _fig(self.rows[-1][key]), "largest": _fig(max(stretch)),
                    "threshold": self.t.explode, "steps": step - began}
        text = (f"{key} has been {evidence['value']:.4g} or as large (|x| >= {self.t.explode:g}) "
                f"for {step - began} steps")
        return self._found("exploding", f"exploding:{key}", began, step, text, evidence)

    def _oscillation(self, key: str, step: int) -> list[dict[str, Any]]:
        """Mean swing between consecutive rows over the last ``window`` steps, against the loss's size
        (at least 1): a slow drift swings little, a loss thrown back and forth swings by its own size."""
        sign = f"oscillating:{key}"
        window = [r for r in self.rows if r["step"] > step - self.t.window and _number(r.get(key)) is not None]
        every = max(int(self.config.get("log_every") or 1), 1)
        if len(window) < 6 or self.rows[0]["step"] > step - self.t.window + every:  # not a whole window seen yet
            return []
        values = np.array([r[key] for r in window])
        level = max(float(np.median(np.abs(values))), 1.0)
        swing = float(np.mean(np.abs(np.diff(values)))) / level
        if swing < self.t.oscillation:
            return self._clear(sign, step)
        if sign in self.active:
            return []
        evidence = {"series": key, "swing": _fig(swing), "threshold": self.t.oscillation,
                    "low": _fig(values.min()), "high": _fig(values.max()), "steps": step - window[0]["step"]}
        text = (f"{key} swung between {values.min():.4g} and {values.max():.4g}; from one row to the next it moved "
                f"{swing:.2f}x its typical size on average over {evidence['steps']} steps")
        return [self._found("oscillating", sign, window[0]["step"], step, text, evidence)]

    def _grid(self, row: Mapping[str, Any], step: int) -> list[dict[str, Any]]:
        diversity = _number(row.get("grid_diversity"))
        if diversity is None or step < self.t.warmup:
            return []
        sign, peak = "mode_collapse:grid", self.peak_diversity
        duplicates = diversity < self.t.duplicates
        fallen = peak is not None and diversity < self.t.diversity_drop * peak
        self.peak_diversity = diversity if peak is None else max(peak, diversity)
        if not (duplicates or fallen):
            self.since.pop(sign, None)
            return self._clear(sign, step)
        began = self.since.setdefault(sign, step)
        if sign in self.active or began == step:  # one grid is a moment (early DCGANs dip); two in a row are not
            return []
        evidence = {"grid_diversity": _fig(diversity), "peak": _fig(peak) if peak is not None else None,
                    "duplicates_below": self.t.duplicates, "drop_to": self.t.diversity_drop, "since_step": began}
        text = (f"the fixed grid's images are near duplicates: they differ by {diversity:.3f} on average"
                if duplicates else f"the fixed grid's variety fell to {diversity:.3f} from {peak:.3f}")
        return [self._found("mode_collapse", sign, began, step, text, evidence)]

    def _evaluation(self, row: Mapping[str, Any], step: int) -> list[dict[str, Any]]:
        earlier, events = self.evals, []
        self.evals = earlier + [dict(row)]
        for key, least in VARIETY.items():
            value = _number(row.get(key))
            best_row = max((r for r in earlier if _number(r.get(key)) is not None), key=lambda r: r[key], default=None)
            if value is None or best_row is None or step < self.t.warmup:
                continue
            best, sign = best_row[key], f"mode_collapse:{key}"
            if best - value >= least and value <= (1 - self.t.coverage_drop) * best:
                if sign not in self.active:
                    evidence = {"series": key, "value": _fig(value), "best": _fig(best), "best_step": best_row["step"]}
                    text = f"{key} fell to {value:.4g} from {best:.4g} at step {best_row['step']}"
                    events.append(self._found("mode_collapse", sign, step, step, text, evidence))
            else:
                events += self._clear(sign, step)
        return events + self._progress(step)

    def _progress(self, step: int) -> list[dict[str, Any]]:
        scored = [(r["step"], r["fid"]) for r in self.evals if _number(r.get("fid")) is not None]
        if len(scored) <= self.t.fid_patience:
            return []
        recent, before = scored[-self.t.fid_patience:], scored[:-self.t.fid_patience]
        best_step, best = min(before, key=lambda s: s[1])
        if min(f for _, f in recent) < best * (1 - self.t.fid_gain):
            return self._clear("no_progress", step)
        if "no_progress" in self.active:
            return []
        evidence = {"best_fid": _fig(best), "best_step": best_step, "evaluations_since": len(recent),
                    "recent_fid": [_fig(f) for _, f in recent], "needed_gain": self.t.fid_gain}
        text = (f"FID has not improved by {self.t.fid_gain:.0%} on {best:.4g} (step {best_step}) in the "
                f"{len(recent)} evaluations since")
        return [self._found("no_progress", "no_progress", best_step, step, text, evidence)]

    # ------------------------------------------------------------------ events
    def _found(self, kind: str, sign: str, began: int, step: int, summary: str, evidence: dict) -> dict[str, Any]:
        finding = {"event": "found", "kind": kind, "title": TITLES[kind], "sign": sign, "step": int(began),
                   "found_at": int(step), "summary": summary, "evidence": evidence,
                   "remedies": remedies(kind, self.config, evidence)}
        self.active[sign] = finding
        self.earlier.append(finding)
        return finding

    def _clear(self, sign: str, step: int) -> list[dict[str, Any]]:
        finding = self.active.pop(sign, None)
        if finding is None:
            return []
        return [{"event": "cleared", "kind": finding["kind"], "title": finding["title"], "sign": sign,
                 "step": int(step), "began": finding["step"]}]


def active_findings(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The findings of a health.jsonl not cleared since, in the order they were found."""
    active: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("event") == "cleared":
            active.pop(event.get("sign"), None)
        elif event.get("event") == "found":
            active[event.get("sign")] = dict(event)
    return list(active.values())


def findings(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(e) for e in events if e.get("event") == "found"]


def health_line(events: Iterable[Mapping[str, Any]]) -> str:
    """The short line a reader shows for a health.jsonl (the same as HealthMonitor.line)."""
    events = list(events)
    return _line(active_findings(events), len(findings(events)))


def _line(active: list[Mapping[str, Any]], found: int) -> str:
    """One entry a kind (the earliest step of its signs), e.g. 'exploding losses since step 6'."""
    if not active:
        return "ok" if not found else f"ok ({found} earlier finding(s) cleared)"
    since: dict[str, int] = {}
    for finding in active:
        title = TITLES.get(finding.get("kind"), str(finding.get("kind")))
        since[title] = min(since.get(title, finding["step"]), finding["step"])
    return "; ".join(f"{title} since step {step}" for title, step in since.items())
