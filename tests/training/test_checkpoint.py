"""Checkpoints: last.pt, the kept step files and best.pt all written by one function, read back
with weights_only=True, and a missing or damaged file reported as such."""
from __future__ import annotations

import pytest
import torch

from training.checkpoint import (CheckpointError, checkpoint_file, load_checkpoint, owner_problem, predates_identity,
                                 save_checkpoint)
from training.runfolder.folder import create_run


@pytest.fixture
def run(tmp_path):
    return create_run(tmp_path / "runs", "ckpt", {"steps": 10})


def state(step: int) -> dict:
    return {"step": step, "generator": {"w": torch.full((2,), float(step))}}


def test_last_and_the_newest_step_files_are_kept(run):
    for step in (1, 2, 3, 4):
        assert save_checkpoint(run, state(step), step, keep=2) == run.last_checkpoint
    assert [p.name for p in run.checkpoints()] == ["step_0000003.pt", "step_0000004.pt"]
    assert load_checkpoint(run.last_checkpoint)["step"] == 4
    assert torch.equal(load_checkpoint(run.checkpoints()[0])["generator"]["w"], torch.full((2,), 3.0))


def test_keep_0_writes_last_only(run):
    save_checkpoint(run, state(5), 5, keep=0)
    assert run.last_checkpoint.exists() and run.checkpoints() == []


def test_best_is_written_alone_beside_last(run):
    save_checkpoint(run, state(2), 2, keep=3)
    path = save_checkpoint(run, state(3), 3, keep=3, which="best")
    assert path == checkpoint_file(run, "best") == run.checkpoints_dir / "best.pt"
    assert load_checkpoint(path)["step"] == 3
    assert load_checkpoint(run.last_checkpoint)["step"] == 2  # last.pt and the step files are untouched
    assert [p.name for p in run.checkpoints()] == ["step_0000002.pt"]
    assert not list(run.checkpoints_dir.glob(".*.tmp"))  # no temporary file left behind


def test_unknown_missing_and_damaged_checkpoints_are_named(run):
    with pytest.raises(CheckpointError, match="one of last, best"):
        checkpoint_file(run, "first")
    with pytest.raises(CheckpointError, match="has not saved one yet"):
        load_checkpoint(run.last_checkpoint)
    run.last_checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(run.last_checkpoint)


class Custom:
    pass


def test_only_plain_data_is_loaded(run):
    save_checkpoint(run, {"step": 1, "object": Custom()}, 1, keep=0)  # weights_only=True refuses to unpickle it
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(run.last_checkpoint)


def test_every_checkpoint_names_its_run_and_another_runs_is_told_apart(run, tmp_path):
    other = create_run(tmp_path / "runs", "ckpt", {"steps": 10})  # the same name and second: a suffix
    save_checkpoint(run, state(1), 1, keep=1)
    mine = load_checkpoint(run.last_checkpoint)
    assert mine["run"] == run.identity() and owner_problem(mine, run) is None
    assert "belongs to another run" in owner_problem(mine, other)
    old = state(1)  # written before checkpoints named their run: this run's, with a note
    assert owner_problem(old, other) is None and predates_identity(old)
    other.status_path.write_text('{"state": "stopped", "step": 1}')  # its uid lost: the folder name decides
    assert "belongs to another run" in owner_problem(mine, other)
    assert owner_problem({"run": {"id": other.id, "uid": mine["run"]["uid"]}}, other) is None


def test_a_checkpoint_that_links_out_of_its_run_or_is_a_pipe_is_refused_unread(run):
    import os

    run.last_checkpoint.symlink_to("/etc/passwd")
    with pytest.raises(CheckpointError, match="leads outside run ckpt-.*'s folder"):
        load_checkpoint(run.last_checkpoint, run=run)
    run.last_checkpoint.unlink()
    os.mkfifo(run.last_checkpoint)
    with pytest.raises(CheckpointError, match="is a named pipe, not a regular file"):
        load_checkpoint(run.last_checkpoint, run=run)
