"""Who holds a run's lock file, asked without taking it: the one test of whether a process is working on
a run that a recycled pid cannot fool (the kernel drops a flock with the process that held it).

Apart from lock.py, which builds the lock a writer takes on RunFolder, so that folder.py can ask too:
a status.json's pid is trusted only while that process holds the run's lock. The file is opened
without following a link and without blocking, so a link, a named pipe or a device planted as
``RUN/.lock`` is refused with a RunError, never followed, truncated or waited on.
"""
from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from training.runfolder.files import RunError

LOCK_NAME = ".lock"
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def open_lock_file(path: Path, mode: int, doing: str) -> int:
    """A descriptor of the lock file ``path`` (a regular file, never a link); FileNotFoundError when
    there is none and ``mode`` does not create one; RunError for anything else planted there."""
    try:
        fd = os.open(path, mode | _OPEN_FLAGS, 0o644)
    except FileNotFoundError:
        raise
    except OSError as error:
        why = "it is a link, which a lock file never is" if path.is_symlink() else (error.strerror or str(error))
        raise RunError(f"cannot {doing}: {path} cannot be used as the run's lock file ({why}); "
                       "remove it and retry.") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RunError(f"cannot {doing}: {path} is not a regular file, so it cannot be the run's lock file; "
                       "remove it and retry.")
    return fd


def recorded_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def held_by(path: Path) -> int | None:
    """The pid of the live process holding the lock file ``path`` (0 when it is held but the pid is
    not written yet), or None when nobody holds it. Never creates the file."""
    try:
        fd = open_lock_file(path, os.O_RDONLY, "tell who uses the run")
    except FileNotFoundError:
        return None
    try:
        try:  # a shared lock conflicts with the writer's exclusive one only; released at once
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return recorded_pid(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
