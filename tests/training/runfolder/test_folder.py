"""Run folders, the one place training, export and the app meet: names that cannot leave the runs
folder, metrics and health rows appended and cut back on resume, a dead process's 'running' reported
as failed."""
from __future__ import annotations

import os
import shutil

import pytest

from training.runfolder import files
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder, create_run, find_run, list_runs, sanitize_name
from training.runfolder.lock import RunLock


def test_a_new_run_has_its_folders_config_and_queued_status(tmp_path):
    run = create_run(tmp_path / "runs", "My Run!", {"steps": 7})
    assert run.id.startswith("my-run-") and run.path.parent == tmp_path / "runs"
    assert run.samples_dir.is_dir() and run.checkpoints_dir.is_dir()
    assert run.read_config() == {"steps": 7}
    status = run.read_status()
    assert status["state"] == "queued" and status["total_steps"] == 7 and status["updated"]
    again = create_run(tmp_path / "runs", "My Run!", {"steps": 7})  # the same second: a suffix, never a clash
    assert again.path != run.path and [r.id for r in list_runs(tmp_path / "runs")] == sorted([run.id, again.id])


@pytest.mark.parametrize("name,expected", [("../../etc", "etc"), ("a/b c", "a-b-c"), ("...", "run"), ("x" * 99, "x" * 64)])
def test_names_stay_one_folder_inside_the_runs_folder(name, expected):
    assert sanitize_name(name) == expected


def test_ids_cannot_climb_out_of_the_runs_folder(tmp_path):
    run = create_run(tmp_path / "runs", "inside", {})
    assert find_run(run.id, tmp_path / "runs") == run
    assert find_run(str(run.path)) == run  # a folder's path works from anywhere
    for ref in ("../inside", "no-such-run"):
        with pytest.raises(RunError):
            find_run(ref, tmp_path / "runs")


def test_metrics_skip_a_half_written_row_and_a_resume_truncates_the_rest(tmp_path):
    run = create_run(tmp_path, "metrics", {})
    for step in (1, 2, 3):
        run.append_metrics({"step": step})
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 4, "loss')  # a kill in the middle of a write
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3]
    run.truncate_metrics(2)
    assert [r["step"] for r in run.read_metrics()] == [1, 2]


@pytest.mark.parametrize("kind", ["metrics", "health"])
def test_both_jsonl_files_are_appended_read_and_cut_back_alike(tmp_path, kind):
    """metrics.jsonl and health.jsonl share one appender, one reader and one truncation."""
    run = create_run(tmp_path, kind, {})
    append, read, truncate = (getattr(run, f"{verb}_{kind}") for verb in ("append", "read", "truncate"))
    path = getattr(run, f"{kind}_path")
    truncate(5)
    assert not path.exists()  # nothing to cut back: no empty file made
    for step in (1, 2, 3):
        append({"step": step, "kind": "row"})
    with open(path, "a") as f:
        f.write("[1, 2]\n" + '{"step": 4, "kind": "ro')  # a line that is no object, then a torn one
    assert [r["step"] for r in read()] == [1, 2, 3]
    truncate(2)
    assert path.read_text() == '{"step": 1, "kind": "row"}\n{"step": 2, "kind": "row"}\n'
    shutil.rmtree(run.path)
    with pytest.raises(RunError, match=f"cannot write {path.name}: its folder .* no longer exists"):
        append({"step": 5})
    assert not run.path.exists()


def test_a_resume_cuts_back_a_metrics_file_larger_than_readers_read_and_keeps_its_head(tmp_path, monkeypatch):
    run = create_run(tmp_path, "long", {})
    for step in range(1, 101):
        run.append_metrics({"step": step, "loss_d": 0.5})
    monkeypatch.setattr(files, "ROWS_LIMIT", 500)  # readers see the tail of a file this large
    assert run.read_metrics()[0]["step"] > 1
    run.truncate_metrics(60)
    monkeypatch.undo()
    assert [row["step"] for row in run.read_metrics()] == list(range(1, 61))


def test_a_jsonl_file_that_cannot_be_read_is_not_cut_back(tmp_path):
    run = create_run(tmp_path, "unreadable", {})
    run.health_path.mkdir()  # read fails with an OSError that is not "no such file"
    assert run.read_health() == [] and run.read_metrics() == []
    with pytest.raises(RunError, match="unreadable: health.jsonl"):
        run.truncate_health(1)
    assert run.health_path.is_dir()


def test_a_dead_process_is_reported_as_failed(tmp_path):
    run = create_run(tmp_path, "dead", {})
    run.write_status(state="running", pid=2**22 + 12345)  # no such process
    assert run.read_status()["state"] == "running"  # the file says what the process last wrote
    live = run.live_status()
    assert live["state"] == "failed" and f"resume {run.id}" in live["message"]
    run.write_status(state="running", pid=os.getpid())  # alive, but not holding the run's lock: not its trainer
    assert run.live_status()["state"] == "failed"
    with RunLock.acquire(run):
        assert run.live_status()["state"] == "running"
    assert RunFolder(tmp_path / "missing").read_status()["state"] == "queued"  # no status yet


def test_a_run_has_a_uid_of_its_own_which_every_status_write_keeps(tmp_path):
    first, second = create_run(tmp_path, "a", {}), create_run(tmp_path, "a", {})
    uid = first.identity()["uid"]
    assert len(uid) == 16 and uid != second.identity()["uid"]
    first.write_status(state="running", step=3)
    assert first.identity() == {"id": first.id, "uid": uid}
    first.status_path.write_text('{"state": "stopped", "step": 1}')  # a status from before uids
    assert first.identity() == {"id": first.id, "uid": None}


def test_a_folder_or_file_linking_out_of_its_folder_is_not_listed_found_or_read(tmp_path):
    runs, elsewhere = tmp_path / "runs", create_run(tmp_path / "elsewhere", "theirs", {"secret": 1})
    mine = create_run(runs, "mine", {"steps": 1})
    (runs / "alias").symlink_to(elsewhere.path)
    assert [r.id for r in list_runs(runs)] == [mine.id]
    with pytest.raises(RunError, match="is a link to .*outside the runs folder"):
        find_run("alias", runs)
    for name in ("config.json", "status.json", "metrics.jsonl"):
        (mine.path / name).unlink(missing_ok=True)
        (mine.path / name).symlink_to(elsewhere.path / ("config.json" if name != "metrics.jsonl" else "status.json"))
    with pytest.raises(RunError, match="config.json leads outside the run folder"):
        mine.read_config()
    assert mine.read_status()["state"] == "unreadable" and "status.json leads outside" in mine.read_status()["message"]
    assert mine.read_metrics() == [] and "metrics.jsonl leads outside" in mine.read_metrics().unreadable
