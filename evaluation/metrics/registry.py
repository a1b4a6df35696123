"""The table of metrics by name, the way stylegan2-ada-pytorch's ``metric_main`` keeps its own: each
metric module registers a function with the keys it writes and how each is shown, and everything
that lists scores (``python -m evaluation``'s table, the trainer's live evaluation rows, the app's
live charts and model cards) reads the list from ``METRICS``.

    @METRICS.register("fid", Score("fid", "FID", LOWER, on_card=True))
    def _fid(samples: Samples) -> dict[str, float]: ...

A metric runs on a ``Samples``: what one evaluation has computed (evaluator features and logits of
the generated images, the reference, Inception features when asked for, 2-D points for the toy
mixtures). It applies when the fields it reads are there.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterator

import numpy as np

from studio.registry import Registry, RegistryError

LOWER, HIGHER, NEITHER = "lower", "higher", ""


@dataclass(frozen=True)
class Score:
    """One key a metric writes, and how it is shown."""

    key: str
    label: str
    better: str  # LOWER, HIGHER, or NEITHER (a spread, a count of something)
    charted: bool = True  # a chart of its own in the app's live charts
    on_card: bool = False  # in the one-line summary of a model's card


@dataclass
class Samples:
    """What the metrics read. Unset fields are None; a metric applies only when its fields are set."""

    features: np.ndarray | None = None  # evaluator features of the generated images [N, D]
    logits: np.ndarray | None = None  # evaluator logits [N, C]
    labels: np.ndarray | None = None  # the classes a conditional generator was asked for [N]
    reference: Any = None  # evaluation.reference.Reference of the test split
    stacked_images: int | None = None  # Stacked MNIST: N = 3 x this, each channel one digit
    inception_features: np.ndarray | None = None  # [N, 2048], with --inception
    inception_reference: tuple | None = None  # (mean, covariance, count) of the test split's
    points: np.ndarray | None = None  # 2-D samples of the toy mixtures [N, 2]
    mixture: tuple | None = None  # (centres [M, 2], std)
    seed: int = 0
    kid_subsets: int = 100
    provenance: dict[str, Any] = field(default_factory=dict)  # what the metrics add to the record

    def has(self, *names: str) -> bool:
        known = {f.name for f in fields(self)}
        unknown = set(names) - known
        if unknown:
            raise AttributeError(f"Samples has no field {sorted(unknown)}")
        return all(getattr(self, name) is not None for name in names)


@dataclass(frozen=True)
class Metric:
    name: str
    scores: tuple[Score, ...]
    compute: Callable[[Samples], dict[str, float]]
    needs: tuple[str, ...]  # the Samples fields it reads
    when: str  # when it is computed, in words ("always", "stacked-mnist only", ...)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.scores)


class MetricRegistry(Registry[Metric]):
    """``studio.registry``'s mechanism, plus what a metric writes: its scores, whose keys no two
    metrics share, listed and computed in registration order (the order of every table)."""

    def __init__(self, package: str | None = None):
        super().__init__("metric", package, "METRICS")

    def register(self, name: str, *scores: Score, needs: tuple[str, ...] = ("features", "reference"),
                 when: str = "always"):
        if name in self._entries:
            raise RegistryError(f"metric {name!r} is registered twice")
        taken = {s.key for m in self for s in m.scores}
        clash = taken.intersection(s.key for s in scores)
        if clash:
            raise RegistryError(f"metric {name!r} writes keys another metric writes: {sorted(clash)}")

        def decorator(fn: Callable[[Samples], dict[str, float]]):
            self._add(name, Metric(name, tuple(scores), fn, tuple(needs), when), fn.__module__)
            return fn

        return decorator

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._entries.values())

    def __getitem__(self, name: str) -> Metric:
        return self.get(name)

    def scores(self) -> list[Score]:
        """Every key any metric writes, in registration order."""
        return [s for m in self for s in m.scores]

    def keys(self) -> list[str]:
        return [s.key for s in self.scores()]

    def score(self, key: str) -> Score | None:
        return next((s for s in self.scores() if s.key == key), None)

    def charted(self) -> list[Score]:
        return [s for s in self.scores() if s.charted]

    def on_card(self) -> list[Score]:
        return [s for s in self.scores() if s.on_card]

    def applicable(self, samples: Samples) -> list[Metric]:
        return [m for m in self if samples.has(*m.needs)]

    def compute(self, samples: Samples) -> dict[str, float]:
        """Every metric that applies, as one flat dict of plain floats in registration order."""
        out: dict[str, float] = {}
        for metric in self.applicable(samples):
            values = metric.compute(samples)
            if set(values) != set(metric.keys):
                raise RuntimeError(f"metric {metric.name!r} wrote {sorted(values)}, registered {list(metric.keys)}")
            out.update({key: float(values[key]) for key in metric.keys})
        return out


# Its entries are the modules of evaluation.metrics, which that package imports in the order of every table.
METRICS = MetricRegistry("evaluation.metrics")
