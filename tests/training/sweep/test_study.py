"""training/sweep/study.py: Optuna storages as GAN Studio opens them (SQLite beside the runs, a server
URL without its password in messages, read-only for the app), the terms every worker of a study must
share, and the counts a study's report is made of."""
from __future__ import annotations

import optuna
import pytest

from training.cli.main import main
from training.runfolder.folder import list_runs
from training.sweep import study as studies
from training.sweep.study import StudyError

from tests.training.sweep.common import made_up_study, write_space

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


def test_the_default_storage_is_a_sqlite_file_beside_the_runs_with_its_claim_lock(tmp_path):
    url = studies.default_storage(tmp_path / "runs")
    assert url == f"sqlite:///{tmp_path / 'runs' / 'sweeps.db'}"
    assert studies.claim_file(url) == tmp_path / "runs" / "sweeps.db.claim"
    assert studies.claim_file("postgresql://u:p@db/studies") is None  # a server locks for itself
    read_only = studies.sqlite_url(tmp_path / "a b" / "sweeps.db", read_only=True)
    assert read_only == f"sqlite:///file:{tmp_path}/a%20b/sweeps.db?mode=ro&uri=true"
    assert studies.claim_file(read_only) is None


def test_opening_a_new_sqlite_storage_makes_its_folder(tmp_path):
    storage = studies.open_storage(studies.default_storage(tmp_path / "new" / "runs"), heartbeat_s=None)
    assert (tmp_path / "new" / "runs" / "sweeps.db").is_file() and studies.study_names(storage) == []


def test_passwords_never_reach_a_message():
    assert studies.redact("postgresql://gan:s3cret@db.example:5432/studies") == "postgresql://***@db.example:5432/studies"
    assert studies.redact("sqlite:////tmp/runs/sweeps.db") == "sqlite:////tmp/runs/sweeps.db"
    with pytest.raises(StudyError) as caught:
        studies.open_storage("postgresql://gan:s3cret@127.0.0.1:1/studies", heartbeat_s=None)
    assert "s3cret" not in str(caught.value) and "postgresql://***@127.0.0.1:1/studies" in str(caught.value)


def test_the_app_reads_a_study_without_writing_anything(tmp_path):
    made_up_study(tmp_path / "runs")
    before = sorted(p.name for p in (tmp_path / "runs").iterdir())
    study = optuna.load_study(study_name="made-up", storage=studies.open_read_only(tmp_path / "runs" / "sweeps.db"))
    assert studies.results(study) == 4
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == before


def test_the_terms_leave_out_what_may_differ_between_machines():
    terms = studies.agreement({"search": {"lr_g": [1, 2]}}, {"lr_g": 1e-4, "data_root": "/data", "device": "cuda",
                                                              "augment": ("a", "b")}, 7)
    assert terms == {"space": {"search": {"lr_g": [1, 2]}}, "base": {"lr_g": 1e-4, "augment": ["a", "b"]}, "trials": 7}


def test_a_study_is_joined_only_on_the_same_terms(tmp_path):
    storage = studies.open_storage(studies.default_storage(tmp_path), heartbeat_s=None)
    terms = studies.agreement({"s": 1}, {"lr_g": 1e-4}, 4)
    first = studies.create_or_join("s", storage, terms)
    assert first.user_attrs == terms
    assert studies.create_or_join("s", storage, terms).study_name == "s"
    with pytest.raises(StudyError, match=r"study 's' was started with another number of trials: .*\(it has 4\)"):
        studies.create_or_join("s", storage, studies.agreement({"s": 1}, {"lr_g": 1e-4}, 5))
    with pytest.raises(StudyError, match="another base config"):
        studies.create_or_join("s", storage, studies.agreement({"s": 1}, {"lr_g": 2e-4}, 4))


def test_a_worker_with_another_space_cannot_join_a_study(tmp_path, capsys):
    runs = tmp_path / "runs"
    first = write_space(tmp_path / "a.yaml", fixed=dict(steps=10))
    assert main(["sweep", "--space", str(first), "--runs-dir", str(runs), "--study", "s", "--trials", "1"]) == 0
    other = write_space(tmp_path / "b.yaml", fixed=dict(steps=10), search={"lr_d": {"low": 1e-4, "high": 1e-3}})
    assert main(["sweep", "--space", str(other), "--runs-dir", str(runs), "--study", "s", "--trials", "1"]) == 2
    assert "study 's' was started with another search space" in capsys.readouterr().err
    assert len(list(list_runs(runs))) == 1


def test_a_missing_study_is_named_with_the_ones_there_are(tmp_path):
    made_up_study(tmp_path, name="b-study")
    made_up_study(tmp_path, name="a-study")
    storage = studies.open_storage(studies.default_storage(tmp_path), heartbeat_s=None)
    with pytest.raises(StudyError, match=r"no study 'c-study' in the storage \(it holds a-study, b-study\)"):
        studies.load_study("c-study", storage)
    empty = studies.open_storage(studies.default_storage(tmp_path / "empty"), heartbeat_s=None)
    with pytest.raises(StudyError, match="it holds no study yet"):
        studies.load_study("a-study", empty)


def test_counts_results_and_the_best_trials(tmp_path):
    study = made_up_study(tmp_path, fids=(30.5, 12.25, 20.0), pruned=2, failed=1)
    assert studies.counts(study) == {"running": 0, "complete": 3, "pruned": 2, "fail": 1, "waiting": 0}
    assert studies.results(study) == 5  # pruned trials are results too; a failed one never is
    assert [t.value for t in studies.best_trials(study)] == [12.25, 20.0, 30.5]
    assert [t.number for t in studies.best_trials(study, 1)] == [1]
