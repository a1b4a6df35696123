"""studio/errors.py: every package's error a user can fix is a UserError, and every CLI tells one from
a bug by that type alone, however deep inside the command it was raised."""
from __future__ import annotations

import importlib

import pytest

from evaluation.cli import main as evaluation_main
from inference.cli import main as inference_main
from studio.cli import BUG_LINE
from studio.errors import UserError
from training.cli.main import main as training_main

USER_ERRORS = [
    "dataio.registry.DataError", "inference.errors.InferenceError", "evaluation.errors.EvaluationError",
    "training.config.ConfigError", "training.runfolder.folder.RunError", "training.runfolder.folder.UnreadableFile",
    "training.runfolder.lock.RunBusy", "training.runfolder.timelapse.TimelapseError",
    "training.checkpoint.CheckpointError", "training.export.generator.ExportError",
    "training.export.upgrade.UpgradeError", "training.auxiliary.evaluator_net.EvaluatorError",
    "training.auxiliary.encoder.EncoderError", "training.sweep.study.StudyError", "training.sweep.space.SpaceError",
    "studio.cli.UsageError", "app.processes.LaunchError", "app.catalogue.ModelExists",
    "app.directions.DirectionNameError",
]
# Not the user's to fix (tests/test_architecture.py's NOT_USER_ERRORS says why for each).
NOT_USER_ERRORS = ["training.sweep.worker.TrialFailed", "training.sweep.worker.WorkerStopping",
                   "training.export.sefa.NoDirections"]


def _class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("dotted", USER_ERRORS)
def test_every_packages_error_is_caught_as_a_user_error(dotted):
    with pytest.raises(UserError, match="the fix"):
        raise _class(dotted).__new__(_class(dotted), "the fix")  # RunBusy's own __init__ wants a run


@pytest.mark.parametrize("dotted", NOT_USER_ERRORS)
def test_control_flow_and_bugs_are_no_user_errors(dotted):
    assert not issubclass(_class(dotted), UserError)


def test_a_config_error_stays_a_value_error():
    assert issubclass(_class("training.config.ConfigError"), ValueError)


class RenamedSinceTheCliWasWritten(UserError):
    """A user error no CLI has heard of: its type alone makes it one."""


# Each CLI with its arguments and a function deep inside the command that the test makes fail.
CLIS = {
    "training": (training_main, ["runs", "--runs-dir", "{tmp}/runs"], "training.cli.main.list_runs"),
    "evaluation": (evaluation_main, ["{tmp}/model.onnx"], "evaluation.cli.check_request"),
    "inference": (inference_main, ["{tmp}/model.onnx", "--info"], "inference.cli.Generator.load"),
}


def _run(cli: str, error: BaseException, tmp_path, monkeypatch, capsys) -> tuple[int, list[str], str]:
    main, argv, deep = CLIS[cli]

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(deep, fail)
    capsys.readouterr()
    code = main([arg.format(tmp=tmp_path) for arg in argv])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()], err


@pytest.mark.parametrize("cli", sorted(CLIS))
@pytest.mark.parametrize("error", [RenamedSinceTheCliWasWritten("fix this: do that"),
                                   _class("training.checkpoint.CheckpointError")("fix this: do that")],
                         ids=["unknown-user-error", "error-of-a-torch-module"])
def test_a_user_error_raised_deep_inside_ends_a_cli_with_one_line_and_status_2(cli, error, tmp_path, monkeypatch,
                                                                                capsys):
    code, lines, err = _run(cli, error, tmp_path, monkeypatch, capsys)
    assert code == 2 and lines == ["error: fix this: do that"] and "Traceback" not in err


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_any_other_exception_is_a_bug_with_its_traceback_and_status_1(cli, tmp_path, monkeypatch, capsys):
    code, lines, err = _run(cli, RuntimeError("a slip in our code"), tmp_path, monkeypatch, capsys)
    assert code == 1 and "Traceback" in err
    assert lines[-2:] == ["error: a slip in our code", BUG_LINE]


def test_out_of_memory_is_the_users_to_fix(tmp_path, monkeypatch, capsys):
    code, lines, _ = _run("inference", MemoryError(), tmp_path, monkeypatch, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: out of memory")
