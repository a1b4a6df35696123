"""Helpers of the hostile-input catalogues: call a CLI as a user does, and read a case's marks."""
from __future__ import annotations

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


def case_parts(case) -> tuple[tuple, tuple]:
    """A case's values and marks (a pytest.param is a tuple too: of values, marks and id)."""
    return (case.values, case.marks) if hasattr(case, "marks") else (case, ())
