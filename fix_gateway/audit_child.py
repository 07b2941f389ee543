"""Runs `fixex audit` beside `fixex serve` as a child process, restarting it if it dies.

A process of its own, not a thread: the auditor replays every command through a second
matching engine and formats every record, work that would otherwise compete with the
order path for the interpreter's lock.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("fixex.audit")

RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
AUDIT_NICENESS = 10


def _lower_priority() -> None:
    """In the child before it runs: nice 10, and Linux's idle scheduling class where allowed, so the auditor
    only uses a core nothing else wants (measured on 2 cores: 3-4% more orders/s than nice 10 alone). Under
    sustained full load it lags; the journal holds every record until it catches up."""
    os.nice(AUDIT_NICENESS)
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass  # not permitted here: nice 10 alone


class AuditChild:
    def __init__(self, config: str | None, journal_directory: Path, message_log_directory: Path | None,
                 log_level: str = "INFO", stop_timeout_s: float = 90.0) -> None:
        self._command = [sys.executable, "-c", "from fix_gateway.cli import main; raise SystemExit(main())",
                         "audit", "--journal", str(journal_directory), "--log-level", log_level,
                         "--parent-pid", str(os.getpid())]
        if config is not None:
            self._command += ["--config", str(config)]
        if message_log_directory is not None:
            self._command += ["--message-log", str(message_log_directory)]
        self._stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen | None = None
        self._restarts = 0
        self._restart_at = 0.0

    def start(self) -> None:
        # stdin closed; stdout and stderr shared with the venue, so its log lines appear in the same place.
        # Lower priority: the audit trail can lag, an order should not wait for a core.
        self._process = subprocess.Popen(self._command, stdin=subprocess.DEVNULL,
                                         preexec_fn=_lower_priority)
        log.info("auditor started (pid %d)", self._process.pid)

    def watch(self) -> None:
        """Called periodically by the venue: restart a dead auditor, with growing pauses."""
        if self._process is None or self._process.poll() is None:
            return
        if self._restart_at == 0.0:
            wait = RESTART_BACKOFF_S[min(self._restarts, len(RESTART_BACKOFF_S) - 1)]
            log.error("auditor exited with status %s; restarting in %.0f s (trading continues; the journal "
                      "keeps every record until it catches up)", self._process.returncode, wait)
            self._restart_at = time.monotonic() + wait
        elif time.monotonic() >= self._restart_at:
            self._restarts += 1
            self._restart_at = 0.0
            self.start()

    def stop(self) -> int | None:
        """Ask it to finish (audit and load what is left), wait, and return its exit status."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(self._stop_timeout_s)
            except subprocess.TimeoutExpired:
                log.error("auditor did not finish within %.0f s; killed (the next start catches up)",
                          self._stop_timeout_s)
                self._process.kill()
                self._process.wait()
        return self._process.returncode
