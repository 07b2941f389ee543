"""Restart recovery: the venue replays its input journal and resumes where it stopped."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from config import load_settings
from fix_gateway.gateway import Gateway
from fix_gateway.sessions import load_sessions
from matching import OrderType, Side, SubmitOrder, TimeInForce
from reporting.command_journal import CommandJournal, VenueStarted, commands_file_in

# Not imported from conftest: another conftest.py (tests/unit/matching) may hold that module name.
REPO = Path(__file__).resolve().parents[2]


def _restart(venue, make_venue):
    """Stop the venue and start a new one on the same working directory (make_venue reuses tmp_path)."""
    venue.stop()
    return make_venue()


def test_resting_orders_come_back_with_their_ids_and_fills_after_a_restart(make_venue) -> None:
    venue = make_venue()
    try:
        buyer, seller = venue.client("BROKER1", "FIX.4.4"), venue.client("BROKER2", "FIX.4.4")
        buyer.new_order("B1", "1", 10, "190.00", tif="1")  # GTC
        accepted = buyer.next("8")
        seller.new_order("S1", "2", 3, "190.00")
        seller.reports(2)
        first_fill = buyer.next("8")
        assert (first_fill["150"], first_fill["14"], first_fill["151"]) == ("F", "3", "7")
        venue = _restart(venue, make_venue)
        assert [(o.client_order_id, o.leaves_quantity) for o in venue.gateway.engine.open_orders()] == [("B1", 7)]
        buyer, seller = venue.client("BROKER1", "FIX.4.4"), venue.client("BROKER2", "FIX.4.4")
        seller.new_order("S2", "2", 7, "190.00")
        seller.reports(2)
        fill = buyer.next("8")
        assert (fill["37"], fill["150"], fill["14"], fill["151"], fill["39"]) == (accepted["37"], "F", "10", "0", "2")
        assert int(fill["17"]) > int(first_fill["17"])  # ExecIDs go on from where they were
        buyer.new_order("B1", "1", 1, "189.00")  # the ClOrdID is still known after the restart
        duplicate = buyer.next("8")
        assert (duplicate["150"], duplicate["103"]) == ("8", "6")
    finally:
        venue.stop()


def test_operator_halts_and_kill_switches_survive_a_restart(make_venue) -> None:
    venue = make_venue()
    try:
        assert venue.gateway.admin("halt", ["MSFT"])["ok"]
        assert venue.gateway.admin("kill-switch", ["set", "FIRM_B"])["ok"]
        venue = _restart(venue, make_venue)
        status = venue.gateway.admin("status", [])
        assert status["kill_switches"] == ["FIRM_B"] and status["instruments"]["MSFT"]["halted"]
        buyer, seller = venue.client("BROKER1", "FIX.4.4"), venue.client("BROKER3", "FIX.4.2")
        buyer.new_order("M1", "1", 1, "420.00", symbol="MSFT")
        seller.new_order("M2", "2", 1, "419.00", symbol="MSFT")
        assert buyer.next("8")["150"] == seller.next("8")["150"] == "0", "they queue for the reopening auction"
        venue.gateway.admin("resume", ["MSFT"])
        assert buyer.next("8")["31"] == "420.00", "uncrossed at the price nearest MSFT's reference 420.00"
    finally:
        venue.stop()


def _gateway(tmp_path: Path, now_ns: int) -> Gateway:
    settings = load_settings(REPO / "config" / "exchange.yaml")
    return Gateway(settings, load_sessions(REPO / "sessions.cfg", settings), work_dir=tmp_path, clock=lambda: now_ns)


def _ns(*args: int) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp()) * 1_000_000_000


def test_day_orders_expire_at_start_when_the_venue_was_down_as_the_day_ended(tmp_path: Path) -> None:
    yesterday, today = _ns(2026, 11, 23, 15, 0), _ns(2026, 11, 24, 9, 0)  # the day ends 21:00 UTC
    journal = CommandJournal(tmp_path / "var" / "journal", "os")
    journal.record(VenueStarted(yesterday, 1, 1))
    for client_order_id, tif in (("DAY1", TimeInForce.DAY), ("GTC1", TimeInForce.GTC)):
        journal.command(yesterday, SubmitOrder("BROKER1", "FIRM_A", client_order_id, "AAPL", Side.BUY,
                                               OrderType.LIMIT, 5, 1_890_000, time_in_force=tif), "BROKER1", 2)
    journal.close()
    gateway = _gateway(tmp_path, today)
    try:
        assert [o.client_order_id for o in gateway.engine.open_orders()] == ["GTC1"]
        assert gateway.recovered_commands == 2
    finally:
        gateway.close_journal()


def test_a_journal_the_matching_code_no_longer_reproduces_stops_the_start(tmp_path: Path) -> None:
    now = _ns(2026, 11, 24, 9, 0)
    journal = CommandJournal(tmp_path / "var" / "journal", "os")
    journal.record(VenueStarted(now, 1, 1))
    journal.command(now, SubmitOrder("BROKER1", "FIRM_A", "X1", "AAPL", Side.BUY, OrderType.LIMIT, 5, 1_890_000),
                    "BROKER1", 2)
    journal.record(VenueStarted(now, 50, 50))  # the venue had handed out more ids than the replay does
    journal.close()
    with pytest.raises(RuntimeError, match="replay diverged at journal_seq 3"):
        _gateway(tmp_path, now)
    CommandJournal(tmp_path / "var" / "journal", "os").close()  # the failed start let go of the journal


def test_an_order_that_cannot_be_journaled_is_refused_and_not_applied(make_venue) -> None:
    venue = make_venue()
    try:
        buyer = venue.client("BROKER1", "FIX.4.4")
        os.close(venue.gateway._journal._writer._fd)  # the disk goes away under the journal
        venue.gateway._journal._writer._fd = os.open(os.devnull, os.O_RDONLY)  # writes now fail: EBADF
        buyer.new_order("J1", "1", 1, "190.00")
        refused = buyer.next("j")
        assert refused["380"] == "4" and "journal is unavailable" in refused["58"]
        assert venue.gateway.engine.open_orders() == []
        assert commands_file_in(venue.gateway.journal_directory).exists()
    finally:
        venue.stop()
