"""Runs `fixex audit` and `fixex market-data` beside `fixex serve` as child processes, restarting them if they die.

Processes of their own, not threads: each replays every command through a matching engine
of its own (the auditor to format every record, the feed to publish every book change),
work that would otherwise compete with the order path for the interpreter's lock.
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
# Market data is worth a core when there is one, but an order comes first: a little lower than the venue.
MARKET_DATA_NICENESS = 5


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


def _market_data_priority() -> None:
    os.nice(MARKET_DATA_NICENESS)


class ChildProcess:
    """A `fixex` subcommand run beside `fixex serve`, restarted with growing pauses if it dies."""

    def __init__(self, name: str, arguments: list[str], *, lower_priority=None, consequence: str = "",
                 stop_timeout_s: float = 90.0) -> None:
        self.name = name
        self._command = [sys.executable, "-c", "from fix_gateway.cli import main; raise SystemExit(main())",
                         *arguments, "--parent-pid", str(os.getpid())]
        self._lower_priority = lower_priority
        self._consequence = consequence  # what its absence means, for the operator reading the log
        self._stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen | None = None
        self._restarts = 0
        self._restart_at = 0.0

    def start(self) -> None:
        # stdin closed; stdout and stderr shared with the venue, so its log lines appear in the same place.
        self._process = subprocess.Popen(self._command, stdin=subprocess.DEVNULL, preexec_fn=self._before_exec)
        log.info("%s started (pid %d)", self.name, self._process.pid)

    def _before_exec(self) -> None:
        """In the forked child: SIGTERM held back until the child has installed its handler (fix_gateway.cli
        _stop_requested unblocks it). A serve stopped while a child is still importing would otherwise kill
        it unheard, before it could finish its work (seen: an auditor that never caught up)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        if self._lower_priority is not None:
            self._lower_priority()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def watch(self) -> None:
        """Called periodically by the venue: restart a dead child, with growing pauses."""
        if self._process is None or self._process.poll() is None:
            return
        if self._restart_at == 0.0:
            wait = RESTART_BACKOFF_S[min(self._restarts, len(RESTART_BACKOFF_S) - 1)]
            log.error("%s exited with status %s; restarting in %.0f s (%s)", self.name, self._process.returncode,
                      wait, self._consequence)
            self._restart_at = time.monotonic() + wait
        elif time.monotonic() >= self._restart_at:
            self._restarts += 1
            self._restart_at = 0.0
            self.start()

    def stop(self) -> int | None:
        """Ask it to finish, wait, and return its exit status."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(self._stop_timeout_s)
            except subprocess.TimeoutExpired:
                log.error("%s did not finish within %.0f s; killed", self.name, self._stop_timeout_s)
                self._process.kill()
                self._process.wait()
                return self._process.returncode
        if self._process.returncode < 0:
            log.error("%s ended by %s before it could finish", self.name,
                      signal.Signals(-self._process.returncode).name)
        return self._process.returncode


def audit_child(config: str | None, journal_directory: Path, message_log_directory: Path | None,
               log_level: str = "INFO", stop_timeout_s: float = 90.0) -> ChildProcess:
    """The auditor (`fixex audit`): on SIGTERM it audits and loads what is left, so it may take a while."""
    arguments = ["audit", "--journal", str(journal_directory), "--log-level", log_level]
    if config is not None:
        arguments += ["--config", str(config)]
    if message_log_directory is not None:
        arguments += ["--message-log", str(message_log_directory)]
    # Lower priority: the audit trail can lag, an order should not wait for a core.
    return ChildProcess("auditor", arguments, lower_priority=_lower_priority, stop_timeout_s=stop_timeout_s,
                        consequence="trading continues; the journal keeps every record until it catches up")


def market_data_child(config: str | None, sessions: str | None, journal_directory: Path, work_dir: Path,
                    log_level: str = "INFO") -> ChildProcess:
    """The market-data feed (`fixex market-data`): its subscribers reconnect when it is back."""
    arguments = ["market-data", "--journal", str(journal_directory), "--log-level", log_level,
                 "--work-dir", str(work_dir)]
    if config is not None:
        arguments += ["--config", str(config)]
    if sessions is not None:
        arguments += ["--sessions", str(sessions)]
    return ChildProcess("market-data feed", arguments, lower_priority=_market_data_priority, stop_timeout_s=30.0,
                        consequence="order entry continues; market-data sessions reconnect to a fresh snapshot")
