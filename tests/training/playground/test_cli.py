"""training/playground/cli.py: `python -m training playground` checks its options before any run
folder exists, and runs a session in a new folder with its control file made first."""
from __future__ import annotations

import argparse
from contextlib import nullcontext

import pytest

from training.cli.main import main
from training.playground import files
from training.playground.cli import add_parser, settings_from_args
from training.playground.settings import KIND
from training.runfolder.folder import list_runs

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


def parse(*options):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["playground", *options])


@pytest.mark.parametrize("options, words", [
    (["--target", "points", "--points", "1,1"], "at least 2 points"),
    (["--pack", "3"], "not a multiple of pack 3"),
    (["--lr-g", "0"], "lr_g (G's Adam learning rate) is 0"),
    (["--target", "points", "--points", "1,1; a,b"], "point line 2 is 'a,b'"),
    (["--loss", "r1"], "invalid choice: 'r1'"),
])
def test_bad_options_are_one_line_and_make_no_run(tmp_path, capsys, options, words):
    with pytest.raises(SystemExit) if options[0] == "--loss" else nullcontext():   # argparse's own refusal
        assert main(["playground", "--runs-dir", str(tmp_path / "runs"), *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert not list(list_runs(tmp_path / "runs"))


def test_options_become_settings_and_typed_points_are_read():
    settings = settings_from_args(parse("--target", "points", "--points", "0,0; 1,1; -1,1", "--n-critic", "5",
                                        "--lr-g", "1e-3", "--start", "pause"))
    assert settings.points == [[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0]]
    assert (settings.n_critic, settings.lr_g, settings.start) == (5, 1e-3, "pause")
    assert settings_from_args(parse()).to_dict() == settings_from_args(parse("--target", "ring")).to_dict()


def test_a_short_session_runs_to_the_end_in_a_new_run_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["playground", "--runs-dir", str(runs), "--steps", "3", "--snapshot-every", "1", "--g-width", "8",
                 "--d-width", "8", "--batch-size", "32", "--name", "tiny"]) == 0
    (run,) = list_runs(runs)
    assert run.id.startswith("tiny-") and f"run folder: {run.path}" in capsys.readouterr().err
    config = run.read_config()
    assert config["kind"] == KIND and config["steps"] == 3 and config["g_width"] == 8
    assert run.read_status()["state"] == "finished"
    assert files.read_control(run) == {"mode": "play", "step_requests": 0, "stop": False}
    assert files.read_snapshot(run)["g_steps"] == 3
