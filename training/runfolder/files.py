"""How a run folder's files are written and read: whole or not at all (a temporary file renamed into
place: status.json, config.json, checkpoints' neighbours), or one JSON row appended at a time
(metrics.jsonl, health.jsonl), so a process killed at any instant leaves files the next reader
understands. Torch-free; the app reads through here too.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from studio.errors import UserError
from studio import files as studio_files
from studio.files import MiB, FileRefused, open_regular, parse_json, read_tail, read_text

JSON_LIMIT = 16 * MiB   # config.json, status.json, a card: all under 100 KB; room for SeFa directions
ROWS_LIMIT = 64 * MiB   # metrics.jsonl's tail that is read: ~200,000 rows, far more than any chart shows
LINE_LIMIT = 1 * MiB    # one JSONL row: a few hundred bytes; longer lines are no rows of ours
# What atomic_write_bytes' mkstemp names a file being written (.status.json.k3j_x9q2.tmp), and what
# export's writer does (.generator.onnx.4711.tmp): a process killed mid-write leaves one behind.
TEMP_NAME = re.compile(r"\.[^/]+\.(?:[a-z0-9_]{8}|\d+)\.tmp")
TEMP_MIN_AGE_S = 60     # a write by another process (the app saving a card) is done well within this
DISK_FULL = studio_files.DISK_FULL_ERRNOS


class RunError(UserError):
    """A run that cannot be found, created or read; the message says which and why."""


class UnreadableFile(RunError):
    """A file that is there but is not what it should be (torn, not JSON, the wrong type)."""


class DiskFull(RunError, studio_files.DiskFull):
    """A write of a run's file (or of a command's output through here) that found no space left."""


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``. A missing file raises FileNotFoundError; anything else
    that is not one JSON object (unreadable, torn, a list) raises UnreadableFile saying why."""
    path = Path(path)
    try:
        text = read_text(path, limit=JSON_LIMIT)
        if not text.strip():
            raise UnreadableFile(f"unreadable: {path.name} is empty (a write that did not finish?)")
        value = parse_json(text, what=path.name)
    except FileNotFoundError:
        raise
    except FileRefused as error:
        raise UnreadableFile(_refused(error, path)) from None
    except OSError as error:
        raise UnreadableFile(f"unreadable: {path.name}: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:
        raise UnreadableFile(f"unreadable: {path.name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UnreadableFile(f"unreadable: {path.name} is a JSON {_json_type(value)}, not an object")
    return value


def _refused(error: FileRefused, path: Path) -> str:
    """studio.files' refusal with the file named as a run's files are in messages: by name."""
    return f"unreadable: {str(error).replace(str(path), path.name, 1)}"


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
    process is not made again (half empty, invisible to the app); the write raises RunError.
    A full disk raises DiskFull and leaves the file as it was."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise RunError(folder_gone(path)) from None
    except OSError as error:
        if error.errno in DISK_FULL:
            raise DiskFull(disk_full(path)) from None
        raise
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
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            raise DiskFull(disk_full(path)) from None
        raise


def folder_gone(path: Path) -> str:
    return (f"cannot write {path.name}: its folder {path.parent} no longer exists (deleted while this process "
            "was using it?); nothing was written there and it is not made again.")


def disk_full(path: Path) -> str:
    """studio.files' line for a full disk, pointing a run's writes at resume."""
    folder = Path(path).parent
    run = next((f for f in (folder, folder.parent) if (f / "config.json").is_file()), None)
    if run is None:
        return studio_files.disk_full_message(path)
    then = f"free space and resume (`python -m training resume {run.name}` continues from the last checkpoint)"
    return studio_files.disk_full_message(path, then)


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
    except OSError as error:
        if error.errno in DISK_FULL:  # a torn last line at worst: readers pass over it, resume cuts it
            raise DiskFull(disk_full(path)) from None
        raise


def read_rows(path: Path) -> Rows:
    """Every usable row of ``path`` (of its last ROWS_LIMIT bytes when it is larger). A half-written
    last line (a kill mid-write) is passed over quietly; other lines that are not a JSON object with a
    whole 'step' are listed in ``.skipped``, and so are the bytes a huge file had before its tail."""
    try:
        data, before = read_tail(path, limit=ROWS_LIMIT)
    except FileNotFoundError:
        return Rows()
    except FileRefused as error:
        return Rows(unreadable=_refused(error, path))
    except OSError as error:
        return Rows(unreadable=f"unreadable: {path.name}: {error.strerror or error}")
    skipped = []
    if before:
        cut = data.find(b"\n") + 1  # the tail starts mid-line: that line is not whole
        skipped.append(f"the first {(before + cut) / MiB:,.0f} MB: not read (only the last {ROWS_LIMIT // MiB} MB "
                       f"of a file this large are)")
        data = data[cut:]
    rows = []
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row, problem = _parse_row(line)
        if problem == NOT_JSON and number == len(lines) and not text.endswith("\n"):
            continue  # the line being written right now
        if problem:
            skipped.append(f"line {number}{' of the tail' if before else ''}: {problem}")
        else:
            rows.append(row)
    return Rows(rows, skipped)


NOT_JSON = "not valid JSON"


def _parse_row(line: str | bytes) -> tuple[Any, str | None]:
    """(the row, None) for a usable line, else (None, why not)."""
    if len(line) > LINE_LIMIT:
        return None, f"{len(line):,} characters, not a row of ours"
    try:
        row = json.loads(line)  # the C parser ends a line nested too deep with RecursionError, at once
    except (ValueError, RecursionError):
        return None, NOT_JSON
    problem = _row_problem(row)
    return (None, problem) if problem else (row, None)


def rows_file_problem(path: Path) -> str | None:
    """Why ``rewrite_rows`` could not cut ``path`` back (a pipe, a device, a folder), None when it can
    (or there is no file): for the checks before a resume's work."""
    try:
        open_regular(path).close()
    except FileNotFoundError:
        return None
    except FileRefused as error:
        return _refused(error, path)
    except OSError as error:
        return f"unreadable: {path.name}: {error.strerror or error}"
    return None


def rewrite_rows(path: Path, keep: Callable[[dict[str, Any]], bool]) -> None:
    """Rewrite ``path`` atomically with its usable rows that ``keep`` accepts, line by line (a file of
    any size; never more than one line in memory). Lines that were never usable rows are dropped.
    FileNotFoundError when it is missing; UnreadableFile when it is a pipe, a device or a folder."""
    try:
        source = open_regular(path)
    except FileRefused as error:
        raise UnreadableFile(_refused(error, path)) from None
    with source:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o644)
            with os.fdopen(fd, "wb") as out:
                for raw in iter(lambda: source.readline(LINE_LIMIT + 1), b""):
                    if len(raw) > LINE_LIMIT:  # no row of ours: skip the rest of the line too
                        while raw and not raw.endswith(b"\n"):
                            raw = source.readline(LINE_LIMIT + 1)
                        continue
                    row, problem = _parse_row(raw)
                    if problem is None and raw.endswith(b"\n") and keep(row):
                        out.write((json.dumps(row) + "\n").encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException as error:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(error, OSError) and error.errno in DISK_FULL:
                raise DiskFull(disk_full(path)) from None
            raise


def remove_temp_leftovers(folder: Path, min_age_s: float = TEMP_MIN_AGE_S) -> list[tuple[Path, int]]:
    """Remove what writes killed mid-way left in ``folder`` (TEMP_NAME files, no others) and return
    each with its size. Call it only while holding the run's lock, so no trainer of the run can own
    one; a file younger than ``min_age_s`` may be another process's write in progress (the app
    saving a card into the run folder) and stays."""
    now, removed = time.time(), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not TEMP_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if now - info.st_mtime >= min_age_s:
                os.unlink(entry.path)
                removed.append((Path(entry.path), info.st_size))
        except OSError:
            continue  # gone already, or not ours to remove
    return removed
