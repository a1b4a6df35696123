"""training/runfolder/tables.py: a real run's metrics.jsonl and health.jsonl as DataFrames, one row per
JSON row, every key a column, types that follow the values, and a CSV of the frame that reads back
to the very rows."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from training.runfolder.files import RunError
from training.runfolder.folder import create_run
from training.runfolder.health_log import HealthLog
from training.runfolder.tables import health_frame, metrics_frame

from tests.helpers import assert_frame_holds, image_folder, small_config, tiny_run

# D sure of itself on every row: a finding after health_sustain steps (tests/training/runfolder/test_health_log.py)
SURE = {"loss_d": 0.01, "loss_g": 6.0, "d_real": 0.99, "d_fake": 0.001}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real 10-step run with an evaluation row (as Trainer.evaluate writes one) appended."""
    tmp = tmp_path_factory.mktemp("tables")
    run = tiny_run(tmp / "runs", image_folder(tmp / "images", 16))
    run.append_metrics({"kind": "eval", "step": 10, "epoch": 5, "time": 1.25, "fid": 41.5, "kid": None,
                        "n_generated": 200, "reference": "folder (16)", "best": True, "eval_seconds": 0.5})
    return run


def test_every_metrics_row_is_a_row_and_every_key_a_column(trained):
    rows = trained.read_metrics()
    frame = metrics_frame(trained.path)
    assert len(frame) == len(rows) == 10 + 2 + 1  # ten training rows, the grids of steps 0 and 10, the eval row
    assert set(frame.columns) == {key for row in rows for key in row} | {"kind"}
    assert list(frame.columns[:4]) == ["step", "kind", "epoch", "time"]
    assert_frame_holds(frame, [{**dict.fromkeys(frame.columns), "kind": "train", **row} for row in rows])


def test_columns_take_the_type_of_their_values(trained):
    frame = metrics_frame(trained)
    assert frame["step"].dtype == "int64"
    assert str(frame["epoch"].dtype) == "Int64"        # whole numbers, missing on the grids' rows
    assert str(frame["n_generated"].dtype) == "Int64"
    assert str(frame["best"].dtype) == "boolean"
    assert frame["loss_d"].dtype == "float64" and frame["kid"].isna().all()
    assert pd.api.types.is_string_dtype(frame["kind"]) and pd.api.types.is_string_dtype(frame["reference"])


def test_the_csv_of_the_frame_reads_back_to_every_row(trained):
    rows = trained.read_metrics()
    back = pd.read_csv(io.BytesIO(metrics_frame(trained).to_csv(index=False).encode()))
    assert_frame_holds(back, rows)  # floats to the last digit: pandas writes them exactly


def test_health_events_with_their_evidence_and_remedies(tmp_path):
    config = small_config(steps=50, health_warmup=2, health_sustain=4).to_dict()
    run = create_run(tmp_path, "h", config)
    health = HealthLog(run, config)
    for step in range(1, 9):
        health.observe({"step": step, **SURE})
    health.observe({"step": 9, "loss_d": 1.2, "loss_g": 0.8, "d_real": 0.6, "d_fake": 0.4})
    events = run.read_health()
    frame = health_frame(run)
    assert list(frame["event"]) == ["found", "cleared"] and list(frame["step"]) == [2, 9]
    assert list(frame.columns[:4]) == ["step", "event", "kind", "title"]
    assert json.loads(frame.loc[0, "remedies"]) == events[0]["remedies"]  # lists and mappings as their JSON
    assert json.loads(frame.loc[0, "evidence"]) == events[0]["evidence"]
    assert frame.loc[1, "began"] == 2 and pd.isna(frame.loc[0, "began"])


def test_a_run_without_rows_gives_an_empty_frame_and_no_folder_an_error(tmp_path):
    run = create_run(tmp_path, "empty", small_config().to_dict())
    assert metrics_frame(run).empty and list(metrics_frame(run).columns) == ["step"]
    assert health_frame(run).empty
    with pytest.raises(RunError, match="no run folder at"):
        metrics_frame(tmp_path / "missing")
