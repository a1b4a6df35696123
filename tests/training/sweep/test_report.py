"""training/sweep/report.py: `sweep --report`'s table of the best trials and where the study stands,
and the best trial's config as a file `train --config` takes. On a study of made-up trials."""
from __future__ import annotations

import pytest
import yaml

from training import config as configs
from training.sweep.report import best_config, config_text, format_value, report, table, trial_rows
from training.sweep.study import StudyError

from tests.training.sweep.common import made_up_study


def test_the_report_counts_every_state_and_ranks_complete_trials_by_fid(tmp_path):
    text = report(made_up_study(tmp_path, fids=(30.5, 12.25, 20.0), pruned=1, failed=2))
    lines = text.splitlines()
    assert lines[0] == "study made-up: 3 complete, 1 pruned, 2 failed, 0 running, 0 waiting (of 5 trials)"
    assert lines[1] == "best 3 by FID (lower is better):"
    assert lines[2].split() == ["rank", "trial", "fid", "run", "lr_g", "augment"]
    assert [line.split()[:4] for line in lines[3:]] == [["1", "1", "12.25", "run-1"], ["2", "2", "20", "run-2"],
                                                         ["3", "0", "30.5", "run-0"]]


def test_top_keeps_the_best_only(tmp_path):
    study = made_up_study(tmp_path, fids=(30.5, 12.25, 20.0))
    assert [r["trial"] for r in trial_rows(study, 2)] == [1, 2]
    assert report(study, top=1).splitlines()[1] == "best 1 by FID (lower is better):"


def test_a_study_without_a_complete_trial_says_so(tmp_path):
    study = made_up_study(tmp_path, fids=(), pruned=2)
    assert report(study).splitlines()[1] == "no complete trial yet."
    with pytest.raises(StudyError, match="study made-up has no complete trial yet: nothing to write"):
        best_config(study)


def test_the_table_aligns_columns_and_leaves_missing_cells_empty():
    text = table([{"rank": 1, "lr_g": 0.000123456, "augment": "translation"}, {"rank": 10, "extra": True}])
    assert text.splitlines() == ["rank  lr_g       augment      extra",
                                 "1     0.0001235  translation",
                                 "10                            True"]
    assert format_value(12.3456789) == "12.35" and format_value(3) == "3" and format_value("") == ""


def test_the_best_config_is_the_base_with_the_winners_parameters_and_trains_as_it_is(tmp_path):
    study = made_up_study(tmp_path, fids=(30.5, 12.25, 20.0))
    values, header = best_config(study)
    assert values["lr_g"] == pytest.approx(2e-4) and values["augment"] == "translation"
    assert (values["sweep_study"], values["sweep_trial"], values["steps"]) == ("made-up", 1, 20)
    assert header.startswith("# The best trial of study made-up: trial 1, FID 12.2500 at its budget of 20 steps "
                             "(the trainer's live evaluation, 100 samples), run run-1.\n")
    path = tmp_path / "best.yaml"
    path.write_text(config_text(values, header))
    assert yaml.safe_load(path.read_text()) == values  # the comment lines are comments
    config = configs.resolve(None, config_file=path)
    assert config.lr_g == pytest.approx(2e-4) and config.sweep_trial == 1 and config.g_width == 16
