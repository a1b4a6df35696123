"""How a run folder's files are written and read: whole or not at all (a temporary file renamed into
place: status.json, config.json, checkpoints' neighbours), or one JSON row appended at a time
(metrics.jsonl, health.jsonl), so a process killed at any instant leaves files the next reader
understands. Torch-free; the app reads through here too.
"""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from studio.errors import UserError


class RunError(UserError):
    """A run that cannot be found, created or read; the message says which and why."""


class UnreadableFile(RunError):
    """A file that is there but is not what it should be (torn, not JSON, the wrong type)."""


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``. A missing file raises FileNotFoundError; anything else
    that is not one JSON object (unreadable, torn, a list) raises UnreadableFile saying why."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeError) as error:
        raise UnreadableFile(f"unreadable: {path.name}: {getattr(error, 'strerror', None) or error}") from None
    if not text.strip():
        raise UnreadableFile(f"unreadable: {path.name} is empty (a write that did not finish?)")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UnreadableFile(f"unreadable: {path.name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UnreadableFile(f"unreadable: {path.name} is a JSON {_json_type(value)}, not an object")
    return value


def whole_number(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _row_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return f"a JSON {_json_type(row)}, not an object"
    if "step" in row and not whole_number(row["step"]):
        return f"'step' is {row['step']!r}, not a whole number"
    if "time" in row and (isinstance(row["time"], bool) or not isinstance(row["time"], (int, float))):
        return f"'time' is {row['time']!r}, not a number"
    return None


class Rows(list):
    """The rows of one of a run's JSONL files that can be used, and why the others were passed over."""

    def __init__(self, rows=(), skipped=(), unreadable: str | None = None):
        super().__init__(rows)
        self.skipped: list[str] = list(skipped)   # "line 3: a JSON list, not an object"
        self.unreadable = unreadable              # the whole file could not be read: why


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    The folder must exist: a writer never makes one, so a run folder deleted under a running
    process is not made again (half empty, invisible to the app); the write raises RunError."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise RunError(folder_gone(path)) from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide run files from other users (e.g. the app's)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, FileNotFoundError):  # our own temporary file or its folder vanished: a delete
            raise RunError(folder_gone(path)) from None
        raise


def folder_gone(path: Path) -> str:
    return (f"cannot write {path.name}: its folder {path.parent} no longer exists (deleted while this process "
            "was using it?); nothing was written there and it is not made again.")


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


def append_row(path: Path, row: dict[str, Any]) -> None:
    """One JSON object as the last line of ``path``; a run folder that is gone is not made again."""
    try:
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
    except FileNotFoundError:
        raise RunError(folder_gone(path)) from None


def read_rows(path: Path) -> Rows:
    """Every usable row of ``path``. A half-written last line (a kill mid-write) is passed over quietly;
    other lines that are not a JSON object with a whole 'step' are listed in ``.skipped``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Rows()
    except OSError as error:
        return Rows(unreadable=f"unreadable: {path.name}: {error.strerror or error}")
    rows, skipped = [], []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(lines) and not text.endswith("\n"):
                continue  # the line being written right now
            skipped.append(f"line {number}: not valid JSON")
            continue
        problem = _row_problem(row)
        if problem:
            skipped.append(f"line {number}: {problem}")
        else:
            rows.append(row)
    return Rows(rows, skipped)


