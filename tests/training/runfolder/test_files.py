"""A run folder's files: replaced whole or not at all, JSON rows appended one at a time, and every
way a file can be unreadable named in one line."""
from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from training.runfolder.files import (RunError, UnreadableFile, append_row, atomic_write_json, read_json_object,
                                      read_rows)


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
                      ("[" * 100_000, "not valid JSON")):
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
