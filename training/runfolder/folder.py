"""Run folders: the one place where training, export and the app meet.

Torch-free, so the app reads runs without importing torch. Every file is either rewritten
atomically (status.json, config.json) or append-only (metrics.jsonl, log.txt), so a process
killed at any instant leaves a folder the next reader understands.
"""
from __future__ import annotations

import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from studio.files import FileRefused, inside
from training.runfolder.files import (RunError, Rows, UnreadableFile, append_row, atomic_write_json, now_iso,
                                      read_json_object, read_rows, rewrite_rows, whole_number)
from training.runfolder.flock import LOCK_NAME, held_by

STATES = ("queued", "running", "stopping", "stopped", "finished", "failed", "diverged",
          "pruned")  # pruned: a sweep's trial stopped for falling behind (training.sweep.worker)
ACTIVE_STATES = ("queued", "running", "stopping")
# Not a state any writer sets: what a reader reports for a status.json it cannot make sense of.
UNREADABLE = "unreadable"
NO_STATUS = {"state": "queued", "step": 0, "message": "no status yet"}
DEFAULT_RUNS_DIR = Path(os.environ.get("GAN_STUDIO_RUNS", "runs"))


def _status_problem(status: dict[str, Any]) -> str | None:
    """Why the fields of a status.json cannot be trusted (a pid that is text would be signalled)."""
    if status.get("state") not in STATES:
        return f"'state' is {status.get('state')!r}, not one of {', '.join(STATES)}"
    for key, minimum, optional in (("step", 0, False), ("total_steps", 0, True), ("pid", 1, True)):
        value = status.get(key)
        if not (whole_number(value, minimum) or (value is None and (optional or key not in status))):
            return f"{key!r} is {value!r}, not a whole number"
    for key in ("message", "updated", "started", "run_uid"):
        if status.get(key) is not None and not isinstance(status[key], str):
            return f"{key!r} is {status[key]!r}, not text"
    for key in ("eta_s", "images_per_s"):
        value = status.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            return f"{key!r} is {value!r}, not a number"
    return None


def sanitize_name(name: str) -> str:
    """A run name safe as one folder name: lowercase letters, digits, '.', '_', '-' only."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip(".-_")
    return cleaned[:64] or "run"


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (a child the app has not reaped yet) has finished for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    def identity(self) -> dict[str, str | None]:
        """What every checkpoint of this run records as its owner: the folder's name and the random uid
        made with the run (status.json's run_uid; None for a run older than uids, or whose status was
        lost), so a resume tells this run's checkpoint from another's of the same shapes."""
        uid = self.read_status().get("run_uid")
        return {"id": self.id, "uid": uid if isinstance(uid, str) and uid else None}

    def own_file(self, path: Path) -> Path:
        """``path`` when it lies inside this run's folder, links followed; UnreadableFile when it leads
        out (a status.json or config.json linked to someone else's file is not read, nor shown)."""
        try:
            inside(path, self.path)
        except (FileRefused, OSError, RuntimeError):
            raise UnreadableFile(f"unreadable: {path.name} leads outside the run folder (to {_target(path)}); "
                                 "a link out of a run is not followed") from None
        return path

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    health_path = property(lambda self: self.path / "health.jsonl")  # training/runfolder/health.py's findings
    log_path = property(lambda self: self.path / "log.txt")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    onnx_path = property(lambda self: self.path / "generator.onnx")
    card_path = property(lambda self: self.path / "generator.json")

    # config and status
    def read_config(self) -> dict[str, Any]:
        """The config as a dict; RunError (UnreadableFile for a torn or wrong-typed file) otherwise."""
        try:
            return read_json_object(self.own_file(self.config_path))
        except UnreadableFile as error:
            raise UnreadableFile(f"run {self.id}: {error}") from None
        except FileNotFoundError:
            raise RunError(f"run {self.id}: it has no config.json.") from None

    def read_status(self) -> dict[str, Any]:
        """The status as written; a folder with none yet is queued. A status.json that is torn or
        holds the wrong types reads as state 'unreadable', its 'message' saying why."""
        try:
            status = read_json_object(self.own_file(self.status_path))
        except FileNotFoundError:
            return dict(NO_STATUS)
        except UnreadableFile as error:
            return {"state": UNREADABLE, "step": 0, "message": str(error)}
        problem = _status_problem(status)
        if problem:
            return {"state": UNREADABLE, "step": 0, "message": f"unreadable: status.json: {problem}"}
        return status

    def write_status(self, **fields: Any) -> dict[str, Any]:
        stored = self.read_status()
        # a status nobody can read carries nothing worth keeping: the new fields start afresh
        status = {**(NO_STATUS if stored["state"] == UNREADABLE else stored), **fields, "updated": now_iso()}
        atomic_write_json(self.status_path, status)
        return status

    def live_status(self) -> dict[str, Any]:
        """The status, with a dead trainer's 'running' reported as what it is: 'failed'. A pid counts
        as the trainer only while it holds the run's lock, so a pid the system has given to another
        process since (after a reboot, or a long time) does not keep a dead run 'running' for good."""
        status = self.read_status()
        if status.get("state") in ACTIVE_STATES and not self.trainer_alive(status.get("pid")):
            if status.get("pid") or status.get("state") != "queued":
                status = {**status, "state": "failed",
                          "message": f"the training process (pid {status.get('pid')}) ended without saying why; "
                                     f"see log.txt, then `python -m training resume {self.id}`"}
        return status

    def trainer_alive(self, pid: int | None) -> bool:
        """Whether ``pid`` (a status.json's) is alive and still this run's trainer: it holds the run's
        lock (0: held by a process that has not written its pid yet). A lock file that cannot be read
        leaves the process table to answer."""
        if not pid:
            return False
        try:
            held = held_by(self.path / LOCK_NAME)
        except RunError:
            return process_alive(pid)
        return held is not None and held in (0, pid)

    # metrics.jsonl and health.jsonl (the health monitor's findings, training/runfolder/health.py):
    # append-only, one JSON object a line, written and cut back the same way
    def append_metrics(self, row: dict[str, Any]) -> None:
        append_row(self.metrics_path, row)

    def read_metrics(self) -> Rows:
        return self._read_rows(self.metrics_path)

    def _read_rows(self, path: Path) -> Rows:
        try:
            return read_rows(self.own_file(path))
        except UnreadableFile as error:
            return Rows(unreadable=str(error))

    def truncate_metrics(self, last_step: int) -> None:
        """Keep the rows up to ``last_step``: a resumed run recomputes the ones after it."""
        self._truncate(self.metrics_path, lambda row: row.get("step", 0) <= last_step)

    def append_health(self, event: dict[str, Any]) -> None:
        append_row(self.health_path, event)

    def read_health(self) -> list[dict[str, Any]]:
        """The events with a whole 'step'; anything else is passed over quietly (a file that cannot be
        read too): findings are advice, never a reason a run cannot be shown."""
        return [event for event in self._read_rows(self.health_path) if "step" in event]

    def truncate_health(self, last_step: int) -> None:
        """Keep the events a run had seen by ``last_step``: a resumed run finds the later ones again."""
        self._truncate(self.health_path, lambda event: event.get("found_at", event.get("step", 0)) <= last_step)

    def _truncate(self, path: Path, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite ``path`` atomically with the rows ``keep`` accepts, line by line (whatever its size: the
        readers see only its last ROWS_LIMIT bytes, this keeps every row). Lines that were never usable
        rows are dropped; a file that cannot be read is left as it is."""
        try:
            rewrite_rows(self.own_file(path), keep)
        except FileNotFoundError:
            return
        except UnreadableFile as error:
            raise RunError(f"run {self.id}: {error}") from None
        except OSError as error:
            raise RunError(f"run {self.id}: unreadable: {path.name}: {error.strerror or error}") from None

    # samples and checkpoints
    def sample_grids(self) -> list[Path]:
        return sorted(p for p in self.samples_dir.glob("step_*.png") if re.fullmatch(r"step_\d+", p.stem))

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:07d}.png"

    def checkpoints(self) -> list[Path]:
        return sorted(self.checkpoints_dir.glob("step_*.pt"))


def create_run(runs_dir: Path, name: str, config: dict[str, Any]) -> RunFolder:
    """A new folder ``<name>-<time>`` inside ``runs_dir``; never anywhere else."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    base = f"{sanitize_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
    for suffix in ["", *(f"-{i}" for i in range(2, 1000))]:
        path = runs_dir / (base + suffix)
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    else:
        raise RunError(f"cannot create a run folder for {name!r} in {runs_dir}.")
    run = RunFolder(path)
    run.samples_dir.mkdir()
    run.checkpoints_dir.mkdir()
    atomic_write_json(run.config_path, config)
    run.write_status(state="queued", step=0, total_steps=config.get("steps"), epoch=0, pid=None,
                     started=None, message="created", run_uid=new_run_uid())
    return run


def new_run_uid() -> str:
    return secrets.token_hex(8)


def _target(path: Path) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):  # a link loop
        return "a link loop"


def find_run(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> RunFolder:
    """A run by folder path or by id inside ``runs_dir``; ids cannot climb out of it."""
    candidate = Path(ref)
    if candidate.is_dir() and (candidate / "config.json").exists():
        return RunFolder(candidate)
    if sanitize_name(str(ref)) != str(ref) or "/" in str(ref):
        raise RunError(f"no run folder at {ref!r}: give a run folder's path or a run id from `python -m training runs`.")
    path = Path(runs_dir) / str(ref)
    if not (path / "config.json").exists():
        raise RunError(f"no run {ref!r} in {runs_dir}: `python -m training runs --runs-dir DIR` lists them.")
    if not _inside_runs(path, runs_dir):
        raise RunError(f"run {ref!r} in {runs_dir} is a link to {_target(path)}, outside the runs folder; a run is "
                       "found by id only inside it: give the folder's own path instead.")
    return RunFolder(path)


def _inside_runs(path: Path, runs_dir: Path) -> bool:
    """Whether a folder of ``runs_dir`` really lies in it: a link to a folder elsewhere is not a run of
    this folder's, so it is neither listed (nor its log shown in the app) nor found by id."""
    try:
        inside(path, runs_dir)
        return True
    except (FileRefused, OSError, RuntimeError):
        return False


def _has_config(path: Path) -> bool:
    try:
        return (path / "config.json").exists()
    except OSError:  # a folder we may not look into is not a run we can show
        return False


def list_runs(runs_dir: Path = DEFAULT_RUNS_DIR) -> Iterator[RunFolder]:
    """Every folder in ``runs_dir`` with a config.json, readable or not (a reader says which)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return iter(())
    try:
        entries = list(runs_dir.iterdir())
    except OSError as error:
        raise RunError(f"cannot list the runs folder {runs_dir}: {error.strerror or error}.") from None
    return iter(sorted((RunFolder(p) for p in entries if _has_config(p) and _inside_runs(p, runs_dir)),
                       key=lambda r: r.id))
