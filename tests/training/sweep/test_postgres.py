"""The sweep on a real PostgreSQL server (the fixture in conftest.py: Debian's server on a unix socket,
a role with a password), as workers on several machines share a study: two worker processes on one
study, one killed with SIGKILL mid-trial; the other fails the silent trial, resumes its run folder
and finishes the study with exactly its number of results, one run folder a result. A server that
refuses the worker is one line, without the password."""
from __future__ import annotations

import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import optuna
import pytest
from optuna.trial import TrialState

from training.cli.main import main
from training.runfolder.folder import list_runs
from training.sweep import study as studies

from tests.helpers import wait_for_process
from tests.training.sweep.common import check_trial_run, worker, write_space

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")

TRIALS, STEPS = 3, 200


def test_two_workers_on_a_server_one_killed_mid_trial_finish_the_study(postgres, tmp_path, cli_env, capsys):
    runs = tmp_path / "runs"
    space = write_space(tmp_path / "space.yaml", fixed=dict(steps=STEPS, eval_every=100, checkpoint_every=20,
                                                            log_every=20))
    logs = [tmp_path / "w0.log", tmp_path / "w1.log"]
    workers = [worker(space, runs, cli_env, log, "--trials", str(TRIALS), "--storage", postgres.url) for log in logs]
    try:
        def a_trial_mid_way():
            """A worker's run with a checkpoint, not yet at its last step: that worker is the victim."""
            for run in list_runs(runs):
                status = run.read_status()
                if run.last_checkpoint.is_file() and 0 < status.get("step", 0) < STEPS:
                    for i, w in enumerate(workers):
                        if status.get("pid") == w.pid:
                            return i, run
        victim, run = wait_for_process(a_trial_mid_way, workers[0], "a checkpoint of the first trials", logs[0])
        os.killpg(workers[victim].pid, signal.SIGKILL)
        assert workers[victim].wait(timeout=30) == -signal.SIGKILL
        killed_at = run.read_status()["step"]
        assert killed_at < STEPS and run.live_status()["state"] == "failed"  # its worker is gone

        survivor = workers[1 - victim]
        assert survivor.wait(timeout=240) == 0, logs[1 - victim].read_text()[-3000:]
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
    study = optuna.load_study(study_name="tiny", storage=postgres.url)
    trials = study.get_trials()
    # consistent: the killed trial failed (never a result) and its copy, queued with its run folder,
    # completed; every other trial completed; exactly TRIALS results, one run folder each
    (lost,) = [t for t in trials if t.state == TrialState.FAIL]
    assert lost.user_attrs["run"] == run.id and all(t.state == TrialState.COMPLETE for t in trials if t is not lost)
    assert len(trials) == TRIALS + 1
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == lost.number]
    assert retry.params == lost.params and retry.user_attrs["run"] == run.id
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(r.id for r in list_runs(runs)) == sorted(t.user_attrs["run"] for t in done)  # no duplicate
    for t in done:
        check_trial_run(runs, t)
    survivor_log = logs[1 - victim].read_text()
    assert f"resumes run {run.id} at step" in survivor_log
    resumed_at = int(survivor_log.split(f"resumes run {run.id} at step ")[1].split()[0])
    assert 0 < resumed_at <= killed_at and resumed_at % 20 == 0  # from its last checkpoint, not afresh
    steps = [r["step"] for r in check_trial_run(runs, retry).read_metrics() if "loss_d" in r]
    assert steps == list(range(20, STEPS + 1, 20))  # no row twice, none missing, across the kill

    # the report reads the study from the server, and the password never shows
    assert main(["sweep", "--report", "--study", "tiny", "--storage", postgres.url]) == 0
    out = capsys.readouterr().out
    assert f"{TRIALS} complete, 0 pruned" in out and retry.user_attrs["run"] in out
    assert postgres.password not in out + survivor_log


@pytest.mark.parametrize("change, expected", [
    (dict(password="wrong"), 'password authentication failed for user "sweeper"'),
    (dict(user="nobody"), 'password authentication failed for user "nobody"'),
    (dict(database="nope"), 'database "nope" does not exist'),
])
def test_a_server_that_refuses_the_worker_is_one_line_without_the_password(postgres, tmp_path, capsys, change,
                                                                             expected):
    url = postgres.url_with(**change)
    space = write_space(tmp_path / "space.yaml")
    assert main(["sweep", "--space", str(space), "--runs-dir", str(tmp_path / "runs"), "--storage", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --storage postgresql://***@/") and expected in err
    assert len(err.strip().splitlines()) == 1 and change.get("password", postgres.password) not in err
    assert not list(list_runs(tmp_path / "runs"))  # refused before any trial


def test_a_postgresql_url_without_its_driver_names_the_package(postgres, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on a machine without it: the import fails
    assert main(["sweep", "--report", "--study", "tiny", "--storage", postgres.url]) == 2
    err = capsys.readouterr().err
    assert 'pip install "psycopg[binary]"' in err and postgres.password not in err
    assert len(err.strip().splitlines()) == 1


def test_workers_opening_a_new_database_at_once_all_find_its_tables(postgres):
    """Several machines' workers start together on an empty database: each races to make Optuna's tables."""
    import sqlalchemy

    admin = sqlalchemy.create_engine(postgres.url_with(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text("CREATE DATABASE fresh"))
    admin.dispose()
    url, barrier = postgres.url_with(database="fresh"), threading.Barrier(4)

    def open_it(_):
        barrier.wait()
        return studies.study_names(studies.open_storage(url, heartbeat_s=None))

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_it, range(4))) == [[]] * 4
