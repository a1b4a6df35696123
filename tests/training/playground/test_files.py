"""training/playground/files.py: the control file the app writes and the trainer polls (play, pause,
single steps counted, stop; anything unreadable changes nothing), and the snapshot it reads back."""
from __future__ import annotations

import json
import shutil

import pytest

from training.playground import files
from training.playground.settings import check_settings
from training.runfolder.files import RunError
from training.runfolder.folder import create_run


@pytest.fixture
def run(tmp_path):
    return create_run(tmp_path / "runs", "playground-ring", check_settings({}).to_dict())


def test_the_run_starts_with_its_control_file_and_no_snapshot(run):
    files.write_initial_control(run, "pause")
    assert files.read_control(run) == {"mode": "pause", "step_requests": 0, "stop": False}
    assert files.read_snapshot(run) is None
    assert files.is_playground(run.read_config()) and not files.is_playground({"preset": "dcgan-mnist"})


def test_each_click_on_step_is_one_more_request_and_pauses(run):
    files.write_initial_control(run, "play")
    files.write_control(run, step=True)
    second = files.write_control(run, step=True)
    assert second == {"mode": "pause", "step_requests": 2, "stop": False} == files.read_control(run)
    assert files.write_control(run, mode="play") == {"mode": "play", "step_requests": 2, "stop": False}
    assert files.write_control(run, stop=True)["stop"] is True
    assert not list(run.path.glob(".*.tmp"))  # written atomically


def test_without_a_control_file_the_run_starts_from_its_initial_mode(run):
    assert files.read_control(run) is None
    assert files.write_control(run, step=True, initial_mode="pause") == {"mode": "pause", "step_requests": 1,
                                                                         "stop": False}


@pytest.mark.parametrize("text", [
    '{"mode": "play", "step_requests": 1, "sto',        # torn
    '{"mode": "fast", "step_requests": 0}',            # no such mode
    '{"mode": "play", "step_requests": -1}',           # a negative count
    '{"mode": "play", "step_requests": true}',         # a bool is no count
    '{"mode": "play", "stop": "yes"}',
    '["play"]',
])
def test_a_control_file_that_cannot_be_trusted_changes_nothing(run, text):
    files.control_path(run).write_text(text)
    assert files.read_control(run) is None


def test_an_unknown_mode_or_a_deleted_run_is_refused(run, tmp_path):
    with pytest.raises(RunError, match="unknown playground mode 'fast': play or pause"):
        files.write_control(run, mode="fast")
    shutil.rmtree(run.path)
    with pytest.raises(RunError, match=f"run {run.id} no longer exists; start a new playground run"):
        files.write_control(run, mode="pause")
    assert not run.path.exists()  # not made again by the click
    assert files.read_snapshot(run) is None


def test_a_snapshot_is_read_back_and_a_broken_one_is_an_error_that_names_the_run(run):
    snapshot = {"g_steps": 3, "d_steps": 3, "mode": "play"}
    files.snapshot_path(run).write_text(json.dumps(snapshot))
    assert files.read_snapshot(run) == snapshot
    files.snapshot_path(run).write_text('{"g_steps": 3, "d_')
    with pytest.raises(RunError, match=f"run {run.id}: "):
        files.read_snapshot(run)
