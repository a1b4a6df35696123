"""Checkpoints: written whole or not at all, read back with ``weights_only=True``.

A run keeps ``checkpoints/last.pt`` (what ``resume`` continues from), a few ``step_NNNNNNN.pt``
and, when it evaluates as it trains, ``best.pt`` (the lowest FID so far). Every one of them is
written by ``save_checkpoint``, so they share one format and one way of reaching the disk.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch

from studio.errors import UserError
from training.runfolder.files import atomic_write_bytes
from training.runfolder.folder import RunFolder

CHECKPOINTS = ("last", "best")


class CheckpointError(UserError):
    """A checkpoint that is missing, torn or from another config; the message says which and what to do."""


def checkpoint_file(run: RunFolder, which: str = "last") -> Path:
    """checkpoints/last.pt, or checkpoints/best.pt (the lowest FID of the run's live evaluations)."""
    if which not in CHECKPOINTS:
        raise CheckpointError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got {which!r}")
    return run.last_checkpoint if which == "last" else run.checkpoints_dir / "best.pt"


def save_checkpoint(run: RunFolder, state: dict[str, Any], step: int, keep: int, which: str = "last") -> Path:
    """Write ``state`` as one of the run's checkpoints and return its path.

    ``which="last"``: ``last.pt``, plus ``step_NNNNNNN.pt`` when ``keep > 0`` (the oldest step
    files beyond ``keep`` are removed). ``which="best"``: ``best.pt`` alone. Each file is written
    to a temporary name and renamed, so a kill at any instant leaves the previous file whole.
    """
    path = checkpoint_file(run, which)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    if which == "last" and keep > 0:
        atomic_write_bytes(run.checkpoints_dir / f"step_{step:07d}.pt", data)
        for old in run.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    try:
        with warnings.catch_warnings():  # torch's note on a foreign file's pickle protocol: we say more below
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}: the run has not saved one yet.") from None
    except Exception as error:  # a foreign or damaged file: say so instead of unpickling further
        raise CheckpointError(f"cannot read checkpoint {path}: {_why_unreadable(error)}") from None


def _why_unreadable(error: Exception) -> str:
    """torch's reason in a line; its advice to retry with weights_only=False is never ours to give."""
    text = str(error)
    if "Weights only load failed" in text:
        return "not a plain checkpoint (damaged, or holding objects besides weights, which are never unpickled)"
    if "zip archive" in text or "central directory" in text:
        return "truncated or damaged (not a whole PyTorch file)"
    return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
