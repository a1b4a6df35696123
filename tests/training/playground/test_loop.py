"""The playground's trainer: real updates counted at the optimisers, a real `python -m training
playground` process driven through its control file, and the ring of 8 reached with the defaults."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from contextlib import nullcontext

import numpy as np
import pytest

from evaluation.metrics.toy import toy_metrics
from training.playground import files
from training.playground.loop import ARROWS, GRID, SHOWN, build_gan
from training.playground.settings import LOSSES, check_settings
from training.cli.main import main
from training.runfolder.folder import RunFolder, create_run, list_runs

from tests.helpers import REPO_ROOT, wait_for_process


def counted(gan):
    """Optimizer steps as the optimisers themselves see them (torch's step hooks)."""
    counts = {"d": 0, "g": 0}
    gan.opt_d.register_step_post_hook(lambda *a: counts.__setitem__("d", counts["d"] + 1))
    gan.opt_g.register_step_post_hook(lambda *a: counts.__setitem__("g", counts["g"] + 1))
    return counts


@pytest.mark.parametrize("loss", list(LOSSES))
def test_each_loss_trains_and_counts_its_updates(loss, one_thread):
    gan = build_gan(check_settings({"loss": loss, "n_critic": 3, "pack": 2, "batch_size": 64, "g_width": 16,
                                    "d_width": 16}))
    counts = counted(gan)
    before = [p.detach().clone() for p in gan.G.parameters()]
    gan.iteration()                                      # the usual schedule: n_critic D updates, one G update
    assert counts == {"d": 3, "g": 1} and (gan.d_steps, gan.g_steps) == (3, 1)
    gan.d_step()
    gan.g_step()                                         # what a single step does: one of each
    assert counts == {"d": 4, "g": 2} and (gan.d_steps, gan.g_steps) == (4, 2)
    assert any(not np.allclose(a, b.detach()) for a, b in zip(before, gan.G.parameters()))
    assert np.isfinite(gan.last["loss_d"]) and np.isfinite(gan.last["loss_g"])
    if loss == "wasserstein":                             # clipping acted after each critic update
        assert max(float(p.detach().abs().max()) for p in gan.D.parameters()) <= 0.01 + 1e-7
    surface = gan.surface(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    assert surface.shape == (4, 5)
    points, pull = gan.generator_pull(gan.noise(8))
    assert points.shape == pull.shape == (8, 2) and np.abs(pull).sum() > 0


def test_the_defaults_reach_all_eight_modes_of_the_ring(one_thread):
    """The page's claim: all eight modes of the ring well within a minute (about 1,250 G steps,
    6 s on one core; three seeds measured 750-1,250 steps)."""
    gan = build_gan(check_settings({}))
    started, covered = time.monotonic(), 0
    while gan.g_steps < 3000 and covered < 8:
        for _ in range(250):
            gan.iteration()
        covered = toy_metrics(gan.samples(2500, 1), gan.target.centres, gan.target.std)["modes_covered"]
    assert covered == 8, f"{covered}/8 modes after {gan.g_steps} G steps"
    assert time.monotonic() - started < 60


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


@pytest.mark.parametrize("options, words", [
    (["--target", "points", "--points", "1,1"], "at least 2 points"),
    (["--pack", "3"], "not a multiple of pack 3"),
    (["--lr-g", "0"], "lr_g (G's Adam learning rate) is 0"),
    (["--target", "points", "--points", "1,1; a,b"], "point line 2 is 'a,b'"),
    (["--loss", "r1"], "invalid choice: 'r1'"),
])
def test_bad_options_are_one_line_and_make_no_run(tmp_path, capsys, options, words):
    with pytest.raises(SystemExit) if options[0] == "--loss" else nullcontext():   # argparse's own refusal
        assert main(["playground", "--runs-dir", str(tmp_path / "runs"), *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert not list(list_runs(tmp_path / "runs"))


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
