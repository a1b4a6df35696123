"""How errors reach the user of every command line (``python -m training``, ``evaluation``, ``inference``).

A user error (any ``studio.errors.UserError``: a bad option, a missing file, a run that is busy; or
running out of memory) ends the command with one line, ``error: what is wrong and how to fix it``,
and exit status 2; ``--debug`` (or ``GAN_STUDIO_DEBUG=1``) prints its traceback too. Anything else
is a bug: its traceback is printed, then one line saying so, and the exit status is 1. Argparse's
own refusals follow the same rule (one line, status 2). The type alone decides, so no CLI lists
error classes and a renamed class stays a user error.

The checks that run before any work (output suffixes, writable folders, what an output may replace:
``studio.outputs``) live here too, since all three CLIs take output paths.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from studio.errors import UserError
from studio.outputs import check_output

USER_ERROR, BUG, INTERRUPTED = 2, 1, 130
BUG_LINE = ("this is a bug in GAN Studio, not in what you typed: please report it on the project's issue "
            "tracker with the command you ran and the traceback above.")


class UsageError(UserError):
    """A command line's options that do not go together or name nothing usable; the message says what and how."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose refusals are one line (status 2) and which takes ``--debug``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Sub-commands repeat the flag with no default, so `--debug` works after the command name too.
        top = not getattr(self, "_is_sub", False)
        self.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                          help="on an error, print its traceback as well")

    def add_subparsers(self, **kwargs):
        action = super().add_subparsers(**kwargs)
        parent = action._parser_class

        class Sub(parent):
            _is_sub = True

        action._parser_class = Sub
        return action

    def error(self, message: str):
        self.exit(USER_ERROR, f"error: {message}; `{self.prog} --help` lists the options.\n")


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"error: {text}"


def is_user_error(error: BaseException) -> bool:
    """Out of memory counts too: asking for fewer or smaller images is the user's fix; so does a full
    disk, whichever library's write found it (freeing space is the user's fix)."""
    return isinstance(error, (UserError, MemoryError)) or disk_full(error)


def disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
            command: Callable[[argparse.Namespace], int]) -> int:
    """Parse ``argv``, run ``command(args)`` and turn what it raises into the exit status and stderr
    described above."""
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("GAN_STUDIO_DEBUG", "") not in ("", "0")
    try:
        return int(command(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last stop: every error leaves here as a line or a bug report
        if not is_user_error(error):
            traceback.print_exc()
            print(f"{one_line(error)}\n{BUG_LINE}", file=sys.stderr)
            return BUG
        if debug:
            traceback.print_exc()
        if isinstance(error, MemoryError):
            print(f"error: out of memory ({error or 'MemoryError'}); ask for fewer or smaller images.", file=sys.stderr)
        elif disk_full(error):
            where = f" writing {error.filename}" if error.filename else ""
            print(f"error: the disk is full ({error.strerror}{where}); free space and run the command again.",
                  file=sys.stderr)
        else:
            print(one_line(error), file=sys.stderr)
        return USER_ERROR


def check_output_file(path: str | os.PathLike, what: str, suffixes: Sequence[str], *, force: bool,
                      replaces: Sequence[Path] = (), inputs: Sequence[str | os.PathLike] = (),
                      model: bool = False) -> Path:
    """``path`` as a file a command may write: the right suffix, not a folder, a folder for it that
    exists or can be made, and nothing there it may not replace (``studio.outputs``: an existing
    file needs ``force``; a model's card, a command's input, a run's file or a shipped file is never
    replaced). ``replaces``: the files written along with it (a model's card); ``model``: the output
    is a model with its card, which may replace another with ``force``. Raises UsageError or
    OutputRefused naming the option (``what``) and the fix."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        fixed = path.with_suffix(suffixes[0]) if path.name else f"NAME{suffixes[0]}"
        raise UsageError(f"{what} {path}: the file must end in {' or '.join(suffixes)} (e.g. {fixed}).")
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; name a file in it, e.g. {path / ('out' + suffixes[0])}.")
    check_writable_folder(path.parent, f"the folder of {what} {path}")
    return check_output(path, what, force=force, replaces=replaces, inputs=inputs, model=model)


def check_writable_folder(folder: str | os.PathLike, what: str) -> Path:
    """A folder that exists and is writable, or that can be created (its nearest existing parent is
    a writable folder)."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"{what}: {probe} is a file, not a folder; name a folder (it is created if missing).")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{what}: cannot write in {probe} (permission denied); choose a folder you can write to.")
    return folder


def check_range(what: str, value, lo=None, hi=None, hint: str = "") -> None:
    """A number option inside [lo, hi] (either side open when None)."""
    if value is None:
        return
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = (f"between {lo:,} and {hi:,}" if lo is not None and hi is not None
                  else f"at least {lo:,}" if lo is not None else f"at most {hi:,}")
        raise UsageError(f"{what} must be {bounds}, got {value}{'; ' + hint if hint else ''}.")
