"""Loading the journal into a real PostgreSQL: COPY path, idempotency, catching up after an outage, verify."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from matching.events import OrderAccepted, OrderFilled
from matching.types import OrderType, Side, TimeInForce
from reporting.journal import JournalWriter
from reporting.loader import JournalLoader
from reporting.records import AuditRecord, audit_record, message_record, session_record
from reporting.schema import audit_events, fix_messages
from reporting.verify import verify_chain
from reporting_postgres_fixtures import database_url, postgres_server, scratch_databases  # noqa: F401 (fixtures)

pytestmark = pytest.mark.postgres

T0 = 1_700_000_000_123_456_789
DECIMALS = {"AAPL": 4}


def _records(extra_messages: int = 0) -> list[AuditRecord]:
    records = [
        session_record("logon", "BROKER1", "FIRM_A", T0, "logon"),
        message_record("inbound", "BROKER1", T0 + 1, "8=FIX.4.4\x019=60\x0135=D\x0111=c1\x0155=AAPL\x0158=a\tb\\c\x01"),
        audit_record(OrderAccepted(
            sequence=10, timestamp_ns=T0 + 2, order_id=500, session="BROKER1", firm="FIRM_A", client_order_id="c1",
            symbol="AAPL", side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, quantity=100,
            price=1_900_100, stop_price=None, expire_time_ns=None)),
        audit_record(OrderFilled(
            sequence=11, timestamp_ns=T0 + 3, order_id=500, session="BROKER1", firm="FIRM_A", client_order_id="c1",
            symbol="AAPL", side=Side.BUY, quantity=100, price=1_900_100, trade_id=7, last_price=1_900_000,
            last_quantity=40, cum_quantity=40, leaves_quantity=60, cum_notional=76_000_000, aggressor=True)),
    ]
    records += [message_record("outbound", "BROKER1", T0 + 10 + n, f"8=FIX.4.4\x0135=8\x0117={n}\x01")
                for n in range(extra_messages)]
    return records


def _write(path: Path, records: list[AuditRecord]) -> None:
    with JournalWriter(path, "os") as writer:
        for record in records:
            writer.append(record)


def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return (connection.execute(select(func.count()).select_from(audit_events)).scalar_one(),
                    connection.execute(select(func.count()).select_from(fix_messages)).scalar_one())
    finally:
        engine.dispose()


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_copy_loads_rows_with_exact_decimal_prices_utc_times_and_raw_fix_text(tmp_path: Path, database_url: str) -> None:
    journal = tmp_path / "j.jsonl"
    records = _records()
    _write(journal, records)
    assert JournalLoader(journal, database_url, DECIMALS).load_available() == 4
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            fill = connection.execute(select(audit_events).where(audit_events.c.kind == "order_filled")).mappings().one()
            raw = connection.execute(select(fix_messages.c.raw)).scalar_one()
    finally:
        engine.dispose()
    assert (fill["price"], fill["last_price"], fill["price_decimals"]) == (Decimal("190.01"), Decimal("190"), 4)
    assert fill["timestamp"] == datetime(2023, 11, 14, 22, 13, 20, 123456, timezone.utc)
    assert (fill["timestamp_ns"], fill["exec_id"], fill["detail"]) == (
        T0 + 3, "11", '{"aggressor":true,"cum_notional":76000000}')
    assert raw == records[1].text  # SOH, tab and backslash survive COPY's text format


def test_loading_twice_or_after_a_partial_loss_never_doubles_a_row(tmp_path: Path, database_url: str) -> None:
    journal = tmp_path / "j.jsonl"
    _write(journal, _records(extra_messages=2500))
    loader = JournalLoader(journal, database_url, DECIMALS, batch_size=1000)
    assert loader.load_available() == 2504
    assert JournalLoader(journal, database_url, DECIMALS).load_available() == 0
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(fix_messages.delete().where(fix_messages.c.journal_seq > 2000))
    finally:
        engine.dispose()
    assert loader.load_available() == 504
    assert _counts(database_url) == (3, 2501)
    assert verify_chain(database_url).ok


def test_an_unreachable_server_is_retried_and_reported_with_the_backlog(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    _write(journal, _records())
    loader = JournalLoader(journal, "postgresql+psycopg://postgres@127.0.0.1:1/test", DECIMALS,
                           min_backoff=0.01, max_backoff=0.05)
    loader.start()
    try:
        assert _wait_for(lambda: loader.last_error is not None)
        assert "OperationalError" in loader.last_error
        assert (loader.backlog, loader.failed) == (4, False)
    finally:
        loader.stop()


def test_a_database_that_comes_up_late_is_caught_up_in_the_background(
        tmp_path: Path, scratch_databases) -> None:
    journal = tmp_path / "j.jsonl"
    _write(journal, _records(extra_messages=20))
    url = scratch_databases(create=False)  # the database does not exist yet: connecting fails
    loader = JournalLoader(journal, url, DECIMALS, batch_size=7, poll_interval=0.02, min_backoff=0.01,
                           max_backoff=0.1)
    loader.start()
    try:
        assert _wait_for(lambda: loader.last_error is not None)
        assert loader.backlog == 24
        with JournalWriter(journal, "always") as writer:  # the exchange keeps journaling meanwhile
            writer.append(session_record("logout", "BROKER1", "FIRM_A", T0 + 99, "bye"))
        scratch_databases.create_database(make_url(url).database)
        assert _wait_for(lambda: loader.loaded_seq == 25 and loader.backlog == 0)
        assert (loader.last_error, loader.failed) == (None, False)
    finally:
        loader.stop()
    assert _counts(url) == (4, 21)
    assert verify_chain(url).ok


def test_verify_on_postgres_finds_an_edited_quantity(tmp_path: Path, database_url: str) -> None:
    journal = tmp_path / "j.jsonl"
    _write(journal, _records())
    JournalLoader(journal, database_url, DECIMALS).load_available()
    assert verify_chain(database_url).checked == 4
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(audit_events.update().where(audit_events.c.journal_seq == 4).values(cum_quantity=41))
    finally:
        engine.dispose()
    result = verify_chain(database_url)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "column cum_quantity is 41" in result.problem
