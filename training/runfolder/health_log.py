"""The health monitor at work for one training process: every row the writer appends goes through
``HealthMonitor``; its events are appended to health.jsonl and logged, and ``line`` is the short
text for status.json and the progress line. Torch-free.

A fault in the monitor never stops training: it is logged once and the monitor is turned off.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from training.runfolder.health import HealthMonitor
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder

log = logging.getLogger("training")


class HealthLog:
    def __init__(self, run: RunFolder | None, config: Mapping[str, Any]):
        self.run = run
        self.monitor = HealthMonitor(config) if config.get("health_check", True) else None
        self.line = "ok" if self.monitor else ""

    def resume(self, step: int) -> None:
        """A resumed run: the events after ``step`` are dropped (the rows after it are recomputed too),
        and the monitor replays the rows kept, so a sign that began before the checkpoint goes on."""
        if not (self.monitor and self.run and step):
            return
        def rebuild() -> None:
            self.run.truncate_health(step)
            self._write(self.monitor.replay(self.run.read_metrics(), self.run.read_health(), step))
            self.line = self.monitor.line()

        self._safely(rebuild)

    def observe(self, row: Mapping[str, Any]) -> None:
        if self.monitor:
            self._safely(lambda: self._write(self.monitor.observe(row)))

    def diverged(self, step: int, message: str) -> None:
        if self.monitor:
            self._safely(lambda: self._write([self.monitor.diverged(step, message)]))

    def _write(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if self.run:
                self.run.append_health(event)
            if event["event"] == "found":
                log.warning("health: %s from step %d: %s", event["title"], event["step"], event["summary"])
                for remedy in event["remedies"][:3]:
                    log.warning("health:   try %s", remedy)
            else:
                log.info("health: %s (from step %d) cleared at step %d", event["title"], event["began"], event["step"])
        self.line = self.monitor.line()

    def _safely(self, work) -> None:
        try:
            work()
        except RunError:
            raise  # the run folder is gone: the writer's own writes say so too
        except Exception:  # noqa: BLE001 - advice about a run is never a reason to stop it
            log.exception("health monitor turned off for this run after an error (a bug: please report it)")
            self.monitor, self.line = None, ""
