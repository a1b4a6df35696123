"""The app's tables as pandas DataFrames with their column formats (st.column_config), and their CSV
downloads: the Runs table, a run's metrics (training.runfolder.tables), a study's trials."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import pandas as pd
import streamlit as st

from training.runfolder.tables import rows_frame

INTEGER = "%d"
FIGURE = "%.4g"  # four significant digits: a loss of 0.6931, a gradient norm of 0.0001234, 2,351 images/s

RUNS_FIRST = ("run", "state", "preset", "dataset", "model", "loss", "step", "steps", "time_min", "best_fid", "health",
              "exported", "updated", "problem")


def runs_columns() -> dict[str, Any]:
    return {
        "step": st.column_config.NumberColumn("step", format=INTEGER),
        "steps": st.column_config.NumberColumn("of steps", format=INTEGER),
        "time_min": st.column_config.NumberColumn("time (min)", format="%.1f", help="training time, evaluations aside"),
        "best_fid": st.column_config.NumberColumn("best FID", format="%.2f", help="lower is better"),
        "exported": st.column_config.CheckboxColumn("ONNX"),
        "updated": st.column_config.DatetimeColumn("updated (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "problem": st.column_config.TextColumn("problem", help="a file of the run that cannot be read"),
    }


def metrics_columns() -> dict[str, Any]:
    """The columns of a metrics table with a label or format of their own; every other number is a FIGURE."""
    return {
        "time": st.column_config.NumberColumn("time (s)", format="%.1f", help="training time at the row's step"),
        "images_per_s": st.column_config.NumberColumn("images/s", format="%.0f"),
        "eval_seconds": st.column_config.NumberColumn("eval (s)", format="%.1f"),
    }


def trials_columns() -> dict[str, Any]:
    return {
        "trial": st.column_config.NumberColumn("trial", format=INTEGER),
        "fid": st.column_config.NumberColumn("FID", format="%.3f", help="the result: FID at the budget"),
        "last_eval_fid": st.column_config.NumberColumn("last eval FID", format="%.3f"),
        "last_eval_step": st.column_config.NumberColumn("at step", format=INTEGER),
        "minutes": st.column_config.NumberColumn("minutes", format="%.1f"),
    }


def runs_frame(summaries: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The Runs table (app.summaries.run_summary's rows), 'updated' as a UTC time."""
    frame = rows_frame(summaries, RUNS_FIRST)
    if "updated" in frame:
        frame["updated"] = pd.to_datetime(frame["updated"].replace("", None), utc=True, errors="coerce",
                                          format="ISO8601")
    return frame


def trials_frame(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The trials table (app.study_view.trial_rows' rows)."""
    return rows_frame(rows, ("trial",))


def column_formats(frame: pd.DataFrame, named: Mapping[str, Any]) -> dict[str, Any]:
    """``named``'s formats for the columns it names, and for every other column of numbers: whole
    numbers as such (steps, epochs, counts), the rest to four significant digits."""
    formats = {}
    for column in frame.columns:
        if column in named:
            formats[column] = named[column]
        elif pd.api.types.is_bool_dtype(frame[column]):
            continue
        elif pd.api.types.is_integer_dtype(frame[column]):
            formats[column] = st.column_config.NumberColumn(column, format=INTEGER)
        elif pd.api.types.is_float_dtype(frame[column]):
            formats[column] = st.column_config.NumberColumn(column, format=FIGURE)
    return formats


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as CSV (UTF-8, a header, no index): floats written to their last digit."""
    return frame.to_csv(index=False).encode("utf-8")


def csv_download(label: str, make_frame: Callable[[], pd.DataFrame], file_name: str, key: str, help: str) -> None:
    """A download button whose CSV is made when it is clicked, not at every rerun of a live view."""
    st.download_button(label, data=lambda: csv_bytes(make_frame()), file_name=file_name, mime="text/csv", key=key,
                       help=help, icon=":material/download:", on_click="ignore")
