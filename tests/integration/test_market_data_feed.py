"""The market-data feed: its own port and process-worth of work, fed only by the input journal."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from fix_client import FixClient
from test_market_data import RebuiltBook, trade_randomly, wait_for_book


def test_a_feed_started_after_trading_replays_the_journal_and_its_first_snapshot_is_the_book(venue):
    brokers = [venue.client("BROKER1", "FIX.4.4"), venue.client("BROKER2", "FIX.4.4")]
    trade_randomly(random.Random(11), brokers, 60, fills=[])
    assert venue.feed is None  # nothing of market data ran while the orders came in
    subscriber = venue.client("MDCLIENT2", "FIX.5.0SP2")
    assert venue.feed.replayed_seq > 60
    subscriber.subscribe("late", ["AAPL"], "01")
    book = RebuiltBook()
    book.apply(subscriber.next("W"))
    wait_for_book(venue, subscriber, book, "AAPL", 0, timeout=0.5)


def test_the_order_path_hands_market_data_nothing_when_no_session_of_its_own_may_subscribe(venue):
    broker = venue.client("BROKER1", "FIX.4.4")
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("book", ["MSFT"], "01")
    subscriber.next("W")
    broker.new_order("b1", "1", 10, "419.00", symbol="MSFT")
    broker.next("8")
    update = subscriber.next("X")
    assert update["270"] == "419.00" and update["271"] == "10"
    assert venue.gateway.publisher.backlog == 0 and venue.gateway.publisher.hub.subscription_count == 0


@pytest.mark.parametrize("comp_id", ["MDCLIENT1", "DROPCOPY1"])
def test_a_market_data_or_drop_copy_session_cannot_log_on_to_the_order_entry_port(venue, tmp_path, comp_id):
    client = FixClient(comp_id, "FIX.4.4", venue.port, tmp_path)
    venue.clients.append(client)
    client.start(expect_logon=False)
    time.sleep(2.0)  # QuickFIX drops a connection for a session it does not have, without a reply
    assert not client.logged_on


def test_the_feed_reports_its_state_in_the_journal_directory_for_the_venues_metrics(venue):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("book", ["IBM"], "01")
    subscriber.next("W")
    deadline = time.monotonic() + 5  # the feed writes its status every second
    while "MDCLIENT1" not in (gauges := venue.gateway.metric_gauges())["market_data_unread"]:
        assert time.monotonic() < deadline, "the feed's status never reached the venue's metrics"
        time.sleep(0.05)
    assert gauges["queues"]["market_data_journal"] == 0
    status = json.loads(venue.feed.status_path.read_text())
    assert status["subscriptions"] == 1 and status["sessions"]["MDCLIENT1"]["logged_on"] is True
    assert status["port"] == venue.market_data_port and status["error"] is None


def test_drop_copies_come_from_the_feed_with_the_owners_ids(venue):
    drop = venue.client("DROPCOPY1", "FIX.4.4")
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("C1", "1", 10, "100.00")
    ack = broker.next("8")
    copy = drop.next("8")
    assert (copy["11"], copy["17"], copy["37"]) == ("C1", ack["17"], ack["37"]) and "97" not in copy


def test_market_data_is_not_kept_for_resending_but_drop_copies_are(venue):
    drop = venue.client("DROPCOPY1", "FIX.4.4")
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    broker = venue.client("BROKER1", "FIX.4.4")
    subscriber.subscribe("book", ["MSFT"], "01")
    subscriber.next("W")
    broker.new_order("P1", "1", 10, "419.00", symbol="MSFT")
    broker.next("8")
    subscriber.next("X")
    drop.next("8")
    store = venue.tmp_path / "var" / "store"
    assert (store / "FIX.4.4-EXCHANGE-MDCLIENT1.body").stat().st_size == 0
    assert b"35=8" in (store / "FIX.4.4-EXCHANGE-DROPCOPY1.body").read_bytes()
    assert (store / "FIX.4.4-EXCHANGE-MDCLIENT1.seqnums").read_text().split(":")[0].strip() != "0000000001"


def test_a_drop_copy_session_may_not_enter_orders_or_subscribe(venue):
    drop = venue.client("DROPCOPY1", "FIX.4.4")
    drop.new_order("X1", "1", 10, "100.00")
    refusal = drop.next("j")
    assert refusal["380"] == "6" and "drop copy only" in refusal["58"]
    drop.subscribe("md", ["AAPL"], "01")
    assert drop.next("Y")["281"] == "3"


def test_a_restarted_feed_copies_what_it_missed_once_and_what_it_had_sent_never_again(venue):
    drop = venue.client("DROPCOPY1", "FIX.4.4", reset=False)  # a consumer that keeps its sequence numbers
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("R1", "1", 10, "100.00")
    broker.next("8")
    assert drop.next("8")["11"] == "R1"
    venue.feed.stop()
    venue.feed = None
    broker.new_order("R2", "1", 10, "100.00")  # journaled while no feed runs
    broker.next("8")
    venue.market_data()  # replays the whole journal; the drop-copy client logs on again by itself
    missed = drop.next("8", timeout=10)
    assert missed["11"] == "R2" and missed["97"] == "Y"  # it may have gone out before a crash: PossResend
    assert drop.nothing_more(0.5)
    broker.new_order("R3", "1", 10, "100.00")
    after = drop.next("8")
    assert after["11"] == "R3" and "97" not in after
    mark_file = venue.feed.journal_directory / "drop-copies-sent.json"
    deadline = time.monotonic() + 3  # rewritten at most every 0.1 s while copies flow, and every second
    while json.loads(mark_file.read_text()) != {"DROPCOPY1": venue.feed.replayed_seq}:
        assert time.monotonic() < deadline, f"the mark stayed at {mark_file.read_text()}"
        time.sleep(0.05)


def test_a_feed_whose_journal_does_not_verify_exits_1_saying_where(tmp_path, caplog):
    import logging

    from config import load_settings
    from fix_gateway.market_data_feed import run_market_data
    from fix_gateway.sessions import load_sessions
    from reporting.command_journal import COMMANDS_FILE_NAME

    repo = Path(__file__).resolve().parents[2]
    settings = load_settings(repo / "config" / "exchange.yaml")
    journal = tmp_path / "journal"
    journal.mkdir()
    (journal / COMMANDS_FILE_NAME).write_text('{"not": "a journal line"}\n')
    with caplog.at_level(logging.CRITICAL, logger="fixex.marketdata"):
        status = run_market_data(settings, load_sessions(repo / "sessions.cfg", settings), journal,
                                 work_dir=tmp_path, stop_requested=lambda: True)
    assert status == 1
    assert f"the input journal {journal / COMMANDS_FILE_NAME} does not verify at line 1" in caplog.text


def test_a_feed_whose_journal_the_matching_code_no_longer_reproduces_exits_1_saying_so(tmp_path, caplog):
    import logging

    from config import load_settings
    from fix_gateway.market_data_feed import run_market_data
    from fix_gateway.sessions import load_sessions
    from matching import OrderType, Side, SubmitOrder
    from reporting.command_journal import CommandJournal, VenueStarted

    repo = Path(__file__).resolve().parents[2]
    settings = load_settings(repo / "config" / "exchange.yaml")
    journal = CommandJournal(tmp_path / "journal", "os")
    journal.record(VenueStarted(1, 1, 1))
    journal.command(2, SubmitOrder("BROKER1", "FIRM_A", "X1", "AAPL", Side.BUY, OrderType.LIMIT, 5, 1_890_000),
                    "BROKER1", 2)
    journal.record(VenueStarted(3, 50, 50))  # the venue had handed out more ids than the replay does
    journal.close()
    with caplog.at_level(logging.CRITICAL, logger="fixex.marketdata"):
        status = run_market_data(settings, load_sessions(repo / "sessions.cfg", settings), tmp_path / "journal",
                                 work_dir=tmp_path, stop_requested=lambda: True)
    assert status == 1
    assert "market data cannot start" in caplog.text and "replay diverged at journal_seq 3" in caplog.text


def test_a_feed_asked_to_stop_while_it_replays_exits_0_without_listening(tmp_path, caplog):
    import logging
    import socket

    from config import load_settings
    from fix_client import free_port
    from fix_gateway.gateway import with_port
    from fix_gateway.market_data_feed import run_market_data
    from fix_gateway.sessions import load_sessions
    from matching import OrderType, Side, SubmitOrder
    from reporting.command_journal import CommandJournal, VenueStarted

    repo = Path(__file__).resolve().parents[2]
    port = free_port()
    settings = with_port(load_settings(repo / "config" / "exchange.yaml"), free_port(), market_data_port=port)
    journal = CommandJournal(tmp_path / "journal", "os")
    journal.record(VenueStarted(1, 1, 1))
    journal.command(2, SubmitOrder("BROKER1", "FIRM_A", "X1", "AAPL", Side.BUY, OrderType.LIMIT, 5, 1_890_000),
                    "BROKER1", 2)
    journal.close()
    with caplog.at_level(logging.INFO, logger="fixex.marketdata"):
        status = run_market_data(settings, load_sessions(repo / "sessions.cfg", settings), tmp_path / "journal",
                                 work_dir=tmp_path, stop_requested=lambda: True)
    assert status == 0
    assert "stop asked for while replaying the input journal (at journal_seq 2); not listening" in caplog.text
    assert "listening on" not in caplog.text and caplog.text.rstrip().endswith("market data: stopped")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
