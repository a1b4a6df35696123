"""Helpers of the hostile-input catalogues: call a CLI as a user does, read a case's marks, see every entry of a
tree (pipes and links too, never opened), and fail a case that blocks instead of hanging the suite."""
from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import stat
from pathlib import Path

HANG_S = 60  # every case ends in well under a second or two; one that blocks (a pipe, /dev/zero) fails here
SHIPPED = "mnist-dcgan"  # copied with its card and .eval.json into each test's models folder


def call(main, argv: list[str], capsys) -> tuple[int, str, str]:
    """A CLI's main as a user runs it: its exit status (argparse's SystemExit too), stdout, stderr."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one ``error:`` line a refusal prints (notes aside); fails the case unless there is exactly one."""
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def case_parts(case) -> tuple[tuple, tuple]:
    """A case's values and marks (a pytest.param is a tuple too: of values, marks and id)."""
    return (case.values, case.marks) if hasattr(case, "marks") else (case, ())


def tree(*roots: Path) -> dict[str, str]:
    """Every entry below ``roots`` (folders, links and pipes too, never opened), a file by its hash."""
    entries = {}
    for root in roots:
        for path in [Path(root), *sorted(Path(root).rglob("*"))]:
            mode = os.lstat(path).st_mode
            entries[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(mode)
                                  else os.readlink(path) if stat.S_ISLNK(mode) else stat.filemode(mode))
    return entries


@contextlib.contextmanager
def no_hang(seconds: int = HANG_S):
    """A case that blocks (a read of a pipe, of /dev/zero) fails instead of hanging the suite."""
    def hung(*_):
        raise TimeoutError(f"the case did not end within {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
