"""`fixex audit`: the auditor and the database loader, as one long-running process.

`fixex serve` starts it as a child process (and restarts it if it dies); an operator can
also run it alone, e.g. `fixex audit --once` to bring the database up to date with the
journals after the venue has stopped. Every `STATUS_INTERVAL_S` it writes its progress
to `<journal>/audit-status.json`, which `fixex admin status` shows.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from config import Settings
from reporting.auditor import Auditor
from reporting.command_journal import ReplayDivergedError
from reporting.fees import FeeSchedule
from reporting.journal import JournalCorruptError, JournalInUseError
from reporting.loader import JournalLoader

__all__ = ["STATUS_FILE_NAME", "read_status", "run_audit"]

log = logging.getLogger("fixex.audit")

STATUS_FILE_NAME = "audit-status.json"
STATUS_INTERVAL_S = 1.0
IDLE_WAIT_S = 0.05
LOCK_WAIT_S = 120.0
STOP_LOCK_WAIT_S = 30.0
# Audit records the loader takes from the auditor's memory instead of reading back the journal it just
# wrote: ten batches' worth, about 30 MB with raw FIX messages. A loader further behind reads the file.
RECENT_RECORDS = 10_000
LOADER_WAIT_S = 0.005
PASS_INPUTS = 500  # inputs, and messages from each log, audited per pass: a few thousand records, well
# inside RECENT_RECORDS


def run_audit(settings: Settings, journal_directory: Path, message_log_directory: Path | None, *,
              database_url: str | None = None, once: bool = False,
              stop_requested: Callable[[], bool] = lambda: False, drain_timeout_s: float = 60.0) -> int:
    """Audit and load until `stop_requested()` (then drain what is left) or, with `once`, until caught up.

    Returns 0 when everything journaled is in the database, 1 when the database could
    not be brought up to date (the journals keep everything; a later run catches up), or when the
    input journal does not verify or no longer replays as the venue ran it (what was audited before
    that point is loaded; nothing after it is derived).
    """
    auditor = _open_auditor(settings, journal_directory, message_log_directory, stop_requested)
    if auditor is None:
        return 1
    loader = JournalLoader(auditor.audit_path, database_url or settings.database.url,
                           {i.symbol: i.price_decimals for i in settings.instruments},
                           durable_seq=lambda: auditor.writer.synced_seq, recent=auditor.writer.recent)
    status_path = journal_directory / STATUS_FILE_NAME
    log.info("auditing %s into %s", auditor.inputs_path, settings.database.redacted_url if database_url is None
             else "the given database")
    loader.start()  # with --once too: it loads what the auditor writes, from memory, while it writes
    try:
        try:
            _audit_until_stopped(auditor, loader, status_path, once, stop_requested)
            while auditor.run_once():  # stopping (or --once): audit what the venue wrote last
                pass
        except (JournalCorruptError, ReplayDivergedError) as error:  # nothing past this point can be right
            log.critical("cannot audit past this point: %s; what was audited before it is loaded", error)
            failed = True
        else:
            failed = False
        auditor.writer.flush()
        loader.stop()
        loaded = _drain(loader, drain_timeout_s if not once else 0.0, status_path, auditor)
        return 1 if failed else loaded
    finally:
        loader.stop()
        auditor.close()


def _audit_until_stopped(auditor: Auditor, loader: JournalLoader, status_path: Path, once: bool,
                         stop_requested: Callable[[], bool]) -> None:
    next_status = 0.0
    while not stop_requested():
        written = auditor.run_once(limit=PASS_INPUTS)
        if written:
            auditor.writer.flush()  # the loader takes only what is on disk (see JournalLoader.durable_seq)
        if once and not written:
            return
        if time.monotonic() >= next_status:
            _write_status(status_path, auditor, loader)
            next_status = time.monotonic() + STATUS_INTERVAL_S
        if not written:
            time.sleep(IDLE_WAIT_S)
        # Catching up, the auditor writes faster than the loader loads. Past half the records held in
        # memory it waits for the loader, which would otherwise read them back from the file (more CPU
        # than the wait). Not while the database is failing: the audit journal goes on without it.
        while (auditor.writer.last_seq - loader.loaded_seq > RECENT_RECORDS // 2 and loader.last_error is None
               and not loader.failed and not stop_requested()):
            time.sleep(LOADER_WAIT_S)


def _open_auditor(settings: Settings, journal_directory: Path, message_log_directory: Path | None,
                  stop_requested: Callable[[], bool], wait_s: float = LOCK_WAIT_S) -> Auditor | None:
    """The auditor, once the audit journal is free: an auditor left over from a venue killed with
    SIGKILL finishes its last pass before it lets go. A stop asked for meanwhile still waits for it, up to
    `STOP_LOCK_WAIT_S`: stopping means auditing what is left, and the journal is free in a moment."""
    deadline = time.monotonic() + wait_s
    stopping = waiting = False
    while True:
        try:
            return Auditor(settings, journal_directory, message_log_directory,
                           fees=FeeSchedule.from_settings(settings), keep_recent=RECENT_RECORDS)
        except JournalInUseError as error:
            if not waiting:
                waiting = True
                log.warning("waiting up to %.0f s for the auditor of an earlier run to finish with the audit journal",
                            wait_s)
            if not stopping and stop_requested():
                stopping = True
                deadline = min(deadline, time.monotonic() + STOP_LOCK_WAIT_S)
            if time.monotonic() > deadline:
                log.error("cannot audit: %s", error)
                return None
            time.sleep(0.2)
        except RuntimeError as error:
            log.error("cannot audit: %s", error)
            return None


def _drain(loader: JournalLoader, timeout_s: float, status_path: Path, auditor: Auditor) -> int:
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        try:
            loader.load_available()
            loader.last_error = None
            _write_status(status_path, auditor, loader)
            log.info("audit database up to date at journal_seq %d", loader.loaded_seq)
            return 0
        except Exception as error:  # reported, not raised: the journals keep everything for the next run
            loader.last_error = f"{type(error).__name__}: {' '.join(str(error).split())}"
            if time.monotonic() + delay > deadline:
                _write_status(status_path, auditor, loader)
                log.error("audit database not up to date (%d journal entries wait for it): %s",
                          loader.backlog, loader.last_error)
                return 1
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _write_status(path: Path, auditor: Auditor, loader: JournalLoader) -> None:
    status = {
        "input_backlog": auditor.input_backlog,  # venue inputs not yet audited
        "audit_seq": auditor.writer.last_seq,
        "loaded_seq": loader.loaded_seq,
        "database_backlog": max(0, auditor.writer.last_seq - loader.loaded_seq),
        "database_error": loader.last_error,
        "loader_failed": loader.failed,
        "updated_at_ns": time.time_ns(),
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(status, sort_keys=True))
    os.replace(temporary, path)


def read_status(journal_directory: Path) -> dict | None:
    try:
        return json.loads((journal_directory / STATUS_FILE_NAME).read_text())
    except (OSError, ValueError):
        return None
