"""What the Studies page shows of an Optuna study: its trials as rows, the objective over the trials,
and a parallel-coordinates chart of the parameters against FID. Torch-free; reads only."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState

from studio.files import inside
from training.sweep.study import DB_NAME, open_read_only, study_names

STATE_NAMES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
               TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}


def database(runs: Path) -> Path:
    return Path(runs) / DB_NAME


def own_database(runs: Path) -> Path:
    """The runs folder's sweeps.db; FileRefused when it is a link leading out of the runs folder (the
    app reads only its own files: another user's database is not its studies)."""
    path = database(runs)
    if path.is_symlink():
        inside(path, runs, what="the studies database")
    return path


def names(runs: Path) -> list[str]:
    path = own_database(runs)
    return study_names(open_read_only(path)) if path.is_file() else []


def load(runs: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_read_only(own_database(runs)))


def last_report(trial: FrozenTrial) -> tuple[int | None, float | None]:
    """The step and FID of a trial's latest live evaluation."""
    if not trial.intermediate_values:
        return None, None
    step = max(trial.intermediate_values)
    return step, trial.intermediate_values[step]


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One row a trial, in trial order: its state, FID (the result, or the last evaluation so far),
    its run folder and its parameters."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        step, last = last_report(t)
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append({"trial": t.number, "state": STATE_NAMES.get(t.state, t.state.name.lower()),
                     "fid": t.value if t.state == TrialState.COMPLETE else None, "last_eval_fid": last,
                     "last_eval_step": step, "run": t.user_attrs.get("run", ""),
                     "minutes": round(seconds / 60, 2) if seconds is not None else None, **t.params})
    return rows


def under_way(study: optuna.Study) -> bool:
    return any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in study.get_trials(deepcopy=False))


def best(study: optuna.Study) -> FrozenTrial | None:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return min(done, key=lambda t: t.value) if done else None


def objective_figure(study: optuna.Study) -> go.Figure:
    """FID of each complete trial, the last evaluation of each pruned one, and the best so far."""
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    pruned = [(t.number, last_report(t)[1]) for t in trials if t.state == TrialState.PRUNED and t.intermediate_values]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[t.number for t in done], y=[t.value for t in done], mode="markers", name="complete"))
    if pruned:
        fig.add_trace(go.Scatter(x=[n for n, _ in pruned], y=[v for _, v in pruned], mode="markers", name="pruned",
                                 marker=dict(symbol="x", color="gray")))
    xs, ys, low = [], [], float("inf")
    for t in sorted(done, key=lambda t: t.number):
        low = min(low, t.value)
        xs.append(t.number)
        ys.append(low)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="best so far", line=dict(shape="hv")))
    fig.update_layout(title=dict(text="FID over the trials (lower is better)", font=dict(size=14)), height=320,
                      xaxis_title="trial", yaxis_title="FID", margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _dimension(label: str, values: list[Any]) -> dict[str, Any]:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return dict(label=label, values=values)
    categories = sorted({str(v) for v in values})
    return dict(label=label, values=[categories.index(str(v)) for v in values],
                tickvals=list(range(len(categories))), ticktext=[c or "(none)" for c in categories])


def parallel_figure(study: optuna.Study) -> go.Figure | None:
    """Every complete trial as a line through its parameters to its FID; None before the first."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return None
    params = list(dict.fromkeys(name for t in done for name in t.params))
    dimensions = [_dimension(name, [t.params.get(name, "") for t in done]) for name in params]
    fids = [t.value for t in done]
    dimensions.append(dict(label="FID", values=fids))
    fig = go.Figure(go.Parcoords(line=dict(color=fids, colorscale="Viridis_r", showscale=True), dimensions=dimensions))
    # the title sits in the left margin's corner, clear of the axis labels above the plot
    fig.update_layout(title=dict(text="Parameters against FID", font=dict(size=14), y=0.99, yanchor="top"),
                      height=420, margin=dict(l=60, r=40, t=100, b=20))
    return fig
