"""What a playground run keeps in its run folder beside the usual files, and how both sides use it.

* ``snapshot.json``, written by the trainer (atomically: a reader never sees half of one): the
  step counts, D's surface on a grid, real points, G's samples for a fixed batch of latents, the
  arrows of G's gradient on them, and the toy metrics; rewritten every ``snapshot_every`` G steps
  and after every single step or pause.
* ``metrics.jsonl`` (the run's usual file): one row per snapshot, so the app charts the losses,
  modes covered and the high-quality share over time.
* ``control.json``, written by the app (atomically) and polled by the trainer between updates:
  ``mode`` ``play`` or ``pause``; ``step_requests``, a counter the app raises by one for each
  click on Step (the trainer serves each request once: one D update, then one G update, so two
  quick clicks are two steps and rereading the file is never a third); ``stop`` true ends the
  process, as SIGTERM does. A missing or unreadable control file changes nothing.

Torch-free, so the app imports it.
"""
from __future__ import annotations

from typing import Any

from training.runfolder.files import RunError, UnreadableFile, atomic_write_json, read_json_object
from training.runfolder.folder import RunFolder

CONTROL, SNAPSHOT = "control.json", "snapshot.json"
MODES = ("play", "pause")


def control_path(run: RunFolder):
    return run.path / CONTROL


def snapshot_path(run: RunFolder):
    return run.path / SNAPSHOT


def read_control(run: RunFolder) -> dict[str, Any] | None:
    """The control file's ``mode``, ``step_requests`` and ``stop``, or None when there is none or
    it cannot be trusted (then the trainer carries on as it was)."""
    try:
        value = read_json_object(control_path(run))
    except (FileNotFoundError, UnreadableFile):
        return None
    mode, requests, stop = value.get("mode"), value.get("step_requests", 0), value.get("stop", False)
    if mode not in MODES or isinstance(requests, bool) or not isinstance(requests, int) or requests < 0 \
            or not isinstance(stop, bool):
        return None
    return {"mode": mode, "step_requests": requests, "stop": stop}


def write_control(run: RunFolder, *, mode: str | None = None, step: bool = False, stop: bool = False,
                  initial_mode: str = "play") -> dict[str, Any]:
    """Change what the trainer should do: ``mode`` play or pause, one more single step (which
    also pauses), or stop. Returns the control as written."""
    if mode is not None and mode not in MODES:
        raise RunError(f"unknown playground mode {mode!r}: play or pause.")
    if not run.path.is_dir():
        raise RunError(f"run {run.id} no longer exists; start a new playground run.")
    control = read_control(run) or {"mode": initial_mode, "step_requests": 0, "stop": False}
    if step:
        control = {**control, "mode": "pause", "step_requests": control["step_requests"] + 1}
    if mode is not None:
        control["mode"] = mode
    if stop:
        control["stop"] = True
    atomic_write_json(control_path(run), control)
    return control


def write_initial_control(run: RunFolder, mode: str) -> None:
    """The control file as the run starts: made with the folder, before the app learns of the
    run, so the app's first click is never overwritten by the trainer."""
    atomic_write_json(control_path(run), {"mode": mode, "step_requests": 0, "stop": False})


def read_snapshot(run: RunFolder) -> dict[str, Any] | None:
    """The latest snapshot, or None before the first one (or if the folder went away)."""
    try:
        return read_json_object(snapshot_path(run))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnreadableFile as error:
        raise RunError(f"run {run.id}: {error}") from None


def is_playground(config: dict[str, Any]) -> bool:
    return config.get("kind") == "playground"
