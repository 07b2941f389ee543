"""Loads the journal into the database in batches, idempotently, catching up after outages (rule 7).

The database is only ever a copy of the journal: the loader asks it for the highest
journal_seq it has and loads what follows. Each batch is one transaction and
inserts skip rows already there (ON CONFLICT DO NOTHING), so a batch repeated after
a crash between commit and bookkeeping never doubles a row.

PostgreSQL: Python only checks the hash chain over each line's raw bytes (the hash, and
the link to the line before) and COPYs the lines as they are into a temporary table;
one INSERT ... SELECT then has PostgreSQL parse the JSON into audit_events and
fix_messages, and three more fill orders, trades and sessions from the rows just
loaded, all in the batch's transaction. The database also checks that line n says
journal_seq n; a line it cannot take is diagnosed with the journal's full check
(JournalCorruptError).

SQLite (and PostgreSQL with `raw_copy=False`): each entry is parsed in Python and its
rows built here (`audit_row`, `message_row`, `derive_rows`), inserted with SQLAlchemy's
types (on SQLite straight through the driver: `execute_rows`). Both ways store the same values.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Executable, bindparam, create_engine, event, func, select, union_all
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from reporting.journal import GENESIS_HASH, JournalCorruptError, JournalEntry, JournalTail, last_journal_seq
from reporting.records import FIX_MESSAGE_KIND, PRICE_FIELDS, SESSION_RECORD_KINDS, flat_object_json
from reporting.schema import ORDER_EVENT_KINDS, audit_events, ensure_schema, fix_messages, orders, sessions, trades

__all__ = ["JournalLoader", "JournalMismatchError", "audit_row", "backfill_derived", "create_audit_engine",
           "derive_rows", "execute_rows", "fix_msg_type", "message_row", "ns_to_datetime", "row_check_sql",
           "units_to_decimal"]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Errors that mean "the database is not reachable right now": retried with backoff.
# Anything else is a bug or a damaged journal and stops the loader loudly (rule 4).
_RETRYABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


class JournalMismatchError(Exception):
    """The database holds entries this journal does not: a different journal or database."""


def create_audit_engine(database_url: str, *, loading: bool = False) -> Engine:
    """An engine for the audit database; makes the directory of a SQLite file if needed.

    `loading`: the loader's own sessions. A load cut off mid-transaction (the network
    dropped) can leave its server session holding row locks until the server notices; the
    next load would wait on them without end. So the loader's sessions give up a lock wait
    after 15 s (an error: the loader retries) and the server ends any of them left idle in a
    transaction for 30 s, releasing what it held. A SQLite file the loader writes is switched to
    write-ahead logging (it stays so), so exports read it while it loads.
    """
    url = make_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    elif url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = 5  # an unreachable host fails in seconds, not minutes
        if loading:
            connect_args["options"] = "-c lock_timeout=15000 -c idle_in_transaction_session_timeout=30000"
    # pre_ping: after an outage the pool's old connections are dead; test before use.
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if loading and url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_for_loading)
    return engine


def _sqlite_for_loading(connection: Any, _record: Any) -> None:
    # Write-ahead log: an export reading the trail and the loader writing it do not wait for each
    # other (with SQLite's default rollback journal a long export held the loader's commits off).
    # synchronous=NORMAL syncs at checkpoints, not at every commit: a power cut can lose the last
    # batches, which the loader loads again from the journal, the record that counts.
    cursor = connection.cursor()
    try:
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":  # ":memory:" has no file to log to
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


# --------------------------------------------------------------------------- rows built in Python

# canonical_json's form, built once: a verified entry holds no floats (its writer refused them).
_canonical_detail = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode


def ns_to_datetime(timestamp_ns: int) -> datetime:
    """UTC, to the microsecond (integer arithmetic: no float on the way)."""
    return _EPOCH + timedelta(microseconds=timestamp_ns // 1000)


def units_to_decimal(units: int, price_decimals: int) -> Decimal:
    return Decimal(f"{units}e-{price_decimals}")


def fix_msg_type(raw: str | None) -> str | None:
    """MsgType (35) of a raw FIX message: up to the next SOH or the end; None without one."""
    if raw is None:
        return None
    start = raw.find("\x0135=")
    if start < 0:
        return None
    start += 4
    end = raw.find("\x01", start)
    return raw[start:] if end < 0 else raw[start:end]


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
        "detail": flat_object_json(record.detail) or _canonical_detail(record.detail),
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
        "msg_type": fix_msg_type(record.text),
    }


_ORDER_EVENT_KINDS = frozenset(ORDER_EVENT_KINDS)
_SESSION_KINDS = frozenset(SESSION_RECORD_KINDS)
_SIDE_FROM_FILL = ("session", "client_order_id", "liquidity", "fee")


def execute_rows(connection: Connection, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> int:
    """Execute `statement` once per row (an executemany); return the rows it changed.

    On SQLite the rows go to the driver as tuples, each value through the bind conversion
    SQLAlchemy itself would apply (so the stored text is the same), compiled once per statement
    shape: SQLAlchemy's per-row parameter handling cost more than SQLite's own insert.
    """
    if connection.dialect.name != "sqlite" or not rows:
        return connection.execute(statement, rows).rowcount
    keys = tuple(rows[0])
    # By dialect name, not object: each engine has its own dialect, and every SQLite one compiles alike.
    shape = (connection.dialect.name, connection.dialect.paramstyle, id(statement), keys)
    plan = _DRIVER_PLANS.get(shape)
    if plan is None or plan[0] is not statement:  # an id may be a new object's once the old one is gone
        compiled = statement.compile(dialect=connection.dialect, column_keys=list(keys))
        names = compiled.positiontup
        if names is None or len(names) < 2 or not set(names) <= set(keys):  # or a default SQLAlchemy fills in
            return connection.execute(statement, rows).rowcount
        dialect = connection.dialect
        converters = [compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
        plan = _DRIVER_PLANS[shape] = (statement, compiled.string, itemgetter(*names),
                                       tuple((i, convert) for i, convert in enumerate(converters) if convert))
    _, sql, values_of, conversions = plan
    values = []
    for row in rows:
        value = list(values_of(row))
        for i, convert in conversions:
            if value[i] is not None:
                value[i] = convert(value[i])
        values.append(tuple(value))
    return connection.exec_driver_sql(sql, values).rowcount


# (dialect, statement, row keys) -> (the statement, driver SQL, the row's values in bind order,
# (position, conversion)). Callers pass statements built once (_loading_insert): compiling one costs 0.5 ms.
_DRIVER_PLANS: dict[tuple[str, str, int, tuple[str, ...]],
                    tuple[Executable, str, Callable[[Mapping[str, Any]], Any],
                          tuple[tuple[int, Callable[[Any], Any]], ...]]] = {}


def _order_quantities(row: Mapping[str, Any]) -> tuple[int | None, int | None, str]:
    """(cum, leaves, status) of an order after one of its events (the SQL path's CASEs, in Python)."""
    kind = row["kind"]
    if kind in ("order_accepted", "order_triggered"):  # nothing executes before these (a stop waits untraded)
        cum, leaves = 0, row["quantity"]
    elif kind in ("order_cancelled", "order_expired"):
        cum, leaves = row["cum_quantity"], 0
    else:
        cum, leaves = row["cum_quantity"], row["leaves_quantity"]
    if kind == "order_cancelled":
        status = "cancelled"
    elif kind == "order_expired":
        status = "expired"
    elif leaves == 0 and cum is not None and cum > 0:
        status = "filled"
    elif cum is not None and cum > 0:
        status = "partially_filled"
    else:
        status = "new"
    return cum, leaves, status


def derive_rows(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Upsert orders and insert trades and sessions from audit_events rows (in journal_seq order) already
    in the database, in Python: the SQLite way, and PostgreSQL's with raw_copy=False. Idempotent."""
    order_rows: dict[int, dict[str, Any]] = {}
    trade_rows: list[Mapping[str, Any]] = []
    session_rows: list[dict[str, Any]] = []
    fills_here: dict[tuple[int, str], Mapping[str, Any]] = {}  # a trade's fills come just before it, as a rule
    for row in rows:
        kind = row["kind"]
        if kind == "order_filled" and row["trade_id"] is not None:
            fills_here[(row["trade_id"], row["side"])] = row
        if kind in _ORDER_EVENT_KINDS and row["order_id"] is not None:
            cum, leaves, status = _order_quantities(row)
            order = order_rows.get(row["order_id"])
            if order is None:
                order = order_rows[row["order_id"]] = {
                    "order_id": row["order_id"], "order_type": None, "time_in_force": None,
                    "first_seq": row["journal_seq"], "created_at": row["timestamp"]}
            order.update(firm=row["firm"], session=row["session"], client_order_id=row["client_order_id"],
                         symbol=row["symbol"], side=row["side"], price_decimals=row["price_decimals"],
                         price=row["price"], quantity=row["quantity"], cum_quantity=cum, leaves_quantity=leaves,
                         status=status, last_seq=row["journal_seq"], updated_at=row["timestamp"])
            if row["order_type"] is not None:
                order["order_type"] = row["order_type"]
            if row["time_in_force"] is not None:
                order["time_in_force"] = row["time_in_force"]
        elif kind == "trade_executed":
            trade_rows.append(row)
        elif kind in _SESSION_KINDS:
            session_rows.append({
                "journal_seq": row["journal_seq"], "timestamp_ns": row["timestamp_ns"], "timestamp": row["timestamp"],
                "session": row["session"], "firm": row["firm"], "kind": kind[len("session_"):],
                "direction": json.loads(row["detail"]).get("direction"), "reason_code": row["reason_code"],
                "text": row["text"]})
    dialect = connection.dialect.name
    if order_rows:
        execute_rows(connection, _loading_insert(dialect, "orders"), list(order_rows.values()))
    if trade_rows:
        # Only fills loaded in an earlier batch are looked up in the database.
        fills = _fills(connection, [row["trade_id"] for row in trade_rows
                                    if (row["trade_id"], "buy") not in fills_here
                                    or (row["trade_id"], "sell") not in fills_here])
        fills.update(fills_here)
        values = []
        for row in trade_rows:
            detail = json.loads(row["detail"])
            value = {name: row[name] for name in ("trade_id", "journal_seq", "sequence", "timestamp_ns", "timestamp",
                                                  "symbol", "price_decimals", "price", "quantity")}
            value["aggressor_side"] = detail.get("aggressor_side")
            for side in ("buy", "sell"):
                fill = fills.get((row["trade_id"], side), {})
                order_id, firm = detail.get(f"{side}_order_id"), detail.get(f"{side}_firm")
                value[f"{side}_order_id"] = fill.get("order_id") if order_id is None else order_id
                value[f"{side}_firm"] = fill.get("firm") if firm is None else firm
                for name in _SIDE_FROM_FILL:
                    value[f"{side}_{name}"] = fill.get(name)
            values.append(value)
        execute_rows(connection, _loading_insert(dialect, "trades"), values)
    if session_rows:
        execute_rows(connection, _loading_insert(dialect, "sessions"), session_rows)


@functools.lru_cache(maxsize=None)
def _loading_insert(dialect: str, table_name: str) -> Executable:
    """The loader's insert into a table, built once per dialect: rows already there are left alone, except
    that an order takes the state of a later event."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    if table_name != "orders":
        table = {t.name: t for t in (audit_events, fix_messages, trades, sessions)}[table_name]
        return insert(table).on_conflict_do_nothing(index_elements=[table.primary_key.columns.keys()[0]])
    statement = insert(orders)
    mine, new = orders.c, statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["order_id"],
        set_={**{name: new[name] for name in ("firm", "session", "client_order_id", "symbol", "side",
                                              "price_decimals", "price", "quantity", "cum_quantity",
                                              "leaves_quantity", "status", "last_seq", "updated_at")},
              "order_type": func.coalesce(new.order_type, mine.order_type),
              "time_in_force": func.coalesce(new.time_in_force, mine.time_in_force)},
        where=mine.last_seq < new.last_seq)  # events already applied change nothing


def _fills(connection: Connection, trade_ids: Sequence[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """(trade_id, side) -> that side's order_filled row (its trade's fills come before it in the journal)."""
    found: dict[tuple[int, str], dict[str, Any]] = {}
    columns = [audit_events.c[name] for name in ("trade_id", "side", "order_id", "firm", *_SIDE_FROM_FILL)]
    for start in range(0, len(trade_ids), 500):
        result = connection.execute(select(*columns).where(audit_events.c.kind == "order_filled",
                                                           audit_events.c.trade_id.in_(trade_ids[start:start + 500]))
                                    .order_by(audit_events.c.journal_seq))
        for fill in result.mappings():  # were a trade id ever reused, its latest fill would win, as in SQL
            found[(fill["trade_id"], fill["side"])] = dict(fill)
    return found


# --------------------------------------------------------------------------- PostgreSQL: the database parses

# The journal line's end: `,"prev_hash":"<64 hex>","hash":"<64 hex>"}` (reporting.journal's chain suffix).
_SUFFIX = 154
_PREV_KEY, _HASH_KEY, _END = b',"prev_hash":"', b'","hash":"', b'"}'

# Each batch: COPY the lines as they are (journal_seq n - 1 + `line_no`), then parse them once.
_STAGE = 'CREATE TEMP TABLE fixex_stage (line_no bigint GENERATED ALWAYS AS IDENTITY, line text NOT NULL) ' \
         'ON COMMIT DROP'
# The parsed batch is held once for both tables it goes to: in memory, not in a temporary file.
_WORK_MEM = "SET LOCAL work_mem = '64MB'"
_RECORD_TYPES = """journal_seq bigint, sequence bigint, timestamp_ns bigint, kind text, session text, firm text,
    client_order_id text, orig_client_order_id text, order_id bigint, exec_id text, trade_id bigint, symbol text,
    side text, order_type text, time_in_force text, price numeric, stop_price numeric, last_price numeric,
    quantity bigint, leaves_quantity bigint, cum_quantity bigint, last_quantity bigint, reason_code integer,
    text text, liquidity text, fee numeric, command_seq bigint, detail json, prev_hash text, hash text"""
_TIMESTAMP = "timestamptz 'epoch' + (p.timestamp_ns / 1000) * interval '1 microsecond'"  # exact: < 2^53 µs
_EVENT_COLUMNS = [column.name for column in audit_events.columns]
_MESSAGE_COLUMNS = [column.name for column in fix_messages.columns]
_EVENT_VALUES = {
    "timestamp": _TIMESTAMP,
    "price_decimals": "p.decimals",
    **{name: f"p.{name} / p.divisor" for name in PRICE_FIELDS},
    "detail": "p.detail::text",  # the json type keeps the text as written: the body's canonical form
}
_MESSAGE_VALUES = {
    "direction": "p.detail ->> 'direction'",
    "timestamp": _TIMESTAMP,
    "raw": "p.text",
    "msg_type": "CASE WHEN strpos(p.text, chr(1) || '35=') > 0 "
                "THEN split_part(split_part(p.text, chr(1) || '35=', 2), chr(1), 1) END",
}


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


_LOAD = f"""
WITH p AS MATERIALIZED (
    -- line n must say journal_seq n; if not, a cast that fails the batch (_first_damage then names the line)
    SELECT CASE WHEN r.journal_seq IS DISTINCT FROM %(base)s + s.line_no
                     OR octet_length(b.head) <> octet_length(s.line) - {_SUFFIX}
                THEN ('journal line ' || (%(base)s + s.line_no) || ' is not the entry the loader checked: '
                      || 'its journal_seq is ' || coalesce(r.journal_seq::text, 'missing'))::bigint
                ELSE r.journal_seq END AS journal_seq,
           r.sequence, r.timestamp_ns, r.kind, r.session, r.firm, r.client_order_id, r.orig_client_order_id,
           r.order_id, r.exec_id, r.trade_id, r.symbol, r.side, r.order_type, r.time_in_force, r.price,
           r.stop_price, r.last_price, r.quantity, r.leaves_quantity, r.cum_quantity, r.last_quantity,
           r.reason_code, r.text, r.liquidity, r.fee, r.command_seq, r.detail, r.prev_hash, r.hash,
           b.head || '}}' AS body,
           d.decimals, CASE WHEN d.decimals IS NULL THEN 1 ELSE 10::numeric ^ d.decimals END AS divisor
    FROM fixex_stage s
    -- the body the hash covers: the line up to its chain suffix (split_part searches bytes; left(line, -154)
    -- would count characters); the length check above makes sure this is the suffix the loader checked
    CROSS JOIN LATERAL (SELECT split_part(s.line, '{_PREV_KEY.decode()}', 1) AS head) AS b
    CROSS JOIN LATERAL json_to_record(s.line::json) AS r({_RECORD_TYPES})
    CROSS JOIN LATERAL (SELECT (%(decimals)s::jsonb ->> r.symbol)::integer AS decimals) AS d
), events AS (
    INSERT INTO audit_events ({_quoted(_EVENT_COLUMNS)})
    SELECT {", ".join(_EVENT_VALUES.get(name, f"p.{name}") for name in _EVENT_COLUMNS)}
    FROM p WHERE p.kind IS DISTINCT FROM '{FIX_MESSAGE_KIND}'  -- no kind: NOT NULL refuses it, see _first_damage
    ON CONFLICT (journal_seq) DO NOTHING
    RETURNING 1
), messages AS (
    INSERT INTO fix_messages ({_quoted(_MESSAGE_COLUMNS)})
    SELECT {", ".join(_MESSAGE_VALUES.get(name, f"p.{name}") for name in _MESSAGE_COLUMNS)}
    FROM p WHERE p.kind = '{FIX_MESSAGE_KIND}'
    ON CONFLICT (journal_seq) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM messages)
"""


def row_check_sql(event_columns: Sequence[str], message_columns: Sequence[str]) -> str:
    """A query for the smallest journal_seq whose row in audit_events or fix_messages differs from what its
    body gives by the expressions the load uses (NULL when none does): reporting.verify on PostgreSQL.

    Only the given columns (those the database has) are compared; the chain columns are the verifier's.
    Prices are scaled with the row's own price_decimals, which the body does not hold.
    """
    unchecked = {"journal_seq", "body", "prev_hash", "hash", "price_decimals"}
    record_types = _RECORD_TYPES.rsplit(", prev_hash", 1)[0]  # a body has no hashes

    def differs(values: Mapping[str, str], columns: Sequence[str]) -> str:
        return " OR ".join(["p.journal_seq IS DISTINCT FROM t.journal_seq"] + [
            f't."{name}" IS DISTINCT FROM ({values.get(name, f"p.{name}")})'
            for name in columns if name not in unchecked])

    return f"""
SELECT min(journal_seq) FROM (
    SELECT t.journal_seq FROM audit_events t
    CROSS JOIN LATERAL (SELECT r.*, t.price_decimals AS decimals,
                               CASE WHEN t.price_decimals IS NULL THEN 1 ELSE 10::numeric ^ t.price_decimals END
                               AS divisor
                        FROM json_to_record(t.body::json) AS r({record_types})) AS p
    WHERE {differs(_EVENT_VALUES, event_columns)}
    UNION ALL
    SELECT t.journal_seq FROM fix_messages t
    CROSS JOIN LATERAL json_to_record(t.body::json) AS p({record_types})
    WHERE {differs(_MESSAGE_VALUES, message_columns)}
) AS unlike
"""


# orders, trades and sessions from the audit_events rows with lo < journal_seq <= hi (derive_rows, in SQL).
# The range is read on the primary key alone (OFFSET 0 keeps the planner from combining it with the kind
# index: before the table's first ANALYZE it would think `kind = ...` selective and read that index whole
# for every batch).
_RANGE = "(SELECT * FROM audit_events WHERE journal_seq > %(lo)s AND journal_seq <= %(hi)s OFFSET 0)"
_KINDS = ", ".join(f"'{kind}'" for kind in ORDER_EVENT_KINDS)
_DERIVE_ORDERS = f"""
WITH e AS (
    SELECT order_id, journal_seq, "timestamp", kind, firm, session, client_order_id, symbol, side, order_type,
           time_in_force, price_decimals, price, quantity,
           CASE WHEN kind IN ('order_accepted', 'order_triggered') THEN 0 ELSE cum_quantity END AS cum,
           CASE WHEN kind IN ('order_accepted', 'order_triggered') THEN quantity
                WHEN kind IN ('order_cancelled', 'order_expired') THEN 0 ELSE leaves_quantity END AS leaves
    FROM {_RANGE} AS a
    WHERE order_id IS NOT NULL AND kind IN ({_KINDS})
), latest AS (
    SELECT DISTINCT ON (order_id) * FROM e ORDER BY order_id, journal_seq DESC
), first AS (
    SELECT DISTINCT ON (order_id) order_id, journal_seq, "timestamp" FROM e ORDER BY order_id, journal_seq
), type AS (
    SELECT DISTINCT ON (order_id) order_id, order_type FROM e WHERE order_type IS NOT NULL
    ORDER BY order_id, journal_seq DESC
), tif AS (
    SELECT DISTINCT ON (order_id) order_id, time_in_force FROM e WHERE time_in_force IS NOT NULL
    ORDER BY order_id, journal_seq DESC
)
INSERT INTO orders AS o (order_id, firm, session, client_order_id, symbol, side, order_type, time_in_force,
                         price_decimals, price, quantity, cum_quantity, leaves_quantity, status, first_seq, last_seq,
                         created_at, updated_at)
SELECT l.order_id, l.firm, l.session, l.client_order_id, l.symbol, l.side, type.order_type, tif.time_in_force,
       l.price_decimals, l.price, l.quantity, l.cum, l.leaves,
       CASE WHEN l.kind = 'order_cancelled' THEN 'cancelled' WHEN l.kind = 'order_expired' THEN 'expired'
            WHEN l.leaves = 0 AND l.cum > 0 THEN 'filled' WHEN l.cum > 0 THEN 'partially_filled' ELSE 'new' END,
       first.journal_seq, l.journal_seq, first."timestamp", l."timestamp"
FROM latest l JOIN first USING (order_id) LEFT JOIN type USING (order_id) LEFT JOIN tif USING (order_id)
ON CONFLICT (order_id) DO UPDATE SET
    firm = EXCLUDED.firm, session = EXCLUDED.session, client_order_id = EXCLUDED.client_order_id,
    symbol = EXCLUDED.symbol, side = EXCLUDED.side, order_type = coalesce(EXCLUDED.order_type, o.order_type),
    time_in_force = coalesce(EXCLUDED.time_in_force, o.time_in_force), price_decimals = EXCLUDED.price_decimals,
    price = EXCLUDED.price, quantity = EXCLUDED.quantity, cum_quantity = EXCLUDED.cum_quantity,
    leaves_quantity = EXCLUDED.leaves_quantity, status = EXCLUDED.status, last_seq = EXCLUDED.last_seq,
    updated_at = EXCLUDED.updated_at
WHERE o.last_seq < EXCLUDED.last_seq
"""


def _trade_side(side: str) -> str:
    alias = side[0]
    return (f"coalesce((t.d ->> '{side}_order_id')::bigint, {alias}.order_id), "
            f"coalesce(t.d ->> '{side}_firm', {alias}.firm), {alias}.session, {alias}.client_order_id, "
            f"{alias}.liquidity, {alias}.fee")


def _fill_of(side: str) -> str:
    """The trade's fill on one side: the trade's rows (its fills and itself) on ix_audit_events_trade_id alone."""
    return (f"LEFT JOIN LATERAL (SELECT order_id, firm, session, client_order_id, liquidity, fee "
            f"FROM (SELECT * FROM audit_events WHERE trade_id = t.trade_id OFFSET 0) AS f "
            f"WHERE kind = 'order_filled' AND side = '{side}' ORDER BY journal_seq DESC LIMIT 1) AS {side[0]} ON true")


_DERIVE_TRADES = f"""
INSERT INTO trades ({_quoted([column.name for column in trades.columns])})
SELECT t.trade_id, t.journal_seq, t.sequence, t.timestamp_ns, t."timestamp", t.symbol, t.price_decimals, t.price,
       t.quantity, t.d ->> 'aggressor_side', {_trade_side("buy")}, {_trade_side("sell")}
FROM (SELECT *, detail::json AS d FROM {_RANGE} AS a WHERE kind = 'trade_executed') AS t
{_fill_of("buy")}
{_fill_of("sell")}
ON CONFLICT (trade_id) DO NOTHING
"""
_DERIVE_SESSIONS = f"""
INSERT INTO sessions ({_quoted([column.name for column in sessions.columns])})
SELECT journal_seq, timestamp_ns, "timestamp", session, firm, substr(kind, {len("session_") + 1}),
       detail::json ->> 'direction', reason_code, text
FROM {_RANGE} AS a
WHERE kind IN ({", ".join(f"'{k}'" for k in SESSION_RECORD_KINDS)})
ON CONFLICT (journal_seq) DO NOTHING
"""
_DERIVE = (_DERIVE_ORDERS, _DERIVE_TRADES, _DERIVE_SESSIONS)
_MSG_TYPE_BACKFILL = f"UPDATE fix_messages SET msg_type = {_MESSAGE_VALUES['msg_type'].replace('p.text', 'raw')}"


def backfill_derived(connection: Connection) -> None:
    """Fill fix_messages.msg_type, orders, trades and sessions from what the trail already holds
    (the upgrade to schema version 2, inside ensure_schema's transaction)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_MSG_TYPE_BACKFILL)
        top = connection.execute(select(func.coalesce(func.max(audit_events.c.journal_seq), 0))).scalar_one()
        for statement in _DERIVE:
            connection.exec_driver_sql(statement, {"lo": 0, "hi": top})
        return
    updates = [{"seq": seq, "new_type": fix_msg_type(raw)}
               for seq, raw in connection.execute(select(fix_messages.c.journal_seq, fix_messages.c.raw))]
    if updates:
        connection.execute(fix_messages.update().where(fix_messages.c.journal_seq == bindparam("seq"))
                           .values(msg_type=bindparam("new_type")), updates)
    last = 0
    while True:  # in journal_seq order, a chunk at a time: memory stays flat on a long trail
        chunk = connection.execute(select(audit_events).where(audit_events.c.journal_seq > last)
                                   .order_by(audit_events.c.journal_seq).limit(5000)).mappings().all()
        if not chunk:
            return
        derive_rows(connection, chunk)
        last = chunk[-1]["journal_seq"]


class _RawTail:
    """JournalTail's check over the raw bytes of each line, without parsing its JSON.

    Each complete line must end in the chain suffix, hash to it (SHA-256 of prev_hash and the
    body the line holds) and link to the line before; line n is journal_seq n, which the
    database checks when it parses the line. Anything the quick check refuses is judged by
    JournalTail, so the error is the journal's own (JournalCorruptError).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0  # bytes consumed: every line before is verified
        self.last_seq = 0
        self.last_hash = GENESIS_HASH.encode("ascii")

    def take(self, recent: list[tuple[JournalEntry, bytes]]) -> list[bytes]:
        """JournalTail.take for lines."""
        first, last = recent[0][0], recent[-1][0]
        if first.journal_seq != self.last_seq + 1 or first.prev_hash.encode("ascii") != self.last_hash:
            return []
        lines = [line for _, line in recent]
        self.offset += sum(len(line) for line in lines)
        self.last_seq, self.last_hash = last.journal_seq, last.hash.encode("ascii")
        return lines

    def read_new(self, limit: int) -> list[bytes]:
        """Verified lines (each with its newline) appended since the last call, at most `limit`."""
        lines: list[bytes] = []
        try:
            stream = open(self.path, "rb", buffering=1 << 20)
        except FileNotFoundError:
            return lines
        sha256, last_hash, consumed = hashlib.sha256, self.last_hash, 0
        with stream:
            stream.seek(self.offset)
            while len(lines) < limit:
                line = stream.readline()
                if not line.endswith(b"\n"):
                    break  # nothing more, or a line still being written
                if (line[-155:-141] != _PREV_KEY or line[-141:-77] != last_hash or line[-77:-67] != _HASH_KEY
                        or line[-3:-1] != _END
                        or sha256(last_hash + line[:-155] + b"}").hexdigest().encode("ascii") != line[-67:-3]):
                    if lines:
                        break  # hand over the good ones; the next call judges this line
                    self._judge()
                lines.append(line)
                consumed += len(line)
                last_hash = line[-67:-3]
        self.offset += consumed
        self.last_seq += len(lines)
        self.last_hash = last_hash
        return lines

    def _judge(self) -> None:
        """JournalTail's verdict on the line at `offset` (it raises); the quick check is never laxer."""
        tail = JournalTail(self.path)
        tail.offset, tail.line_number, tail.last_seq = self.offset, self.last_seq, self.last_seq
        tail.last_hash = self.last_hash.decode("ascii")
        tail.read_new(limit=1)
        raise AssertionError(f"{self.path}: the line after journal_seq {self.last_seq} fails the quick chain "
                             "check but passes the full one")


def _line_hash(item: JournalEntry | bytes) -> str:
    """The hash of a pending item: a journal line (with its newline) or an entry."""
    return item[-67:-3].decode("ascii") if isinstance(item, bytes) else item.hash


class JournalLoader:
    """Copies a journal into the audit database.

    `load_available()` loads everything new, now. `start()` runs it on a thread every
    `poll_interval` seconds; when the database is unreachable the thread retries
    with exponential backoff from `min_backoff` to `max_backoff` seconds. While it
    runs, `backlog` (journal entries not yet in the database), `loaded_seq` (highest
    journal_seq in the database) and `last_error` (None when the last attempt
    worked) say how it is doing; `failed` is set when it stopped on a non-retryable error.

    `raw_copy` (PostgreSQL only): COPY the journal's lines and let the database parse them
    (the default, fast); False builds the rows in Python as on SQLite.

    `recent` (JournalWriter.recent of the journal's writer, when it runs in this process): entries
    just appended are taken from it rather than read back and verified again; whatever it no longer
    holds is read from the file.
    """

    def __init__(self, journal_path: str | os.PathLike[str], database_url: str, price_decimals: Mapping[str, int],
                 batch_size: int = 1000, *, poll_interval: float = 0.2, min_backoff: float = 0.1,
                 max_backoff: float = 5.0, durable_seq: Callable[[], int] | None = None,
                 raw_copy: bool = True,
                 recent: Callable[[int, int], list[tuple[JournalEntry, bytes]]] | None = None) -> None:
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
        self.recent = recent
        self.taken_from_memory = 0  # entries that came from `recent`, not from the file
        self.backlog = 0
        self.loaded_seq = 0
        self.last_error: str | None = None
        self.failed = False
        self._engine: Engine | None = None
        self._schema_ready = False
        self._raw = raw_copy and make_url(database_url).get_backend_name() == "postgresql"
        self._decimals_json = json.dumps(self.price_decimals)
        self._tail: _RawTail | JournalTail | None = None
        # Read from the journal, not yet in the database: raw lines (PostgreSQL) or entries, numbered
        # consecutively up to the tail's last_seq.
        self._pending: list[Any] = []
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
            if self._tail is None or database_seq < self._tail.last_seq - len(self._pending):
                # First call, or the database lost rows we loaded (restored from backup): read from the start.
                self._tail = _RawTail(self.journal_path) if self._raw else JournalTail(self.journal_path)
                self._pending = []
            # A batch whose commit worked but whose reply was lost is already there: do not send it again.
            del self._pending[:max(0, database_seq - self._first_pending_seq() + 1)]
            inserted = 0
            while True:
                self._read_pending(database_seq, database_hash)
                count = min(len(self._pending), self.batch_size)
                first_seq = self._first_pending_seq()
                if self.durable_seq is not None:
                    count = min(count, self.durable_seq() - first_seq + 1)
                if count <= 0:
                    break
                inserted += self._insert(engine, self._pending[:count], first_seq)
                del self._pending[:count]
                database_seq = self.loaded_seq = first_seq + count - 1
            self.backlog = max(0, last_journal_seq(self.journal_path) - database_seq)
            return inserted

    def _first_pending_seq(self) -> int:
        assert self._tail is not None
        return self._tail.last_seq - len(self._pending) + 1

    def _ready_engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_audit_engine(self.database_url, loading=True)
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
            limit = self.batch_size - len(self._pending)
            recent = self.recent(self._tail.last_seq, limit) if self.recent is not None else None
            items = self._tail.take(recent) if recent else None
            if items:
                self.taken_from_memory += len(items)
            else:
                try:
                    items = self._tail.read_new(limit=limit)
                except JournalCorruptError:
                    if self._pending:
                        return  # load the good entries first; the next read raises again at the damage
                    raise
            if not items:
                if self._tail.last_seq < database_seq:
                    raise JournalMismatchError(
                        f"the database has journal_seq {database_seq} but {self.journal_path} ends at "
                        f"{self._tail.last_seq}: a different journal or database")
                return
            first_seq = self._tail.last_seq - len(items) + 1
            if first_seq <= database_seq <= self._tail.last_seq:
                journal_hash = _line_hash(items[database_seq - first_seq])
                if journal_hash != database_hash:
                    raise JournalMismatchError(
                        f"journal_seq {database_seq} has hash {database_hash} in the database but {journal_hash} "
                        f"in {self.journal_path}: a different journal or database")
            self._pending.extend(items[max(0, database_seq - first_seq + 1):])

    def _insert(self, engine: Engine, batch: Sequence[Any], first_seq: int) -> int:
        if self._raw:
            return self._copy_raw(engine, batch, first_seq)
        events = [audit_row(e, self.price_decimals) for e in batch if e.record.kind != FIX_MESSAGE_KIND]
        messages = [message_row(e) for e in batch if e.record.kind == FIX_MESSAGE_KIND]
        inserted = 0
        with engine.begin() as connection:
            postgresql = connection.dialect.name == "postgresql"
            for table, rows in ((audit_events, events), (fix_messages, messages)):
                if not rows:
                    continue
                statement = _loading_insert(connection.dialect.name, table.name)
                if postgresql:  # RETURNING counts the rows inserted: PostgreSQL's rowcount of an executemany does not
                    inserted += len(connection.execute(statement.returning(table.c.journal_seq), rows).all())
                else:  # SQLite counts them itself; a plain executemany loads about 10% faster than with RETURNING
                    inserted += execute_rows(connection, statement, rows)
            derive_rows(connection, events)
        return inserted

    def _copy_raw(self, engine: Engine, lines: Sequence[bytes], first_seq: int) -> int:
        try:
            return self._copy_raw_batch(engine, lines, first_seq)
        except (psycopg.DataError, psycopg.IntegrityError) as error:
            damage = self._first_damage(lines, first_seq)
            if damage is None:
                raise  # the lines are sound: the database refused them for another reason
            good = damage.line_number - first_seq  # line n holds journal_seq n up to the damage
            if good > 0:  # load the good entries first, as JournalTail hands them over
                self._copy_raw_batch(engine, lines[:good], first_seq)
            raise damage from error

    def _copy_raw_batch(self, engine: Engine, lines: Sequence[bytes], first_seq: int) -> int:
        """One batch in one transaction: COPY the lines, parse them into the tables, derive the rest."""
        pooled = engine.raw_connection()
        try:
            connection: psycopg.Connection = pooled.driver_connection  # type: ignore[assignment]
            with connection.cursor() as cursor:
                cursor.execute(_STAGE)
                cursor.execute(_WORK_MEM)
                with cursor.copy("COPY fixex_stage (line) FROM STDIN") as copy:
                    # COPY's text format: the lines hold no tab, and newline only at their end (canonical
                    # JSON escapes them), so doubling the backslashes is the whole encoding.
                    copy.write(b"".join(lines).replace(b"\\", b"\\\\"))
                cursor.execute(_LOAD, {"base": first_seq - 1, "decimals": self._decimals_json})
                inserted = cursor.fetchone()[0]
                for statement in _DERIVE:
                    cursor.execute(statement, {"lo": first_seq - 1, "hi": first_seq + len(lines) - 1})
            connection.commit()
        except BaseException:
            with contextlib.suppress(psycopg.Error):  # a dead connection cannot roll back; the error says why
                pooled.rollback()
            raise
        finally:
            pooled.close()
        return inserted

    def _first_damage(self, lines: Sequence[bytes], first_seq: int) -> JournalCorruptError | None:
        """JournalTail's verdict on a batch the database refused: the error for its first bad line, if any."""
        assert isinstance(self._tail, _RawTail) and self._pending[:1] == list(lines[:1])
        strict = JournalTail(self.journal_path)
        strict.offset = self._tail.offset - sum(len(line) for line in self._pending)  # where the batch starts
        strict.line_number = strict.last_seq = first_seq - 1
        strict.last_hash = lines[0][-141:-77].decode("ascii")  # its prev_hash, checked by the quick check
        checked = 0
        try:
            while checked < len(lines):  # it hands over the good entries before a bad one, then raises
                entries = strict.read_new(limit=len(lines) - checked)
                if not entries:
                    break
                checked += len(entries)
        except JournalCorruptError as damage:
            return damage
        return None

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
