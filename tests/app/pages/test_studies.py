"""The Studies page (app/pages/studies.py) through AppTest, on a real Optuna study in the runs folder's
sweeps.db: counts, the best trial, the trials table and its CSV download, both charts; none without a study."""
from __future__ import annotations

import io

import pandas as pd

from tests.app.studies import make_study
from tests.helpers import deferred_downloads, downloaded, new_app, no_errors


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


def test_without_a_study_the_page_says_how_to_start_one(app_env):
    at = new_app("app/pages/studies.py")
    no_errors(at)
    assert any("No studies yet" in i.value and "python -m training sweep" in i.value for i in at.info)


def test_the_trials_download_as_optunas_trials_dataframe(app_env, monkeypatch):
    study = make_study(app_env["runs"])
    made = deferred_downloads(monkeypatch)
    at = new_app("app/pages/studies.py")
    no_errors(at)
    csv = pd.read_csv(io.BytesIO(downloaded(at, "Trials CSV", made)))
    expected = study.trials_dataframe()
    assert list(csv.columns) == list(expected.columns)
    assert {"number", "value", "params_lr_g", "params_loss", "user_attrs_run", "state"} <= set(csv.columns)
    assert list(csv["number"]) == [0, 1, 2, 3] and list(csv["state"]) == ["COMPLETE", "COMPLETE", "PRUNED", "FAIL"]
    assert list(csv["value"][:2]) == [30.5, 12.25] and csv["value"][2:].isna().all()
    assert list(csv["params_lr_g"]) == list(expected["params_lr_g"])  # every digit
    table = at.dataframe[0].value
    assert table["trial"].dtype == "int64" and str(table["last_eval_step"].dtype) == "Int64"
