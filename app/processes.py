"""Training processes started from the app: train, resume, stop, export, delete, and their logs.

Training happens in separate `python -m training` processes, which the app learns about only
from their run folders, so a run outlives the app.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.paths import REPO, inside, launch_dir, refusal, runs_dir
from studio.errors import UserError
from training.runfolder import lock as run_lock
from training.runfolder.files import RunError
from training.runfolder.folder import ACTIVE_STATES, RunFolder, process_alive, sanitize_name

# Popen objects of processes this app started: polled now and then so finished children are
# reaped (a zombie would otherwise linger until the app exits). Runs never depend on this.
_CHILDREN: list[subprocess.Popen] = []
# The process this app started for each run folder: a resume that has not written its pid yet
# is still one to stop before the folder is deleted.
_FOR_RUN: dict[str, subprocess.Popen] = {}
# A run queued this long ago with no process working on it is a launch that died before training.
STARTUP_GRACE_S = 60.0
DELETE_WAIT_S = 10.0   # how long a run's process gets to stop gracefully before it is killed


class LaunchError(UserError):
    """The training process ended before it made its run folder; the message has its output."""


def reap() -> None:
    _CHILDREN[:] = [p for p in _CHILDREN if p.poll() is None]


def _launch_log(tag: str) -> Path:
    folder = launch_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{len(_CHILDREN)}.log"


def _popen(argv: list[str], log_path: Path) -> subprocess.Popen:
    """A training process in its own session (so Stop can signal its whole group, and it
    survives the app); list argv, never a shell; output appended to ``log_path``."""
    reap()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    _CHILDREN.append(proc)
    return proc


def override_value(value) -> str:
    """A value as `--set key=VALUE` reads it (YAML): floats keep a dot, so 1e-05 stays a number
    (PyYAML reads "1e-05" as text) and the command shown can be pasted into a shell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
        return text
    return str(value)


def train_argv(preset: str, name: str, overrides: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "training", "train", "--preset", preset, "--name", name,
            "--runs-dir", str(runs_dir())]
    for text in overrides:
        argv += ["--set", text]
    return argv


def start_training(preset: str, name: str, overrides: list[str], wait_s: float = 180.0) -> RunFolder:
    """Start `python -m training train` and return its run folder once it exists.

    The CLI checks the config and loads the data before it makes the folder, and prints
    `run folder: PATH` right after. Until then its output goes to a launch log in the runs
    folder; afterwards the trainer also logs to the run's log.txt itself. A process that exits
    first (no data offline, a bad config) raises LaunchError with the tail of its output.
    """
    return launch(train_argv(preset, name, overrides), name, wait_s)


def launch(argv: list[str], name: str, wait_s: float = 180.0) -> RunFolder:
    """Start a `python -m training` command that makes a run folder and prints `run folder: PATH`
    (train, playground); the run folder once it exists, else LaunchError with the output."""
    log_path = _launch_log(sanitize_name(name))
    proc = _popen(argv, log_path)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        match = re.search(r"^run folder: (.+)$", log_path.read_text(errors="replace"), re.M)
        if match:
            run = RunFolder(Path(match.group(1).strip()))
            _remember_launch_log(run, log_path)
            _FOR_RUN[_key(run)] = proc
            return run
        if proc.poll() is not None:
            raise LaunchError(_explain_exit(tail(log_path, 15)))
        time.sleep(0.2)
    raise LaunchError(f"the training process (pid {proc.pid}) made no run folder within {wait_s:.0f} s; "
                      f"its output so far:\n{tail(log_path, 15)}")


def _remember_launch_log(run: RunFolder, log_path: Path) -> None:
    """Note which launch log holds the process's own output (tracebacks included) in the run."""
    try:
        (run.path / "launch-log.txt").write_text(str(log_path) + "\n")
    except OSError:
        pass


def _explain_exit(output: str) -> str:
    lines = [l for l in output.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error:")]
    return (errors[-1][len("error:"):].strip() if errors else "the training process ended at once") + \
        ("\n\n" + "\n".join(lines[-15:]) if not errors else "")


def resume_training(run: RunFolder) -> subprocess.Popen:
    status = run.live_status()
    if going(run, status):
        raise RunError(f"run {run.id} is still {status['state']}; stop it first.")
    if lock_holder(run) is not None:
        raise RunError(f"run {run.id} is in use by pid {lock_holder(run) or '?'}; wait until it is done.")
    log_path = _launch_log(run.id)
    _remember_launch_log(run, log_path)
    proc = _popen([sys.executable, "-m", "training", "resume", run.id, "--runs-dir", str(run.path.parent)], log_path)
    _FOR_RUN[_key(run)] = proc
    return proc


def _key(run: RunFolder) -> str:
    return str(run.path.absolute())


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _is_training_process(pid: int) -> bool:
    """A second guard, after ``_works_on``: a lock holder that is not a trainer (a tool of the user's
    holding the lock) is not signalled either."""
    return b"training" in _cmdline(pid).split(b"\0")


def _works_on(run: RunFolder, pid: int | None) -> bool:
    """Whether ``pid`` is a process working on ``run``: the holder of its lock, or the process this app
    started for it (a resume still loading, before it takes the lock). A pid read from status.json
    proves nothing: its trainer may be long gone and the number given to another run's trainer."""
    if not pid:
        return False
    child = _FOR_RUN.get(_key(run))
    return run_lock.is_holder(run, pid) or (child is not None and child.pid == pid and child.poll() is None)


def _is_torchrun(pid: int) -> bool:
    return b"torchrun" in _cmdline(pid)


def stop_training(run: RunFolder) -> bool:
    """Ask a run to stop gracefully: SIGTERM to its trainer's process group (the trainer finishes the
    step, writes a checkpoint and the state 'stopped'). False when there was nothing to stop."""
    return _signal(run, lock_holder(run), signal.SIGTERM)


def _signal(run: RunFolder, pid: int | None, sig: int) -> bool:
    """Signal ``run``'s live training process (with its group when that is the run's); False when
    ``pid`` is not one (``_works_on``), so a stranger is never signalled."""
    if not _works_on(run, pid) or not process_alive(pid) or not _is_training_process(pid):
        return False
    try:
        group = os.getpgid(pid)
        # The app starts each run in its own session, so its group is the run (with any worker
        # processes). A run started from a shell script may share the script's group: signal
        # the group only when its leader is itself a training process, else just the trainer.
        if group == pid or _is_training_process(group) or _is_torchrun(group):
            os.killpg(group, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def export_run(run: RunFolder, timeout: float = 600) -> Path:
    """Run `python -m training export` and wait for it (about ten seconds for a small model)."""
    argv = [sys.executable, "-m", "training", "export", run.id, "--runs-dir", str(run.path.parent)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [l for l in done.stderr.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("error:")]
        raise RunError(errors[-1][len("error:"):].strip() if errors else "export failed:\n" + "\n".join(lines[-10:]))
    return run.onnx_path


def lock_holder(run: RunFolder) -> int | None:
    """The pid holding the run's lock (a trainer, a resume, an export in place), 0 for a holder
    that has not written its pid yet or a lock file we cannot read, None when nobody holds it."""
    try:
        return run_lock.holder(run)
    except RunError:
        return 0


def _live_processes(run: RunFolder) -> list[int]:
    """The pids of the training processes working on ``run``: the one holding its lock (which its
    status names, once it has written it), and the one this app started for it (a resume still
    loading, before it writes its pid or takes the lock)."""
    reap()
    pids = []
    holder = lock_holder(run)
    if holder and process_alive(holder) and _is_training_process(holder):
        pids.append(holder)
    child = _FOR_RUN.get(_key(run))
    if child is not None and child.poll() is None and child.pid not in pids:
        pids.append(child.pid)
    return pids


def status_age_s(run: RunFolder) -> float:
    try:
        return time.time() - run.status_path.stat().st_mtime
    except OSError:
        return float("inf")  # a folder with no status at all has had every chance to write one


def abandoned(run: RunFolder, status: dict | None = None) -> bool:
    """Queued with no pid, no process of ours on it and nothing written for STARTUP_GRACE_S: a
    launch that died before training (a bad device, a crash on start-up). It will never start."""
    status = run.live_status() if status is None else status
    return (status.get("state") == "queued" and not status.get("pid") and not _live_processes(run)
            and lock_holder(run) is None and status_age_s(run) > STARTUP_GRACE_S)


def going(run: RunFolder, status: dict | None = None) -> bool:
    """Whether a process is (or may still be) training ``run``."""
    status = run.live_status() if status is None else status
    return status.get("state") in ACTIVE_STATES and not abandoned(run, status)


def _stop_for_delete(run: RunFolder, wait_s: float) -> None:
    """Stop every process working on ``run`` (gracefully, then for good) or raise RunError."""
    status = run.live_status()
    pids = _live_processes(run)
    if not pids and status.get("state") == "queued" and not status.get("pid") and \
            status_age_s(run) <= STARTUP_GRACE_S:
        raise RunError(f"run {run.id} was queued {status_age_s(run):.0f} s ago and its process may still be "
                       f"starting; try again in a minute, when it is running (Delete then stops it) or has died.")
    for sig, wait in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 5.0)):
        if not pids:
            break
        for pid in pids:
            _signal(run, pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = _live_processes(run)
    if pids:
        raise RunError(f"run {run.id}: its process (pid {pids[0]}) did not stop; it was not deleted. Try again.")


def delete_run(run: RunFolder, wait_s: float = DELETE_WAIT_S) -> None:
    """Delete a run folder, but only a real run folder directly inside the runs folder, and only
    once no process works on it any more: a live one is stopped first (the folder goes after)."""
    root = runs_dir().resolve()
    path = run.path
    if path.is_symlink() or path.resolve().parent != root or not (path / "config.json").is_file():
        raise RunError(f"refusing to delete {path}: it is not a run folder inside {root}.")
    _stop_for_delete(run, wait_s)
    # Held while the folder goes: a train, resume or export that starts now is refused (RunBusy)
    # instead of writing into a half-deleted folder; a holder we could not stop refuses us.
    with run_lock.RunLock.acquire(run, doing="delete"):
        shutil.rmtree(path)
    _FOR_RUN.pop(_key(run), None)


def tail(path: Path, lines: int = 25, max_bytes: int = 256 * 1024) -> str:
    """The last ``lines`` lines of a regular file, reading at most its last ``max_bytes``."""
    try:
        if not Path(path).is_file():  # a FIFO or a device would block or never end
            return ""
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - max_bytes))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _launch_output(run: RunFolder, lines: int) -> str:
    """The tail of the launch log that the run's launch-log.txt names, if it is one of ours."""
    note = run.path / "launch-log.txt"
    if not (note.is_file() and inside(note, run.path)):
        return ""
    named = tail(note, 1, max_bytes=4096).strip()
    if not named:
        return ""
    if not inside(Path(named), run.path, launch_dir()):
        return refusal(Path(named), "this run's folder and the app's launch logs")
    return tail(Path(named), lines)


def run_log(run: RunFolder, lines: int = 25) -> str:
    """The run's log.txt tail, plus the launcher's output when it has more (e.g. a traceback).
    Only files inside the run folder and the app's launch logs are read, links followed."""
    if run.log_path.exists() and not inside(run.log_path, run.path):
        text = refusal(run.log_path, "this run's folder")
    else:
        text = tail(run.log_path, lines)
    extra = _launch_output(run, lines)
    if extra and extra.splitlines()[-1] not in text:
        text = (text + "\n--- process output ---\n" + extra).strip()
    return text
