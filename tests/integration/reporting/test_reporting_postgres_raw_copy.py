"""The PostgreSQL loader's fast path (raw journal lines COPYed, parsed by the database) against the row-building
path (each entry parsed and its rows built in Python, as on SQLite): the same values in every column of every
row of every table; and a damaged journal refused the same way.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from config import load_settings
from matching.events import OrderRejected
from matching.rejects import OrderRejectReason
from matching.types import OrderType, Side
from reporting.auditor import Auditor
from reporting.journal import JournalCorruptError, JournalWriter, entry_hash, read_journal
from reporting.load_bench import write_inputs
from reporting.loader import JournalLoader
from reporting.records import audit_record, canonical_json, message_record, record_to_json, session_record
from reporting.schema import audit_events, fix_messages, orders, sessions, trades
from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: F401 (fixtures)

# The shared scenario lives next to the SQLite tests; pytest puts only this directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from reporting_export_scenario import T0, scenario_records, scenario_settings  # noqa: E402
from reporting_samples import sample_records  # noqa: E402
from test_reporting_derived_tables import extra_records  # noqa: E402

pytestmark = pytest.mark.postgres

DECIMALS = {"AAPL": 4, "MSFT": 4}
TABLES = (audit_events, fix_messages, orders, trades, sessions)


def _awkward_records():
    """Texts that COPY's and JSON's escaping must both get right, and prices no instrument scales."""
    texts = ["tab\there", "back\\slash and \\t not a tab", 'quote " and \\" both', "new\nline\r\nand CR",
             "café ☃ 𝄞 (non-ASCII, astral too)", "\x01\x02\x7f control", "\\.", "\\N", "x" * 5000]
    records = [audit_record(OrderRejected(
        sequence=1000 + n, timestamp_ns=T0 + n, session="BROKER1", firm="FIRM_A",
        client_order_id=f"w{n}\t{value[:100]}",
        symbol="ODD", side=Side.BUY, order_type=OrderType.LIMIT, quantity=n + 1, price=-123_456_789_012 * (n + 1),
        reason=OrderRejectReason.UNKNOWN_SYMBOL, text=value)) for n, value in enumerate(texts)]
    records += [message_record("inbound", "BROKER1", T0 + 50 + n, f"8=FIX.4.4\x0135=D\x0158={value}\x01")
                for n, value in enumerate(texts)]
    records += [session_record("reject", "BROKER1", "FIRM_A", T0 + 99, "Text with \\ and \t")]
    return records


def _auditor_records(directory: Path, shift: int = 100_000):
    """What the auditor writes for a run of crossing orders (order_received, accepted, filled, trades), its
    order and trade ids moved up by `shift` so that they do not meet the scenario's."""
    write_inputs(directory, 300)
    auditor = Auditor(load_settings(), directory, None, fsync_policy="os")
    while auditor.run_once(limit=10_000):
        pass
    auditor.close()
    records = []
    for entry in read_journal(directory / "audit.jsonl"):
        record = entry.record
        detail = {key: value + shift if key in ("buy_order_id", "sell_order_id") else value
                  for key, value in record.detail.items()}
        records.append(dataclasses.replace(
            record, detail=detail, order_id=None if record.order_id is None else record.order_id + shift,
            trade_id=None if record.trade_id is None else record.trade_id + shift))
    return records


def _write(path: Path, records) -> None:
    with JournalWriter(path, "os") as writer:
        for record in records:
            writer.append(record)


def _load(journal: Path, url: str, *, raw_copy: bool, batch_size: int) -> int:
    loader = JournalLoader(journal, url, DECIMALS, batch_size=batch_size, raw_copy=raw_copy)
    try:
        return loader.load_available()
    finally:
        loader.stop()


def _stored(url: str) -> dict[str, list[str]]:
    """Every row of every table as PostgreSQL prints it: every column, exactly as stored."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {table.name: connection.execute(text(
                f"SELECT t::text FROM {table.name} AS t ORDER BY "
                f"{', '.join(column.name for column in table.primary_key.columns)}")).scalars().all()
                for table in TABLES}
    finally:
        engine.dispose()


def test_the_raw_copy_stores_every_column_of_every_row_as_the_row_building_path_does(
        tmp_path: Path, scratch_databases: Callable[..., str]) -> None:
    settings = scenario_settings(tmp_path, "sqlite://")
    records = (scenario_records(settings) + extra_records() + sample_records() + _awkward_records()
               + _auditor_records(tmp_path / "auditor"))
    journal = tmp_path / "audit.jsonl"
    _write(journal, records)
    by_rows, raw_small, raw_large = scratch_databases(), scratch_databases(), scratch_databases()
    assert _load(journal, by_rows, raw_copy=False, batch_size=7) == len(records)
    assert _load(journal, raw_small, raw_copy=True, batch_size=7) == len(records)
    assert _load(journal, raw_large, raw_copy=True, batch_size=5000) == len(records)
    expected = _stored(by_rows)
    assert {name: len(rows) for name, rows in expected.items()} == {
        "audit_events": len(records) - 14, "fix_messages": 14, "orders": 312, "trades": 156, "sessions": 6}
    assert _stored(raw_small) == expected
    assert _stored(raw_large) == expected


def test_lines_taken_from_the_writers_memory_are_copied_as_those_read_from_the_file(
        tmp_path: Path, scratch_databases: Callable[..., str]) -> None:
    records = sample_records() + _awkward_records() + _auditor_records(tmp_path / "auditor")
    journal = tmp_path / "audit.jsonl"
    from_memory, from_file = scratch_databases(), scratch_databases()
    with JournalWriter(journal, "os", keep_recent=len(records)) as writer:
        writer.append_all(records)
        loader = JournalLoader(journal, from_memory, DECIMALS, batch_size=50, recent=writer.recent)
        try:
            assert loader.load_available() == len(records)
        finally:
            loader.stop()
    assert loader.taken_from_memory == len(records)
    assert _load(journal, from_file, raw_copy=True, batch_size=50) == len(records)
    assert _stored(from_memory) == _stored(from_file)


def _journal_then(path: Path, damaged_line: Callable[[int, str], bytes]) -> None:
    """Three good entries, then a line made by damaged_line(journal_seq it should have, prev_hash), then one more."""
    with JournalWriter(path, "os") as writer:
        for record in sample_records()[:3]:
            writer.append(record)
        prev_hash = writer.last_hash
    with open(path, "ab") as stream:
        stream.write(damaged_line(4, prev_hash))
        stream.write(b"{}\n")


def _chained(body: bytes, prev_hash: str) -> bytes:
    """A line whose hash is right for its body: damage the chain cannot show, only the entry's content can."""
    return body[:-1] + b',"prev_hash":"%s","hash":"%s"}\n' % (prev_hash.encode(), entry_hash(prev_hash, body).encode())


@pytest.mark.parametrize(("damaged_line", "problem"), [
    (lambda seq, prev: _chained(canonical_json({**record_to_json(sample_records()[3]), "journal_seq": seq + 1}),
                                prev),
     "line 4 (journal_seq 5): journal_seq follows 3; expected 4"),
    (lambda seq, prev: _chained(b'{"journal_seq":%d,"kind":"order_filled"' % seq + b"}", prev)[:-3] + b"\n",
     "line 4: missing prev_hash or hash"),
    (lambda seq, prev: _chained(b'{"journal_seq":%d,"kind":[}' % seq, prev), "line 4: not valid JSON"),
    (lambda seq, prev: _chained(b'{"journal_seq":%d,"no_kind":1}' % seq, prev),
     "line 4: not a journal entry of this kind"),
    (lambda seq, prev: _chained(canonical_json({**record_to_json(sample_records()[3]), "journal_seq": seq}),
                                prev).replace(b'"quantity":100', b'"quantity":900'),
     "line 4: hash does not match the entry's content"),
], ids=["wrong journal_seq", "torn chain suffix", "not JSON", "not a record", "edited"])
def test_a_damaged_line_loads_the_entries_before_it_and_stops_with_the_journals_own_error(
        tmp_path: Path, database_url: str, damaged_line, problem: str) -> None:
    journal = tmp_path / "audit.jsonl"
    _journal_then(journal, damaged_line)
    loader = JournalLoader(journal, database_url, DECIMALS, batch_size=100)
    try:
        with pytest.raises(JournalCorruptError) as raised:
            loader.load_available()
        assert problem in str(raised.value)
        assert loader.loaded_seq in (0, 3)
        with pytest.raises(JournalCorruptError):  # and again at the same place: nothing skipped
            loader.load_available()
    finally:
        loader.stop()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            loaded = sorted(connection.execute(select(audit_events.c.journal_seq)).scalars().all()
                            + connection.execute(select(fix_messages.c.journal_seq)).scalars().all())
            session_rows = connection.execute(select(func.count()).select_from(sessions)).scalar_one()
    finally:
        engine.dispose()
    assert (loaded, session_rows) == ([1, 2, 3], 1)


@pytest.fixture()
def database_url(scratch_databases: Callable[..., str]) -> str:
    return scratch_databases()
