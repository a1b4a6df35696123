"""One writer per run folder: the process that trains (or exports into) a run holds ``RUN/.lock``.

The lock is ``flock`` on that file, so the kernel drops it when the process ends in any way,
kill -9 included: a run is never left locked by a dead process. The file holds the pid of its
last holder, which is only meaningful while the lock is held. Torch-free, so the app asks
``holder(run)`` before it deletes a run or offers Resume; and since every trainer writes its pid
into status.json only while it holds the lock, that pid is trusted (shown as running, signalled by
Stop or Delete) only while ``is_holder`` says so: a recycled pid never is.

The file stays when the lock is released: removing it would let a process that opened the old
file and one that creates a new file both believe they hold the lock.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from training.runfolder.files import RunError
from training.runfolder.flock import LOCK_NAME, held_by, open_lock_file, recorded_pid
from training.runfolder.folder import RunFolder


class RunBusy(RunError):
    """Another live process holds the run's lock."""

    def __init__(self, run: RunFolder, pid: int | None, doing: str):
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"run {run.id} is in use by {who} (it holds {run.path / LOCK_NAME}); cannot {doing} it "
                         f"now. Stop that process first (the app's Stop button, or `kill {pid or 'PID'}`), then retry.")
        self.pid = pid


def lock_path(run: RunFolder) -> Path:
    return run.path / LOCK_NAME


def holder(run: RunFolder) -> int | None:
    """The pid of the live process holding the run's lock (0 when it is held but the pid is not
    written yet), or None when nobody holds it. Never creates the lock file."""
    return held_by(lock_path(run))


def is_holder(run: RunFolder, pid: int | None) -> bool:
    """Whether ``pid`` is the process holding ``run``'s lock: the one proof that a pid read from the
    run's files is still this run's trainer, not a process that was given the number later."""
    try:
        return bool(pid) and holder(run) == pid
    except RunError:
        return False


class RunLock:
    """The run's lock, held until ``release()`` or the end of the process (``with`` releases it)."""

    def __init__(self, run: RunFolder, fd: int):
        self.run, self._fd = run, fd

    @classmethod
    def acquire(cls, run: RunFolder, doing: str = "train", wait_s: float = 1.0) -> "RunLock":
        """Take the lock or raise RunBusy naming the holder's pid. Waits up to ``wait_s`` for a
        holder that is only looking (``holder()``) or has just taken it and not written its pid.
        Refuses a run folder that no longer exists instead of making it again."""
        if not run.path.is_dir():
            raise RunError(f"run {run.id} no longer exists ({run.path} was deleted); nothing to {doing}.")
        try:
            fd = open_lock_file(lock_path(run), os.O_RDWR | os.O_CREAT, f"{doing} run {run.id}")
        except FileNotFoundError:
            raise RunError(f"run {run.id} no longer exists ({run.path} was deleted); nothing to {doing}.") from None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pid = recorded_pid(fd)
                    os.close(fd)
                    raise RunBusy(run, pid, doing) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(run, fd)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
