"""Loading the journal into SQLite: schema, prices as Decimal, idempotency, catching up, background mode."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from reporting.journal import JournalWriter, read_journal
from reporting.loader import JournalLoader, JournalMismatchError, audit_row, execute_rows, ns_to_datetime
from reporting.records import session_record
from reporting.schema import SCHEMA_VERSION, audit_events, ensure_schema, fix_messages, schema_version
from reporting_samples import T0, sample_records, write_journal

DECIMALS = {"AAPL": 4}


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'audit.db'}"


def _count(url: str, table) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def test_ensure_schema_twice_creates_tables_indexes_and_one_version_row(tmp_path: Path) -> None:
    engine = create_engine(_url(tmp_path).replace("/db/", "/"))
    try:
        assert ensure_schema(engine) == SCHEMA_VERSION
        assert ensure_schema(engine) == SCHEMA_VERSION
        inspector = inspect(engine)
        assert {"audit_events", "fix_messages", "schema_version"} <= set(inspector.get_table_names())
        indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("audit_events")}
        assert indexes["ix_audit_events_symbol_timestamp"] == ["symbol", "timestamp"]
        assert indexes["ix_audit_events_firm_timestamp"] == ["firm", "timestamp"]
        assert indexes["ix_audit_events_order_id"] == ["order_id"]
        assert indexes["ix_audit_events_kind"] == ["kind"]
        with engine.connect() as connection:
            assert connection.execute(select(schema_version.c.version)).scalars().all() == [SCHEMA_VERSION]
    finally:
        engine.dispose()


def test_a_schema_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        ensure_schema(engine)
        with engine.begin() as connection:
            connection.execute(schema_version.update().values(version=SCHEMA_VERSION + 1))
        with pytest.raises(RuntimeError, match="newer than this code"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_loading_puts_messages_in_fix_messages_and_the_rest_in_audit_events(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = _url(tmp_path)
    assert JournalLoader(journal, url, DECIMALS).load_available() == 8
    assert (_count(url, audit_events), _count(url, fix_messages)) == (6, 2)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            raw = connection.execute(select(fix_messages.c.raw).order_by(fix_messages.c.journal_seq)).scalars().all()
            fill = connection.execute(select(audit_events).where(audit_events.c.kind == "order_filled")).mappings().one()
            reject = connection.execute(select(audit_events).where(audit_events.c.kind == "order_rejected")).mappings().one()
    finally:
        engine.dispose()
    assert raw[0] == sample_records()[1].text  # SOH separators kept
    assert (fill["price"], fill["last_price"], fill["price_decimals"]) == (Decimal("190.01"), Decimal("190"), 4)
    assert (fill["exec_id"], fill["trade_id"], fill["leaves_quantity"]) == ("11", 7, 60)
    assert fill["timestamp"].replace(tzinfo=timezone.utc) == datetime.fromtimestamp(T0 // 10**9, timezone.utc).replace(
        microsecond=(T0 // 1000) % 10**6)
    assert fill["timestamp_ns"] == T0 + 3
    # An instrument the loader was not told about keeps integer price units; NULL decimals says so.
    assert (reject["price"], reject["price_decimals"], reject["reason_code"]) == (Decimal(12345), None, 1)


def test_nanosecond_timestamps_become_utc_datetimes_to_the_microsecond() -> None:
    assert ns_to_datetime(1_700_000_000_123_456_789) == datetime(2023, 11, 14, 22, 13, 20, 123456, timezone.utc)


def test_loading_twice_never_doubles_a_row(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = _url(tmp_path)
    assert JournalLoader(journal, url, DECIMALS).load_available() == 8
    assert JournalLoader(journal, url, DECIMALS).load_available() == 0
    assert _count(url, audit_events) + _count(url, fix_messages) == 8


def test_a_batch_already_partly_in_the_database_inserts_only_the_missing_rows(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = _url(tmp_path)
    loader = JournalLoader(journal, url, DECIMALS, batch_size=3)
    loader.load_available()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:  # as if a crash left the database behind the loader's bookkeeping
            connection.execute(audit_events.delete().where(audit_events.c.journal_seq >= 5))
            connection.execute(fix_messages.delete().where(fix_messages.c.journal_seq >= 5))
    finally:
        engine.dispose()
    assert loader.load_available() == 4
    assert _count(url, audit_events) + _count(url, fix_messages) == 8


def test_a_loader_picks_up_new_entries_in_batches_after_the_highest_loaded_seq(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = _url(tmp_path)
    loader = JournalLoader(journal, url, DECIMALS, batch_size=2)
    assert loader.load_available() == 8
    with JournalWriter(journal, "os") as writer:
        for n in range(5):
            writer.append(session_record("logon", f"S{n}", "FIRM_A", T0 + 100 + n))
    assert loader.load_available() == 5
    assert (loader.loaded_seq, loader.backlog) == (13, 0)


def test_the_loader_goes_on_loading_while_an_export_is_reading(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = _url(tmp_path)
    loader = JournalLoader(journal, url, DECIMALS)
    assert loader.load_available() == 8
    export = sqlite3.connect(tmp_path / "db" / "audit.db", timeout=0.2)
    try:
        rows = export.execute("SELECT journal_seq FROM audit_events ORDER BY journal_seq")
        assert rows.fetchone() == (1,)  # a read in progress, as a long `fixex report` keeps one
        with JournalWriter(journal, "os") as writer:
            writer.append(session_record("logon", "BROKER9", "FIRM_A", T0 + 100))
        assert loader.load_available() == 1  # with SQLite's rollback journal: "database is locked"
        assert len(rows.fetchall()) == 5  # and the export still reads the trail as it was when it began
    finally:
        export.close()
        loader.stop()


def test_rows_handed_to_sqlite_directly_are_stored_as_sqlalchemy_stores_them(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    rows = [audit_row(entry, DECIMALS) for entry in read_journal(journal) if entry.record.kind != "fix_message"]
    assert any(row["price"] is not None for row in rows)  # a Decimal and a datetime to convert, and Nones
    stored = []
    for name, insert_rows in (("direct", execute_rows), ("sqlalchemy", lambda c, s, r: c.execute(s, r).rowcount)):
        engine = create_engine(f"sqlite:///{tmp_path / name}.db")
        try:
            ensure_schema(engine)
            with engine.begin() as connection:
                statement = sqlite_insert(audit_events).on_conflict_do_nothing(index_elements=["journal_seq"])
                assert insert_rows(connection, statement, rows) == len(rows)
                assert insert_rows(connection, statement, rows) == 0  # nothing doubled
        finally:
            engine.dispose()
        database = sqlite3.connect(tmp_path / f"{name}.db")
        stored.append(database.execute("SELECT * FROM audit_events ORDER BY journal_seq").fetchall())
        database.close()
    assert stored[0] == stored[1] and len(stored[0]) == len(rows)


def _dump(url: str) -> dict[str, list[tuple]]:
    database = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return {table: database.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("audit_events", "fix_messages", "orders", "trades", "sessions")}
    finally:
        database.close()


@pytest.mark.parametrize("held", [100, 3])
def test_a_loader_beside_the_writer_loads_from_its_memory_what_it_would_read_from_the_file(tmp_path: Path,
                                                                                          held: int) -> None:
    journal = tmp_path / "j.jsonl"
    records = sample_records()
    with JournalWriter(journal, "os", keep_recent=held) as writer:
        beside = JournalLoader(journal, _url(tmp_path), DECIMALS, batch_size=2, recent=writer.recent)
        writer.append_all(records[:5])
        assert beside.load_available() == 5
        writer.append_all(records[5:])
        assert beside.load_available() == 3
    # Holding 100, everything came from memory; holding 3, entries 1 and 2 were no longer held: read from the file.
    assert beside.taken_from_memory == (8 if held == 100 else 6)
    file_only = f"sqlite:///{tmp_path / 'file.db'}"
    assert JournalLoader(journal, file_only, DECIMALS).load_available() == 8
    assert _dump(_url(tmp_path)) == _dump(file_only)


def test_a_database_from_another_journal_is_refused(tmp_path: Path) -> None:
    url = _url(tmp_path)
    write_journal(tmp_path / "one.jsonl")
    JournalLoader(tmp_path / "one.jsonl", url, DECIMALS).load_available()
    other = sample_records()
    other[0] = session_record("logon", "BROKER9", "FIRM_A", T0, "different")
    write_journal(tmp_path / "two.jsonl", other)
    with pytest.raises(JournalMismatchError, match="a different journal or database"):
        JournalLoader(tmp_path / "two.jsonl", url, DECIMALS).load_available()


def test_background_loader_follows_a_growing_journal(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    url = _url(tmp_path)
    loader = JournalLoader(journal, url, DECIMALS, poll_interval=0.02)
    loader.start()
    try:
        with JournalWriter(journal, "group", group_commit_ms=5) as writer:
            for record in sample_records():
                writer.append(record)
        deadline = time.monotonic() + 10
        while loader.loaded_seq < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (loader.loaded_seq, loader.backlog, loader.last_error) == (8, 0, None)
    finally:
        loader.stop()
    assert _count(url, audit_events) + _count(url, fix_messages) == 8


def test_a_damaged_journal_stops_the_background_loader_and_says_why(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    journal.write_bytes(journal.read_bytes().replace(b"BROKER2", b"BROKER3"))
    loader = JournalLoader(journal, _url(tmp_path), DECIMALS, poll_interval=0.01)
    loader.start()
    try:
        deadline = time.monotonic() + 10
        while not loader.failed and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loader.stop()
    assert loader.failed
    assert "JournalCorruptError" in (loader.last_error or "") and "hash does not match" in loader.last_error
    assert loader.loaded_seq == 5  # everything before the damaged entry is loaded, nothing from it on


def test_a_database_that_is_down_then_up_is_caught_up(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    db_dir = tmp_path / "later"
    url = f"sqlite:///{db_dir / 'audit.db'}"
    loader = JournalLoader(journal, url, DECIMALS, min_backoff=0.01, max_backoff=0.05)
    loader._engine = create_engine(url)  # skip create_audit_engine's mkdir: the directory is "down"
    loader.start()
    try:
        deadline = time.monotonic() + 10
        while loader.last_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "OperationalError" in (loader.last_error or "")
        assert (loader.backlog, loader.failed) == (8, False)
        db_dir.mkdir()
        deadline = time.monotonic() + 10
        # The loader thread sets loaded_seq before backlog and last_error: wait for all three.
        while (loader.loaded_seq, loader.backlog, loader.last_error) != (8, 0, None) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        assert (loader.loaded_seq, loader.backlog, loader.last_error) == (8, 0, None)
    finally:
        loader.stop()
