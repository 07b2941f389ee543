"""Market data over FIX: strict QuickFIX initiators subscribe while brokers trade."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from pathlib import Path

import pytest

from fix_client import SOH
from raw_fix_session import RawSession

REPO = Path(__file__).resolve().parents[2]
SUBSCRIBER = {"FIX.4.4": "MDCLIENT1", "FIX.5.0SP2": "MDCLIENT2"}


def entries_of(message: dict[str, str]) -> list[dict[str, str]]:
    """The MDEntries of a W or X, each as a dict of its fields."""
    entries: list[dict[str, str]] = []
    in_group = False
    for pair in message["raw"].split(SOH):
        tag, _, value = pair.partition("=")
        if tag == "268":
            in_group = True
            continue
        if not in_group or tag in ("10", ""):
            continue
        if tag == ("279" if message["35"] == "X" else "269"):
            entries.append({})
        if entries:  # a body field after an empty group is not an entry's
            entries[-1][tag] = value
    return entries


class RebuiltBook:
    """What a subscriber rebuilds from W and X, checking RptSeq where the version has it."""

    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], dict[Decimal, int]] = {}
        self.trades: list[tuple[Decimal, int]] = []
        self.statistics: dict[str, str] = {}
        self.rpt_seq: int | None = None
        self.snapshots = 0

    def apply(self, message: dict[str, str]) -> None:
        symbol = message.get("55")
        if message["35"] == "W":  # a snapshot replaces the book; with no entries it says no RptSeq
            self.rpt_seq = None
            self.snapshots += 1
            for key in [k for k in self.levels if k[0] == symbol]:
                del self.levels[key]
        for entry in entries_of(message):
            if "83" in entry:
                seq = int(entry["83"])
                if message["35"] == "X" and self.rpt_seq is not None:
                    assert seq == self.rpt_seq + 1, f"RptSeq {seq} after {self.rpt_seq}"
                self.rpt_seq = seq
            entry_type = entry["269"]
            symbol = entry.get("55", symbol)
            action = entry.get("279")
            if entry_type in "01":
                levels = self.levels.setdefault((symbol, entry_type), {})
                if action == "2":
                    del levels[Decimal(entry["270"])]
                else:
                    levels[Decimal(entry["270"])] = int(entry["271"])
            elif entry_type == "2":
                if action is not None:
                    self.trades.append((Decimal(entry["270"]), int(entry["271"])))
            elif action == "2":
                self.statistics.pop(entry_type, None)
            else:
                self.statistics[entry_type] = entry.get("270") or entry.get("271")

    def drain(self, client, timeout=0.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = client.received.get(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:
                return
            if message["35"] in "WX":
                self.apply(message)

    def side(self, symbol: str, bids: bool, depth: int = 0) -> list[tuple[Decimal, int]]:
        levels = sorted(self.levels.get((symbol, "0" if bids else "1"), {}).items(), reverse=bids)
        return levels[:depth] if depth else levels


def engine_side(venue, symbol: str, bids: bool, depth: int = 0) -> list[tuple[Decimal, int]]:
    from matching import Side
    instrument = venue.settings.instrument(symbol)
    with venue.gateway.lock:
        levels = [(instrument.from_units(p), q)
                  for p, q, _ in venue.gateway.engine.book(symbol).depth(Side.BUY if bids else Side.SELL)]
    return levels[:depth] if depth else levels


def wait_for_book(venue, client, book: RebuiltBook, symbol: str, depth: int, timeout=10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        book.drain(client, 0.05)
        expected = (engine_side(venue, symbol, True, depth), engine_side(venue, symbol, False, depth))
        got = (book.side(symbol, True, depth), book.side(symbol, False, depth))
        if got == expected:
            return
        if time.monotonic() > deadline:
            assert got == expected


def trade_randomly(rng: random.Random, brokers, count: int, fills: list) -> None:
    """Limit orders around 190.00 from two firms (so they trade), each acknowledged before the next."""
    for i in range(count):
        broker = rng.choice(brokers)
        side = rng.choice("12")
        price = f"{190 + rng.randint(-5, 5) / 100:.2f}"
        broker.new_order(f"{broker.comp_id}-{time.monotonic_ns()}-{i}", side, rng.randint(1, 30), price)
        reports = [broker.next("8")]
        while broker.nothing_more(0.0) is False:
            reports.append(broker.next("8"))
        for report in reports:
            if report.get("150") == "F" and report.get("54") == "1":
                fills.append((Decimal(report["31"]), int(report["32"])))
    for broker in brokers:  # the passive side's fills arrive on the other session
        while not broker.nothing_more(0.2):
            report = broker.next("8")
            if report.get("150") == "F" and report.get("54") == "1":
                fills.append((Decimal(report["31"]), int(report["32"])))


@pytest.mark.parametrize("version, depth", [("FIX.4.4", 0), ("FIX.5.0SP2", 10)])
def test_a_subscriber_rebuilds_the_book_trades_and_statistics_while_brokers_trade(venue, version, depth):
    brokers = [venue.client("BROKER1", "FIX.4.4"), venue.client("BROKER2", "FIX.4.4")]
    subscriber = venue.client(SUBSCRIBER[version], version)
    subscriber.subscribe("book", ["AAPL"], "0124789B", depth=depth)
    book = RebuiltBook()
    book.drain(subscriber, 1.0)
    rng = random.Random(20261123)
    fills: list[tuple[Decimal, int]] = []
    for _ in range(4):
        trade_randomly(rng, brokers, 25, fills)
        wait_for_book(venue, subscriber, book, "AAPL", depth)
        if version == "FIX.4.4":  # full depth: the whole book, level 1 included
            assert book.side("AAPL", True, 1) == engine_side(venue, "AAPL", True, 1)
    book.drain(subscriber, 0.5)
    assert fills, "the random flow must trade for this test to mean anything"
    assert sorted(book.trades) == sorted(fills)
    volume = sum(q for _, q in fills)
    assert int(book.statistics["B"]) == volume
    assert Decimal(book.statistics["7"]) == max(p for p, _ in fills)
    assert Decimal(book.statistics["8"]) == min(p for p, _ in fills)
    assert Decimal(book.statistics["4"]) == book.trades[0][0]
    vwap = sum(p * q for p, q in fills) / volume
    assert abs(Decimal(book.statistics["9"]) - vwap) < Decimal("1e-8")


def test_a_snapshot_request_gets_one_full_refresh_with_the_resting_levels(venue):
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("b1", "1", 100, "189.50")
    broker.new_order("s1", "2", 40, "190.50")
    broker.reports(2)
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("snap", ["AAPL"], "01", subscription="0")
    snapshot = subscriber.next("W")
    assert snapshot["262"] == "snap" and snapshot["55"] == "AAPL"
    assert [(e["269"], e["270"], e["271"]) for e in entries_of(snapshot)] == [
        ("0", "189.50", "100"), ("1", "190.50", "40")]
    broker.new_order("b2", "1", 5, "189.60")
    broker.next("8")
    assert subscriber.nothing_more(0.5)


def test_unsubscribing_stops_the_updates(venue):
    broker = venue.client("BROKER1", "FIX.4.4")
    subscriber = venue.client("MDCLIENT2", "FIX.5.0SP2")
    subscriber.subscribe("s", ["MSFT"], "01")
    snapshot = subscriber.next("W")
    assert "779" in snapshot and entries_of(snapshot) == []
    broker.new_order("b1", "1", 10, "419.00", symbol="MSFT")
    update = subscriber.next("X")
    assert [(e["279"], e["269"], e["270"], e["271"], e["83"]) for e in entries_of(update)] == [
        ("0", "0", "419.00", "10", "1")]
    subscriber.subscribe("s", ["MSFT"], "01", subscription="2")
    time.sleep(0.3)
    broker.new_order("b2", "1", 10, "418.00", symbol="MSFT")
    assert subscriber.nothing_more(0.5)


@pytest.mark.parametrize("symbols, entry_types, depth, reason, words", [
    (["NOPE"], "01", 0, "0", "unknown symbol NOPE"),
    (["AAPL"], "013", 0, "8", "3 (index)"),
])
def test_a_bad_request_is_rejected_with_its_reason_code_and_a_readable_text(venue, symbols, entry_types, depth,
                                                                            reason, words):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("bad", symbols, entry_types, depth=depth)
    reject = subscriber.next("Y")
    assert reject["262"] == "bad" and reject["281"] == reason and words in reject["58"]


def test_a_second_subscription_with_the_same_request_id_is_a_duplicate(venue):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("dup", ["AAPL"], "01")
    subscriber.next("W")
    subscriber.subscribe("dup", ["IBM"], "01")
    reject = subscriber.next("Y")
    assert reject["281"] == "1" and "already" in reject["58"]


def test_an_order_entry_session_asking_for_market_data_is_refused_for_permissions(venue):
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.subscribe("md", ["AAPL"], "01")
    reject = broker.next("Y")
    assert reject["281"] == "3" and "market_data: true" in reject["58"]


def test_an_order_entry_session_configured_for_market_data_may_subscribe(make_venue):
    config = (REPO / "config" / "exchange.yaml").read_text().replace(
        "BROKER1: {role: order_entry, cancel_on_disconnect: true}",
        "BROKER1: {role: order_entry, cancel_on_disconnect: true, market_data: true}")
    venue = make_venue(config)
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.subscribe("md", ["AAPL"], "01")
    assert broker.next("W")["262"] == "md"


def test_a_subscriber_that_stops_reading_is_held_then_logged_out_while_order_entry_goes_on(venue):
    publisher = venue.market_data().publisher
    assert publisher.ready.wait(10)  # else its first update would conflate everything below
    publisher.max_unread, publisher.probe_every, publisher.stuck_after_s = 40, 10, 1.0
    stuck = RawSession(venue.market_data_port, sender="MDCLIENT1")
    stuck.logon()
    stuck.send(stuck.message("V", (262, "stuck"), (263, "1"), (264, 0), (265, "1"), (267, 1), (269, "0"),
                             (146, 1), (55, "AAPL")).encode())
    broker = venue.client("BROKER1", "FIX.4.4")
    latencies = []
    for i in range(200):  # each new price level is one update the stuck subscriber never reads
        started = time.perf_counter()
        broker.new_order(f"b{i}", "1", 1, f"{100 + i / 100:.2f}")
        broker.next("8")
        latencies.append(time.perf_counter() - started)
    deadline = time.monotonic() + 10
    while publisher.logged_out_for_being_stuck == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert publisher.logged_out_for_being_stuck == 1
    texts = []
    while (message := stuck.receive(timeout=5)) is not None:
        if message.get(35) == b"5":
            texts.append(message.get(58).decode())
            break
    assert texts and "market data consumer too slow" in texts[0]
    latencies.sort()
    print(f"order entry with a stuck subscriber: p50 {latencies[100] * 1e6:.0f} us, "
          f"max {latencies[-1] * 1e6:.0f} us")


def test_a_subscriber_that_falls_behind_and_catches_up_gets_a_fresh_snapshot_of_the_book(venue):
    publisher = venue.market_data().publisher
    assert publisher.ready.wait(10)
    publisher.max_unread, publisher.probe_every = 30, 5
    subscriber = venue.client("MDCLIENT2", "FIX.5.0SP2")
    subscriber.subscribe("book", ["IBM"], "01")
    book = RebuiltBook()
    book.apply(subscriber.next("W"))
    broker = venue.client("BROKER1", "FIX.4.4")
    subscriber.pause()  # its QuickFIX thread stops: nothing read, no TestRequest answered
    for i in range(120):
        published = publisher.published
        broker.new_order(f"b{i}", "1" if i % 2 else "2", 1 + i % 7, f"{205 + i % 10 - (i % 2) * 10:.2f}",
                         symbol="IBM")
        broker.next("8")
        deadline = time.monotonic() + 2  # one update per order, not one conflated update for all
        while publisher.published == published and time.monotonic() < deadline and \
                "MDCLIENT2" not in publisher.held_sessions:
            time.sleep(0.001)
    deadline = time.monotonic() + 5
    while "MDCLIENT2" not in publisher.held_sessions and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "MDCLIENT2" in publisher.held_sessions
    subscriber.resume()
    wait_for_book(venue, subscriber, book, "IBM", 0)
    snapshots = book.snapshots
    assert snapshots >= 2, "catching up must come with a fresh snapshot"


@pytest.mark.parametrize("comp_id, version", [("MDCLIENT1", "FIX.4.4"), ("MDCLIENT2", "FIX.5.0SP2"),
                                              ("BROKER1", "FIX.4.4")])
def test_the_security_list_names_every_instrument_with_its_lot_currency_and_tick(venue, comp_id, version):
    client = venue.client(comp_id, version)
    client.send("x", [(320, "all"), (559, "4")])
    reply = client.next("y")
    assert reply["320"] == "all" and reply["560"] == "0" and reply["146"] == "5"
    listed = [value for tag, value in (p.split("=", 1) for p in reply["raw"].split(SOH) if "=" in p) if tag == "55"]
    assert listed == ["AAPL", "MSFT", "IBM", "GOOG", "TSLA"]
    assert reply["561"] == "1" and reply["15"] == "USD"
    if version == "FIX.5.0SP2":
        assert reply["969"] == "0.01" and reply["965"] == "1"
    else:
        assert reply["107"] == "tick 0.01"


def test_a_security_list_request_for_one_symbol_or_an_unknown_one_says_so(venue):
    client = venue.client("MDCLIENT2", "FIX.5.0SP2")
    client.send("x", [(320, "one"), (559, "0"), (55, "IBM")])
    reply = client.next("y")
    assert reply["560"] == "0" and reply["146"] == "1" and reply["55"] == "IBM"
    client.send("x", [(320, "none"), (559, "0"), (55, "NOPE")])
    reply = client.next("y")
    assert reply["320"] == "none" and reply["560"] == "2" and "146" not in reply


def test_changes_within_the_publisher_batch_go_out_as_one_update_per_subscription(make_venue):
    config = (REPO / "config" / "exchange.yaml").read_text().replace(
        "  batch_milliseconds: 1 ", "  batch_milliseconds: 1000 ")
    venue = make_venue(config)
    broker = venue.client("BROKER1", "FIX.4.4")
    subscriber = venue.client("MDCLIENT2", "FIX.5.0SP2")
    subscriber.subscribe("s", ["MSFT"], "01")
    subscriber.next("W")
    broker.new_order("b1", "1", 10, "419.00", symbol="MSFT")
    first = subscriber.next("X")  # after a quiet spell the first change goes out at once; the batch starts now
    assert [(e["270"], e["83"]) for e in entries_of(first)] == [("419.00", "1")]
    broker.new_order("b2", "1", 20, "418.00", symbol="MSFT")
    broker.new_order("b3", "1", 5, "419.00", symbol="MSFT")
    broker.reports(3)
    together = subscriber.next("X", timeout=5)
    entries = entries_of(together)
    assert sorted((e["279"], e["270"], e["271"]) for e in entries) == [("0", "418.00", "20"), ("1", "419.00", "15")]
    assert sorted(e["83"] for e in entries) == ["2", "3"]  # RptSeq still counts every change, none skipped
    assert subscriber.nothing_more(1.5)
