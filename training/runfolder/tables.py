"""A run's metrics.jsonl and health.jsonl as pandas DataFrames: one row per JSON row, every key a
column, for a notebook, the app's tables and their CSV downloads. Torch-free.

    from training.runfolder.tables import metrics_frame
    frame = metrics_frame("runs/quick-20261124-193000")
    frame[frame.kind == "train"].plot(x="step", y=["loss_d", "loss_g"])

Column types follow the values, not pandas' guesses: whole numbers stay integers (``step`` always
int64; ``epoch`` a nullable Int64, as a grid's row has none), flags are nullable booleans, other
numbers float64, and a list or mapping (an eval row's or a finding's evidence) is its JSON text, so
a CSV of the frame holds it whole. Training rows, which metrics.jsonl writes without a ``kind``,
read as kind ``train``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder

METRICS_FIRST = ("step", "kind", "epoch", "time")
HEALTH_FIRST = ("step", "event", "kind", "title", "found_at", "began", "summary")


def metrics_frame(run: RunFolder | str | Path) -> pd.DataFrame:
    """Every usable row of the run's metrics.jsonl (``frame.attrs["skipped"]``: the lines passed over)."""
    rows = _folder(run).read_metrics()
    frame = frame_of_metrics(rows)
    frame.attrs["skipped"] = list(rows.skipped) + ([rows.unreadable] if rows.unreadable else [])
    return frame


def frame_of_metrics(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """metrics.jsonl's rows, already read, as metrics_frame makes them."""
    return rows_frame(({"kind": "train", **row} for row in rows), METRICS_FIRST)


def health_frame(run: RunFolder | str | Path) -> pd.DataFrame:
    """Every event of the run's health.jsonl (the health monitor's findings and their clearings)."""
    return rows_frame(_folder(run).read_health(), HEALTH_FIRST)


def rows_frame(rows: Iterable[Mapping[str, Any]], first: tuple[str, ...] = ()) -> pd.DataFrame:
    """JSON rows as a frame: ``first``'s columns first (those present), then every other key in the
    order the rows bring them; a key a row lacks is missing (NA) there."""
    rows = list(rows)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    keys = [k for k in first if k in keys] + [k for k in keys if k not in first]
    if not rows:
        return pd.DataFrame({"step": pd.Series(dtype="int64")})
    return pd.DataFrame({key: _column([row.get(key) for row in rows]) for key in keys})


def _column(values: list[Any]) -> pd.api.extensions.ExtensionArray | np.ndarray | list:
    present = [v for v in values if v is not None]
    missing = len(present) < len(values)
    if present and all(isinstance(v, bool) for v in present):
        return pd.array(values, dtype="boolean")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.array(values, dtype="Int64") if missing else np.array(values, dtype=np.int64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.array([json.dumps(v) if isinstance(v, (list, dict)) else v for v in values], dtype=object)


def _folder(run: RunFolder | str | Path) -> RunFolder:
    folder = run if isinstance(run, RunFolder) else RunFolder(Path(run))
    if not folder.path.is_dir():
        raise RunError(f"no run folder at {folder.path}: give a run folder's path (`python -m training runs` "
                       "lists the runs).")
    return folder
