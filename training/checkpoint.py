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
from studio.files import FileRefused, open_regular
from training.runfolder.files import UnreadableFile, atomic_write_bytes
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
    Every checkpoint names its run (``run``: RunFolder.identity), so no other run resumes from it.
    """
    path = checkpoint_file(run, which)
    buffer = io.BytesIO()
    torch.save({**state, "run": run.identity()}, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    if which == "last" and keep > 0:
        atomic_write_bytes(run.checkpoints_dir / f"step_{step:07d}.pt", data)
        for old in run.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu", run: RunFolder | None = None) -> dict[str, Any]:
    """The checkpoint at ``path``, read with weights_only=True. With ``run``, a path leading out of the
    run's folder (``last.pt`` a link to /etc/passwd) is refused before anything is read; a named pipe
    or a device is never opened (the read would wait or never end)."""
    if run is not None:
        try:
            run.own_file(Path(path))
        except UnreadableFile:
            raise CheckpointError(f"cannot read checkpoint {path}: it leads outside run {run.id}'s folder; a link out "
                                  "of a run is not followed. Put the run's own checkpoint there.") from None
    try:
        with open_regular(path, what="checkpoint") as file, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's note on a foreign file's pickle protocol: we say more
            return torch.load(file, map_location=map_location, weights_only=True)
    except FileRefused as error:
        raise CheckpointError(str(error)) from None
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


def owner_problem(state: dict[str, Any], run: RunFolder) -> str | None:
    """Why ``state`` is not ``run``'s own checkpoint (None when it is, or when it predates checkpoints
    naming their run: ``predates_identity``). The uid decides where both have one; else the folder's name."""
    owner = state.get("run")
    if owner is None:
        return None
    if not isinstance(owner, dict):
        return "it names its run in a way GAN Studio never writes"
    mine = run.identity()
    theirs_uid, theirs_id = owner.get("uid"), owner.get("id")
    same = theirs_uid == mine["uid"] if (theirs_uid and mine["uid"]) else theirs_id == mine["id"]
    if same:
        return None
    return (f"it belongs to another run ({str(theirs_id)[:80]!r}, uid {str(theirs_uid)[:40]}), not to {run.id} "
            f"(uid {mine['uid']}): a checkpoint copied from elsewhere")


def predates_identity(state: dict[str, Any]) -> bool:
    """A checkpoint written before checkpoints named their run: accepted as the run's, with a note."""
    return isinstance(state, dict) and "run" not in state
