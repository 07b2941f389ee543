"""A seeded random trading session across a kill -9, checked the way each of the venue's users would check it.

`fixex serve` as an operator runs it (audit trail, market-data process), three brokers on FIX 4.2, 4.4
and 5.0 SP2 sending new orders, IOC and market orders, cancels and replaces that trade with one another,
the venue killed with SIGKILL in the middle and started again. Afterwards:

- the brokers (each keeping its FIX store, as a real engine does) know what the venue knows: every
  order's status request agrees with the ExecutionReports the broker was sent, and no ExecID came twice;
- a market-data subscriber's snapshot is the book the brokers' open orders add up to, and so is the book
  another rebuilds from incrementals (no RptSeq gap);
- the drop-copy session, keeping its store across the kill, got a copy of every ExecutionReport the
  brokers got, none twice unless marked PossResend;
- compliance (the auditor itself killed once more, later) finds every ExecutionReport the brokers received
  in the audit trail, each order accepted once, every order's final quantities in `orders`, and a hash
  chain that verifies.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, select

from fix_client import FixClient, free_port
from reporting.schema import audit_events, orders
from reporting.verify import verify_chain
from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: F401 (fixtures)
from serve_with_audit import database_url, serve_config, start_serve  # noqa: F401 (database_url: a fixture)
from test_market_data import RebuiltBook

BROKERS = {"BROKER1": "FIX.4.4", "BROKER3": "FIX.4.2", "BROKER4": "FIX.5.0SP2"}
ACTIONS_PER_PHASE = 250
IN_FLIGHT_AT_THE_KILL = 60
SYMBOL = "AAPL"


@dataclass
class Order:
    client_order_id: str  # the latest: a replace's once it is accepted
    side: str
    price: Decimal | None
    leaves: int
    cum: int
    status: str


@dataclass
class Broker:
    """One broker's view of its orders, built only from what the venue sent it."""

    comp_id: str
    client: FixClient | None = None
    orders: dict[str, Order] = field(default_factory=dict)  # by OrderID
    exec_ids: Counter = field(default_factory=Counter)
    answered: set[str] = field(default_factory=set)  # ClOrdIDs that got an ExecutionReport or a cancel reject
    sequence: int = 0

    def new_id(self, phase: int) -> str:
        self.sequence += 1
        return f"{self.comp_id}-{phase}-{self.sequence}"

    def take(self, message: dict[str, str]) -> None:
        client_order_id = message.get("11", "")
        self.answered.add(client_order_id)
        if message["35"] != "8" or "8" in (message["150"], message["39"]):  # rejects change no order
            return
        if not _is_status_answer(message):  # a status answer repeats an ExecID or has none of its own
            if message.get("43") != "Y" or message["17"] not in self.exec_ids:  # a resend of one we had is no news
                self.exec_ids[message["17"]] += 1
        self.orders[message["37"]] = Order(client_order_id, message["54"],
                                           Decimal(message["44"]) if "44" in message else None,
                                           int(message["151"]), int(message["14"]), message["39"])

    def drain(self, wait: float = 0.0) -> None:
        deadline = time.monotonic() + wait
        while True:
            try:
                message = self.client.received.get(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:
                return
            self.take(message)

    def wait_for_answer(self, client_order_id: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while client_order_id not in self.answered:
            assert time.monotonic() < deadline, f"{self.comp_id}: no answer to {client_order_id}"
            self.drain(0.01)

    def open_orders(self) -> dict[str, Order]:
        return {order_id: order for order_id, order in self.orders.items() if order.leaves > 0}


def _is_status_answer(report: dict[str, str]) -> bool:
    return report["150"] == "I" or report.get("20") == "3"  # FIX 4.2: ExecTransType Status


def _connect(broker: Broker, port: int, tmp_path: Path) -> None:
    # One store per broker across both venues: after the kill it asks for what it missed, as a real engine does.
    broker.client = FixClient(broker.comp_id, BROKERS[broker.comp_id], port, tmp_path, reset=False,
                              store="kept").start()


def _act(rng: random.Random, brokers: list[Broker], phase: int) -> tuple[Broker, str, str]:
    """One random request from one broker; returns who sent it, its ClOrdID and the order's side."""
    broker = rng.choice(brokers)
    client = broker.client
    open_orders = broker.open_orders()
    roll = rng.random()
    new_id = broker.new_id(phase)
    side = rng.choice("12")
    if roll < 0.15 and open_orders:
        order_id, order = rng.choice(sorted(open_orders.items()))
        side = order.side
        client.cancel(new_id, order.client_order_id, order.side, symbol=SYMBOL)
    elif roll < 0.30 and open_orders:
        order_id, order = rng.choice(sorted(open_orders.items()))
        side = order.side
        price = order.price + rng.choice([Decimal("0"), Decimal("0.01"), Decimal("-0.01")])
        quantity = max(1, order.cum + order.leaves + rng.randint(-5, 5))
        client.replace(new_id, order.client_order_id, order.side, quantity, f"{price:.2f}", symbol=SYMBOL)
    elif roll < 0.40:  # marketable and never resting
        price = Decimal("190.05") if side == "1" else Decimal("189.95")
        client.new_order(new_id, side, rng.randint(1, 40), f"{price:.2f}", symbol=SYMBOL, tif="3")
    elif roll < 0.45:
        client.new_order(new_id, side, rng.randint(1, 20), symbol=SYMBOL, tif="3")  # market
    else:
        # Bids mostly below 190.00 and offers above, overlapping a little: they trade, and the book stays two-sided.
        ticks = rng.randint(-6, 1) if side == "1" else rng.randint(-1, 6)
        price = Decimal("190.00") + Decimal(ticks) / 100
        client.new_order(new_id, side, rng.randint(1, 30), f"{price:.2f}", symbol=SYMBOL, tif=rng.choice("01"))
    return broker, new_id, side


def _trade(rng: random.Random, brokers: list[Broker], phase: int, count: int) -> None:
    for _ in range(count):
        broker, client_order_id, _side = _act(rng, brokers, phase)
        broker.wait_for_answer(client_order_id)
        for other in brokers:
            other.drain()


def _settle(brokers: list[Broker]) -> None:
    """Until no broker has been sent anything for a moment."""
    while True:
        before = [b.client.received.qsize() for b in brokers]
        for broker in brokers:
            broker.drain(0.3)
        if all(b.client.received.empty() for b in brokers) and not any(before):
            return


def _child_of(process: subprocess.Popen, subcommand: str) -> int:
    """The pid of serve's child running `fixex <subcommand>`."""
    for task in Path(f"/proc/{process.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if subcommand.encode() in arguments:
                return int(pid)
    raise AssertionError(f"serve has no {subcommand} child")


def _connect_drop_copy(market_data_port: int, tmp_path: Path) -> FixClient:
    # Keeps its sequence numbers across the kill: what it missed is resent on logon.
    return FixClient("DROPCOPY1", "FIX.4.4", market_data_port, tmp_path, reset=False, store="kept").start()


def _all_received(client: FixClient, wait: float = 0.5) -> list[dict[str, str]]:
    received = []
    deadline = time.monotonic() + wait
    while True:
        try:
            received.append(client.received.get(timeout=max(0.0, deadline - time.monotonic())))
        except Exception:
            return [m for m in received if m["35"] == "8"]


def _ask_status_of_every_open_order(brokers: list[Broker]) -> list[tuple[str, str, Order, dict[str, str]]]:
    """Each open order's status as the venue has it, beside what the broker believed."""
    answers = []
    for broker in brokers:
        for order_id, believed in sorted(broker.open_orders().items()):
            broker.client.status(believed.client_order_id, believed.side, symbol=SYMBOL, order_id=order_id)
            while True:
                message = broker.client.next("8", timeout=10)
                if _is_status_answer(message) and message["37"] == order_id:
                    break
                broker.take(message)
            answers.append((broker.comp_id, order_id, believed, message))
            broker.take(message)
    return answers


def _book_of(brokers: list[Broker]) -> dict[str, list[tuple[Decimal, int]]]:
    levels: dict[str, dict[Decimal, int]] = {"0": defaultdict(int), "1": defaultdict(int)}
    for broker in brokers:
        for order in broker.open_orders().values():
            levels["0" if order.side == "1" else "1"][order.price] += order.leaves
    return {"0": sorted(levels["0"].items(), reverse=True), "1": sorted(levels["1"].items())}


def test_a_random_day_survives_a_kill_and_brokers_subscribers_drop_copy_and_audit_trail_agree(
        tmp_path: Path, database_url: str) -> None:
    rng = random.Random(20261124)
    port, market_data_port = free_port(), free_port()
    config = serve_config(tmp_path, port, database_url, market_data_port)
    brokers = [Broker(comp_id) for comp_id in BROKERS]

    copies: list[dict[str, str]] = []  # what the drop-copy session was sent, across both venues

    process = start_serve(config, tmp_path)
    try:
        for broker in brokers:
            _connect(broker, port, tmp_path)
        drop = _connect_drop_copy(market_data_port, tmp_path)
        _trade(rng, brokers, 1, ACTIONS_PER_PHASE)
        in_flight = []  # new orders sent without waiting: the venue dies somewhere among them
        for _ in range(IN_FLIGHT_AT_THE_KILL):
            broker = rng.choice(brokers)
            side = rng.choice("12")
            client_order_id = broker.new_id(1)
            broker.client.new_order(client_order_id, side, rng.randint(1, 30), "190.00", symbol=SYMBOL, tif="1")
            in_flight.append((broker, client_order_id, side))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        for broker in brokers:
            broker.drain(0.5)
            broker.client.stop()
        copies += _all_received(drop)
        drop.stop()
    finally:
        if process.poll() is None:
            process.kill()

    process = start_serve(config, tmp_path)
    subscriber = watcher = drop = None
    try:
        for broker in brokers:
            _connect(broker, port, tmp_path)
        drop = _connect_drop_copy(market_data_port, tmp_path)
        _settle(brokers)  # the resends of what the venue had sent and the brokers had not read
        # Orders in flight at the kill and still unanswered: journaled (their status now says so) or never
        # seen (the venue does not know them).
        for broker, client_order_id, side in in_flight:
            if client_order_id not in broker.answered:
                broker.client.status(client_order_id, side, symbol=SYMBOL)
                broker.wait_for_answer(client_order_id)
        _ask_status_of_every_open_order(brokers)  # a broker back from an outage reconciles first

        watcher = FixClient("MDCLIENT2", "FIX.5.0SP2", market_data_port, tmp_path).start()
        watcher.subscribe("watch", [SYMBOL], "01", depth=0)  # a snapshot, then every change
        watched = RebuiltBook()
        _trade(rng, brokers, 2, ACTIONS_PER_PHASE // 2)
        os.kill(_child_of(process, "audit"), signal.SIGKILL)  # serve restarts it; it resumes where it was
        _trade(rng, brokers, 2, ACTIONS_PER_PHASE - ACTIONS_PER_PHASE // 2)
        _settle(brokers)
        # Quantities, not OrdStatus: FIX 4.2 reports a replace with OrdStatus 5 and the order later as 0 or 1.
        disagreements = [(comp_id, order_id, believed, (status["39"], status["151"], status["14"]))
                         for comp_id, order_id, believed, status in _ask_status_of_every_open_order(brokers)
                         if (believed.leaves, believed.cum) != (int(status["151"]), int(status["14"]))
                         or status["39"] not in "01"]
        assert not disagreements, disagreements[:5]
        duplicated = {b.comp_id: [e for e, n in b.exec_ids.items() if n > 1] for b in brokers}
        assert not any(duplicated.values()), duplicated

        subscriber = FixClient("MDCLIENT1", "FIX.4.4", market_data_port, tmp_path).start()
        subscriber.subscribe("book", [SYMBOL], "01", depth=0, subscription="0")  # one snapshot
        book = RebuiltBook()
        book.apply(subscriber.next("W", timeout=10))
        expected = _book_of(brokers)
        assert (book.side(SYMBOL, True), book.side(SYMBOL, False)) == (expected["0"], expected["1"])
        assert len(expected["0"]) >= 3 and len(expected["1"]) >= 3, expected  # a book worth comparing
        deadline = time.monotonic() + 10
        while (watched.side(SYMBOL, True), watched.side(SYMBOL, False)) != (expected["0"], expected["1"]):
            assert time.monotonic() < deadline, (watched.side(SYMBOL, True), watched.side(SYMBOL, False), expected)
            watched.drain(watcher, 0.05)  # checks RptSeq has no gap as it goes
        assert watched.snapshots == 1  # one snapshot, then only incrementals: it never fell behind

        reported = set().union(*(b.exec_ids for b in brokers))
        deadline = time.monotonic() + 10
        while not reported <= {c["17"] for c in copies}:
            assert time.monotonic() < deadline, f"never copied: {sorted(reported - {c['17'] for c in copies})[:10]}"
            copies += _all_received(drop, 0.1)
    finally:
        # The venue first: a broker that disconnected from a running venue would have its Day orders
        # cancelled (cancel on disconnect), which it would not hear about, and the audit trail would differ.
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
        for client in [subscriber, watcher, drop, *(b.client for b in brokers)]:
            if client is not None:
                client.stop()
    assert process.returncode == 0, output
    assert "audit database up to date" in output, output

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            audited_exec_ids = set(connection.execute(
                select(audit_events.c.exec_id).where(audit_events.c.exec_id.is_not(None))).scalars())
            final = {str(row.order_id): row for row in connection.execute(select(orders))}
            accepted = Counter(connection.execute(select(audit_events.c.order_id)
                                                  .where(audit_events.c.kind == "order_accepted")).scalars())
    finally:
        engine.dispose()
    for broker in brokers:
        missing = set(broker.exec_ids) - audited_exec_ids
        assert not missing, f"{broker.comp_id}: reported but not audited: {sorted(missing)[:10]}"
        for order_id, order in broker.orders.items():
            row = final[order_id]
            assert (row.session, row.leaves_quantity, row.cum_quantity) == (broker.comp_id, order.leaves, order.cum)
    assert sum(len(b.exec_ids) for b in brokers) > 2 * ACTIONS_PER_PHASE
    assert accepted and max(accepted.values()) == 1, "an order audited twice"
    assert "auditor exited with status -9" in output, output
    copied = Counter(c["17"] for c in copies if c.get("97") != "Y")  # 97=Y: may repeat one sent before a restart
    assert not [e for e, n in copied.items() if n > 1], "a copy sent twice without PossResend"
    assert {c["17"] for c in copies} <= audited_exec_ids
    result = verify_chain(database_url)
    assert result.ok, result
