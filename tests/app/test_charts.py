"""app/charts.py: which metrics.jsonl columns are charted, and how they are grouped."""
from __future__ import annotations

from app.charts import chart_groups, numeric_columns, overlay_figure, series

ROWS = [
    {"step": 5, "epoch": 0, "time": 1.0, "images_per_s": 900.0, "loss_d": 1.2, "loss_g": 0.7, "d_real": 0.6,
     "d_fake": 0.4, "grad_norm_g": 3.0, "grad_norm_d": 2.0, "ema": True, "kind": "train"},
    {"step": 10, "loss_d": 1.1, "loss_g": 0.8, "my_metric": 40.0, "note": "text"},
]


def test_numeric_columns_skip_bookkeeping_flags_and_text():
    assert numeric_columns(ROWS) == ["loss_d", "loss_g", "d_real", "d_fake", "grad_norm_g", "grad_norm_d", "my_metric"]


def test_known_groups_first_then_each_other_metric_alone():
    assert chart_groups(ROWS) == [("Losses", ["loss_d", "loss_g"]), ("D(x) and D(G(z))", ["d_real", "d_fake"]),
                                  ("Gradient norms", ["grad_norm_g", "grad_norm_d"]), ("my_metric", ["my_metric"])]


def test_series_keep_the_rows_that_have_the_column():
    assert series(ROWS, "my_metric") == ([10], [40.0])
    assert series(ROWS, "loss_g") == ([5, 10], [0.7, 0.8])
    figure = overlay_figure({"a": ROWS, "b": ROWS[:1]}, "loss_d")
    assert [trace.name for trace in figure.data] == ["a", "b"] and list(figure.data[1].x) == [5]
