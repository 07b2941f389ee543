"""Rechecks the audit trail in the database: the hash chain and that each row says what its body says.

Every row keeps the journal entry's canonical JSON `body`, `prev_hash` and `hash`,
so the chain can be recomputed from the database alone, across both tables in
journal_seq order. A row edited after loading either breaks its hash (body edited)
or no longer matches its body (a structured column edited).

On PostgreSQL two things run side by side: Python streams (journal_seq, prev_hash, hash,
body) of both tables in journal_seq order and recomputes each SHA-256, while the database
reparses every body with the loader's own expressions and finds the first row whose
columns differ from it. The first row either finds wrong is then examined in Python, which
words the problem. On SQLite each row is rebuilt in Python (`audit_row`, `message_row`).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import Engine, Table, inspect, select

from reporting.journal import GENESIS_HASH, JournalEntry, entry_hash
from reporting.loader import audit_row, create_audit_engine, message_row, row_check_sql
from reporting.records import record_from_json
from reporting.schema import audit_events, fix_messages

__all__ = ["VerifyResult", "verify_chain"]

_STREAM_ROWS = 10_000  # rows per round trip of the server-side cursor


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int  # rows that verified before the first problem (all rows when ok)
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(database_url: str | Engine) -> VerifyResult:
    """Walk every row of audit_events and fix_messages in journal_seq order and recheck the chain."""
    engine = create_audit_engine(database_url) if isinstance(database_url, str) else database_url
    try:
        columns = {table.name: _present_columns(engine, table) for table in (audit_events, fix_messages)}
        if engine.dialect.name == "postgresql":
            result = _verify_in_postgres(engine, columns)
            if result is not None:
                return result
        return _verify_in_python(engine, columns)
    finally:
        if isinstance(database_url, str):
            engine.dispose()


def _present_columns(engine: Engine, table: Table) -> list[str]:
    """The table's columns that the database has (one not yet upgraded lacks the newer ones)."""
    there = {column["name"] for column in inspect(engine).get_columns(table.name)}
    return [column.name for column in table.columns if column.name in there]


# --------------------------------------------------------------------------- PostgreSQL


def _verify_in_postgres(engine: Engine, columns: dict[str, list[str]]) -> VerifyResult | None:
    """The chain in Python and the columns in the database at once; None if the database could not
    parse a body (then the row-by-row check in Python says which and why)."""
    first_column_problem: list[int | None] = []
    failure: list[BaseException] = []

    def check_columns() -> None:
        try:
            first_column_problem.append(_first_row_unlike_its_body(engine, columns))
        except BaseException as error:  # reported to the caller's thread
            failure.append(error)

    checker = threading.Thread(target=check_columns, name="verify-columns", daemon=True)
    checker.start()
    try:
        chain_seq, chain_problem, checked = _check_chain(engine)
    finally:
        checker.join()
    if failure:
        if isinstance(failure[0], psycopg.DataError):
            return None
        raise failure[0]
    column_seq = first_column_problem[0]
    if column_seq is not None and (chain_seq is None or column_seq < chain_seq):
        # Every row before it is in the chain, numbered 1, 2, ... (a gap would be a chain problem first).
        problem = _problem_of_row(engine, column_seq, columns)
        if not problem:
            raise AssertionError(f"journal_seq {column_seq}: the database finds its columns unlike its body, "
                                 "the row-by-row check does not")
        return VerifyResult(False, column_seq - 1, column_seq, problem)
    if chain_seq is not None:
        return VerifyResult(False, checked, chain_seq, chain_problem)
    return VerifyResult(True, checked)


def _check_chain(engine: Engine) -> tuple[int | None, str, int]:
    """(journal_seq of the first broken link or None, the problem, rows verified before it)."""
    pooled = engine.raw_connection()
    try:
        connection: psycopg.Connection = pooled.driver_connection  # type: ignore[assignment]
        with connection.cursor(name="fixex_verify_chain") as cursor:
            cursor.itersize = _STREAM_ROWS
            cursor.execute("SELECT journal_seq, prev_hash, hash, body FROM audit_events UNION ALL "
                           "SELECT journal_seq, prev_hash, hash, body FROM fix_messages ORDER BY journal_seq")
            sha256, previous_seq, previous_hash, checked = hashlib.sha256, 0, GENESIS_HASH, 0
            for seq, prev_hash, digest, body in cursor:
                if seq != previous_seq + 1:
                    return seq, f"gap in journal_seq: {seq} follows {previous_seq}", checked
                if prev_hash != previous_hash:
                    return seq, "prev_hash is not the previous entry's hash", checked
                if sha256((prev_hash + body).encode("utf-8")).hexdigest() != digest:
                    return seq, "hash does not match the stored body", checked
                previous_seq, previous_hash, checked = seq, digest, checked + 1
        return None, "", checked
    finally:
        pooled.rollback()
        pooled.close()


def _first_row_unlike_its_body(engine: Engine, columns: dict[str, list[str]]) -> int | None:
    """The smallest journal_seq whose columns are not what its body gives, by the loader's expressions."""
    pooled = engine.raw_connection()
    try:
        connection: psycopg.Connection = pooled.driver_connection  # type: ignore[assignment]
        with connection.cursor() as cursor:
            cursor.execute(row_check_sql(columns["audit_events"], columns["fix_messages"]))
            return cursor.fetchone()[0]
    finally:
        pooled.rollback()
        pooled.close()


def _problem_of_row(engine: Engine, seq: int, columns: dict[str, list[str]]) -> str:
    """Why the row at `seq` does not match its body, worded by the row-by-row check."""
    for table in (audit_events, fix_messages):
        with engine.connect() as connection:
            row = connection.execute(select(*(table.c[name] for name in columns[table.name]))
                                     .where(table.c.journal_seq == seq)).mappings().first()
        if row is not None:
            return _column_problem(table, dict(row), seq)
    raise AssertionError(f"journal_seq {seq} is in neither table")


# --------------------------------------------------------------------------- row by row, in Python


def _verify_in_python(engine: Engine, columns: dict[str, list[str]]) -> VerifyResult:
    previous_seq, previous_hash, checked = 0, GENESIS_HASH, 0
    for table, row in heapq.merge(_rows(engine, audit_events, columns), _rows(engine, fix_messages, columns),
                                  key=lambda pair: pair[1]["journal_seq"]):
        seq = row["journal_seq"]
        problem = _problem(table, row, previous_seq, previous_hash)
        if problem:
            return VerifyResult(False, checked, seq, problem)
        previous_seq, previous_hash, checked = seq, row["hash"], checked + 1
    return VerifyResult(True, checked)


def _rows(engine: Engine, table: Table, columns: dict[str, list[str]]) -> Iterator[tuple[Table, dict[str, Any]]]:
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=1000).execute(
            select(*(table.c[name] for name in columns[table.name])).order_by(table.c.journal_seq))
        for row in result.mappings():
            yield table, dict(row)


def _problem(table: Table, row: dict[str, Any], previous_seq: int, previous_hash: str) -> str:
    seq = row["journal_seq"]
    if seq != previous_seq + 1:
        return f"gap in journal_seq: {seq} follows {previous_seq}"
    if row["prev_hash"] != previous_hash:
        return "prev_hash is not the previous entry's hash"
    if entry_hash(row["prev_hash"], row["body"].encode("utf-8")) != row["hash"]:
        return "hash does not match the stored body"
    return _column_problem(table, row, seq)


def _column_problem(table: Table, row: dict[str, Any], seq: int) -> str:
    try:
        body = json.loads(row["body"])
        record = record_from_json(body)
    except (ValueError, TypeError) as err:
        return f"body is not an audit record ({err})"
    if body.get("journal_seq") != seq:
        return f"body says journal_seq {body.get('journal_seq')}"
    entry = JournalEntry(seq, record, row["prev_hash"], row["hash"], row["body"])
    if table is fix_messages:
        expected = message_row(entry)
    else:
        decimals = {record.symbol: row["price_decimals"]} if row["price_decimals"] is not None else {}
        expected = audit_row(entry, decimals)
    for name, value in expected.items():
        if name in row and not _same(value, row[name]):
            return f"column {name} is {row[name]!r} but the body says {value!r}"
    return ""


def _same(expected: Any, stored: Any) -> bool:
    if isinstance(expected, datetime) and isinstance(stored, datetime):
        if stored.tzinfo is None:  # SQLite keeps no zone; the loader writes UTC
            stored = stored.replace(tzinfo=timezone.utc)
        return expected == stored
    if isinstance(expected, Decimal) and stored is not None:
        return expected == Decimal(stored)
    return expected == stored
