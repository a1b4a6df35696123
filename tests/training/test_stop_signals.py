"""SIGTERM and SIGINT request a stop inside the block, and the old handlers come back after it."""
import os
import signal

import pytest

from training.stop_signals import STOP_SIGNALS, stop_on_signals


def test_a_signal_inside_the_block_requests_a_stop_by_name_instead_of_killing():
    heard: list[str] = []
    with stop_on_signals(heard.append):
        os.kill(os.getpid(), signal.SIGTERM)   # the default handler would end the test process
        os.kill(os.getpid(), signal.SIGINT)    # the default handler would raise KeyboardInterrupt
    assert heard == ["SIGTERM", "SIGINT"]


def test_the_previous_handlers_come_back_even_when_the_block_raises():
    # Python's own SIGINT handler to start from, whatever an earlier test or import left installed
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        with pytest.raises(RuntimeError, match="boom"):
            with stop_on_signals(lambda name: None):
                assert all(signal.getsignal(s) is not before[s] for s in STOP_SIGNALS)
                raise RuntimeError("boom")
        assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == before
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, outer)
