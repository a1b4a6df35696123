"""What the pages say about a run at a glance: its row in the Runs table, the time it has left."""
from __future__ import annotations

from typing import Any

from training.runs import RunError, RunFolder


def run_summary(run: RunFolder) -> dict[str, Any]:
    """One row of the Runs table."""
    status = run.live_status()
    try:
        config = run.read_config()
    except RunError:
        config = {}
    rows = run.read_metrics()
    elapsed = rows[-1].get("time") if rows else None
    fids = [r["fid"] for r in rows if isinstance(r.get("fid"), (int, float))]
    return {
        "run": run.id,
        "state": status.get("state", "?"),
        "preset": config.get("preset", "?"),
        "dataset": config.get("dataset", "?"),
        "model": config.get("model", "?"),
        "loss": config.get("loss", "?"),
        "step": status.get("step", 0),
        "steps": status.get("total_steps") or config.get("steps"),
        "time_min": round(elapsed / 60, 1) if isinstance(elapsed, (int, float)) else None,
        "best_fid": round(min(fids), 2) if fids else None,
        "exported": run.onnx_path.is_file(),
        "updated": status.get("updated", ""),
    }


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
