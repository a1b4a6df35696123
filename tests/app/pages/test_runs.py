"""The Runs page through AppTest (the table, overlay and deletion of a real run are in test_train.py)."""
from __future__ import annotations

from training.runfolder.folder import create_run

from tests.helpers import new_app


def test_a_failed_run_shows_the_tail_of_its_log(app_env):
    run = create_run(app_env["runs"], "broken", {"preset": "dcgan-mnist", "dataset": "mnist", "steps": 10})
    run.write_status(state="failed", step=3, message="RuntimeError: out of memory")
    run.log_path.write_text("line one\nTraceback (most recent call last):\nRuntimeError: out of memory\n")
    at = new_app("app/pages/runs.py")
    assert not at.exception
    assert "failed" in at.error[0].value and "out of memory" in at.error[0].value
    assert any("RuntimeError: out of memory" in c.value for c in at.code)
