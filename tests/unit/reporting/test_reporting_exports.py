"""The exports, column by column, against the audit trail of a real matching-engine session (SQLite here).

The session (reporting_export_scenario.py): FIRM_A rests a buy of 100 AAPL at 190.00; FIRM_B sells 40 into it
(trade 1); FIRM_A replaces it to 80 at 190.05; FIRM_B sells 30 IOC into it (trade 2); FIRM_A cancels the last
10; two orders are rejected (unknown symbol ZZZZ, price off the tick); a GTD MSFT sell expires; FIRM_A's buy stop
at 190.10 is triggered by trade 3 (20 @ 190.10) and cancelled for want of liquidity; trade 4 (MSFT) is on the
next day. Fees: FIRM_A pays standard (-0.20 bp maker / 0.30 bp taker), FIRM_B market_maker (-0.30 / 0.25).

tests/integration/reporting/test_reporting_exports_postgres.py runs these same tests against PostgreSQL by
giving the fixtures `scenario` and `blank_audit_url` a PostgreSQL database.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from matching import OrderType, SelfTradePrevention, Side, SubmitOrder
from reporting.exports import (
    BARS_COLUMNS, ORDERS_COLUMNS, RTS24_COLUMNS, SUMMARY_COLUMNS, TRADES_COLUMNS, ExportFilters, _fee, _price,
    iso_ns, iso_us, run_export,
)
from reporting.loader import ns_to_datetime
from reporting.schema import audit_events, ensure_schema
from reporting_export_scenario import SECOND, T0, LoadedScenario, insert_bulk_trades, load_scenario

CURRENCIES = {"AAPL": "USD", "MSFT": "USD"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> LoadedScenario:
    directory = tmp_path_factory.mktemp("exports")
    return load_scenario(directory, f"sqlite:///{directory / 'audit.db'}")


@pytest.fixture()
def blank_audit_url(tmp_path: Path) -> Iterator[str]:
    """An audit database with the schema and no rows."""
    url = f"sqlite:///{tmp_path / 'blank.db'}"
    engine = create_engine(url)
    ensure_schema(engine)
    engine.dispose()
    yield url


def _export(url: str, kind: str, filters: ExportFilters = ExportFilters(), **options: Any) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(run_export(connection, kind, filters, currencies=CURRENCIES, **options).rows)
    finally:
        engine.dispose()


def _assert_rows(got: list[tuple], expected: list[tuple], columns: tuple[str, ...]) -> None:
    """Row by row, as {column: value}, so a difference names its column."""
    assert len(got) == len(expected), [row[0] for row in got]
    for number, (got_row, expected_row) in enumerate(zip(got, expected)):
        assert dict(zip(columns, got_row)) == dict(zip(columns, expected_row)), f"row {number}"


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 // SECOND + seconds, timezone.utc)


# --------------------------------------------------------------------------- orders (CAT style)

# journal_seq, sequence, event_timestamp, event_type, event, order_key, prior_order_key, firm, session, order_id,
# client_order_id, orig_client_order_id, symbol, side, order_type, time_in_force, expire_time, price, stop_price,
# quantity, leaves_quantity, cum_quantity, cancelled_quantity, trade_id, trade_price, trade_quantity, liquidity,
# reason_code, reason, text
ORDERS_ROWS = [
    (3, 1, '2024-03-01T14:30:00.000000000Z', 'MENO', 'new', 'FIRM_A:1', None, 'FIRM_A', 'BROKER1', 1, 'A1', None,
        'AAPL', 'B', 'LMT', 'DAY', None, '190.0000', None, 100, 100, 0, None, None, None, None, None, None, None, None),
    (5, 3, '2024-03-01T14:30:01.000000000Z', 'MENO', 'new', 'FIRM_B:2', None, 'FIRM_B', 'BROKER2', 2, 'B1', None,
        'AAPL', 'SL', 'LMT', 'DAY', None, '189.9000', None, 40, 40, 0, None, None, None, None, None, None, None, None),
    (6, 4, '2024-03-01T14:30:01.000000000Z', 'MEOT', 'trade', 'FIRM_B:2', None, 'FIRM_B', 'BROKER2', 2, 'B1', None,
        'AAPL', 'SL', 'LMT', 'DAY', None, '189.9000', None, 40, 0, 40, None, 1, '190.0000', 40, 'taker', None, None,
        None),
    (7, 5, '2024-03-01T14:30:01.000000000Z', 'MEOT', 'trade', 'FIRM_A:1', None, 'FIRM_A', 'BROKER1', 1, 'A1', None,
        'AAPL', 'B', 'LMT', 'DAY', None, '190.0000', None, 100, 60, 40, None, 1, '190.0000', 40, 'maker', None, None,
        None),
    (10, 8, '2024-03-01T14:30:02.000000000Z', 'MEOM', 'modified', 'FIRM_A:1', 'FIRM_A:1', 'FIRM_A', 'BROKER1', 1, 'A2',
        'A1', 'AAPL', 'B', 'LMT', 'DAY', None, '190.0500', None, 80, 40, 40, None, None, None, None, None, None, None,
        None),
    (13, 11, '2024-03-01T14:30:03.000000000Z', 'MENO', 'new', 'FIRM_B:3', None, 'FIRM_B', 'BROKER2', 3, 'B2', None,
        'AAPL', 'SL', 'LMT', 'IOC', None, '190.0500', None, 30, 30, 0, None, None, None, None, None, None, None, None),
    (14, 12, '2024-03-01T14:30:03.000000000Z', 'MEOT', 'trade', 'FIRM_B:3', None, 'FIRM_B', 'BROKER2', 3, 'B2', None,
        'AAPL', 'SL', 'LMT', 'IOC', None, '190.0500', None, 30, 0, 30, None, 2, '190.0500', 30, 'taker', None, None,
        None),
    (15, 13, '2024-03-01T14:30:03.000000000Z', 'MEOT', 'trade', 'FIRM_A:1', None, 'FIRM_A', 'BROKER1', 1, 'A2', None,
        'AAPL', 'B', 'LMT', 'DAY', None, '190.0500', None, 80, 10, 70, None, 2, '190.0500', 30, 'maker', None, None,
        None),
    (18, 16, '2024-03-01T14:30:04.000000000Z', 'MEOC', 'cancelled', 'FIRM_A:1', None, 'FIRM_A', 'BROKER1', 1, 'X1',
        'A2', 'AAPL', 'B', 'LMT', 'DAY', None, '190.0500', None, 80, 0, 70, 10, None, None, None, None, None,
        'requested', None),
    (20, 18, '2024-03-01T14:30:05.000000000Z', 'XREJ', 'rejected', None, None, 'FIRM_B', 'BROKER2', None, 'R1', None,
        'ZZZZ', 'B', 'LMT', None, None, '10000', None, 5, 0, 0, None, None, None, None, None, 1, 'unknown_symbol',
        "unknown symbol 'ZZZZ'"),
    (21, 19, '2024-03-01T14:30:06.000000000Z', 'XREJ', 'rejected', None, None, 'FIRM_A', 'BROKER1', None, 'R2', None,
        'AAPL', 'B', 'LMT', None, None, '190.0010', None, 10, 0, 0, None, None, None, None, None, 18,
        'invalid_price_increment', 'price 190.001 is not a multiple of the tick 0.01'),
    (22, 20, '2024-03-01T14:30:07.000000000Z', 'MENO', 'new', 'FIRM_A:4', None, 'FIRM_A', 'BROKER1', 4, 'A3', None,
        'MSFT', 'SL', 'LMT', 'GTD', '2024-03-01T14:31:00.000000000Z', '420.0000', None, 50, 50, 0, None, None, None,
        None, None, None, None, None),
    (24, 22, '2024-03-01T14:30:08.000000000Z', 'MENO', 'new', 'FIRM_A:5', None, 'FIRM_A', 'BROKER1', 5, 'S1', None,
        'AAPL', 'B', 'MKT', 'DAY', None, None, '190.1000', 5, 5, 0, None, None, None, None, None, None, None, None),
    (25, 23, '2024-03-01T14:31:01.000000000Z', 'MEOC', 'expired', 'FIRM_A:4', None, 'FIRM_A', 'BROKER1', 4, 'A3', None,
        'MSFT', 'SL', 'LMT', 'GTD', '2024-03-01T14:31:00.000000000Z', '420.0000', None, 50, 0, 0, 50, None, None, None,
        None, None, None, None),
    (27, 25, '2024-03-01T14:31:10.000000000Z', 'MENO', 'new', 'FIRM_B:6', None, 'FIRM_B', 'BROKER2', 6, 'B3', None,
        'AAPL', 'SL', 'LMT', 'DAY', None, '190.1000', None, 20, 20, 0, None, None, None, None, None, None, None, None),
    (29, 27, '2024-03-01T14:31:15.000000000Z', 'MENO', 'new', 'FIRM_A:7', None, 'FIRM_A', 'BROKER1', 7, 'A5', None,
        'AAPL', 'B', 'MKT', 'DAY', None, None, None, 20, 20, 0, None, None, None, None, None, None, None, None),
    (30, 28, '2024-03-01T14:31:15.000000000Z', 'MEOT', 'trade', 'FIRM_A:7', None, 'FIRM_A', 'BROKER1', 7, 'A5', None,
        'AAPL', 'B', 'MKT', 'DAY', None, None, None, 20, 0, 20, None, 3, '190.1000', 20, 'taker', None, None, None),
    (31, 29, '2024-03-01T14:31:15.000000000Z', 'MEOT', 'trade', 'FIRM_B:6', None, 'FIRM_B', 'BROKER2', 6, 'B3', None,
        'AAPL', 'SL', 'LMT', 'DAY', None, '190.1000', None, 20, 0, 20, None, 3, '190.1000', 20, 'maker', None, None,
        None),
    (33, 31, '2024-03-01T14:31:15.000000000Z', 'XTRG', 'triggered', 'FIRM_A:5', None, 'FIRM_A', 'BROKER1', 5, 'S1',
        None, 'AAPL', 'B', 'MKT', 'DAY', None, None, '190.1000', 5, 5, 0, None, None, None, None, None, None, None,
        None),
    (34, 32, '2024-03-01T14:31:15.000000000Z', 'MEOC', 'cancelled', 'FIRM_A:5', None, 'FIRM_A', 'BROKER1', 5, 'S1',
        None, 'AAPL', 'B', 'MKT', 'DAY', None, None, None, 5, 0, 0, 5, None, None, None, None, None, 'no_liquidity',
        None),
    (36, 34, '2024-03-02T14:30:00.000000000Z', 'MENO', 'new', 'FIRM_B:8', None, 'FIRM_B', 'BROKER2', 8, 'B4', None,
        'MSFT', 'SL', 'LMT', 'DAY', None, '420.0000', None, 10, 10, 0, None, None, None, None, None, None, None, None),
    (38, 36, '2024-03-02T14:30:01.000000000Z', 'MENO', 'new', 'FIRM_A:9', None, 'FIRM_A', 'BROKER1', 9, 'A6', None,
        'MSFT', 'B', 'LMT', 'DAY', None, '420.0000', None, 10, 10, 0, None, None, None, None, None, None, None, None),
    (39, 37, '2024-03-02T14:30:01.000000000Z', 'MEOT', 'trade', 'FIRM_A:9', None, 'FIRM_A', 'BROKER1', 9, 'A6', None,
        'MSFT', 'B', 'LMT', 'DAY', None, '420.0000', None, 10, 0, 10, None, 4, '420.0000', 10, 'taker', None, None,
        None),
    (40, 38, '2024-03-02T14:30:01.000000000Z', 'MEOT', 'trade', 'FIRM_B:8', None, 'FIRM_B', 'BROKER2', 8, 'B4', None,
        'MSFT', 'SL', 'LMT', 'DAY', None, '420.0000', None, 10, 0, 10, None, 4, '420.0000', 10, 'maker', None, None,
        None),
]


def test_orders_give_one_cat_style_row_per_order_event_column_by_column(scenario: LoadedScenario) -> None:
    # MENO new, MEOM modified (prior key: the venue keeps the OrderID), MEOT one row per side of a trade,
    # MEOC cancelled or expired, XREJ / XTRG the venue's codes for what CAT has no event for. leaves and cum
    # come from the event or, where it has none, from what it means (new: all open; cancelled: none left).
    _assert_rows(_export(scenario.url, "orders"), ORDERS_ROWS, ORDERS_COLUMNS)


def test_a_price_on_a_symbol_the_venue_does_not_list_stays_in_integer_units(scenario: LoadedScenario) -> None:
    rejected = [row for row in _export(scenario.url, "orders") if row[12] == "ZZZZ"]
    assert [(row[17], row[27], row[28]) for row in rejected] == [("10000", 1, "unknown_symbol")]


def test_a_reduction_by_self_trade_prevention_is_meoj_and_rema_and_the_cancel_is_the_venues(
        tmp_path: Path) -> None:
    # FIRM_A rests a sell of 100, then buys 40 against it with decrement-and-cancel: the sell is reduced by 40
    # (restated: its quantity is now 60) and the buy cancelled, both by the venue.
    stp = SelfTradePrevention.DECREMENT_AND_CANCEL
    session = [
        (0, SubmitOrder("BROKER1", "FIRM_A", "S9", "AAPL", Side.SELL, OrderType.LIMIT, 100, 1_900_000)),
        (1, SubmitOrder("BROKER1", "FIRM_A", "B9", "AAPL", Side.BUY, OrderType.LIMIT, 40, 1_900_000,
                        self_trade_prevention=stp)),
    ]
    url = load_scenario(tmp_path, f"sqlite:///{tmp_path / 'stp.db'}", session).url
    orders = [(row[3], row[4], row[10], row[20], row[21], row[22], row[28]) for row in _export(url, "orders")]
    assert orders == [
        ("MENO", "new", "S9", 100, 0, None, None),
        ("MENO", "new", "B9", 40, 0, None, None),
        ("MEOJ", "adjusted", "S9", 60, 0, 40, "self_trade_prevention"),
        ("MEOC", "cancelled", "B9", 0, 0, 40, "self_trade_prevention"),
    ]
    rts24 = [(row[2], row[6], row[15], row[16]) for row in _export(url, "rts24")]
    assert rts24 == [("NEWO", "S9", 100, 100), ("NEWO", "B9", 40, 40), ("REMA", "S9", 60, 60),
                     ("CAMO", "B9", 40, 0)]


# --------------------------------------------------------------------------- rts24

# sequence_number, event_timestamp, event_type, order_id, client_id, session, client_order_id, instrument,
# buy_sell, order_type, order_type_classification, limit_price, stop_price, transaction_price, price_currency,
# initial_quantity, remaining_quantity, traded_quantity, validity_period, validity_date_time, passive_aggressive,
# venue_transaction_id, reason_code, text, journal_seq
RTS24_ROWS = [
    (1, '2024-03-01T14:30:00.000000Z', 'NEWO', 1, 'FIRM_A', 'BROKER1', 'A1', 'AAPL', 'BUYI', 'LIMIT', 'LMTO',
        '190.0000', None, None, 'USD', 100, 100, None, 'DAVY', None, None, None, None, None, 3),
    (3, '2024-03-01T14:30:01.000000Z', 'NEWO', 2, 'FIRM_B', 'BROKER2', 'B1', 'AAPL', 'SELL', 'LIMIT', 'LMTO',
        '189.9000', None, None, 'USD', 40, 40, None, 'DAVY', None, None, None, None, None, 5),
    (4, '2024-03-01T14:30:01.000000Z', 'FILL', 2, 'FIRM_B', 'BROKER2', 'B1', 'AAPL', 'SELL', 'LIMIT', 'LMTO',
        '189.9000', None, '190.0000', 'USD', 40, 0, 40, 'DAVY', None, 'AGRE', 1, None, None, 6),
    (5, '2024-03-01T14:30:01.000000Z', 'PARF', 1, 'FIRM_A', 'BROKER1', 'A1', 'AAPL', 'BUYI', 'LIMIT', 'LMTO',
        '190.0000', None, '190.0000', 'USD', 100, 60, 40, 'DAVY', None, 'PASV', 1, None, None, 7),
    (8, '2024-03-01T14:30:02.000000Z', 'REME', 1, 'FIRM_A', 'BROKER1', 'A2', 'AAPL', 'BUYI', 'LIMIT', 'LMTO',
        '190.0500', None, None, 'USD', 80, 40, None, 'DAVY', None, None, None, None, None, 10),
    (11, '2024-03-01T14:30:03.000000Z', 'NEWO', 3, 'FIRM_B', 'BROKER2', 'B2', 'AAPL', 'SELL', 'LIMIT', 'LMTO',
        '190.0500', None, None, 'USD', 30, 30, None, 'IOCV', None, None, None, None, None, 13),
    (12, '2024-03-01T14:30:03.000000Z', 'FILL', 3, 'FIRM_B', 'BROKER2', 'B2', 'AAPL', 'SELL', 'LIMIT', 'LMTO',
        '190.0500', None, '190.0500', 'USD', 30, 0, 30, 'IOCV', None, 'AGRE', 2, None, None, 14),
    (13, '2024-03-01T14:30:03.000000Z', 'PARF', 1, 'FIRM_A', 'BROKER1', 'A2', 'AAPL', 'BUYI', 'LIMIT', 'LMTO',
        '190.0500', None, '190.0500', 'USD', 80, 10, 30, 'DAVY', None, 'PASV', 2, None, None, 15),
    (16, '2024-03-01T14:30:04.000000Z', 'CAME', 1, 'FIRM_A', 'BROKER1', 'X1', 'AAPL', 'BUYI', 'LIMIT', 'LMTO',
        '190.0500', None, None, 'USD', 80, 0, None, 'DAVY', None, None, None, None, None, 18),
    (18, '2024-03-01T14:30:05.000000Z', 'REJE', None, 'FIRM_B', 'BROKER2', 'R1', 'ZZZZ', 'BUYI', 'LIMIT', 'LMTO',
        '10000', None, None, None, 5, 0, None, None, None, None, None, 1, "unknown symbol 'ZZZZ'", 20),
    (19, '2024-03-01T14:30:06.000000Z', 'REJE', None, 'FIRM_A', 'BROKER1', 'R2', 'AAPL', 'BUYI', 'LIMIT', 'LMTO',
        '190.0010', None, None, 'USD', 10, 0, None, None, None, None, None, 18,
        'price 190.001 is not a multiple of the tick 0.01', 21),
    (20, '2024-03-01T14:30:07.000000Z', 'NEWO', 4, 'FIRM_A', 'BROKER1', 'A3', 'MSFT', 'SELL', 'LIMIT', 'LMTO',
        '420.0000', None, None, 'USD', 50, 50, None, 'GTSV', '2024-03-01T14:31:00.000000Z', None, None, None, None, 22),
    (22, '2024-03-01T14:30:08.000000Z', 'NEWO', 5, 'FIRM_A', 'BROKER1', 'S1', 'AAPL', 'BUYI', 'STOP', 'STOP', None,
        '190.1000', None, 'USD', 5, 5, None, 'DAVY', None, None, None, None, None, 24),
    (23, '2024-03-01T14:31:01.000000Z', 'EXPI', 4, 'FIRM_A', 'BROKER1', 'A3', 'MSFT', 'SELL', 'LIMIT', 'LMTO',
        '420.0000', None, None, 'USD', 50, 0, None, 'GTSV', '2024-03-01T14:31:00.000000Z', None, None, None, None, 25),
    (25, '2024-03-01T14:31:10.000000Z', 'NEWO', 6, 'FIRM_B', 'BROKER2', 'B3', 'AAPL', 'SELL', 'LIMIT', 'LMTO',
        '190.1000', None, None, 'USD', 20, 20, None, 'DAVY', None, None, None, None, None, 27),
    (27, '2024-03-01T14:31:15.000000Z', 'NEWO', 7, 'FIRM_A', 'BROKER1', 'A5', 'AAPL', 'BUYI', 'MARKET', None, None,
        None, None, 'USD', 20, 20, None, 'DAVY', None, None, None, None, None, 29),
    (28, '2024-03-01T14:31:15.000000Z', 'FILL', 7, 'FIRM_A', 'BROKER1', 'A5', 'AAPL', 'BUYI', 'MARKET', None, None,
        None, '190.1000', 'USD', 20, 0, 20, 'DAVY', None, 'AGRE', 3, None, None, 30),
    (29, '2024-03-01T14:31:15.000000Z', 'FILL', 6, 'FIRM_B', 'BROKER2', 'B3', 'AAPL', 'SELL', 'LIMIT', 'LMTO',
        '190.1000', None, '190.1000', 'USD', 20, 0, 20, 'DAVY', None, 'PASV', 3, None, None, 31),
    (31, '2024-03-01T14:31:15.000000Z', 'TRIG', 5, 'FIRM_A', 'BROKER1', 'S1', 'AAPL', 'BUYI', 'STOP', 'STOP', None,
        '190.1000', None, 'USD', 5, 5, None, 'DAVY', None, None, None, None, None, 33),
    (32, '2024-03-01T14:31:15.000000Z', 'CAMO', 5, 'FIRM_A', 'BROKER1', 'S1', 'AAPL', 'BUYI', 'STOP', 'STOP', None,
        None, None, 'USD', 5, 0, None, 'DAVY', None, None, None, None, None, 34),
    (34, '2024-03-02T14:30:00.000000Z', 'NEWO', 8, 'FIRM_B', 'BROKER2', 'B4', 'MSFT', 'SELL', 'LIMIT', 'LMTO',
        '420.0000', None, None, 'USD', 10, 10, None, 'DAVY', None, None, None, None, None, 36),
    (36, '2024-03-02T14:30:01.000000Z', 'NEWO', 9, 'FIRM_A', 'BROKER1', 'A6', 'MSFT', 'BUYI', 'LIMIT', 'LMTO',
        '420.0000', None, None, 'USD', 10, 10, None, 'DAVY', None, None, None, None, None, 38),
    (37, '2024-03-02T14:30:01.000000Z', 'FILL', 9, 'FIRM_A', 'BROKER1', 'A6', 'MSFT', 'BUYI', 'LIMIT', 'LMTO',
        '420.0000', None, '420.0000', 'USD', 10, 0, 10, 'DAVY', None, 'AGRE', 4, None, None, 39),
    (38, '2024-03-02T14:30:01.000000Z', 'FILL', 8, 'FIRM_B', 'BROKER2', 'B4', 'MSFT', 'SELL', 'LIMIT', 'LMTO',
        '420.0000', None, '420.0000', 'USD', 10, 0, 10, 'DAVY', None, 'PASV', 4, None, None, 40),
]


def test_rts24_gives_one_record_per_order_event_with_its_codes_column_by_column(scenario: LoadedScenario) -> None:
    # NEWO, REME, PARF / FILL (by what remains), CAME (the member cancelled), CAMO (the venue did: no liquidity
    # after the stop triggered), TRIG, EXPI, REJE; GTD is GTSV with its date and time; AGRE / PASV on fills.
    _assert_rows(_export(scenario.url, "rts24"), RTS24_ROWS, RTS24_COLUMNS)


# --------------------------------------------------------------------------- trades

# trade_id, timestamp, symbol, price, quantity, notional, aggressor_side, buy_firm, buy_session, buy_order_id,
# buy_client_order_id, buy_liquidity, buy_fee, sell_firm, sell_session, sell_order_id, sell_client_order_id,
# sell_liquidity, sell_fee, sequence, journal_seq
TRADES_ROWS = [
    (1, '2024-03-01T14:30:01.000000000Z', 'AAPL', '190.0000', 40, '7600.0000', 'sell', 'FIRM_A', 'BROKER1', 1, 'A1',
        'maker', '-0.152000', 'FIRM_B', 'BROKER2', 2, 'B1', 'taker', '0.190000', 6, 8),
    (2, '2024-03-01T14:30:03.000000000Z', 'AAPL', '190.0500', 30, '5701.5000', 'sell', 'FIRM_A', 'BROKER1', 1, 'A2',
        'maker', '-0.114030', 'FIRM_B', 'BROKER2', 3, 'B2', 'taker', '0.142538', 14, 16),
    (3, '2024-03-01T14:31:15.000000000Z', 'AAPL', '190.1000', 20, '3802.0000', 'buy', 'FIRM_A', 'BROKER1', 7, 'A5',
        'taker', '0.114060', 'FIRM_B', 'BROKER2', 6, 'B3', 'maker', '-0.114060', 30, 32),
    (4, '2024-03-02T14:30:01.000000000Z', 'MSFT', '420.0000', 10, '4200.0000', 'buy', 'FIRM_A', 'BROKER1', 9, 'A6',
        'taker', '0.126000', 'FIRM_B', 'BROKER2', 8, 'B4', 'maker', '-0.126000', 39, 41),
]


def test_trades_give_one_blotter_row_per_trade_with_both_sides_and_their_fees(scenario: LoadedScenario) -> None:
    # Trade 1: 7,600.00 notional; FIRM_A maker -0.20 bp = -0.152, FIRM_B taker 0.25 bp = 0.19.
    # Trade 2: 5,701.50; FIRM_B taker 0.25 bp = 0.1425375, a tie rounded half-even to 0.142538.
    # Trade 3: 3,802.00; FIRM_A taker 0.30 bp = 0.11406, FIRM_B maker -0.30 bp = -0.11406.
    _assert_rows(_export(scenario.url, "trades"), TRADES_ROWS, TRADES_COLUMNS)


# --------------------------------------------------------------------------- bars

# symbol, interval, start, end, open, high, low, close, volume, trades
BARS_ROWS = [
    ('AAPL', '1m', '2024-03-01T14:30:00Z', '2024-03-01T14:31:00Z', '190.0000', '190.0500', '190.0000', '190.0500', 70,
        2),
    ('AAPL', '1m', '2024-03-01T14:31:00Z', '2024-03-01T14:32:00Z', '190.1000', '190.1000', '190.1000', '190.1000', 20,
        1),
    ('MSFT', '1m', '2024-03-02T14:30:00Z', '2024-03-02T14:31:00Z', '420.0000', '420.0000', '420.0000', '420.0000', 10,
        1),
]


def test_one_minute_bars_cover_only_the_minutes_with_trades(scenario: LoadedScenario) -> None:
    _assert_rows(_export(scenario.url, "bars"), BARS_ROWS, BARS_COLUMNS)


@pytest.mark.parametrize(("interval", "start", "end"), [
    ("5m", "2024-03-01T14:30:00Z", "2024-03-01T14:35:00Z"),
    ("1h", "2024-03-01T14:00:00Z", "2024-03-01T15:00:00Z"),
    ("1d", "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"),
])
def test_wider_bars_are_aligned_to_utc_and_hold_all_three_aapl_trades(scenario: LoadedScenario, interval: str,
                                                                         start: str, end: str) -> None:
    bars = _export(scenario.url, "bars", ExportFilters(symbol="AAPL"), interval=interval)
    assert bars == [("AAPL", interval, start, end, "190.0000", "190.1000", "190.0000", "190.1000", 90, 3)]


# --------------------------------------------------------------------------- summary

# date, symbol, scope, firm, open, high, low, close, volume, bought, sold, trades, orders_accepted,
# orders_replaced, orders_cancelled, orders_expired, orders_rejected, rejects_by_reason, fees
SUMMARY_ROWS = [
    ('2024-03-01', 'AAPL', 'symbol', None, '190.0000', '190.1000', '190.0000', '190.1000', 90, None, None, 3, 6, 1, 2,
        0, 1, {18: 1}, '0.066508'),
    ('2024-03-01', 'AAPL', 'firm', 'FIRM_A', '190.0000', '190.1000', '190.0000', '190.1000', 90, 90, 0, 3, 3, 1, 2, 0,
        1, {18: 1}, '-0.151970'),
    ('2024-03-01', 'AAPL', 'firm', 'FIRM_B', '190.0000', '190.1000', '190.0000', '190.1000', 90, 0, 90, 3, 3, 0, 0, 0,
        0, {}, '0.218478'),
    ('2024-03-01', 'MSFT', 'symbol', None, None, None, None, None, 0, None, None, 0, 1, 0, 0, 1, 0, {}, '0.000000'),
    ('2024-03-01', 'MSFT', 'firm', 'FIRM_A', None, None, None, None, 0, 0, 0, 0, 1, 0, 0, 1, 0, {}, '0.000000'),
    ('2024-03-01', 'ZZZZ', 'symbol', None, None, None, None, None, 0, None, None, 0, 0, 0, 0, 0, 1, {1: 1}, '0.000000'),
    ('2024-03-01', 'ZZZZ', 'firm', 'FIRM_B', None, None, None, None, 0, 0, 0, 0, 0, 0, 0, 0, 1, {1: 1}, '0.000000'),
    ('2024-03-02', 'MSFT', 'symbol', None, '420.0000', '420.0000', '420.0000', '420.0000', 10, None, None, 1, 2, 0, 0,
        0, 0, {}, '0.000000'),
    ('2024-03-02', 'MSFT', 'firm', 'FIRM_A', '420.0000', '420.0000', '420.0000', '420.0000', 10, 10, 0, 1, 1, 0, 0, 0,
        0, {}, '0.126000'),
    ('2024-03-02', 'MSFT', 'firm', 'FIRM_B', '420.0000', '420.0000', '420.0000', '420.0000', 10, 0, 10, 1, 1, 0, 0, 0,
        0, {}, '-0.126000'),
]


def test_summary_gives_each_days_symbols_and_the_firms_in_them_column_by_column(scenario: LoadedScenario) -> None:
    # Symbol rows count every firm (fees: what the venue netted); firm rows are the firm's own executions.
    # FIRM_A's AAPL fees: -0.152 - 0.11403 + 0.11406 = -0.15197.
    _assert_rows(_export(scenario.url, "summary"), SUMMARY_ROWS, SUMMARY_COLUMNS)


# --------------------------------------------------------------------------- filters


def _journal_seqs(rows: list[tuple], column: int = 0) -> list[int]:
    return [row[column] for row in rows]


def test_a_firm_filter_keeps_only_that_firms_order_events(scenario: LoadedScenario) -> None:
    rows = _export(scenario.url, "orders", ExportFilters(firm="FIRM_B"))
    assert _journal_seqs(rows) == [5, 6, 13, 14, 20, 27, 31, 36, 40]


def test_a_symbol_filter_keeps_only_that_symbols_order_events(scenario: LoadedScenario) -> None:
    rows = _export(scenario.url, "rts24", ExportFilters(symbol="MSFT"))
    assert _journal_seqs(rows, -1) == [22, 25, 36, 38, 39, 40]


def test_a_time_window_includes_its_start_and_excludes_its_end(scenario: LoadedScenario) -> None:
    rows = _export(scenario.url, "orders", ExportFilters(start=_at(3), end=_at(61)))
    assert _journal_seqs(rows) == [13, 14, 15, 18, 20, 21, 22, 24]  # the expiry at +61 s is left out


def test_a_time_window_finds_its_rows_even_where_the_clock_stepped_back_in_journal_order(
        blank_audit_url: str) -> None:
    """The window's journal_seq range only narrows the search: rows out of time order are still found, and
    rows inside that range but outside the window are still left out."""
    insert_bulk_trades(blank_audit_url, 10)  # trade n at T0 + n s, journal_seq n
    engine = create_engine(blank_audit_url)
    try:
        with engine.begin() as connection:
            for journal_seq, seconds in ((4, 8.5), (7, 2.5)):  # 4 stamped late, 7 early
                connection.execute(update(audit_events).where(audit_events.c.journal_seq == journal_seq).values(
                    timestamp_ns=T0 + int(seconds * SECOND), timestamp=ns_to_datetime(T0 + int(seconds * SECOND))))
    finally:
        engine.dispose()
    rows = _export(blank_audit_url, "trades", ExportFilters(start=_at(2), end=_at(5)))
    assert [row[0] for row in rows] == [2, 3, 7]  # trade_id = journal_seq here
    rows = _export(blank_audit_url, "trades", ExportFilters(start=_at(8)))
    assert [row[0] for row in rows] == [4, 8, 9, 10]


def test_times_in_another_zone_are_compared_in_utc(scenario: LoadedScenario) -> None:
    new_york = timezone(timedelta(hours=-5))
    rows = _export(scenario.url, "orders", ExportFilters(end=_at(1).astimezone(new_york)))
    assert _journal_seqs(rows) == [3]


def test_a_firm_filter_keeps_the_trades_the_firm_was_on_either_side_of(scenario: LoadedScenario) -> None:
    assert [row[0] for row in _export(scenario.url, "trades", ExportFilters(firm="FIRM_B", start=_at(2)))] == [
        2, 3, 4]
    assert _export(scenario.url, "trades", ExportFilters(firm="FIRM_C")) == []
    assert [row[0] for row in _export(scenario.url, "trades", ExportFilters(symbol="MSFT"))] == [4]


def test_bars_can_be_limited_to_one_firms_trades_and_a_day(scenario: LoadedScenario) -> None:
    day_two = ExportFilters(firm="FIRM_A", start=datetime(2024, 3, 2, tzinfo=timezone.utc))
    assert _export(scenario.url, "bars", day_two) == [BARS_ROWS[2]]


def test_a_firm_filter_on_the_summary_leaves_only_that_firms_rows(scenario: LoadedScenario) -> None:
    rows = _export(scenario.url, "summary", ExportFilters(firm="FIRM_B"))
    assert rows == [SUMMARY_ROWS[2], SUMMARY_ROWS[6], SUMMARY_ROWS[9]]


def test_a_symbol_filter_on_the_summary_leaves_that_symbols_rows(scenario: LoadedScenario) -> None:
    assert _export(scenario.url, "summary", ExportFilters(symbol="ZZZZ")) == SUMMARY_ROWS[5:7]


@pytest.mark.parametrize("kind", ["orders", "rts24", "trades", "bars", "summary"])
def test_every_export_of_an_empty_trail_has_no_rows(blank_audit_url: str, kind: str) -> None:
    assert _export(blank_audit_url, kind) == []


def test_an_export_streams_in_constant_memory(blank_audit_url: str) -> None:
    """20,000 trades take no more memory to export than 5,000: rows are fetched in batches of 2,000 (one or two
    held at a time), never all at once."""
    count = 20_000
    insert_bulk_trades(blank_audit_url, count)
    engine = create_engine(blank_audit_url)
    try:
        def peak(end: datetime | None) -> tuple[int, int]:
            tracemalloc.start()
            try:
                with engine.connect() as connection:
                    exported = sum(1 for _ in run_export(connection, "trades", ExportFilters(end=end)).rows)
                return exported, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        small, small_peak = peak(_at(count // 4 + 1))
        large, large_peak = peak(None)
    finally:
        engine.dispose()
    assert (small, large) == (count // 4, count)
    assert large_peak < 2 * small_peak, (small_peak, large_peak)


# --------------------------------------------------------------------------- requests and formatting


def test_an_unknown_export_or_bar_interval_is_refused(blank_audit_url: str) -> None:
    with pytest.raises(ValueError, match="unknown export 'positions'; allowed: orders, rts24, trades, bars, summary"):
        _export(blank_audit_url, "positions")
    with pytest.raises(ValueError, match="unknown bar interval '2m'; allowed: 1m, 5m, 1h, 1d"):
        _export(blank_audit_url, "bars", interval="2m")


def test_filters_need_times_with_a_zone_and_a_start_before_the_end() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        ExportFilters(start=datetime(2024, 3, 1))
    with pytest.raises(ValueError, match="is not before the end"):
        ExportFilters(start=_at(5), end=_at(5))


def test_timestamps_are_utc_iso_with_nanoseconds_or_microseconds() -> None:
    assert iso_ns(T0 + 123_456_789) == "2024-03-01T14:30:00.123456789Z"
    assert iso_us(T0 + 123_456_789) == "2024-03-01T14:30:00.123456Z"  # truncated, as the database keeps it


def test_prices_get_exactly_the_instruments_decimals_whatever_scale_the_database_returns() -> None:
    assert _price(Decimal("190.010000000"), 4) == "190.0100"  # PostgreSQL Numeric(38, 9)
    assert _price(Decimal("190.01"), 4) == "190.0100"
    assert _price(Decimal("12345"), None) == "12345"  # unknown instrument: integer price units
    assert _price(None, 4) is None


def test_fees_get_six_decimal_places_unless_they_hold_more() -> None:
    assert (_fee(Decimal("-0.152000000")), _fee(Decimal("0")), _fee(Decimal("0.1234567"))) == (
        "-0.152000", "0.000000", "0.1234567")
