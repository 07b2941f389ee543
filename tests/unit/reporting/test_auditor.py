"""The auditor derives the audit trail from the input journal and QuickFIX's message logs."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_settings
from matching import CancelOrder, EndTradingDay, OrderRejectReason, OrderType, RejectOrder, Side, SubmitOrder
from reporting.auditor import Auditor
from reporting.command_journal import CommandJournal, OperatorActed, ReplayDivergedError, VenueStarted
from reporting.fees import FeeSchedule
from reporting.journal import read_journal
from reporting.records import record_to_json

T0 = 1_795_000_000_000_000_000  # 2026-11-18T...Z
SETTINGS = load_settings()
VENUE = SETTINGS.fix.sender_comp_id


def _inputs(directory: Path) -> None:
    journal = CommandJournal(directory, "os")
    journal.record(VenueStarted(T0, 1000, 500))
    journal.command(T0 + 1, SubmitOrder("BROKER1", "FIRM_A", "b1", "AAPL", Side.BUY, OrderType.LIMIT, 10, 1_900_000),
                    "BROKER1", 2)
    journal.command(T0 + 2, SubmitOrder("BROKER2", "FIRM_B", "s1", "AAPL", Side.SELL, OrderType.LIMIT, 4, 1_890_000),
                    "BROKER2", 2)
    journal.command(T0 + 3, CancelOrder("BROKER1", "FIRM_A", "b1-cancel", orig_client_order_id="b1"), "BROKER1", 3)
    journal.command(T0 + 4, RejectOrder("BROKER2", "FIRM_B", "s2", "AAPL", Side.SELL, OrderType.LIMIT, 1, 100,
                                        OrderRejectReason.OTHER, "price collar: 0.01 is more than 5% below"),
                    "BROKER2", 3)
    journal.record(OperatorActed(T0 + 5, "halt", "AAPL"))
    journal.command(T0 + 6, EndTradingDay())
    journal.close()


def _fix(body: str) -> str:
    return "8=FIX.4.4\x019=99\x01" + body.replace("|", "\x01") + "10=123\x01"


def _message_log(directory: Path, lines: list[tuple[str, str]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"FIX.4.4-{VENUE}-BROKER1.messages.current.log"
    with open(path, "a", encoding="utf-8") as log:
        for stamp, body in lines:
            log.write(f"{stamp} : {_fix(body)}\n")
    return path


LOG_LINES = [
    ("20261124-01:02:03.000000001", "35=A|34=1|49=BROKER1|56=" + VENUE + "|98=0|108=30|"),
    ("20261124-01:02:03.000000002", "35=A|34=1|49=" + VENUE + "|56=BROKER1|98=0|108=30|"),
    ("20261124-01:02:03.000000003", "35=0|34=2|49=BROKER1|56=" + VENUE + "|"),
    ("20261124-01:02:03.500000000", "35=D|34=3|49=BROKER1|56=" + VENUE + "|11=b1|58=two\nlines|"),
    ("20261124-01:02:03.600000000", "35=8|34=2|49=" + VENUE + "|56=BROKER1|11=b1|150=0|"),
]


def _audit(directory: Path, logs: Path | None = None) -> list:
    auditor = Auditor(SETTINGS, directory, logs, fees=FeeSchedule.from_settings(SETTINGS), fsync_policy="os")
    try:
        while auditor.run_once(limit=2):
            pass
    finally:
        auditor.close()
    return [entry.record for entry in read_journal(directory / "audit.jsonl")]


def test_each_input_becomes_what_was_received_and_every_event_it_caused(tmp_path: Path) -> None:
    _inputs(tmp_path)
    records = _audit(tmp_path)
    assert [(r.command_seq, r.kind) for r in records] == [
        (1, "venue_started"),
        (2, "order_received"), (2, "order_accepted"),
        (3, "order_received"), (3, "order_accepted"), (3, "order_filled"), (3, "order_filled"),
        (3, "trade_executed"),
        (4, "cancel_received"), (4, "order_cancelled"),
        (5, "order_received"), (5, "order_rejected"),
        (6, "operator_action"),
        (7, "trading_day_ended"),
    ]
    received = records[1]
    assert (received.session, received.firm, received.client_order_id, received.symbol, received.side,
            received.price, received.quantity, received.detail["msg_seq"]) == (
        "BROKER1", "FIRM_A", "b1", "AAPL", "buy", 1_900_000, 10, 2)
    assert records[2].order_id == 500 and records[2].sequence == 1000 and records[2].exec_id == "1000"
    rejected = records[11]
    assert (rejected.reason_code, rejected.text) == (99, "price collar: 0.01 is more than 5% below")
    assert (records[12].text, records[12].symbol) == ("halt", "AAPL")


def test_each_fill_carries_its_liquidity_and_the_firms_fee(tmp_path: Path) -> None:
    _inputs(tmp_path)
    taker, maker = [r for r in _audit(tmp_path) if r.kind == "order_filled"]
    # 4 at the resting price 190.00 = 760.00; standard tier: taker 0.30 bp, maker -0.20 bp
    assert (taker.firm, taker.liquidity, Decimal(taker.fee)) == ("FIRM_B", "taker", Decimal("0.022800"))
    assert (maker.firm, maker.liquidity, Decimal(maker.fee)) == ("FIRM_A", "maker", Decimal("-0.015200"))
    assert (taker.last_price, taker.last_quantity, maker.leaves_quantity) == (1_900_000, 4, 6)


def test_raw_messages_and_session_events_come_from_the_quickfix_log(tmp_path: Path) -> None:
    _inputs(tmp_path)
    _message_log(tmp_path / "log", LOG_LINES)
    records = [r for r in _audit(tmp_path, tmp_path / "log") if r.command_seq is None]
    assert [(r.kind, r.detail["direction"]) for r in records] == [
        ("session_logon", "inbound"), ("session_logon", "outbound"),  # the heartbeat is not kept
        ("fix_message", "inbound"), ("fix_message", "outbound")]
    order = records[2]
    assert order.session == "BROKER1" and order.text == _fix(LOG_LINES[3][1])  # newline inside a field kept
    assert order.timestamp_ns == int(datetime(2026, 11, 24, 1, 2, 3, tzinfo=timezone.utc).timestamp()) * 10**9 + 5 * 10**8
    assert records[0].firm == "FIRM_A"


def test_a_log_read_a_message_a_pass_gives_the_records_of_one_pass_over_it(tmp_path: Path) -> None:
    one_pass, passes = tmp_path / "one", tmp_path / "many"
    for directory in (one_pass, passes):
        _inputs(directory)
        _message_log(directory / "log", LOG_LINES)
    auditor = Auditor(SETTINGS, one_pass, one_pass / "log", fsync_policy="os")
    auditor.run_once(limit=100)
    auditor.close()
    auditor = Auditor(SETTINGS, passes, passes / "log", fsync_policy="os")
    auditor.run_once(limit=1)  # one input and one message of the log
    auditor.writer.flush()
    assert sum(e.record.command_seq is None for e in read_journal(passes / "audit.jsonl")) == 1
    while auditor.run_once(limit=1):
        pass
    auditor.close()
    records = {name: [e.record for e in read_journal(d / "audit.jsonl")] for name, d in (("one", one_pass),
                                                                                          ("many", passes))}
    assert _bodies(records["many"]) == _bodies(records["one"])


def _bodies(records) -> Counter:
    """The records as comparable text; the log file's inode differs between directories."""
    return Counter(repr(sorted({**record_to_json(r), "detail": {**r.detail, "inode": None}}.items()))
                   for r in records)


def test_a_restart_after_a_crash_neither_loses_nor_doubles_a_record(tmp_path: Path) -> None:
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    for directory in (whole, crashed):
        _inputs(directory)
        _message_log(directory / "log", LOG_LINES[:3])
    expected_first = _audit(whole, whole / "log")
    auditor = Auditor(SETTINGS, crashed, crashed / "log", fees=FeeSchedule.from_settings(SETTINGS),
                      fsync_policy="os")
    auditor.run_once(limit=4)
    auditor.close()
    # The crash: the last two records written and half a line are lost.
    audit = crashed / "audit.jsonl"
    lines = audit.read_bytes().split(b"\n")[:-1]
    audit.write_bytes(b"\n".join(lines[:-2]) + b"\n" + lines[-2][:40])
    assert _bodies(_audit(crashed, crashed / "log")) == _bodies(expected_first)
    # QuickFIX goes on logging; both auditors pick up only the new lines.
    for directory in (whole, crashed):
        _message_log(directory / "log", LOG_LINES[3:])
    assert _bodies(_audit(crashed, crashed / "log")) == _bodies(_audit(whole, whole / "log"))
    assert len(_audit(whole, whole / "log")) == 14 + 4


def test_a_message_log_renamed_by_quickfix_is_read_to_its_end_before_the_new_one(tmp_path: Path) -> None:
    _inputs(tmp_path)
    path = _message_log(tmp_path / "log", LOG_LINES[:3])
    auditor = Auditor(SETTINGS, tmp_path, tmp_path / "log", fsync_policy="os")
    try:
        auditor.run_once()
        _message_log(tmp_path / "log", LOG_LINES[3:4])  # written just before the reset
        os.rename(path, path.with_name(path.name.replace("current", "backup")))
        _message_log(tmp_path / "log", LOG_LINES[4:])  # the new day's log
        auditor.run_once()
    finally:
        auditor.close()
    messages = [r for r in (e.record for e in read_journal(tmp_path / "audit.jsonl")) if r.kind == "fix_message"]
    assert [r.detail["direction"] for r in messages] == ["inbound", "outbound"]


def test_a_journal_that_does_not_start_with_venue_started_is_refused(tmp_path: Path) -> None:
    journal = CommandJournal(tmp_path, "os")
    journal.command(T0, EndTradingDay())
    journal.close()
    auditor = Auditor(SETTINGS, tmp_path, None, fsync_policy="os")
    try:
        with pytest.raises(ValueError, match="before venue_started"):
            auditor.run_once()
    finally:
        auditor.close()


def test_a_journal_the_matching_code_no_longer_reproduces_is_refused_not_audited_differently(tmp_path: Path) -> None:
    journal = CommandJournal(tmp_path, "os")
    journal.record(VenueStarted(T0, 1000, 500))
    journal.command(T0 + 1, SubmitOrder("BROKER1", "FIRM_A", "b1", "AAPL", Side.BUY, OrderType.LIMIT, 10, 1_900_000),
                    "BROKER1", 2)
    journal.record(VenueStarted(T0 + 2, 1050, 550))  # the venue had handed out more ids than this replay does
    journal.close()
    auditor = Auditor(SETTINGS, tmp_path, None, fsync_policy="os")
    try:
        with pytest.raises(ReplayDivergedError, match="replay diverged at journal_seq 3"):
            auditor.run_once()
        assert auditor.derived_seq == 2  # the entries before it are audited, nothing from it on
        assert [e.record.kind for e in read_journal(auditor.audit_path)][-1] == "order_accepted"
    finally:
        auditor.close()


def test_the_audit_service_stops_at_a_diverged_replay_with_what_came_before_it_loaded(tmp_path: Path, caplog) -> None:
    import logging

    from sqlalchemy import create_engine, select

    from reporting.audit_service import run_audit
    from reporting.schema import audit_events

    journal = CommandJournal(tmp_path, "os")
    journal.record(VenueStarted(T0, 1000, 500))
    journal.command(T0 + 1, SubmitOrder("BROKER1", "FIRM_A", "b1", "AAPL", Side.BUY, OrderType.LIMIT, 10, 1_900_000),
                    "BROKER1", 2)
    journal.record(VenueStarted(T0 + 2, 1050, 550))
    journal.command(T0 + 3, EndTradingDay())
    journal.close()
    database_url = f"sqlite:///{tmp_path / 'audit.db'}"
    with caplog.at_level(logging.CRITICAL, logger="fixex.audit"):
        status = run_audit(SETTINGS, tmp_path, None, database_url=database_url, once=True)
    assert status == 1
    assert "cannot audit past this point" in caplog.text and "replay diverged at journal_seq 3" in caplog.text
    with create_engine(database_url).connect() as connection:
        kinds = connection.execute(select(audit_events.c.kind).order_by(audit_events.c.journal_seq)).scalars().all()
    assert kinds[0] == "venue_started" and "trading_day_ended" not in kinds and len(kinds) >= 3


def test_an_auditor_asked_to_stop_while_a_leftover_one_holds_the_journal_still_waits_for_it(
        tmp_path: Path, caplog) -> None:
    import logging
    import threading

    from reporting.audit_service import _open_auditor

    _inputs(tmp_path)
    leftover = Auditor(SETTINGS, tmp_path, None, fsync_policy="os")  # a killed venue's auditor, finishing
    threading.Timer(0.5, leftover.close).start()
    with caplog.at_level(logging.WARNING, logger="fixex.audit"):
        auditor = _open_auditor(SETTINGS, tmp_path, None, stop_requested=lambda: True)
    try:
        assert auditor is not None  # stopping means auditing what is left, so it took over once it could
    finally:
        if auditor is not None:
            auditor.close()
    assert "waiting up to 120 s for the auditor of an earlier run" in caplog.text


def test_an_auditor_gives_up_with_a_clear_error_when_the_journal_stays_held(tmp_path: Path, caplog) -> None:
    import logging

    from reporting.audit_service import _open_auditor

    _inputs(tmp_path)
    holder = Auditor(SETTINGS, tmp_path, None, fsync_policy="os")
    try:
        with caplog.at_level(logging.ERROR, logger="fixex.audit"):
            assert _open_auditor(SETTINGS, tmp_path, None, stop_requested=lambda: False, wait_s=0.5) is None
    finally:
        holder.close()
    assert "cannot audit" in caplog.text and "another JournalWriter" in caplog.text
