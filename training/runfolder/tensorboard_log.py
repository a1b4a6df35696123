"""TensorBoard's view of a run: the numbers of every metrics row as scalars at the row's step, and
every sample grid as an image, in event files under RUN/tensorboard/ (`tensorboard --logdir runs`
shows every run). Torch-free; tensorboard itself is imported only by a process that writes them
(config ``tensorboard``, on by default).

Tags: a training row's figures are ``train/<key>`` (``train/loss_d``...), an evaluation row's
``eval/<key>``, a grid's row ``samples/<key>``, and the grid itself is the image ``samples/grid``.

A resumed run re-does the steps after its checkpoint, so the events a killed process wrote after it
must not stay beside the new ones. Each process writes a fresh event file, named to sort after
every file already in the folder (both of TensorBoard's readers read a folder's files in name
order), and a resumed process's file opens with a SessionLog START at its first re-done step:
TensorBoard's Python reader (EventAccumulator, `tensorboard --load_fast=false`) drops every older
event from that step on at once; its Rust data server (the default) ignores START, but drops a
series' points from a step on whenever a later file writes that series at that step again, which
the resumed run does as it re-does each step.

Events go through a buffered file that is flushed at every checkpoint (so what a checkpoint keeps
is on disk), at most every FLUSH_SECONDS while training (so TensorBoard follows a live run), and
at the end; nothing waits on a background thread.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any, Mapping

from training.runfolder.files import RunError, folder_gone

log = logging.getLogger("training")

FOLDER = "tensorboard"  # inside the run folder
FLUSH_SECONDS = 30.0
_STAMP = re.compile(r"events\.out\.tfevents\.(\d+)\.")
INSTALL_HINT = ("tensorboard is not installed (`pip install tensorboard==2.21.0`, as in requirements.txt): this "
                "run writes no TensorBoard files; `--set tensorboard=false` turns them off and this warning with them")


def open_log(run_path: Path, step: int) -> "TensorBoardLog | None":
    """The event log of a process that starts training ``run_path`` at ``step`` (0, or the step of the
    checkpoint it resumed from). Without the tensorboard package: None, with a warning; the files are
    an extra, never a reason a run cannot train."""
    try:
        return TensorBoardLog(Path(run_path) / FOLDER, step)
    except ImportError:
        log.warning(INSTALL_HINT)
        return None


def event_file_name(folder: Path) -> str:
    """TensorBoard's own pattern, events.out.tfevents.<seconds>.<host>.<pid>.0, with <seconds> past
    every file's already there: a process started within the second of the last one still sorts after it."""
    newest = max((int(m.group(1)) for p in folder.iterdir() if (m := _STAMP.match(p.name))), default=0)
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()) or "host"
    return f"events.out.tfevents.{max(int(time.time()), newest + 1):010d}.{host}.{os.getpid()}.0"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TensorBoardLog:
    def __init__(self, folder: Path, resume_step: int = 0):
        from tensorboard.compat.proto import event_pb2, summary_pb2  # only a process that writes pays for them
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event_pb2, self._summary_pb2 = event_pb2, summary_pb2
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise RunError(f"{folder} is not a folder of this run (a link or a file): remove it, or train with "
                           "--set tensorboard=false.")
        try:
            folder.mkdir(exist_ok=True)  # never its parents: a deleted run folder is not made again
            self.path = folder / event_file_name(folder)
            self._file = open(self.path, "xb")
        except FileNotFoundError:
            raise RunError(folder_gone(folder)) from None
        self._records = RecordWriter(self._file)
        self._write(file_version="brain.Event:2")
        if resume_step:
            # Metrics rows up to resume_step are kept (RunFolder.truncate_metrics): later events are stale.
            self._write(step=resume_step + 1, session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START))
        self.flush()

    def row(self, row: Mapping[str, Any]) -> None:
        """Every number of a metrics row (its step aside) as a scalar at the row's step."""
        Summary = self._summary_pb2.Summary
        prefix = row.get("kind") or "train"
        values = [Summary.Value(tag=f"{prefix}/{key}", simple_value=float(value))
                  for key, value in row.items() if key != "step" and _is_number(value)]
        if values:
            self._write(step=row["step"], summary=Summary(value=values))
        if time.monotonic() - self._flushed > FLUSH_SECONDS:
            self.flush()

    def image(self, step: int, png: bytes, shape: tuple[int, ...]) -> None:
        """A sample grid (the PNG written to samples/, shape [H, W, C]) as the image ``samples/grid``."""
        Summary = self._summary_pb2.Summary
        height, width, channels = shape
        image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
        self._write(step=step, summary=Summary(value=[Summary.Value(tag="samples/grid", image=image)]))

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()
        self._flushed = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def _write(self, **fields: Any) -> None:
        event = self._event_pb2.Event(wall_time=time.time(), **fields)
        self._records.write(event.SerializeToString())

