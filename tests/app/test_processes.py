"""app/processes.py: the command lines the app runs, deleting runs, stopping, and log tails."""
from __future__ import annotations

import pytest

from app import processes
from app.processes import delete_run, override_value, run_log, stop_training, train_argv
from training.config import parse_override
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder, create_run


def test_overrides_round_trip_through_the_cli_parser():
    for key, value in [("lr_g", 1e-05), ("lr_d", 0.0002), ("steps", 20), ("ema", True), ("latent_bound", None),
                       ("dataset", "fashion-mnist"), ("beta1", 0.0)]:
        assert parse_override(f"{key}={override_value(value)}") == (key, value)


def test_train_argv_is_the_cli_command_with_the_runs_folder(app_env):
    argv = train_argv("dcgan-mnist", "mine", ["steps=5", "lr_g=1.0e-05"])
    assert argv[1:] == ["-m", "training", "train", "--preset", "dcgan-mnist", "--name", "mine",
                        "--runs-dir", str(app_env["runs"]), "--set", "steps=5", "--set", "lr_g=1.0e-05"]


def test_delete_refuses_anything_but_a_run_folder_inside_the_runs_folder(app_env, tmp_path):
    outside = create_run(tmp_path / "elsewhere", "x", {"steps": 1})
    with pytest.raises(RunError, match="refusing"):
        delete_run(outside)
    assert outside.path.is_dir()
    inside = create_run(app_env["runs"], "y", {"steps": 1})
    with pytest.raises(RunError, match="may still be starting"):
        delete_run(inside)                                 # a run queued a moment ago may be starting
    inside.write_status(state="finished")
    link = app_env["runs"] / "link"
    link.symlink_to(outside.path)
    with pytest.raises(RunError, match="refusing"):
        delete_run(RunFolder(link))
    delete_run(inside)
    assert not inside.path.exists() and outside.path.is_dir()


def test_stop_signals_nothing_without_a_live_training_process(app_env):
    run = create_run(app_env["runs"], "idle", {"steps": 1})
    assert stop_training(run) is False                                   # no pid at all
    run.write_status(state="running", pid=2 ** 22 + 12345)
    assert stop_training(run) is False                                   # a pid that is not alive


def test_resume_refuses_a_run_that_is_still_going(app_env):
    run = create_run(app_env["runs"], "busy", {"steps": 1})
    with pytest.raises(RunError, match="stop it first"):
        processes.resume_training(run)                                   # a queued run


def test_run_log_adds_the_launchers_output_when_it_has_more(app_env):
    run = create_run(app_env["runs"], "crashed", {"steps": 1})
    run.log_path.write_text("step 1\nstep 2\n")
    assert run_log(run) == "step 1\nstep 2"
    launch = app_env["runs"] / ".launch" / "crashed.log"
    launch.parent.mkdir()
    launch.write_text("run folder: somewhere\nTraceback (most recent call last):\nValueError: boom\n")
    (run.path / "launch-log.txt").write_text(f"{launch}\n")
    text = run_log(run)
    assert text.startswith("step 1\nstep 2\n--- process output ---") and text.endswith("ValueError: boom")
    assert run_log(run, lines=1).endswith("--- process output ---\nValueError: boom")
