"""Run folders: the one place where training, export and the app meet.

Torch-free, so the app reads runs without importing torch. Every file is either rewritten
atomically (status.json, config.json) or append-only (metrics.jsonl, log.txt), so a process
killed at any instant leaves a folder the next reader understands.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

STATES = ("queued", "running", "stopping", "stopped", "finished", "failed", "diverged")
ACTIVE_STATES = ("queued", "running", "stopping")
DEFAULT_RUNS_DIR = Path(os.environ.get("GAN_STUDIO_RUNS", "runs"))


class RunError(Exception):
    """A run that cannot be found, created or read; the message says which and why."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide run files from other users (e.g. the app's)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


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

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    log_path = property(lambda self: self.path / "log.txt")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    onnx_path = property(lambda self: self.path / "generator.onnx")
    card_path = property(lambda self: self.path / "generator.json")

    # config and status
    def read_config(self) -> dict[str, Any]:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, ValueError) as error:
            raise RunError(f"run {self.id}: cannot read config.json ({error}).") from None

    def read_status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {"state": "queued", "step": 0, "message": "no status yet"}

    def write_status(self, **fields: Any) -> dict[str, Any]:
        status = {**self.read_status(), **fields, "updated": now_iso()}
        atomic_write_json(self.status_path, status)
        return status

    def live_status(self) -> dict[str, Any]:
        """The status, with a dead process's 'running' reported as what it is."""
        status = self.read_status()
        if status.get("state") in ACTIVE_STATES and not process_alive(status.get("pid")):
            if status.get("pid") or status.get("state") != "queued":
                status = {**status, "state": "failed",
                          "message": f"the training process (pid {status.get('pid')}) ended without saying why; "
                                     f"see log.txt, then `python -m training resume {self.id}`"}
        return status

    # metrics
    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every complete row; a half-written last line (a kill mid-write) is skipped."""
        rows = []
        try:
            text = self.metrics_path.read_text()
        except FileNotFoundError:
            return rows
        for line in text.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return rows

    def truncate_metrics(self, last_step: int) -> None:
        """Keep the rows up to ``last_step``: a resumed run recomputes the ones after it."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
        atomic_write_bytes(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    # samples and checkpoints
    def sample_grids(self) -> list[Path]:
        return sorted(self.samples_dir.glob("step_*.png"))

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
                     started=None, message="created")
    return run


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
    return RunFolder(path)


def list_runs(runs_dir: Path = DEFAULT_RUNS_DIR) -> Iterator[RunFolder]:
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return iter(())
    return iter(sorted((RunFolder(p) for p in runs_dir.iterdir() if (p / "config.json").exists()),
                       key=lambda r: r.id))
