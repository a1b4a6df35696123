"""Input checks shared by the metric modules (numpy only)."""

from __future__ import annotations

import numpy as np


def as_features(x, name: str = "features", dtype=None, min_rows: int = 1) -> np.ndarray:
    """Return ``x`` as a finite 2-D floating array ``[N, D]``, raising ``ValueError`` otherwise.

    ``dtype=None`` keeps float32/float64 inputs as they are (no copy) and converts anything
    else to float64, so callers decide where the precision/memory trade-off is made.
    """
    arr = np.asarray(x)
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    arr = np.asarray(arr, dtype=dtype)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [N, D], got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has no feature dimensions")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_same_dim(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} and {name_b} differ in feature dimension: {a.shape[1]} vs {b.shape[1]}"
        )
