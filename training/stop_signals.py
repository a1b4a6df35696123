"""How a training process hears "stop": SIGTERM (the app's Stop button) and SIGINT (Ctrl-C).

Both only *request* a stop; the loop finishes its step, writes its last files and ends as
``stopped``. The handlers stay installed until the caller's final write is done: the app's Stop
writes a control file *and* sends SIGTERM, and a signal landing after the default handler came
back would kill the run before it says "stopped" (it would then be shown as failed).
"""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Callable, Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(request_stop: Callable[[str], None]) -> Iterator[None]:
    """Call ``request_stop(signal_name)`` on SIGTERM or SIGINT inside the block; restore the
    previous handlers when the block ends, however it ends."""
    def handler(signum, frame) -> None:
        request_stop(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
