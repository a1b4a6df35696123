"""Checkpoints: written whole or not at all, read back with ``weights_only=True``."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from training.runs import RunFolder, atomic_write_bytes


class CheckpointError(Exception):
    pass


def save_checkpoint(run: RunFolder, state: dict[str, Any], step: int, keep: int) -> Path:
    """``last.pt`` plus ``step_NNNNNNN.pt``; the oldest step files beyond ``keep`` are removed."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(run.last_checkpoint, data)
    if keep > 0:
        atomic_write_bytes(run.checkpoints_dir / f"step_{step:07d}.pt", data)
        for old in run.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
    return run.last_checkpoint


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}: the run has not saved one yet.") from None
    except Exception as error:  # a foreign or damaged file: say so instead of unpickling further
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
