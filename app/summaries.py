"""What the pages say about a run at a glance: its row in the Runs table, the time it has left."""
from __future__ import annotations

from typing import Any

from training.runfolder.health import health_line
from training.runfolder.files import RunError
from training.runfolder.folder import UNREADABLE, RunFolder


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "?"


def run_summary(run: RunFolder) -> dict[str, Any]:
    """One row of the Runs table; a file it cannot read makes a row with the reason in 'problem'."""
    problems = []
    status = run.live_status()
    if status.get("state") == UNREADABLE:
        problems.append(status["message"])
    try:
        config = run.read_config()
    except RunError as error:
        config = {}
        problems.append(str(error).removeprefix(f"run {run.id}: "))
    rows = run.read_metrics()
    if rows.unreadable or rows.skipped:
        problems.append(rows.unreadable or f"unreadable: metrics.jsonl {rows.skipped[0]}")
    elapsed = rows[-1].get("time") if rows else None
    fids = [r["fid"] for r in rows if isinstance(r.get("fid"), (int, float)) and not isinstance(r["fid"], bool)]
    steps = status.get("total_steps") or config.get("steps")
    try:
        exported = run.onnx_path.is_file()
    except OSError:
        exported = False
    return {
        "run": run.id,
        "state": status.get("state", "?"),
        "preset": _text(config.get("preset")),
        "dataset": _text(config.get("dataset")),
        "model": _text(config.get("model")),
        "loss": _text(config.get("loss")),
        "step": status.get("step", 0),
        "steps": steps if isinstance(steps, int) and not isinstance(steps, bool) else None,
        "time_min": round(elapsed / 60, 1) if isinstance(elapsed, (int, float)) else None,
        "best_fid": round(min(fids), 2) if fids else None,
        "health": _health(run, status),
        "exported": exported,
        "updated": status.get("updated") or "",
        "problem": "; ".join(problems),
    }


def _health(run: RunFolder, status: dict[str, Any]) -> str:
    """The health monitor's line (training/runfolder/health.py): from health.jsonl, else status.json, else ''."""
    events = run.read_health()
    return health_line(events) if events else _text(status.get("health")) if status.get("health") else ""


def eta_text(status: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    eta = status.get("eta_s")
    if eta is None and rows and status.get("total_steps"):
        last = rows[-1]
        if last.get("time") and last.get("step"):
            eta = (status["total_steps"] - last["step"]) * last["time"] / last["step"]
    if eta is None:
        return ""
    eta = int(eta)
    return f"about {eta // 3600}h {eta % 3600 // 60}m left" if eta >= 3600 else \
        f"about {eta // 60}m {eta % 60}s left" if eta >= 60 else f"about {eta}s left"
