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

from app.paths import REPO, runs_dir
from training.runs import ACTIVE_STATES, RunError, RunFolder, process_alive, sanitize_name

# Popen objects of processes this app started: polled now and then so finished children are
# reaped (a zombie would otherwise linger until the app exits). Runs never depend on this.
_CHILDREN: list[subprocess.Popen] = []


class LaunchError(Exception):
    """The training process ended before it made its run folder; the message has its output."""


def reap() -> None:
    _CHILDREN[:] = [p for p in _CHILDREN if p.poll() is None]


def _launch_log(tag: str) -> Path:
    folder = runs_dir() / ".launch"
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
    log_path = _launch_log(sanitize_name(name))
    proc = _popen(train_argv(preset, name, overrides), log_path)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        match = re.search(r"^run folder: (.+)$", log_path.read_text(errors="replace"), re.M)
        if match:
            run = RunFolder(Path(match.group(1).strip()))
            _remember_launch_log(run, log_path)
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
    if status.get("state") in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still {status['state']}; stop it first.")
    log_path = _launch_log(run.id)
    _remember_launch_log(run, log_path)
    return _popen([sys.executable, "-m", "training", "resume", run.id, "--runs-dir", str(run.path.parent)], log_path)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _is_training_process(pid: int) -> bool:
    """Guards against signalling a recycled pid that now belongs to something else."""
    return b"training" in _cmdline(pid).split(b"\0")


def _is_torchrun(pid: int) -> bool:
    return b"torchrun" in _cmdline(pid)


def stop_training(run: RunFolder) -> bool:
    """Ask a run to stop gracefully: SIGTERM to its process group (the trainer finishes the step,
    writes a checkpoint and the state 'stopped'). False when there was nothing to stop."""
    pid = run.read_status().get("pid")
    if not pid or not process_alive(pid) or not _is_training_process(pid):
        return False
    try:
        group = os.getpgid(pid)
        # The app starts each run in its own session, so its group is the run (with any worker
        # processes). A run started from a shell script may share the script's group: signal
        # the group only when its leader is itself a training process, else just the trainer.
        if group == pid or _is_training_process(group) or _is_torchrun(group):
            os.killpg(group, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
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


def delete_run(run: RunFolder) -> None:
    """Delete a run folder, but only a real run folder directly inside the runs folder."""
    root = runs_dir().resolve()
    path = run.path
    if path.is_symlink() or path.resolve().parent != root or not (path / "config.json").is_file():
        raise RunError(f"refusing to delete {path}: it is not a run folder inside {root}.")
    if run.live_status().get("state") in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still going; stop it before deleting it.")
    shutil.rmtree(path)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_log(run: RunFolder, lines: int = 25) -> str:
    """The run's log.txt tail, plus the launcher's output when it has more (e.g. a traceback)."""
    text = tail(run.log_path, lines)
    try:
        launch = Path((run.path / "launch-log.txt").read_text().strip())
        extra = tail(launch, lines)
        if extra and extra.splitlines()[-1] not in text:
            text = (text + "\n--- process output ---\n" + extra).strip()
    except OSError:
        pass
    return text
