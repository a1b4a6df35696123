"""studio/cli.py: how every command line reports errors, and the checks of output paths and ranges."""
from __future__ import annotations

import errno
import os

import pytest

from studio.cli import BUG, INTERRUPTED, USER_ERROR, Parser, UsageError, check_output_file, check_range, \
    check_writable_folder, is_user_error, run_cli
from studio.errors import UserError


def _parser() -> Parser:
    parser = Parser(prog="tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("go").add_argument("--n", type=int, default=1)
    return parser


def _call(command, argv, capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = run_cli(_parser(), argv, command)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def test_argparse_refusals_are_one_line_with_status_2(capsys):
    code, err = _call(lambda args: 0, ["go", "--n", "x"], capsys)
    assert code == USER_ERROR and err.count("\n") == 1
    assert err.startswith("error: argument --n: invalid int value") and "`tool go --help` lists the options" in err


def test_debug_may_follow_the_command_name_and_adds_the_traceback(capsys):
    def command(args):
        raise UsageError("--n is too small")

    code, err = _call(command, ["go"], capsys)
    assert code == USER_ERROR and err == "error: --n is too small\n"
    for argv in (["--debug", "go"], ["go", "--debug"]):
        code, err = _call(command, argv, capsys)
        assert code == USER_ERROR and "Traceback" in err and err.endswith("error: --n is too small\n")


def test_the_environment_asks_for_tracebacks_too(capsys, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_DEBUG", "1")
    code, err = _call(lambda args: (_ for _ in ()).throw(UserError("no")), ["go"], capsys)
    assert code == USER_ERROR and "Traceback" in err


def test_a_bug_an_interrupt_and_success(capsys):
    code, err = _call(lambda args: {}["missing"], ["go"], capsys)
    assert code == BUG and "Traceback" in err and "KeyError" in err and "this is a bug in GAN Studio" in err
    code, err = _call(lambda args: (_ for _ in ()).throw(KeyboardInterrupt()), ["go"], capsys)
    assert code == INTERRUPTED and err == "interrupted\n"
    assert _call(lambda args: args.n * 0, ["go", "--n", "3"], capsys) == (0, "")


def test_the_type_alone_makes_a_user_error():
    class Anything(UserError):
        pass

    assert is_user_error(Anything()) and is_user_error(UsageError()) and is_user_error(MemoryError())
    assert not is_user_error(ValueError()) and not is_user_error(KeyError())


def test_a_full_disk_found_by_any_library_is_one_line_not_a_bug(capsys):
    def command(args):  # e.g. TensorBoard's or onnx's own write, which GAN Studio's writers do not wrap
        raise OSError(errno.ENOSPC, "No space left on device", "/runs/r/tensorboard/events")

    code, err = _call(command, ["go"], capsys)
    assert code == USER_ERROR and err == ("error: the disk is full (No space left on device writing "
                                          "/runs/r/tensorboard/events); free space and run the command again.\n")
    assert not is_user_error(OSError(errno.EACCES, "Permission denied"))


def test_an_output_file_needs_its_suffix_and_a_folder_it_can_go_in(tmp_path):
    assert check_output_file(tmp_path / "new" / "x.PNG", "--out", (".png",), force=False) == tmp_path / "new" / "x.PNG"
    assert not (tmp_path / "new").exists()  # checked, not made
    with pytest.raises(UsageError, match=r"--out .*x.gif: the file must end in .png \(e.g. .*x.png\)"):
        check_output_file(tmp_path / "x.gif", "--out", (".png",), force=False)
    (tmp_path / "adir.png").mkdir()
    with pytest.raises(UsageError, match="is a folder; name a file in it"):
        check_output_file(tmp_path / "adir.png", "--out", (".png",), force=False)
    (tmp_path / "afile").write_text("")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_output_file(tmp_path / "afile" / "x.png", "--out", (".png",), force=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_that_cannot_be_written_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(UsageError, match="permission denied"):
        check_writable_folder(locked / "runs", "--runs-dir")


def test_a_number_outside_its_range_names_the_bounds_and_the_hint():
    check_range("--n", None, 1)
    check_range("--n", 5, 1, 10)
    with pytest.raises(UsageError, match=r"^--n must be between 1 and 10,000, got 0; ask for fewer\.$"):
        check_range("--n", 0, 1, 10_000, "ask for fewer")
    with pytest.raises(UsageError, match="at most 3, got 4"):
        check_range("--k", 4, hi=3)
