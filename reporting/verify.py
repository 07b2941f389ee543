"""Rechecks the audit trail in the database: the hash chain and that each row says what its body says.

Every row keeps the journal entry's canonical JSON `body`, `prev_hash` and `hash`,
so the chain can be recomputed from the database alone, across both tables in
journal_seq order. A row edited after loading either breaks its hash (body edited)
or no longer matches its body (a structured column edited).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, select

from reporting.journal import GENESIS_HASH, JournalEntry, entry_hash
from reporting.loader import audit_row, create_audit_engine, message_row
from reporting.records import record_from_json
from reporting.schema import audit_events, fix_messages

__all__ = ["VerifyResult", "verify_chain"]


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
        previous_seq, previous_hash, checked = 0, GENESIS_HASH, 0
        for table, row in heapq.merge(_rows(engine, audit_events), _rows(engine, fix_messages),
                                      key=lambda pair: pair[1]["journal_seq"]):
            seq = row["journal_seq"]
            problem = _problem(table, row, previous_seq, previous_hash)
            if problem:
                return VerifyResult(False, checked, seq, problem)
            previous_seq, previous_hash, checked = seq, row["hash"], checked + 1
        return VerifyResult(True, checked)
    finally:
        if isinstance(database_url, str):
            engine.dispose()


def _rows(engine: Engine, table: Table) -> Iterator[tuple[Table, dict[str, Any]]]:
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=1000).execute(
            select(table).order_by(table.c.journal_seq))
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
        if not _same(value, row[name]):
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
