"""Where a ``python -m training`` process logs: stderr, and the run's log.txt (once, when the app
already sends stderr there). Torch-free, so export and evaluate set it up without the trainer."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from training.runfolder.files import RunError, folder_gone
from training.runfolder.folder import RunFolder

log = logging.getLogger("training")


def setup_logging(run: RunFolder | None, is_main: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if run and is_main and not _stderr_is(run.log_path):
        try:
            handlers.append(logging.FileHandler(run.log_path))
        except FileNotFoundError:
            raise RunError(folder_gone(run.log_path)) from None
    logging.basicConfig(level=logging.WARNING, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    log.setLevel(logging.INFO if is_main else logging.WARNING)  # our progress, not the exporter's chatter


def _stderr_is(path: Path) -> bool:
    """True when our stderr already goes to ``path`` (the app launches us that way): log once, not twice."""
    try:
        return path.exists() and os.path.samestat(os.fstat(sys.stderr.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False
