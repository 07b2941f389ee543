"""Children of `fixex serve` (auditor, market-data feed): started, stopped, and what their stop reports."""

from __future__ import annotations

import logging
import sys

from fix_gateway.audit_child import ChildProcess

# A child that takes a while to start (as the auditor does, importing SQLAlchemy), then waits for its stop.
SLOW_STARTING_CHILD = """
import sys, time
time.sleep(0.5)
from fix_gateway.cli import _stop_requested
stop_requested = _stop_requested(None)
while not stop_requested():
    time.sleep(0.01)
sys.exit(0)
"""


def _child(code: str, stop_timeout_s: float = 30.0) -> ChildProcess:
    child = ChildProcess("test child", [], stop_timeout_s=stop_timeout_s)
    child._command = [sys.executable, "-c", code]
    return child


def test_a_child_stopped_while_still_starting_hears_the_stop_once_it_listens_and_finishes() -> None:
    child = _child(SLOW_STARTING_CHILD)
    child.start()
    assert child.stop() == 0  # SIGTERM sent at once: held back until its handler was in, not fatal


def test_a_child_that_does_not_finish_in_time_is_killed_and_that_is_logged_once(caplog) -> None:
    child = _child("import time; time.sleep(60)", stop_timeout_s=1.0)
    child.start()
    with caplog.at_level(logging.ERROR, logger="fixex.audit"):
        assert child.stop() == -9
    assert [r.getMessage() for r in caplog.records] == ["test child did not finish within 1 s; killed"]


def test_a_child_killed_by_a_signal_is_named_in_the_log(caplog) -> None:
    child = _child("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    child.start()
    child._process.wait(10)
    with caplog.at_level(logging.ERROR, logger="fixex.audit"):
        assert child.stop() == -9
    assert "test child ended by SIGKILL before it could finish" in caplog.text
