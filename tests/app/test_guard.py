"""app/guard.py: an error in a page becomes one message, never a traceback. Whether the user can act
on it is decided by type alone (studio.errors.UserError, or an OSError): a user error is its own line
under the heading of its kind; anything else is said to be a bug, its traceback in the server's log."""
from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest

from app.catalogue import ModelExists
from app.guard import is_user_error, message
from app.markdown_escape import shown
from app.processes import LaunchError
from inference import InferenceError
from studio.errors import UserError
from training.config import ConfigError
from training.runfolder.files import RunError
from training.runfolder.timelapse import TimelapseError


class BrandNewUserError(UserError):
    """A user error the guard has never heard of: its base alone makes it one."""


@pytest.mark.parametrize("error, heading, way_out", [
    (InferenceError("bad.onnx: not an ONNX file"), "**This model cannot be used.** bad.onnx: not an ONNX file",
     "re-export it with `python -m training export RUN`"),
    (ModelExists("toy already exists; tick Replace"), "**Not published.** toy already exists; tick Replace", None),
    (ConfigError("lr_g is -1: it must be above 0"), "**Invalid settings.** lr_g is -1: it must be above 0", None),
    (RunError("run x is busy"), "**Run problem.** run x is busy", None),
    (TimelapseError("run x has no sample grids yet"), "**Run problem.** run x has no sample grids yet", None),
    (BrandNewUserError("the moon is\n  not ready"), "**Not done.** the moon is not ready", None),
])
def test_a_user_error_is_its_own_line_under_its_kinds_heading(error, heading, way_out):
    assert is_user_error(error)
    text, icon = message(error)
    assert shown(text).startswith(heading) and icon.startswith(":material/")
    assert "bug" not in text
    if way_out:
        assert way_out in text


def test_a_launch_error_keeps_the_lines_of_the_process_output():
    text, _ = message(LaunchError("the process ended:\nTraceback...\nFileNotFoundError: mnist"))
    assert text == "**Run problem.** the process ended:\nTraceback...\nFileNotFoundError: mnist"


def test_a_file_the_system_refused_says_where_the_folders_are(app_env):
    error = PermissionError(13, "Permission denied", str(app_env["runs"] / "x"))
    assert is_user_error(error)
    text, _ = message(error)
    assert shown(text).startswith("**File problem.** [Errno 13] Permission denied")
    assert f"runs: `{app_env['runs']}`" in text and f"models: `{app_env['models']}`" in text


@pytest.mark.parametrize("error", [ValueError("bad value"), KeyError("step"), ZeroDivisionError("division by zero")])
def test_anything_else_is_a_bug_and_says_so(error):
    assert not is_user_error(error)
    text, icon = message(error)
    assert text.startswith(f"**Something went wrong:** {type(error).__name__}:")
    assert "This is a bug in GAN Studio, not in what you did" in text and icon == ":material/report:"


def page_with_errors(kind: str) -> None:
    """A page: a guarded part, a section, and text below each, to see what still shows."""
    import streamlit as st

    from app.guard import guard, section
    from studio.errors import UserError

    @guard
    def part():
        st.write("part began")
        if kind == "stop":
            st.stop()
        raise UserError("you asked for the impossible") if kind == "user" else RuntimeError("a slip in the code")

    part()
    st.write("below the part")
    with section():
        raise UserError("this section cannot be drawn")
    st.write("below the section")


def test_in_a_page_the_message_takes_the_parts_place_and_the_page_goes_on():
    at = AppTest.from_function(page_with_errors, args=("user",)).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["**Not done.** you asked for the impossible",
                                           "**Not done.** this section cannot be drawn"]
    assert [m.value for m in at.markdown] == ["part began", "below the part", "below the section"]


def test_a_bug_in_a_page_is_a_message_and_its_traceback_goes_to_the_log(caplog):
    with caplog.at_level(logging.ERROR, logger="gan_studio.app"):
        at = AppTest.from_function(page_with_errors, args=("bug",)).run()
    assert not at.exception                                              # no traceback in the page
    assert "RuntimeError: a slip in the code" in at.error[0].value and "bug in GAN Studio" in at.error[0].value
    [record] = [r for r in caplog.records if r.name == "gan_studio.app"]
    assert record.exc_info[0] is RuntimeError                             # the server's log has it


def test_streamlits_stop_passes_through_the_guard():
    at = AppTest.from_function(page_with_errors, args=("stop",)).run()
    assert not at.exception and not at.error                              # st.stop is no error to show
    assert [m.value for m in at.markdown] == ["part began"]               # and it stops the whole script


def test_a_message_quoting_a_file_shows_its_words_as_text_and_keeps_its_commands_as_code():
    error = RunError("run ![x](https://elsewhere.example/x.png) is in use; `kill 12` first")
    text, _ = message(error)
    assert "!\\[x\\](https://elsewhere.example/x.png)" in text and "`kill 12`" in text
    assert shown(text) == f"**Run problem.** {error}"
