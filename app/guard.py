"""The pages' error guard: an exception in a page or a part of one becomes one message with the
way out, never a traceback.

What the user can act on is told from a bug by type alone: a ``studio.errors.UserError`` (every
package's errors derive from it) or an ``OSError`` (a folder missing, a disk full) is shown as its
one line under a heading that says which kind of thing went wrong; anything else is a bug in GAN
Studio, said so plainly, with its traceback in the server's log.
"""
from __future__ import annotations

import contextlib
import functools
import logging
from typing import Callable, Iterator

import streamlit as st

from app.catalogue import ModelExists
from app.markdown_escape import escape_keeping_code
from app.paths import models_dir, runs_dir
from app.processes import LaunchError
from inference import InferenceError
from studio.errors import UserError
from training.config import ConfigError
from training.runfolder.files import RunError

log = logging.getLogger("gan_studio.app")

# (error types, heading, icon, the way out) for the user errors a page meets most; the first row
# whose types match gives the message, and any other user error gets the plain heading below
KINDS = (
    (InferenceError, "This model cannot be used.", ":material/broken_image:",
     "Pick another model, or re-export it with `python -m training export RUN`."),
    (ModelExists, "Not published.", ":material/block:", ""),
    (ConfigError, "Invalid settings.", ":material/tune:", ""),
    ((RunError, LaunchError), "Run problem.", ":material/directions_run:", ""),
)
OTHER_USER_ERROR = ("Not done.", ":material/info:", "")


def is_user_error(error: BaseException) -> bool:
    """Whether the user can fix what went wrong (the message says how), as opposed to a bug."""
    return isinstance(error, (UserError, OSError))


def message(error: BaseException) -> tuple[str, str]:
    """(the markdown shown, its icon) for ``error``: what the page would display."""
    # a launch error carries the process's own output, whose line breaks matter; a message may quote a
    # file's name or contents, shown as the text it is (its `commands` stay code)
    line = escape_keeping_code(str(error) if isinstance(error, LaunchError) else " ".join(str(error).split()))
    if not is_user_error(error):
        return (f"**Something went wrong:** {type(error).__name__}: {line}\n\nThis is a bug in GAN Studio, not in "
                "what you did: the server's console has its traceback. Reload the page to go on.", ":material/report:")
    if isinstance(error, OSError) and not isinstance(error, UserError):
        return (f"**File problem.** {line}\n\nCheck that the folder exists and is writable "
                f"(runs: `{runs_dir()}`, models: `{models_dir()}`).", ":material/folder_off:")
    heading, icon, way_out = next(((h, i, w) for types, h, i, w in KINDS if isinstance(error, types)), OTHER_USER_ERROR)
    return f"**{heading}** {line}" + (f"\n\n{way_out}" if way_out else ""), icon


def show_error(error: BaseException) -> None:
    """The error's message in the page; a bug's traceback goes to the server's log, never the page."""
    if not is_user_error(error):
        log.error("unexpected error in the app", exc_info=error)
    text, icon = message(error)
    st.error(text, icon=icon)


def guard(fn: Callable) -> Callable:
    """Run ``fn`` and show any exception as a message. Streamlit's own rerun/stop signals are
    BaseExceptions, not Exceptions, so they pass through untouched."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the point: no raw tracebacks in the page
            show_error(error)
    return wrapper


@contextlib.contextmanager
def section() -> Iterator[None]:
    """``with section():`` around one widget or part of a page: an error there becomes one message
    in its place and the page goes on below it (stop and rerun signals pass, as in guard)."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - the rest of the page must keep working
        show_error(error)
