"""Loads the journal into the database in batches, idempotently, catching up after outages (rule 7).

The database is only ever a copy of the journal: the loader asks it for the highest
journal_seq it has and loads what follows. Each batch is one transaction and
inserts skip rows already there (ON CONFLICT DO NOTHING), so a batch repeated after
a crash between commit and bookkeeping never doubles a row.

PostgreSQL gets COPY (psycopg 3) into a temporary table, then INSERT ... SELECT;
SQLite gets a plain executemany insert.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, Table, create_engine, func, select, union_all
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from reporting.journal import JournalCorruptError, JournalEntry, JournalTail, last_journal_seq
from reporting.records import FIX_MESSAGE_KIND, PRICE_FIELDS
from reporting.schema import audit_events, ensure_schema, fix_messages

__all__ = ["JournalLoader", "JournalMismatchError", "audit_row", "create_audit_engine", "message_row",
           "ns_to_datetime", "units_to_decimal"]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Errors that mean "the database is not reachable right now": retried with backoff.
# Anything else is a bug or a damaged journal and stops the loader loudly (rule 4).
_RETRYABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


class JournalMismatchError(Exception):
    """The database holds entries this journal does not: a different journal or database."""


def create_audit_engine(database_url: str) -> Engine:
    """An engine for the audit database; makes the directory of a SQLite file if needed."""
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    elif url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = 5  # an unreachable host fails in seconds, not minutes
    # pre_ping: after an outage the pool's old connections are dead; test before use.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


# canonical_json's form, built once: a verified entry holds no floats (its writer refused them).
_canonical_detail = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode


def ns_to_datetime(timestamp_ns: int) -> datetime:
    """UTC, to the microsecond (integer arithmetic: no float on the way)."""
    return _EPOCH + timedelta(microseconds=timestamp_ns // 1000)


def units_to_decimal(units: int, price_decimals: int) -> Decimal:
    return Decimal(f"{units}e-{price_decimals}")


def audit_row(entry: JournalEntry, price_decimals: Mapping[str, int]) -> dict[str, Any]:
    """The audit_events row for a journal entry; prices in currency when the symbol's decimals are known."""
    record = entry.record
    decimals = price_decimals.get(record.symbol) if record.symbol is not None else None
    row: dict[str, Any] = {
        "journal_seq": entry.journal_seq,
        "sequence": record.sequence,
        "timestamp_ns": record.timestamp_ns,
        "timestamp": ns_to_datetime(record.timestamp_ns),
        "kind": record.kind,
        "session": record.session,
        "firm": record.firm,
        "client_order_id": record.client_order_id,
        "orig_client_order_id": record.orig_client_order_id,
        "order_id": record.order_id,
        "exec_id": record.exec_id,
        "trade_id": record.trade_id,
        "symbol": record.symbol,
        "side": record.side,
        "order_type": record.order_type,
        "time_in_force": record.time_in_force,
        "price_decimals": decimals,
        "quantity": record.quantity,
        "leaves_quantity": record.leaves_quantity,
        "cum_quantity": record.cum_quantity,
        "last_quantity": record.last_quantity,
        "reason_code": record.reason_code,
        "text": record.text,
        "liquidity": record.liquidity,
        "fee": None if record.fee is None else Decimal(record.fee),
        "command_seq": record.command_seq,
        "detail": _canonical_detail(record.detail),
        "body": entry.body,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
    for name in PRICE_FIELDS:
        units = getattr(record, name)
        if units is None:
            row[name] = None
        elif decimals is None:
            row[name] = Decimal(units)  # unknown instrument: integer price units, price_decimals NULL says so
        else:
            row[name] = units_to_decimal(units, decimals)
    return row


def message_row(entry: JournalEntry) -> dict[str, Any]:
    """The fix_messages row for a raw FIX message entry."""
    record = entry.record
    return {
        "journal_seq": entry.journal_seq,
        "direction": record.detail["direction"],
        "session": record.session,
        "timestamp_ns": record.timestamp_ns,
        "timestamp": ns_to_datetime(record.timestamp_ns),
        "raw": record.text,
        "body": entry.body,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


class JournalLoader:
    """Copies a journal into the audit database.

    `load_available()` loads everything new, now. `start()` runs it on a thread every
    `poll_interval` seconds; when the database is unreachable the thread retries
    with exponential backoff from `min_backoff` to `max_backoff` seconds. While it
    runs, `backlog` (journal entries not yet in the database), `loaded_seq` (highest
    journal_seq in the database) and `last_error` (None when the last attempt
    worked) say how it is doing; `failed` is set when it stopped on a non-retryable error.
    """

    def __init__(self, journal_path: str | os.PathLike[str], database_url: str, price_decimals: Mapping[str, int],
                 batch_size: int = 1000, *, poll_interval: float = 0.2, min_backoff: float = 0.1,
                 max_backoff: float = 5.0, durable_seq: Callable[[], int] | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size {batch_size}; must be at least 1")
        self.journal_path = Path(journal_path)
        self.database_url = database_url
        self.price_decimals = dict(price_decimals)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        # When given: load nothing the journal's writer has not fsynced yet, so that the
        # database is never ahead of a journal that a power loss could shorten.
        self.durable_seq = durable_seq
        self.backlog = 0
        self.loaded_seq = 0
        self.last_error: str | None = None
        self.failed = False
        self._engine: Engine | None = None
        self._schema_ready = False
        self._is_postgres = make_url(database_url).get_backend_name() == "postgresql"
        self._tail: JournalTail | None = None
        self._pending: list[JournalEntry] = []  # read from the journal, not yet in the database
        self._lock = threading.Lock()  # load_available from a test while the thread runs stays safe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ loading

    def load_available(self) -> int:
        """Load every journal entry after the database's highest journal_seq; return the rows inserted."""
        with self._lock:
            engine = self._ready_engine()
            database_seq, database_hash = self._database_position(engine)
            self.loaded_seq = database_seq
            confirmed = self._tail.last_seq - len(self._pending) if self._tail is not None else 0
            if self._tail is None or database_seq < confirmed:
                # First call, or the database lost rows we loaded (restored from backup): read from the start.
                self._tail, self._pending = JournalTail(self.journal_path), []
            # A batch whose commit worked but whose reply was lost is already there: do not send it again.
            self._pending = [entry for entry in self._pending if entry.journal_seq > database_seq]
            inserted = 0
            while True:
                self._read_pending(database_seq, database_hash)
                ready = self._pending[: self.batch_size]
                if self.durable_seq is not None:
                    limit = self.durable_seq()
                    ready = [entry for entry in ready if entry.journal_seq <= limit]
                if not ready:
                    break
                batch = ready
                inserted += self._insert(engine, batch)
                del self._pending[: len(batch)]
                database_seq = self.loaded_seq = batch[-1].journal_seq
            self.backlog = max(0, last_journal_seq(self.journal_path) - database_seq)
            return inserted

    def _ready_engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_audit_engine(self.database_url)
        if not self._schema_ready:
            ensure_schema(self._engine)
            self._schema_ready = True
        return self._engine

    def _database_position(self, engine: Engine) -> tuple[int, str | None]:
        """The highest journal_seq in the database and its hash (0, None when empty)."""
        both = union_all(
            select(audit_events.c.journal_seq, audit_events.c.hash)
            .where(audit_events.c.journal_seq == select(func.max(audit_events.c.journal_seq)).scalar_subquery()),
            select(fix_messages.c.journal_seq, fix_messages.c.hash)
            .where(fix_messages.c.journal_seq == select(func.max(fix_messages.c.journal_seq)).scalar_subquery()),
        ).subquery()
        with engine.connect() as connection:
            row = connection.execute(
                select(both.c.journal_seq, both.c.hash).order_by(both.c.journal_seq.desc()).limit(1)
            ).first()
        return (0, None) if row is None else (row.journal_seq, row.hash)

    def _read_pending(self, database_seq: int, database_hash: str | None) -> None:
        """Top up the pending batch from the journal, skipping what the database already has."""
        assert self._tail is not None
        while len(self._pending) < self.batch_size:
            try:
                entries = self._tail.read_new(limit=self.batch_size - len(self._pending))
            except JournalCorruptError:
                if self._pending:
                    return  # load the good entries first; the next read raises again at the damage
                raise
            if not entries:
                if self._tail.last_seq < database_seq:
                    raise JournalMismatchError(
                        f"the database has journal_seq {database_seq} but {self.journal_path} ends at "
                        f"{self._tail.last_seq}: a different journal or database")
                return
            for entry in entries:
                if entry.journal_seq == database_seq and entry.hash != database_hash:
                    raise JournalMismatchError(
                        f"journal_seq {database_seq} has hash {database_hash} in the database but {entry.hash} "
                        f"in {self.journal_path}: a different journal or database")
                if entry.journal_seq > database_seq:
                    self._pending.append(entry)

    def _insert(self, engine: Engine, batch: Sequence[JournalEntry]) -> int:
        events = [audit_row(e, self.price_decimals) for e in batch if e.record.kind != FIX_MESSAGE_KIND]
        messages = [message_row(e) for e in batch if e.record.kind == FIX_MESSAGE_KIND]
        if self._is_postgres:
            return self._copy_postgres(engine, ((audit_events, events), (fix_messages, messages)))
        return self._insert_sqlite(engine, ((audit_events, events), (fix_messages, messages)))

    @staticmethod
    def _insert_sqlite(engine: Engine, work: Sequence[tuple[Table, list[dict[str, Any]]]]) -> int:
        inserted = 0
        with engine.begin() as connection:
            for table, rows in work:
                if rows:
                    statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=["journal_seq"])
                    inserted += connection.execute(statement, rows).rowcount
        return inserted

    @staticmethod
    def _copy_postgres(engine: Engine, work: Sequence[tuple[Table, list[dict[str, Any]]]]) -> int:
        inserted = 0
        pooled = engine.raw_connection()
        try:
            connection: psycopg.Connection = pooled.driver_connection  # type: ignore[assignment]
            with connection.cursor() as cursor:
                for table, rows in work:
                    if not rows:
                        continue
                    names = [column.name for column in table.columns]
                    quoted = ", ".join(f'"{name}"' for name in names)
                    stage = f"{table.name}_stage"
                    cursor.execute(f'CREATE TEMP TABLE "{stage}" (LIKE "{table.name}") ON COMMIT DROP')
                    with cursor.copy(f'COPY "{stage}" ({quoted}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row([row[name] for name in names])
                    cursor.execute(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{stage}" '
                                   "ON CONFLICT (journal_seq) DO NOTHING")
                    inserted += cursor.rowcount
            connection.commit()
        except BaseException:
            with contextlib.suppress(psycopg.Error):  # a dead connection cannot roll back; the error below says why
                pooled.rollback()
            raise
        finally:
            pooled.close()
        return inserted

    # ------------------------------------------------------------------ background mode

    def start(self) -> None:
        """Load on a daemon thread until stop()."""
        if self._thread is not None:
            raise RuntimeError("loader already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="journal-loader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread (after the batch in flight) and release the database connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._engine is not None:
            self._engine.dispose()

    def _run(self) -> None:
        backoff = self.min_backoff
        while not self._stop.is_set():
            try:
                self.load_available()
            except _RETRYABLE as err:
                # backlog first: a watcher that sees last_error may read backlog straight away
                self.backlog = max(0, last_journal_seq(self.journal_path) - self.loaded_seq)
                self.last_error = f"{type(err).__name__}: {' '.join(str(err).split())}"
                log.warning("audit database unreachable (retry in %.1f s, backlog %d): %s",
                            backoff, self.backlog, self.last_error)
                wait, backoff = backoff, min(backoff * 2, self.max_backoff)
            except Exception as err:
                self.last_error = f"{type(err).__name__}: {err}"
                self.failed = True
                log.exception("journal loader stopped")
                return
            else:
                self.last_error = None
                wait, backoff = self.poll_interval, self.min_backoff
            self._stop.wait(wait)
