"""app/study_view.py: what the Studies page reads of an Optuna study (its rows, the best trial, whether
trials are under way) and its two charts, on a real study in a runs folder's sweeps.db."""
from __future__ import annotations

import optuna
from optuna.trial import TrialState, create_trial

from app import study_view
from tests.app.studies import DISTRIBUTIONS, make_study


def test_the_charts_hold_the_trials(app_env):
    study = make_study(app_env["runs"])
    objective = study_view.objective_figure(study)
    traces = {t.name: t for t in objective.data}
    assert list(traces["complete"].y) == [30.5, 12.25] and list(traces["pruned"].y) == [80.0]
    assert list(traces["best so far"].y) == [30.5, 12.25]
    parallel = study_view.parallel_figure(study).data[0]
    dims = {d.label: d for d in parallel.dimensions}
    assert list(dims) == ["lr_g", "loss", "FID"] and list(dims["FID"].values) == [30.5, 12.25]
    assert list(dims["loss"].ticktext) == ["hinge", "non-saturating"] and list(dims["loss"].values) == [0, 1]


def test_a_study_is_found_by_name_in_the_runs_folder_and_read_back(app_env):
    runs = app_env["runs"]
    assert study_view.names(runs) == []                           # no sweeps.db yet: nothing, no error
    make_study(runs, "first")
    make_study(runs, "second")
    assert study_view.database(runs) == runs / "sweeps.db"
    assert sorted(study_view.names(runs)) == ["first", "second"]
    assert len(study_view.load(runs, "second").get_trials()) == 4


def test_each_trial_is_one_row_with_its_state_result_and_last_evaluation(app_env):
    rows = study_view.trial_rows(make_study(app_env["runs"]))
    assert [r["trial"] for r in rows] == [0, 1, 2, 3]
    assert [r["state"] for r in rows] == ["complete", "complete", "pruned", "failed"]
    assert [r["fid"] for r in rows] == [30.5, 12.25, None, None]              # a result only when complete
    assert [(r["last_eval_step"], r["last_eval_fid"]) for r in rows] == [(20, 30.5), (20, 12.25), (10, 80.0), (None, None)]
    assert [r["run"] for r in rows] == ["demo-t0-x", "demo-t1-x", "demo-t2-x", ""]
    assert rows[1]["lr_g"] == 5e-4 and rows[1]["loss"] == "non-saturating"   # the parameters as columns


def test_the_best_trial_is_the_lowest_fid_and_running_trials_mean_under_way(app_env):
    study = make_study(app_env["runs"])
    assert study_view.best(study).number == 1
    assert not study_view.under_way(study)
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=3.0, params={"lr_g": 1e-4, "loss": "hinge"},
                                 distributions=DISTRIBUTIONS))
    assert study_view.best(study).number == 4
    study.enqueue_trial({"lr_g": 1e-4, "loss": "hinge"})                    # a waiting trial: the page keeps refreshing
    assert study_view.under_way(study)


def test_before_the_first_complete_trial_there_is_no_parallel_chart():
    study = optuna.create_study()                                         # in memory: the figures read any study
    study.add_trial(create_trial(state=TrialState.PRUNED, params={"lr_g": 1e-3, "loss": "hinge"},
                                 distributions=DISTRIBUTIONS, intermediate_values={10: 80.0}))
    assert study_view.parallel_figure(study) is None and study_view.best(study) is None
    traces = {t.name: t for t in study_view.objective_figure(study).data}
    assert list(traces["pruned"].y) == [80.0] and list(traces["best so far"].y) == []
