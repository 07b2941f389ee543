"""orders, trades, sessions and fix_messages.msg_type, filled by the loader from the trail (SQLite here).

The same tests run on PostgreSQL (tests/integration/reporting/test_reporting_derived_tables_postgres.py),
where the loader fills the tables in SQL rather than in Python: the fixtures `database_url` and
`other_database_url` decide which database a test gets.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, create_engine, inspect, select, text

from matching.events import OrderFilled, TradeExecuted
from matching.types import Side
from reporting.journal import JournalWriter
from reporting.loader import JournalLoader
from reporting.records import AuditRecord, audit_record, message_record
from reporting.schema import SCHEMA_VERSION, audit_events, ensure_schema, fix_messages, orders, schema_version, \
    sessions, trades
from reporting.verify import verify_chain
from reporting_export_scenario import SECOND, T0, scenario_records, scenario_settings

DECIMALS = {"AAPL": 4, "MSFT": 4}
START = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)  # T0
NEXT_DAY = START + timedelta(days=1)
LAST = T0 + 86_400 * SECOND + 10 * SECOND  # after the scenario's last record


def extra_records() -> list[AuditRecord]:
    """What the export scenario lacks: a session-level reject, messages with and without a MsgType, and an
    auction trade (no aggressor; both fills makers here)."""
    fills = [
        audit_record(OrderFilled(
            sequence=100, timestamp_ns=LAST + 3, order_id=20, session="BROKER1", firm="FIRM_A", client_order_id="U1",
            symbol="AAPL", side=Side.BUY, quantity=10, price=1_905_000, trade_id=5, last_price=1_903_000,
            last_quantity=10, cum_quantity=10, leaves_quantity=0, cum_notional=19_030_000, aggressor=False)),
        audit_record(OrderFilled(
            sequence=101, timestamp_ns=LAST + 3, order_id=21, session="BROKER2", firm="FIRM_B", client_order_id="U2",
            symbol="AAPL", side=Side.SELL, quantity=25, price=1_901_000, trade_id=5, last_price=1_903_000,
            last_quantity=10, cum_quantity=10, leaves_quantity=15, cum_notional=19_030_000, aggressor=False)),
    ]
    fills = [dataclasses.replace(fills[0], liquidity="maker", fee="-0.038060"),
             dataclasses.replace(fills[1], liquidity="maker", fee="-0.057090")]
    return [
        AuditRecord(timestamp_ns=LAST, kind="session_reject", session="BROKER2", firm="FIRM_B",
                    text="Required tag missing", reason_code=1,
                    detail={"direction": "outbound", "raw": "8=FIX.4.4\x0135=3\x0145=7\x01", "msg_seq": "9"}),
        message_record("outbound", "BROKER2", LAST + 1, "8=FIX.4.4\x019=12\x0135=AE\x01571=T1\x01"),
        message_record("inbound", "BROKER2", LAST + 2, "8=FIX.4.4\x0158=no type here"),
        *fills,
        audit_record(TradeExecuted(
            sequence=102, timestamp_ns=LAST + 3, trade_id=5, symbol="AAPL", price=1_903_000, quantity=10,
            aggressor_side=None, buy_order_id=20, sell_order_id=21, buy_firm="FIRM_A", sell_firm="FIRM_B")),
    ]


def write_trail(directory: Path) -> Path:
    """The export scenario (journal_seq 1..43) and extra_records (44..49) in a journal."""
    settings = scenario_settings(directory, "sqlite://")
    journal = directory / "audit.jsonl"
    with JournalWriter(journal, "os") as writer:
        for record in scenario_records(settings) + extra_records():
            writer.append(record)
    return journal


def load(journal: Path, url: str, batch_size: int = 1000) -> int:
    loader = JournalLoader(journal, url, DECIMALS, batch_size=batch_size)
    try:
        return loader.load_available()
    finally:
        loader.stop()


def table_rows(url: str, table: Table) -> list[dict[str, Any]]:
    """Every row in key order, times in UTC (SQLite hands them back without a zone)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
    finally:
        engine.dispose()
    return [{name: (value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) and value.tzinfo is None
                    else value) for name, value in row.items()} for row in rows]


@pytest.fixture()
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'one' / 'audit.db'}"


@pytest.fixture()
def other_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'two' / 'audit.db'}"


@pytest.fixture()
def loaded(tmp_path: Path, database_url: str) -> str:
    assert load(write_trail(tmp_path), database_url) == 49
    return database_url


ORDER_COLUMNS = ("order_id", "firm", "session", "client_order_id", "symbol", "side", "order_type", "time_in_force",
                 "price", "quantity", "cum_quantity", "leaves_quantity", "status", "first_seq", "last_seq",
                 "created_at", "updated_at")


def _p(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def test_orders_hold_each_order_as_its_latest_event_left_it(loaded: str) -> None:
    s = timedelta(seconds=1)
    rows = table_rows(loaded, orders)
    assert [tuple(row[name] for name in ORDER_COLUMNS) for row in rows] == [
        # A1: 40 filled, replaced as A2 (80 at 190.05), 30 more filled, the last 10 cancelled by X1
        (1, "FIRM_A", "BROKER1", "X1", "AAPL", "buy", "limit", "day", _p("190.05"), 80, 70, 0, "cancelled", 3, 18,
         START, START + 4 * s),
        (2, "FIRM_B", "BROKER2", "B1", "AAPL", "sell", "limit", "day", _p("189.90"), 40, 40, 0, "filled", 5, 6,
         START + s, START + s),
        (3, "FIRM_B", "BROKER2", "B2", "AAPL", "sell", "limit", "ioc", _p("190.05"), 30, 30, 0, "filled", 13, 14,
         START + 3 * s, START + 3 * s),
        (4, "FIRM_A", "BROKER1", "A3", "MSFT", "sell", "limit", "gtd", _p("420"), 50, 0, 0, "expired", 22, 25,
         START + 7 * s, START + 61 * s),
        # S1: a stop order, triggered into a market order that found no liquidity
        (5, "FIRM_A", "BROKER1", "S1", "AAPL", "buy", "market", "day", None, 5, 0, 0, "cancelled", 24, 34,
         START + 8 * s, START + 75 * s),
        (6, "FIRM_B", "BROKER2", "B3", "AAPL", "sell", "limit", "day", _p("190.10"), 20, 20, 0, "filled", 27, 31,
         START + 70 * s, START + 75 * s),
        (7, "FIRM_A", "BROKER1", "A5", "AAPL", "buy", "market", "day", None, 20, 20, 0, "filled", 29, 30,
         START + 75 * s, START + 75 * s),
        (8, "FIRM_B", "BROKER2", "B4", "MSFT", "sell", "limit", "day", _p("420"), 10, 10, 0, "filled", 36, 40,
         NEXT_DAY, NEXT_DAY + s),
        (9, "FIRM_A", "BROKER1", "A6", "MSFT", "buy", "limit", "day", _p("420"), 10, 10, 0, "filled", 38, 39,
         NEXT_DAY + s, NEXT_DAY + s),
        # known only from their auction fills: no type or time in force on record
        (20, "FIRM_A", "BROKER1", "U1", "AAPL", "buy", None, None, _p("190.50"), 10, 10, 0, "filled", 47, 47,
         NEXT_DAY + 10 * s, NEXT_DAY + 10 * s),
        (21, "FIRM_B", "BROKER2", "U2", "AAPL", "sell", None, None, _p("190.10"), 25, 10, 15, "partially_filled",
         48, 48, NEXT_DAY + 10 * s, NEXT_DAY + 10 * s),
    ]
    assert {row["price_decimals"] for row in rows} == {4}


TRADE_COLUMNS = ("trade_id", "journal_seq", "sequence", "timestamp_ns", "timestamp", "symbol", "price_decimals",
                 "price", "quantity", "aggressor_side",
                 "buy_order_id", "buy_firm", "buy_session", "buy_client_order_id", "buy_liquidity", "buy_fee",
                 "sell_order_id", "sell_firm", "sell_session", "sell_client_order_id", "sell_liquidity", "sell_fee")


def test_trades_hold_both_sides_with_their_orders_sessions_liquidity_and_fees(loaded: str) -> None:
    rows = table_rows(loaded, trades)
    assert [tuple(row[name] for name in TRADE_COLUMNS) for row in rows] == [
        (1, 8, 6, T0 + SECOND, START + timedelta(seconds=1), "AAPL", 4, _p("190.00"), 40, "sell",
         1, "FIRM_A", "BROKER1", "A1", "maker", _p("-0.152"), 2, "FIRM_B", "BROKER2", "B1", "taker", _p("0.19")),
        (2, 16, 14, T0 + 3 * SECOND, START + timedelta(seconds=3), "AAPL", 4, _p("190.05"), 30, "sell",
         1, "FIRM_A", "BROKER1", "A2", "maker", _p("-0.11403"), 3, "FIRM_B", "BROKER2", "B2", "taker",
         _p("0.142538")),
        (3, 32, 30, T0 + 75 * SECOND, START + timedelta(seconds=75), "AAPL", 4, _p("190.10"), 20, "buy",
         7, "FIRM_A", "BROKER1", "A5", "taker", _p("0.11406"), 6, "FIRM_B", "BROKER2", "B3", "maker",
         _p("-0.11406")),
        (4, 41, 39, T0 + 86_401 * SECOND, NEXT_DAY + timedelta(seconds=1), "MSFT", 4, _p("420"), 10, "buy",
         9, "FIRM_A", "BROKER1", "A6", "taker", _p("0.126"), 8, "FIRM_B", "BROKER2", "B4", "maker", _p("-0.126")),
        # the auction trade: neither side took liquidity
        (5, 49, 102, LAST + 3, NEXT_DAY + timedelta(seconds=10), "AAPL", 4, _p("190.30"), 10, None,
         20, "FIRM_A", "BROKER1", "U1", "maker", _p("-0.03806"), 21, "FIRM_B", "BROKER2", "U2", "maker",
         _p("-0.05709")),
    ]


def test_sessions_hold_each_logon_logout_and_session_reject(loaded: str) -> None:
    rows = table_rows(loaded, sessions)
    assert [tuple(row.values()) for row in rows] == [
        (1, T0, START, "BROKER1", "FIRM_A", "logon", None, None, "logon"),
        (43, T0 + 86_402 * SECOND, NEXT_DAY + timedelta(seconds=2), "BROKER1", "FIRM_A", "logout", None, None, "bye"),
        (44, LAST, NEXT_DAY + timedelta(seconds=10), "BROKER2", "FIRM_B", "reject", "outbound", 1,
         "Required tag missing"),
    ]
    assert list(rows[0]) == ["journal_seq", "timestamp_ns", "timestamp", "session", "firm", "kind", "direction",
                             "reason_code", "text"]


def test_fix_messages_carry_their_msg_type(loaded: str) -> None:
    assert [(row["journal_seq"], row["direction"], row["session"], row["msg_type"])
            for row in table_rows(loaded, fix_messages)] == [
        (2, "inbound", "BROKER1", "D"), (45, "outbound", "BROKER2", "AE"), (46, "inbound", "BROKER2", None)]


def test_reloading_or_loading_in_small_batches_doubles_nothing(tmp_path: Path, loaded: str,
                                                              other_database_url: str) -> None:
    journal = tmp_path / "audit.jsonl"
    before = {table.name: table_rows(loaded, table) for table in (orders, trades, sessions, fix_messages)}
    assert load(journal, loaded) == 0
    # Batches of 4 split orders and trades across transactions: merged, they must come out the same.
    assert load(journal, other_database_url, batch_size=4) == 49
    for database in (loaded, other_database_url):
        assert {table.name: table_rows(database, table) for table in (orders, trades, sessions, fix_messages)} \
            == before
    assert len(before["orders"]) == 11 and len(before["trades"]) == 5


def test_rows_lost_from_the_end_come_back_without_doubling_the_tables_built_from_them(tmp_path: Path,
                                                                                     loaded: str) -> None:
    before = {table.name: table_rows(loaded, table) for table in (orders, trades, sessions)}
    engine = create_engine(loaded)
    try:
        with engine.begin() as connection:  # as if restored from a backup taken before journal_seq 30
            connection.execute(audit_events.delete().where(audit_events.c.journal_seq >= 30))
            connection.execute(fix_messages.delete().where(fix_messages.c.journal_seq >= 30))
    finally:
        engine.dispose()
    assert load(tmp_path / "audit.jsonl", loaded, batch_size=5) == 20  # journal_seq 30..49 again
    assert {table.name: table_rows(loaded, table) for table in (orders, trades, sessions)} == before


def _downgrade_to_version_1(url: str) -> None:
    """What a database loaded by the version 1 code looks like: no orders, trades, sessions, msg_type."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for name in ("orders", "trades", "sessions"):
                connection.execute(text(f"DROP TABLE {name}"))
            connection.execute(text("ALTER TABLE fix_messages DROP COLUMN msg_type"))
            connection.execute(schema_version.update().values(version=1))
    finally:
        engine.dispose()


def test_an_upgrade_from_schema_version_1_fills_the_new_tables_from_the_trail(loaded: str) -> None:
    expected = {table.name: table_rows(loaded, table) for table in (orders, trades, sessions, fix_messages)}
    _downgrade_to_version_1(loaded)
    assert verify_chain(loaded).ok  # verify reads a version 1 database as it is
    engine = create_engine(loaded)
    try:
        assert ensure_schema(engine) == SCHEMA_VERSION == 2
        with engine.connect() as connection:
            assert connection.execute(select(schema_version.c.version)).scalars().all() == [2]
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"orders", "trades", "sessions"} <= tables
    assert {table.name: table_rows(loaded, table) for table in (orders, trades, sessions, fix_messages)} == expected
    assert verify_chain(loaded).ok


def test_the_new_tables_have_their_indexes(loaded: str) -> None:
    engine = create_engine(loaded)
    try:
        inspector = inspect(engine)
        indexes = {table: {index["name"]: index["column_names"] for index in inspector.get_indexes(table)}
                   for table in ("orders", "trades", "sessions")}
    finally:
        engine.dispose()
    assert indexes == {
        "orders": {"ix_orders_firm_created_at": ["firm", "created_at"],
                   "ix_orders_symbol_created_at": ["symbol", "created_at"]},
        "trades": {"ix_trades_symbol_timestamp": ["symbol", "timestamp"], "ix_trades_timestamp": ["timestamp"]},
        "sessions": {"ix_sessions_session_timestamp": ["session", "timestamp"]},
    }
