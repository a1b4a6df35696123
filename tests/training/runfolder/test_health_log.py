"""training/runfolder/health_log.py: the health monitor at work for one run: its findings and clearances
go to health.jsonl and the log (with the first remedies), ``line`` follows them, a resumed run
replays its rows, and a fault in the monitor turns it off without stopping training."""
from __future__ import annotations

import logging
import shutil

import pytest

from training.runfolder.files import RunError
from training.runfolder.folder import create_run
from training.runfolder.health import health_line
from training.runfolder.health_log import HealthLog

from tests.helpers import small_config

# D sure of itself from the first row the monitor keeps: overpowering after `sustain` steps.
SURE = {"loss_d": 0.01, "loss_g": 6.0, "d_real": 0.99, "d_fake": 0.001}
EVEN = {"loss_d": 1.2, "loss_g": 0.8, "d_real": 0.6, "d_fake": 0.4}


def watched(**changes):
    return small_config(steps=50, health_warmup=2, health_sustain=4, **changes).to_dict()


def test_a_finding_and_its_clearance_go_to_health_jsonl_the_log_and_the_line(tmp_path, caplog):
    run = create_run(tmp_path, "r", watched())
    health = HealthLog(run, watched())
    assert health.line == "ok"
    caplog.set_level(logging.INFO, logger="training")
    for step in range(1, 9):
        health.observe({"step": step, **SURE})
    assert health.line == "D overpowering G since step 2"
    (found,) = run.read_health()
    assert (found["event"], found["kind"], found["step"]) == ("found", "d_overpowering", 2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0].startswith("health: D overpowering G from step 2: D(x) 0.990")
    assert warnings[1:] == [f"health:   try {remedy}" for remedy in found["remedies"][:3]]  # the first three only
    health.observe({"step": 9, **EVEN})
    assert run.read_health()[-1]["event"] == "cleared"
    assert health.line == health_line(run.read_health()) == "ok (1 earlier finding(s) cleared)"
    assert "health: D overpowering G (from step 2) cleared at step 9" in caplog.text


def test_a_divergence_names_what_came_before_it(tmp_path):
    run = create_run(tmp_path, "r", watched())
    health = HealthLog(run, watched())
    for step in range(1, 8):
        health.observe({"step": step, **SURE})
    health.diverged(8, "loss_d is nan")
    last = run.read_health()[-1]
    assert last["kind"] == "divergence" and "after D overpowering G (from step 2)" in last["summary"]
    assert last["evidence"]["message"] == "loss_d is nan"
    assert health.line == "D overpowering G since step 2; divergence since step 2"


def test_resuming_a_diverged_run_at_the_divergence_step_clears_the_divergence(tmp_path):
    config = small_config(steps=20)
    run = create_run(tmp_path, "d", config.to_dict())
    run.append_health({"event": "found", "kind": "divergence", "title": "divergence", "sign": "divergence", "step": 8,
                       "found_at": 8, "summary": "training diverged at step 9", "evidence": {}, "remedies": []})
    assert health_line(run.read_health()) == "divergence since step 8"
    log = HealthLog(run, config.to_dict())
    log.resume(8)  # its last checkpoint was the last good step
    assert run.read_health()[-1] == {"event": "cleared", "kind": "divergence", "title": "divergence",
                                     "sign": "divergence", "step": 8, "began": 8}
    assert log.line == health_line(run.read_health()) == "ok (1 earlier finding(s) cleared)"


def test_with_health_check_off_nothing_is_watched_or_written(tmp_path):
    run = create_run(tmp_path, "r", watched(health_check=False))
    health = HealthLog(run, watched(health_check=False))
    for step in range(1, 9):
        health.observe({"step": step, **SURE})
    health.diverged(9, "nan")
    health.resume(5)
    assert health.monitor is None and health.line == "" and run.read_health() == []


def test_without_a_run_folder_the_line_still_follows_the_findings():
    health = HealthLog(None, watched())  # e.g. a sweep trial's in-memory trainer
    for step in range(1, 9):
        health.observe({"step": step, **SURE})
    assert health.line == "D overpowering G since step 2"


def test_a_fault_in_the_monitor_turns_it_off_once_and_training_goes_on(tmp_path, caplog, monkeypatch):
    run = create_run(tmp_path, "r", watched())
    health = HealthLog(run, watched())

    def broken(row):
        raise ZeroDivisionError("a bug in a check")

    monkeypatch.setattr(health.monitor, "observe", broken)
    health.observe({"step": 1, **SURE})  # does not raise
    assert health.monitor is None and health.line == ""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "health monitor turned off for this run after an error (a bug: please report it)"]
    health.observe({"step": 2, **SURE})
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


def test_a_run_folder_deleted_under_the_run_is_not_taken_for_a_fault_of_the_monitor(tmp_path):
    run = create_run(tmp_path, "r", watched())
    health = HealthLog(run, watched())
    shutil.rmtree(run.path)
    with pytest.raises(RunError, match="no longer exists"):
        for step in range(1, 9):
            health.observe({"step": step, **SURE})
    assert health.monitor is not None and not run.path.exists()  # not turned off, and the folder not made again
