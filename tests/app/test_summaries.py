"""app/summaries.py: a run's row in the Runs table, and the time it has left."""
from __future__ import annotations

from app.summaries import eta_text, run_summary
from training.runfolder.folder import create_run


def test_run_summary_reads_the_run_folder(app_env):
    run = create_run(app_env["runs"], "row", {"preset": "dcgan-mnist", "dataset": "mnist", "model": "dcgan",
                                              "loss": "non-saturating", "steps": 100})
    run.write_status(state="stopped", step=40, total_steps=100)
    run.append_metrics({"step": 20, "time": 60.0, "loss_d": 1.0})
    run.append_metrics({"step": 40, "time": 150.0, "fid": 31.4159})
    run.append_metrics({"step": 40, "time": 180.0, "fid": 27.0})
    row = run_summary(run)
    assert row["run"] == run.id and row["state"] == "stopped" and row["preset"] == "dcgan-mnist"
    assert (row["dataset"], row["model"], row["loss"]) == ("mnist", "dcgan", "non-saturating")
    assert (row["step"], row["steps"], row["time_min"], row["best_fid"]) == (40, 100, 3.0, 27.0)
    assert row["exported"] is False


def test_run_summary_of_a_run_without_config_or_metrics(app_env):
    run = create_run(app_env["runs"], "bare", {})
    run.config_path.unlink()
    row = run_summary(run)
    assert row["preset"] == "?" and row["time_min"] is None and row["best_fid"] is None


def test_eta_from_the_status_or_from_the_pace_so_far():
    assert eta_text({"eta_s": 42}, []) == "about 42s left"
    assert eta_text({"eta_s": 125}, []) == "about 2m 5s left"
    assert eta_text({"eta_s": 7322}, []) == "about 2h 2m left"
    # no eta in the status: 100 steps in 50 s, 300 to go
    assert eta_text({"total_steps": 400}, [{"step": 100, "time": 50.0}]) == "about 2m 30s left"
    assert eta_text({}, []) == ""
