"""The Runs page through AppTest (the table, overlay and deletion of a real run are in test_train.py):
a failed run's log, and a real run's metrics as a table and a CSV download of every row."""
from __future__ import annotations

import io

import pandas as pd

from training.runfolder.folder import create_run

from tests.helpers import assert_frame_holds, deferred_downloads, downloaded, image_folder, new_app, no_errors, tiny_run


def test_a_failed_run_shows_the_tail_of_its_log(app_env):
    run = create_run(app_env["runs"], "broken", {"preset": "dcgan-mnist", "dataset": "mnist", "steps": 10})
    run.write_status(state="failed", step=3, message="RuntimeError: out of memory")
    run.log_path.write_text("line one\nTraceback (most recent call last):\nRuntimeError: out of memory\n")
    at = new_app("app/pages/runs.py")
    assert not at.exception
    assert "failed" in at.error[0].value and "out of memory" in at.error[0].value
    assert any("RuntimeError: out of memory" in c.value for c in at.code)


def test_a_runs_metrics_show_as_a_table_and_download_as_a_csv_of_every_row(app_env, monkeypatch):
    run = tiny_run(app_env["runs"], image_folder(app_env["tmp"] / "images", 16))
    rows = run.read_metrics()
    made = deferred_downloads(monkeypatch)
    at = new_app("app/pages/runs.py")
    no_errors(at)
    runs_table = at.dataframe[0].value
    assert list(runs_table["run"]) == [run.id] and runs_table["step"].dtype == "int64"
    assert isinstance(runs_table.loc[0, "updated"], pd.Timestamp)  # a time, shown as one

    csv = pd.read_csv(io.BytesIO(downloaded(at, "Metrics CSV", made)))
    assert_frame_holds(csv, rows)  # every row, every column, every digit
    assert list(csv["kind"]) == [row.get("kind", "train") for row in rows]

    assert len(at.dataframe) == 1  # the metrics table waits to be asked for
    at.toggle(key=f"metrics-table-runs-{run.id}").set_value(True).run()
    no_errors(at)
    metrics = at.dataframe[1].value
    assert len(metrics) == len(rows) and metrics["step"].dtype == "int64"
    assert list(metrics.columns[:4]) == ["step", "kind", "epoch", "time"]
