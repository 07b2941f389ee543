"""`bars` and `summary` added up by PostgreSQL give exactly what adding up every row in Python gives.

A seeded random session (two firms, two listed symbols and an unlisted one, ties in time, several UTC
days, fills, replaces, cancels, rejects for more than one reason) runs through the real engine and is
loaded into PostgreSQL and into SQLite. The summary PostgreSQL adds up must equal the Python path's on
the same database and the SQLite export's (SQLite has only the Python path); the bars, the SQLite ones.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from matching import CancelOrder, OrderType, ReplaceOrder, Side, SubmitOrder, TimeInForce  # noqa: E402
from reporting import exports  # noqa: E402
from reporting.exports import BAR_INTERVALS, ExportFilters, run_export  # noqa: E402
from reporting.schema import audit_events  # noqa: E402
from reporting_export_scenario import T0, insert_bulk_trades, load_scenario  # noqa: E402
from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: E402,F401 (fixtures)

pytestmark = pytest.mark.postgres

FIRMS = {"FIRM_A": "BROKER1", "FIRM_B": "BROKER2"}
REFERENCE = {"AAPL": 1_900_000, "MSFT": 4_200_000, "ZZZZ": 10_000}  # price units, 4 decimals


def random_session(seed: int, commands: int = 500) -> list[tuple[int, object]]:
    """(seconds after T0, command): orders, market orders, replaces and cancels, some of them refused."""
    rng = random.Random(seed)
    session: list[tuple[int, object]] = []
    orders: list[tuple[str, str]] = []  # (firm, ClOrdID) of every order sent
    offset = 0
    for n in range(commands):
        offset += rng.choice((0, 0, 1, 2, 30, 600, 3600))  # ties, seconds and hours: several UTC days
        firm = rng.choice(tuple(FIRMS))
        session_id, client_order_id = FIRMS[firm], f"{firm}-{n}"
        roll = rng.random()
        if roll < 0.25 and orders:
            owner, original = rng.choice(orders)
            if rng.random() < 0.9:
                firm, session_id = owner, FIRMS[owner]  # now and then another firm's order: refused
            if roll < 0.15:
                command: object = CancelOrder(session_id, firm, client_order_id, original)
            else:
                price = REFERENCE["AAPL"] + rng.randint(-4, 4) * 100  # off MSFT's band: refused there
                command = ReplaceOrder(session_id, firm, client_order_id, rng.randint(1, 60), original, price=price)
            orders.append((firm, client_order_id))
        else:
            symbol = rng.choices(("AAPL", "MSFT", "ZZZZ"), (70, 25, 5))[0]
            side = rng.choice((Side.BUY, Side.SELL))
            quantity = 0 if rng.random() < 0.03 else rng.randint(1, 60)  # 0: refused
            if roll < 0.35:
                command = SubmitOrder(session_id, firm, client_order_id, symbol, side, OrderType.MARKET, quantity)
            else:
                price = REFERENCE[symbol] + rng.randint(-4, 4) * 100 + (7 if rng.random() < 0.04 else 0)
                tif = TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.DAY
                command = SubmitOrder(session_id, firm, client_order_id, symbol, side, OrderType.LIMIT, quantity,
                                      price, None, tif)
            orders.append((firm, client_order_id))
        session.append((offset, command))
    return session


@pytest.fixture(scope="module")
def trails(tmp_path_factory: pytest.TempPathFactory, scratch_databases: Callable[..., str]) -> tuple[str, str]:
    """The same random session loaded into PostgreSQL and into SQLite: (postgres URL, sqlite URL)."""
    session = random_session(seed=20261125)
    postgres = load_scenario(tmp_path_factory.mktemp("added_up_postgres"), scratch_databases(), session)
    sqlite_directory = tmp_path_factory.mktemp("added_up_sqlite")
    sqlite = load_scenario(sqlite_directory, f"sqlite:///{sqlite_directory / 'audit.db'}", session)
    return postgres.url, sqlite.url


def _day(day: int, hour: int = 0) -> datetime:
    start = datetime.fromtimestamp(T0 // 10**9, timezone.utc).replace(hour=0, minute=0, second=0)
    return start.replace(day=start.day + day, hour=hour)


FILTERS = [
    ExportFilters(),
    ExportFilters(firm="FIRM_A"),
    ExportFilters(firm="FIRM_B", symbol="AAPL"),
    ExportFilters(symbol="MSFT"),
    ExportFilters(symbol="ZZZZ"),
    ExportFilters(start=_day(0, 18), end=_day(2, 6)),
    ExportFilters(start=_day(1), firm="FIRM_B"),
    ExportFilters(firm="FIRM_C"),
]


def _rows(url: str, kind: str, filters: ExportFilters, **options) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(run_export(connection, kind, filters, **options).rows)
    finally:
        engine.dispose()


def test_the_random_session_has_what_the_comparison_needs(trails: tuple[str, str]) -> None:
    engine = create_engine(trails[0])
    try:
        with engine.connect() as connection:
            days, trades, fills, reasons, firms, tied = connection.execute(text(
                "SELECT count(DISTINCT timestamp_ns / 86400000000000), "
                "count(*) FILTER (WHERE kind = 'trade_executed'), count(*) FILTER (WHERE kind = 'order_filled'), "
                "count(DISTINCT reason_code) FILTER (WHERE kind = 'order_rejected'), count(DISTINCT firm), "
                "count(*) - count(DISTINCT timestamp_ns) FILTER (WHERE kind = 'trade_executed') "
                "FROM audit_events")).one()
    finally:
        engine.dispose()
    assert days >= 3 and trades >= 50 and fills == 2 * trades and reasons >= 2 and firms == 2 and tied > 0


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_the_summary_postgresql_adds_up_is_the_one_python_adds_up(trails: tuple[str, str],
                                                                     filters: ExportFilters) -> None:
    postgres, sqlite = trails
    engine = create_engine(postgres)
    try:
        with engine.connect() as connection:
            in_postgresql = list(exports._summary_in_postgresql(connection, filters))
            in_python = list(exports._summary_from_rows(connection, filters))
    finally:
        engine.dispose()
    assert in_postgresql == in_python
    assert _rows(postgres, "summary", filters) == _rows(sqlite, "summary", filters) == in_python
    assert in_python or filters.firm == "FIRM_C"


@pytest.mark.parametrize("interval", BAR_INTERVALS)
@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_the_bars_postgresql_adds_up_are_the_ones_python_adds_up(trails: tuple[str, str], filters: ExportFilters,
                                                                  interval: str) -> None:
    postgres, sqlite = trails
    in_postgresql = _rows(postgres, "bars", filters, interval=interval)
    assert in_postgresql == _rows(sqlite, "bars", filters, interval=interval)
    assert in_postgresql or filters.firm == "FIRM_C" or filters.symbol == "ZZZZ"


def test_a_stream_left_early_leaves_its_connection_usable(scratch_databases: Callable[..., str]) -> None:
    url = scratch_databases()
    insert_bulk_trades(url, 5_000)  # 2 MB of rows: more than the socket holds, so the query is still running
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = exports._stream(connection, select(audit_events.c.journal_seq, audit_events.c.detail))
            assert next(rows).journal_seq > 0
            rows.close()  # a reader gone (a closed pipe): psycopg cancels the query, aborting the transaction
            assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 5_000
    finally:
        engine.dispose()
