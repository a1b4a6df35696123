"""Plotly charts of metrics.jsonl rows: known groups first, then any other numeric column
(evaluation metrics such as fid, kid_mean, precision, recall arrive later; ``evaluation.METRICS``
says which of them are charted and under what title)."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from evaluation.metrics import METRICS

GROUPS = [
    ("Losses", ("loss_d", "loss_g")),
    ("D(x) and D(G(z))", ("d_real", "d_fake")),
    ("Wasserstein estimate and penalties", ("wasserstein", "gradient_penalty", "gp", "r1_penalty", "r1")),
    ("Gradient norms", ()),  # every grad_norm_* column
    ("Sample grid variety (0: all alike)", ("grid_diversity",)),  # kind: samples rows (training/runfolder/health.py)
]
NOT_CHARTED = {"step", "epoch", "time", "images_per_s", "kind"} | {s.key for s in METRICS.scores() if not s.charted}
TITLES = {s.key: s.label for s in METRICS.charted()}


def numeric_columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                seen.setdefault(key, None)
    return [k for k in seen if k not in NOT_CHARTED]


def chart_groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """[(title, columns)] for the columns present; each leftover metric gets its own chart."""
    columns = numeric_columns(rows)
    groups, used = [], set()
    for title, names in GROUPS:
        present = [c for c in columns if c.startswith("grad_norm")] if not names else \
            [c for c in names if c in columns]
        if present:
            groups.append((title, present))
            used.update(present)
    groups += [(TITLES.get(c, c), [c]) for c in columns if c not in used]
    return groups


def line_chart(title: str, series: dict[str, tuple[list, list]], height: int = 260) -> go.Figure:
    fig = go.Figure()
    for name, (x, y) in series.items():
        # sparse series (evaluation rows) read better with markers
        mode = "lines+markers" if len(x) < 30 else "lines"
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode=mode))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


def series(rows: list[dict[str, Any]], column: str) -> tuple[list, list]:
    xs, ys = [], []
    for row in rows:
        value = row.get(column)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and "step" in row:
            xs.append(row["step"])
            ys.append(value)
    return xs, ys


def run_figures(rows: list[dict[str, Any]], markers: list[dict[str, Any]] = ()) -> list[go.Figure]:
    """The run's charts; each marker (``step``, ``label``, ``columns``: a health finding, see
    app/health_view.py) is a dotted line at its step on the charts of its columns, or on the first
    chart when none shows them."""
    groups = chart_groups(rows)
    figures = [line_chart(title, {c: series(rows, c) for c in cols}) for title, cols in groups]
    for marker in markers:
        hits = [fig for fig, (_, cols) in zip(figures, groups) if set(cols) & set(marker["columns"])]
        for fig in hits or figures[:1]:
            fig.add_vline(x=marker["step"], line_dash="dot", line_color="crimson", line_width=1.5,
                          annotation_text=f"{marker['label']} (step {marker['step']})", annotation_font_size=10,
                          annotation_font_color="crimson")
    return figures


def overlay_figure(runs_rows: dict[str, list[dict[str, Any]]], column: str) -> go.Figure:
    return line_chart(column, {run_id: series(rows, column) for run_id, rows in runs_rows.items()}, height=380)
