"""A run folder's files: replaced whole or not at all, JSON rows appended one at a time, and every
way a file can be unreadable named in one line."""
from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import time

import pytest

from training.runfolder import files
from training.runfolder.files import (DiskFull, RunError, UnreadableFile, append_row, atomic_write_json,
                                      read_json_object, read_rows, remove_temp_leftovers, rewrite_rows)


def test_files_are_replaced_whole_and_readable_by_others(tmp_path):
    path = tmp_path / "status.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # the app may run as another user
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary file left


def test_a_folder_deleted_in_the_middle_of_a_write_is_a_clear_error_and_not_made_again(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir()
    real_fsync = os.fsync

    def fsync_then_delete(fd):  # the app's Delete (shutil.rmtree) between our write and our rename
        real_fsync(fd)
        shutil.rmtree(folder)

    monkeypatch.setattr(os, "fsync", fsync_then_delete)
    with pytest.raises(RunError, match="no longer exists"):
        atomic_write_json(folder / "status.json", {"a": 1})
    assert not folder.exists()


def test_a_json_object_is_read_and_everything_else_is_named(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"steps": 3}')
    assert read_json_object(path) == {"steps": 3}
    for text, why in (("", "is empty"), ("{", "not valid JSON"), ("[1]", "is a JSON list, not an object"),
                      ("[" * 100_000, "nests more than 64 levels deep")):
        path.write_text(text)
        with pytest.raises(UnreadableFile, match=why):
            read_json_object(path)
    with pytest.raises(FileNotFoundError):  # missing is not unreadable: the caller decides what it means
        read_json_object(tmp_path / "absent.json")


def test_rows_are_appended_and_read_back_with_each_bad_line_named(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_row(path, {"step": 1, "loss_d": 0.5})
    append_row(path, {"step": 2, "loss_d": 0.4})
    with open(path, "a") as f:
        f.write('[1]\n{"step": "x"}\nnot json\n{"step": 3, "loss_d": 0.3}\n{"step": 4, "lo')
    rows = read_rows(path)
    assert [row["step"] for row in rows] == [1, 2, 3]  # the torn last line is being written: passed over quietly
    assert rows.skipped == ["line 3: a JSON list, not an object", "line 4: 'step' is 'x', not a whole number",
                            "line 5: not valid JSON"]
    assert read_rows(tmp_path / "absent.jsonl") == [] and read_rows(tmp_path / "absent.jsonl").unreadable is None


def test_a_row_for_a_folder_that_is_gone_is_a_clear_error_and_no_folder_is_made(tmp_path):
    with pytest.raises(RunError, match="no longer exists"):
        append_row(tmp_path / "deleted-run" / "metrics.jsonl", {"step": 1})
    assert not (tmp_path / "deleted-run").exists()


def test_a_pipe_or_a_folder_where_a_run_file_should_be_is_named_and_never_waited_for(tmp_path):
    os.mkfifo(tmp_path / "status.json")
    os.mkfifo(tmp_path / "metrics.jsonl")
    with pytest.raises(UnreadableFile, match="unreadable: status.json is a named pipe, not a regular file"):
        read_json_object(tmp_path / "status.json")
    rows = read_rows(tmp_path / "metrics.jsonl")
    assert rows == [] and rows.unreadable.startswith("unreadable: metrics.jsonl is a named pipe")


def test_a_huge_jsonl_file_is_read_from_its_tail_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "ROWS_LIMIT", 1000)
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": i, "loss_d": 0.5}) + "\n" for i in range(200)))
    rows = read_rows(path)
    assert 0 < len(rows) < 200 and rows[-1]["step"] == 199 and all(r["loss_d"] == 0.5 for r in rows)
    assert [r["step"] for r in rows] == list(range(200 - len(rows), 200))  # whole rows only, in order
    assert len(rows.skipped) == 1 and "not read (only the last" in rows.skipped[0]


def test_rows_are_cut_back_line_by_line_whatever_the_file_size(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "LINE_LIMIT", 100)
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": i}) + "\n" for i in range(1, 6)) + "x" * 500 + "\n"
                    + "[" * 50 + "\n" + json.dumps({"step": 6}) + "\n" + '{"step": 7, "lo')
    rewrite_rows(path, lambda row: row["step"] <= 6)
    assert path.read_text().splitlines() == [json.dumps({"step": i}) for i in range(1, 7)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]


def _no_space(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_is_one_line_saying_how_much_is_free_and_the_old_file_stays(tmp_path, monkeypatch):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    atomic_write_json(run / "checkpoints" / "last.json", {"step": 5})
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(DiskFull) as caught:
        atomic_write_json(run / "checkpoints" / "last.json", {"step": 10})
    message = str(caught.value)
    assert message.startswith(f"the disk is full: ") and f"MB free in {run / 'checkpoints'}" in message
    assert "free space and resume (`python -m training resume run`" in message
    assert json.loads((run / "checkpoints" / "last.json").read_text()) == {"step": 5}
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["last.json"]  # no temporary file left
    with pytest.raises(DiskFull, match="free space and run the command again"):
        atomic_write_json(tmp_path / "report.json", {})


def test_a_row_that_finds_the_disk_full_is_one_line(tmp_path, monkeypatch):
    real_open = open

    class FullDisk:
        def __init__(self, *args, **kwargs):
            self.file = real_open(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("builtins.open", FullDisk)
    with pytest.raises(DiskFull, match=f"the disk is full: .* MB free in {tmp_path}; free space and run the command"):
        append_row(tmp_path / "metrics.jsonl", {"step": 1})


def test_leftovers_of_killed_writes_are_removed_and_nothing_else(tmp_path):
    old = time.time() - 3600
    leftovers = [".last.pt.k3j_x9q2.tmp", ".status.json.abcdefgh.tmp", ".generator.onnx.4711.tmp"]
    kept = ["last.pt", "notes.tmp", ".hidden", ".status.json.tmp", "status.json"]
    for name in leftovers + kept:
        (tmp_path / name).write_bytes(b"x" * 10)
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".card.json.fresh123.tmp").write_bytes(b"being written")  # another process's write in progress
    removed = remove_temp_leftovers(tmp_path)
    assert sorted(p.name for p, _ in removed) == sorted(leftovers) and {size for _, size in removed} == {10}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + [".card.json.fresh123.tmp"])
    assert [p.name for p, _ in remove_temp_leftovers(tmp_path, min_age_s=0)] == [".card.json.fresh123.tmp"]
