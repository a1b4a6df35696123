"""`python -m training sweep` (training/sweep): tiny real trials (the MLP GAN on MNIST, a few dozen
steps, 100-sample evaluations) in SQLite studies. Several workers share a study and finish it with
distinct trials, each an ordinary run folder; a worker killed mid-trial leaves the study consistent
and a restarted worker resumes that trial's run; a pruned trial is pruned in the study and in its
run's status; a bad space is refused, naming the field, before any study or run exists."""
from __future__ import annotations

import json
import os
import signal

import pytest
from optuna.trial import TrialState

from training import config as configs
from training.cli.main import main
from training.runfolder.folder import RunFolder, list_runs

from tests.helpers import wait_for_process
from tests.training.sweep.common import check_trial_run, study_of, worker, write_space

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


def test_two_workers_share_a_study_and_finish_it_with_distinct_trials(tmp_path, cli_env, capsys):
    runs, space = tmp_path / "runs", write_space(tmp_path / "space.yaml")
    logs = [tmp_path / "w0.log", tmp_path / "w1.log"]
    workers = [worker(space, runs, cli_env, log, "--trials", "3") for log in logs]
    for w, log in zip(workers, logs):
        assert w.wait(timeout=240) == 0, log.read_text()[-3000:]
    study = study_of(runs, "tiny")
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert len({t.user_attrs["run"] for t in trials}) == 3
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 3
    assert sorted(r.id for r in list_runs(runs)) == sorted(t.user_attrs["run"] for t in trials)
    for t in trials:
        check_trial_run(runs, t)
    assert all("ran" in log.read_text() for log in logs)  # both took part

    best = min(trials, key=lambda t: t.value)
    assert main(["sweep", "--report", "--study", "tiny", "--runs-dir", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "3 complete, 0 pruned" in lines[0]
    first = lines[3].split()
    assert first[:2] == ["1", str(best.number)] and best.user_attrs["run"] in first

    # the winner as a config file that `train --config` takes: the very config its run trained with
    out = tmp_path / "best.yaml"
    assert main(["sweep", "--report", "--study", "tiny", "--runs-dir", str(runs), "--best-config", str(out)]) == 0
    assert f"trial {best.number}, FID" in out.read_text().splitlines()[0]
    trained = RunFolder(runs / best.user_attrs["run"]).read_config()
    assert configs.resolve(None, config_file=out).to_dict() == {**trained, "data_root": None}
    assert main(["sweep", "--report", "--study", "tiny", "--runs-dir", str(runs), "--best-config", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err


def test_a_killed_worker_loses_only_its_trial_and_a_new_worker_resumes_it(tmp_path, cli_env):
    runs = tmp_path / "runs"
    space = write_space(tmp_path / "space.yaml", fixed=dict(steps=1000, eval_every=500, checkpoint_every=50,
                                                            log_every=50))
    log = tmp_path / "first.log"
    first = worker(space, runs, cli_env, log, "--trials", "1")

    def mid_trial():
        folders = list(list_runs(runs))
        if folders and folders[0].last_checkpoint.is_file():
            return folders[0]
    run = wait_for_process(mid_trial, first, "the first checkpoint of trial 0", log)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = run.read_status()["step"]
    assert killed_at < 1000

    study = study_of(runs, "tiny")  # consistent: the trial is running (its worker gone), nothing counted
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING]
    assert run.live_status()["state"] == "failed"  # the run folder tells the truth too

    log2 = tmp_path / "second.log"
    second = worker(space, runs, cli_env, log2, "--trials", "1")
    assert second.wait(timeout=240) == 0, log2.read_text()[-3000:]
    trials = study_of(runs, "tiny").get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    lost, retry = trials
    assert retry.params == lost.params and retry.user_attrs["run"] == run.id
    assert retry.system_attrs["failed_trial"] == lost.number
    check_trial_run(runs, retry)
    assert [r.id for r in list_runs(runs)] == [run.id]  # the same folder, resumed, not a new one
    assert f"resumes run {run.id} at step" in log2.read_text()


def test_a_pruned_trial_is_pruned_in_the_study_and_in_its_run_status(tmp_path, capsys):
    runs = tmp_path / "runs"
    # any real FID here is far above 1: the threshold pruner stops the trial at its first evaluation
    space = write_space(tmp_path / "space.yaml", fixed=dict(steps=40), pruner={"type": "threshold", "upper": 1.0})
    assert main(["sweep", "--space", str(space), "--runs-dir", str(runs), "--study", "prune", "--trials", "1"]) == 0
    (trial,) = study_of(runs, "prune").get_trials()
    assert trial.state == TrialState.PRUNED and list(trial.intermediate_values) == [10]
    run = RunFolder(runs / trial.user_attrs["run"])
    status = run.live_status()
    assert status["state"] == "pruned" and "pruned by study prune at step 10" in status["message"]
    assert status["step"] < 40 and run.last_checkpoint.is_file()  # stopped early, resumable
    assert "0 complete, 1 pruned" in capsys.readouterr().out


@pytest.mark.parametrize("search, fixed, expected", [
    ({"lr_gg": {"low": 1e-4, "high": 1e-3}}, {}, "search.lr_gg: unknown config field 'lr_gg'. Did you mean 'lr_g'?"),
    ({"lr_g": {"low": 1e-3, "high": 1e-4}}, {}, "search.lr_g: empty range"),
    ({"n_critic": {"low": 1.5, "high": 3}}, {}, "search.n_critic: low must be a whole number"),
    ({"ema": {"low": 0, "high": 1}}, {}, "search.ema: a bool field takes choices"),
    ({"latent_dim": {"choices": [8, "big"]}}, {}, "search.latent_dim: choice 'big'"),
    ({"batch_size": {"choices": [32, 64]}}, {}, "search.batch_size: batch_size is both fixed and searched"),
    ({"loss": {"choices": ["hinge", "nope"]}}, {}, "search.loss: the value 'nope'"),
    ({"lr_g": {"low": 1e-4, "high": 1e-3}}, {"eval_every": 0}, "set eval_every"),
    ({"lr_g": {"low": 1e-4, "high": 1e-3}}, {"stepz": 3}, "fixed.stepz: unknown config field"),
])
def test_a_bad_space_is_refused_naming_the_field_before_any_trial(tmp_path, capsys, search, fixed, expected):
    runs = tmp_path / "runs"
    space = write_space(tmp_path / "space.yaml", fixed=fixed, search=search)
    assert main(["sweep", "--space", str(space), "--runs-dir", str(runs), "--trials", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and len(err.strip().splitlines()) == 1
    assert not (runs / "sweeps.db").exists() and not list(list_runs(runs))  # no study, no run
