"""The playground's trainer (training/playground/loop.py): a real `python -m training playground`
process driven through its control file, whole snapshots, and the stops (control file, signals)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np

from training.playground import files
from training.playground.loop import ARROWS, GRID, SHOWN
from training.playground.settings import check_settings
from training.cli.main import main
from training.runfolder.folder import RunFolder, create_run, list_runs

from tests.helpers import REPO_ROOT, wait_for_process


def start(tmp_path, *options):
    log = tmp_path / "playground.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "training", "playground", "--runs-dir", str(tmp_path / "runs"),
                                 *options], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    run = wait_for_process(lambda: next(iter(list_runs(tmp_path / "runs")), None), proc, "the run folder", log)
    return proc, run, log


def snapshot_when(run: RunFolder, proc, log, test, what: str) -> dict:
    return wait_for_process(lambda: (s := files.read_snapshot(run)) and test(s) and s, proc, what, log, timeout=60)


def test_single_steps_pause_play_and_stop_through_the_control_file(tmp_path):
    proc, run, log = start(tmp_path, "--start", "pause", "--n-critic", "5", "--snapshot-every", "10",
                           "--g-width", "16", "--d-width", "16")
    try:
        first = snapshot_when(run, proc, log, lambda s: s["mode"] == "pause", "the first snapshot")
        assert (first["d_steps"], first["g_steps"]) == (0, 0)
        assert np.array(first["grid"]["z"]).shape == (GRID, GRID)
        assert len(first["fake"]) == SHOWN and len(first["arrows"]) == ARROWS and len(first["real"]) == 500
        time.sleep(0.5)
        assert files.read_snapshot(run)["g_steps"] == 0                      # paused: nothing moves

        files.write_control(run, step=True)                                  # two clicks: two single steps,
        files.write_control(run, step=True)                                  # one D and one G update each
        stepped = snapshot_when(run, proc, log, lambda s: s["served_step_requests"] == 2, "two single steps")
        assert (stepped["d_steps"], stepped["g_steps"]) == (2, 2)            # not n_critic=5 D updates
        time.sleep(0.5)
        assert files.read_snapshot(run)["d_steps"] == 2                      # rereading the file is no third
        assert [r["d_steps"] for r in run.read_metrics()][-2:] == [1, 2]

        files.write_control(run, mode="play")                                # the usual schedule from here
        played = snapshot_when(run, proc, log, lambda s: s["g_steps"] >= 22, "ten more G steps")
        assert played["mode"] == "play" and played["d_steps"] == 2 + 5 * (played["g_steps"] - 2)
        assert run.read_status()["state"] == "running"

        files.write_control(run, stop=True)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    status = run.read_status()
    assert status["state"] == "stopped" and "the app's Stop" in status["message"]
    last = files.read_snapshot(run)
    assert last["mode"] == "pause" and last["g_steps"] == status["g_steps"]
    rows = run.read_metrics()
    assert rows and not rows.skipped and all("modes_covered" in r for r in rows)


def test_snapshots_are_always_whole_and_sigterm_stops_it(tmp_path):
    proc, run, log = start(tmp_path, "--snapshot-every", "1", "--g-width", "16", "--d-width", "16", "--steps", "100000")
    try:
        snapshot_when(run, proc, log, lambda s: s["g_steps"] >= 1, "a snapshot")
        seen = set()
        began = time.monotonic()                     # 1.5 s of reads, longer while a loaded machine steps slowly
        while time.monotonic() < began + 1.5 or (len(seen) <= 3 and time.monotonic() < began + 60):
            text = files.snapshot_path(run).read_text()
            seen.add(json.loads(text)["g_steps"])                             # never a torn file
        assert len(seen) > 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    assert run.read_status()["state"] == "stopped" and "SIGTERM" in run.read_status()["message"]
    assert not list(run.path.glob(".*.tmp"))                                 # no temporary file left behind


def test_a_playground_run_is_not_resumed_as_an_image_run(tmp_path, capsys):
    run = create_run(tmp_path / "runs", "playground-ring", check_settings({}).to_dict())
    assert main(["resume", run.id, "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "is a 2-D playground run" in capsys.readouterr().err


def test_a_signal_during_the_final_write_still_ends_the_run_stopped(tmp_path, one_thread, monkeypatch):
    """The app's Stop writes the control file and sends SIGTERM: the loop may see the file first and
    be writing its last status when the signal lands (SIGINT here: its default handler raises, where
    SIGTERM's would kill the test)."""
    from training.playground.loop import run_playground

    settings = check_settings({"g_width": 16, "d_width": 16, "steps": 1000})
    run = create_run(tmp_path / "runs", "playground-ring", settings.to_dict())
    files.write_initial_control(run, "play")
    files.write_control(run, stop=True)
    write_status = RunFolder.write_status

    def signalled_at_the_end(self, **fields):
        if fields.get("state") == "stopped":
            signal.raise_signal(signal.SIGINT)
        write_status(self, **fields)

    monkeypatch.setattr(RunFolder, "write_status", signalled_at_the_end)
    assert run_playground(settings, run) == "stopped"
    status = RunFolder(run.path).read_status()
    assert status["state"] == "stopped" and "the app's Stop" in status["message"]
