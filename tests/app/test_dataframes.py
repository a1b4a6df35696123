"""app/dataframes.py: the Runs table's frame (steps whole, 'updated' a UTC time), the formats each column
of numbers gets, and CSV bytes that read back to the frame."""
from __future__ import annotations

import io

import pandas as pd

from app import dataframes
from app.summaries import run_summary
from training.runfolder.folder import RunFolder, create_run
from training.runfolder.tables import rows_frame


def test_the_runs_frame_has_whole_steps_and_utc_times(tmp_path):
    done = create_run(tmp_path, "done", {"preset": "dcgan-mnist", "dataset": "mnist", "steps": 100})
    done.write_status(state="finished", step=100, total_steps=100)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{")  # a run whose files cannot be read still has a row
    frame = dataframes.runs_frame([run_summary(done), run_summary(RunFolder(tmp_path / "broken"))])
    assert list(frame.columns[:3]) == ["run", "state", "preset"]
    assert frame["step"].dtype == "int64"
    assert str(frame["steps"].dtype) == "Int64" and frame.loc[0, "steps"] == 100 and pd.isna(frame.loc[1, "steps"])
    assert str(frame["updated"].dt.tz) == "UTC" and frame.loc[0, "updated"].year >= 2026
    assert pd.isna(frame.loc[1, "updated"])  # no status yet: no time, not a made-up one
    assert frame.loc[1, "problem"]


def test_every_column_of_numbers_gets_a_format_and_named_ones_their_own():
    frame = rows_frame([{"step": 10, "epoch": 1, "loss_d": 0.69314718, "images_per_s": 1234.5, "best": True,
                         "kind": "eval"}])
    formats = dataframes.column_formats(frame, dataframes.metrics_columns())
    assert formats["step"]["type_config"]["format"] == formats["epoch"]["type_config"]["format"] == "%d"
    assert formats["loss_d"]["type_config"]["format"] == "%.4g"
    assert formats["images_per_s"]["label"] == "images/s"
    assert "best" not in formats and "kind" not in formats  # a flag and text show as they are


def test_csv_bytes_read_back_to_the_frame():
    frame = rows_frame([{"step": 1, "loss": 0.1 + 0.2, "note": "a, \"quoted\" text"}, {"step": 2, "loss": None}])
    back = pd.read_csv(io.BytesIO(dataframes.csv_bytes(frame)))
    assert list(back["step"]) == [1, 2] and back.loc[0, "loss"] == 0.1 + 0.2 and pd.isna(back.loc[1, "loss"])
    assert back.loc[0, "note"] == 'a, "quoted" text'
