"""The Studies page (app/pages/studies.py, app/study_view.py) through AppTest, on a real Optuna study in the
runs folder's sweeps.db: counts, the best trial, the trials table and both charts; none without a study."""
from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from app import study_view
from training.sweep.study import agreement, create_or_join, default_storage, open_storage

from tests.helpers import new_app, no_errors

DISTRIBUTIONS = {"lr_g": FloatDistribution(1e-5, 1e-3, log=True), "loss": CategoricalDistribution(["hinge", "non-saturating"])}


def make_study(runs, name="demo") -> optuna.Study:
    storage = open_storage(default_storage(runs), heartbeat_s=None)
    study = create_or_join(name, storage, agreement({"search": {}, "description": "a test study"}, {}, 4))
    for number, (lr, loss, value) in enumerate([(1e-4, "hinge", 30.5), (5e-4, "non-saturating", 12.25)]):
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=value, params={"lr_g": lr, "loss": loss},
                                     distributions=DISTRIBUTIONS, user_attrs={"run": f"{name}-t{number}-x"},
                                     intermediate_values={10: value + 5, 20: value}))
    study.add_trial(create_trial(state=TrialState.PRUNED, params={"lr_g": 1e-3, "loss": "hinge"},
                                 distributions=DISTRIBUTIONS, user_attrs={"run": f"{name}-t2-x"},
                                 intermediate_values={10: 80.0}))
    study.add_trial(create_trial(state=TrialState.FAIL, params={"lr_g": 2e-5, "loss": "hinge"},
                                 distributions=DISTRIBUTIONS))
    return study


def test_the_studies_page_shows_a_study(app_env):
    make_study(app_env["runs"])
    at = new_app("app/pages/studies.py")
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"results": "3 / 4", "complete": "2", "pruned": "1", "running": "0", "best FID": "12.250"}
    best = next(m.value for m in at.markdown if m.value.startswith("**Best so far:**"))
    assert "trial 1" in best and "demo-t1-x" in best and "loss = non-saturating" in best
    table = at.dataframe[0].value
    assert list(table["state"]) == ["complete", "complete", "pruned", "failed"]
    assert list(table["last_eval_fid"])[:3] == [30.5, 12.25, 80.0] and list(table["run"])[2] == "demo-t2-x"
    assert any(c.value == "a test study" for c in at.caption)
    assert len(at.get("plotly_chart")) == 2  # the objective over trials, and the parallel coordinates


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


def test_without_a_study_the_page_says_how_to_start_one(app_env):
    at = new_app("app/pages/studies.py")
    no_errors(at)
    assert any("No studies yet" in i.value and "python -m training sweep" in i.value for i in at.info)
