"""Reading a file a user or another process may have put anywhere: bounded and never blocking.

Every reader of a run folder, a model card, ONNX metadata or a config goes through here, because
a path can name a named pipe (a read that never returns), ``/dev/zero`` (a read that never ends),
a 50 MB card (the browser gets all of it) or JSON nested 100,000 deep (Python's parser recurses
until RecursionError). A regular file of bounded size and depth is read; anything else is refused
with a ``FileRefused`` saying what the file is and what was expected. Standard library only.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any, BinaryIO

from studio.errors import UserError

MiB = 1 << 20
JSON_LIMIT = 16 * MiB      # the largest run file or card seen is under 100 KB; room for SeFa directions
MAX_DEPTH = 64             # our own JSON nests 4 deep; 64 leaves room and stays far from the recursion limit

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


class FileRefused(UserError):
    """A file that is not a regular file, too large, or nested too deep to read safely."""


class DiskFull(UserError):
    """A write that found no space left (ENOSPC, or the user's quota); ``disk_full_message`` says
    how much is free where."""


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def disk_full_message(path: str | os.PathLike, then: str = "free space and run the command again") -> str:
    """The line for a write of ``path`` that found the disk full: how much is free in its folder, what
    to do (``then``), and that the file was left as it was (every writer here replaces files whole)."""
    path = Path(path)
    try:
        left = shutil.disk_usage(path.parent).free / MiB
        free = f"{left:,.{1 if left < 10 else 0}f} MB free"
    except OSError:
        free = "no free space known"
    return f"the disk is full: {free} in {path.parent}; {then}; {path.name} was left as it was."


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size(n: int) -> str:
    return f"{n / MiB:,.1f} MB" if n >= MiB else f"{n:,} bytes"


def regular_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (links followed), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: str | os.PathLike, *, what: str = "") -> BinaryIO:
    """``path`` open for reading in binary, or FileRefused when it is a pipe, a device or a folder
    (FileNotFoundError when missing). Never blocks: a pipe with no writer is refused, not waited for.
    For readers that stream (a checkpoint, a file's tail); ``read_bytes`` reads a bounded whole."""
    path = Path(path)
    # O_NONBLOCK: opening a pipe with no writer returns at once instead of waiting for one.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"{_label(path, what)} is {_kind(mode)}, not a regular file; "
                              f"replace it with the file itself.")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _label(path, what: str) -> str:
    return f"{what} {path}" if what else str(path)


def read_bytes(path: str | os.PathLike, *, limit: int, what: str = "") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them. FileNotFoundError when it
    is missing; FileRefused when it is a pipe, a device, a folder or larger than ``limit``."""
    label = _label(path, what)
    with open_regular(path, what=what) as file:
        size = os.fstat(file.fileno()).st_size
        if size > limit:
            raise FileRefused(f"{label} is {_size(size)}, more than the {_size(limit)} it may be; "
                              f"is it the right file?")
        data = file.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise FileRefused(f"{label} grew past {_size(limit)} while being read; is it the right file?")
    return data


def read_tail(path: str | os.PathLike, *, limit: int, what: str = "") -> tuple[bytes, int]:
    """The last ``limit`` bytes of the regular file ``path`` (all of it when smaller), and how many
    bytes before them were not read: for append-only logs that may have grown past any sensible size."""
    with open_regular(path, what=what) as file:
        skipped = max(0, os.fstat(file.fileno()).st_size - limit)
        file.seek(skipped)
        return file.read(limit), skipped


def read_text(path: str | os.PathLike, *, limit: int, what: str = "") -> str:
    """``read_bytes`` decoded as UTF-8; bytes that are not UTF-8 are refused, not guessed."""
    data = read_bytes(path, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileRefused(f"{_label(path, what)} is not UTF-8 text (byte {error.start}); is it the right file?") from None


def json_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(text: str, *, what: str = "the JSON text", max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses a text nested deeper than ``max_depth`` before parsing it (the
    parser would recurse into RecursionError). Invalid JSON raises ValueError as json.loads does."""
    if json_depth(text) > max_depth:
        raise FileRefused(f"{what} nests more than {max_depth} levels deep; it was not written by GAN Studio.")
    return json.loads(text)


def read_json(path: str | os.PathLike, *, limit: int = JSON_LIMIT, what: str = "",
              max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in the regular file ``path``, bounded in size and depth."""
    text = read_text(path, limit=limit, what=what)
    return parse_json(text, what=f"{what} {path}" if what else str(path), max_depth=max_depth)


def inside(path: str | os.PathLike, folder: str | os.PathLike, what: str = "") -> Path:
    """``path`` resolved (links followed), refused unless it lies inside ``folder`` (also resolved):
    a name with ``..`` or a link leading out of its folder names something that is not the folder's."""
    resolved, root = Path(path).resolve(), Path(folder).resolve()
    if resolved != root and root not in resolved.parents:
        label = f"{what} {path}" if what else str(path)
        raise FileRefused(f"{label} leads outside {folder} (to {resolved}); "
                          f"a link or '..' out of the folder is not followed.")
    return resolved
