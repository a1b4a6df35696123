"""training/runfolder/lock.py: one writer per run folder. Two resumes started together (one trains, the
other is refused naming its pid), kill -9 leaves no lock behind, a deleted run is not made again,
and an export into a run that is training is refused."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.cli.main import main
from training.runfolder.files import RunError
from training.runfolder.lock import RunBusy, RunLock, holder, lock_path
from training.runfolder.folder import RunFolder

from tests.helpers import file_hashes, image_folder, tiny_run, training_rows, wait_for_process

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


@pytest.fixture
def run(tmp_path) -> RunFolder:
    return tiny_run(tmp_path / "runs", image_folder(tmp_path / "images", 32))


def resume(run: RunFolder, env: dict, log: Path) -> subprocess.Popen:
    """`python -m training resume RUN` with steps enough to keep it training until it is stopped."""
    argv = [sys.executable, "-m", "training", "resume", run.id, "--runs-dir", str(run.path.parent),
            "--set", "steps=1000000"]
    return subprocess.Popen(argv, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def training_step(run: RunFolder, process: subprocess.Popen) -> int:
    status = run.read_status()
    return status["step"] if status.get("state") == "running" and status.get("pid") == process.pid else 0


def test_a_run_nobody_trains_is_free_and_its_lock_file_is_not_made_by_asking(run):
    assert holder(run) is None and not lock_path(run).exists()
    with RunLock.acquire(run, "train"):
        assert holder(run) == os.getpid()
        with pytest.raises(RunBusy, match=f"in use by pid {os.getpid()}"):
            RunLock.acquire(run, "resume", wait_s=0.1)
    assert holder(run) is None


def test_two_resumes_at_once_one_trains_and_the_other_is_refused_naming_its_pid(run, tmp_path, cli_env):
    logs = [tmp_path / "first.txt", tmp_path / "second.txt"]
    processes = [resume(run, cli_env, log) for log in logs]
    try:
        deadline = time.monotonic() + 300
        while all(p.poll() is None for p in processes) and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = [i for i, p in enumerate(processes) if p.poll() is not None]
        assert len(ended) == 1, "both resumes ended, or neither did"
        loser, winner = processes[ended[0]], processes[1 - ended[0]]
        text = logs[ended[0]].read_text()
        assert loser.returncode == 2 and f"pid {winner.pid}" in text.strip().splitlines()[-1], text
        assert "Traceback" not in text
        wait_for_process(lambda: training_step(run, winner) > 20, winner, "the winner trained", logs[1 - ended[0]])
        winner.send_signal(signal.SIGTERM)
        assert winner.wait(timeout=120) == 0
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    steps = [row["step"] for row in training_rows(run)]
    assert steps == list(range(1, steps[-1] + 1)), "a step was logged twice: two writers"
    assert run.read_status()["state"] == "stopped"


def test_kill_9_leaves_the_run_unlocked(run, tmp_path, cli_env):
    log = tmp_path / "resume.txt"
    process = resume(run, cli_env, log)
    try:
        wait_for_process(lambda: holder(run) == process.pid and training_step(run, process), process,
                         "the resume holds the lock", log)
        process.kill()
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    assert holder(run) is None
    assert run.live_status()["state"] == "failed"  # and another process may take it over
    with RunLock.acquire(run, "resume", wait_s=0):
        assert holder(run) == os.getpid()


def test_a_run_deleted_while_it_trains_is_not_made_again(run, tmp_path, cli_env):
    log = tmp_path / "resume.txt"
    process = resume(run, cli_env, log)
    try:
        wait_for_process(lambda: training_step(run, process) > 12, process, "the resume trained", log)
        while run.path.exists():  # the trainer may add a file while the tree is being removed
            shutil.rmtree(run.path, ignore_errors=True)
        assert process.wait(timeout=120) == 2
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "no longer exists" in text.strip().splitlines()[-1] and "Traceback" not in text, text
    time.sleep(0.5)
    assert not run.path.exists()


def test_export_into_and_resume_of_a_locked_run_are_refused(run, capsys):
    runs = str(run.path.parent)
    with RunLock.acquire(run, "train"):
        before = file_hashes(run.path)
        for argv in (["export", run.id, "--runs-dir", runs], ["resume", run.id, "--runs-dir", runs, "--set", "steps=20"]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert f"in use by pid {os.getpid()}" in err and "Traceback" not in err, err
        assert file_hashes(run.path) == before


@pytest.mark.parametrize("planted", ["fifo", "link"])
def test_a_lock_file_planted_as_a_pipe_or_a_link_is_refused_never_followed_or_waited_on(tmp_path, planted):
    from training.runfolder.folder import create_run

    run, victim = create_run(tmp_path / "runs", "planted", {}), tmp_path / "victim.txt"
    victim.write_text("a file of the user's\n")
    os.mkfifo(lock_path(run)) if planted == "fifo" else lock_path(run).symlink_to(victim)
    for ask in (lambda: holder(run), lambda: RunLock.acquire(run, "resume")):
        with pytest.raises(RunError, match=r"cannot be used as the run's lock file|is not a regular file"):
            ask()
    assert victim.read_text() == "a file of the user's\n"
    run.write_status(state="running", pid=os.getpid())
    assert run.live_status()["state"] == "running"  # the lock cannot tell: the process table answers
