"""The hub turns matching events into snapshots and incrementals a subscriber can rebuild the book from."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from marketdata.hub import MarketDataHub
from marketdata.model import (
    DropSession, EndTradingDay, EntryType, Incremental, RefuseRequest, RequestRejected, RequestRejectReason,
    Snapshot, Subscribe, SubscriptionType, Unsubscribe, UpdateAction, UpdateType,
)
from matching import CancelOrder, Instrument, MatchingEngine, OrderType, Side, SubmitOrder, TimeInForce
from subscriber_model import SubscriberModel

ALL = frozenset(EntryType)
BOOK = frozenset({EntryType.BID, EntryType.OFFER})


class Market:
    """A matching engine feeding a hub, one command at a time, as the gateway does."""

    def __init__(self, symbols=("AAPL", "MSFT")) -> None:
        self.now = 1_000
        self.engine = MatchingEngine([Instrument(s, tick_size=1, lot_size=1) for s in symbols], clock=lambda: self.now)
        self.hub = MarketDataHub(symbols)
        self.subscribers: dict[str, SubscriberModel] = {}
        self.sent: list = []
        self._ids = iter(range(1, 10**9))

    def subscribe(self, request_id="r1", *, depth=0, symbols=("AAPL",), entry_types=ALL, session="MD",
                  update_type=UpdateType.INCREMENTAL, subscription=SubscriptionType.SNAPSHOT_AND_UPDATES):
        self.subscribers.setdefault(request_id, SubscriberModel())
        return self._deliver(self.hub.handle(Subscribe(session, request_id, subscription, depth, update_type,
                                                       tuple(symbols), frozenset(entry_types))))

    def order(self, side, quantity, price, *, symbol="AAPL", firm=None, publish=True):
        self.now += 1
        firm = firm or f"F{next(self._ids)}"  # distinct firms: no self-trade prevention in the way
        order_id = f"C{next(self._ids)}"
        events = self.engine.process(SubmitOrder(
            "S", firm, order_id, symbol, side, OrderType.LIMIT if price else OrderType.MARKET, quantity, price,
            None, TimeInForce.DAY, None))
        self.hub.apply(events)
        if publish:
            self.publish()
        return events

    def cancel(self, order_id: int, firm: str, publish=True):
        self.now += 1
        events = self.engine.process(CancelOrder("S", firm, f"X{next(self._ids)}", None, order_id))
        self.hub.apply(events)
        if publish:
            self.publish()
        return events

    def publish(self):
        return self._deliver(self.hub.publish())

    def _deliver(self, publications):
        self.sent += publications
        for publication in publications:
            if isinstance(publication, (Snapshot, Incremental)):
                self.subscribers[publication.request_id].receive(publication)
        return publications

    def engine_depth(self, symbol, side, depth=0):
        levels = [(p, q, n) for p, q, n in self.engine.book(symbol).depth(side)]
        return levels[:depth] if depth else levels


def random_flow(market: Market, rng: random.Random, steps: int, *, publish_every=1, symbols=("AAPL",)) -> list:
    """Limit orders around 100 (some crossing), market orders and cancels; returns the trades printed."""
    resting: list[tuple[int, str]] = []
    trades = []
    for step in range(steps):
        publish = (step + 1) % publish_every == 0
        symbol = rng.choice(symbols)
        roll = rng.random()
        if roll < 0.25 and resting:
            order_id, firm = resting.pop(rng.randrange(len(resting)))
            market.cancel(order_id, firm, publish=publish)
            continue
        side = rng.choice([Side.BUY, Side.SELL])
        price = None if roll > 0.95 else rng.randint(95, 105)
        firm = f"F{rng.randint(1, 5)}"
        events = market.order(side, rng.randint(1, 20), price, symbol=symbol, firm=firm, publish=publish)
        for event in events:
            name = type(event).__name__
            if name == "OrderAccepted" and event.price is not None:
                resting.append((event.order_id, event.firm))
            if name == "TradeExecuted":
                trades.append(event)
    market.publish()
    return trades


def test_a_snapshot_shows_the_best_levels_up_to_the_requested_depth_best_first():
    market = Market()
    for price in (99, 98, 97):
        market.order(Side.BUY, 10, price)
    market.order(Side.BUY, 5, 99)
    for price in (101, 102):
        market.order(Side.SELL, 7, price)
    (snapshot,) = market.subscribe(depth=2, entry_types=BOOK)
    bids = [(e.price, e.size, e.order_count) for e in snapshot.entries if e.entry_type is EntryType.BID]
    offers = [(e.price, e.size, e.order_count) for e in snapshot.entries if e.entry_type is EntryType.OFFER]
    assert bids == [(99, 15, 2), (98, 10, 1)]
    assert offers == [(101, 7, 1), (102, 7, 1)]
    assert all(e.action is None for e in snapshot.entries) and snapshot.rpt_seq == 0


@pytest.mark.parametrize("seed", range(8))
def test_a_full_depth_subscriber_rebuilds_the_exact_book_and_every_trade(seed):
    market = Market()
    market.subscribe(depth=0)
    trades = random_flow(market, random.Random(seed), 400)
    model = market.subscribers["r1"]
    assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY)
    assert model.depth("AAPL", bids=False) == market.engine_depth("AAPL", Side.SELL)
    assert model.trades.get("AAPL", []) == [(t.price, t.quantity) for t in trades]


@pytest.mark.parametrize("depth", [1, 3, 10])
@pytest.mark.parametrize("seed", range(4))
def test_a_depth_n_subscriber_always_holds_exactly_the_best_n_levels(depth, seed):
    market = Market()
    market.subscribe(depth=depth, entry_types=BOOK)
    rng = random.Random(seed)
    for _ in range(20):
        random_flow(market, rng, 25)
        model = market.subscribers["r1"]
        assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY, depth)
        assert model.depth("AAPL", bids=False) == market.engine_depth("AAPL", Side.SELL, depth)


def test_level_1_is_the_best_bid_and_offer_after_every_command():
    market = Market()
    market.subscribe(depth=1, entry_types=BOOK)
    rng = random.Random(7)
    for _ in range(100):
        random_flow(market, rng, 3)
        model = market.subscribers["r1"]
        assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY, 1)
        assert model.depth("AAPL", bids=False) == market.engine_depth("AAPL", Side.SELL, 1)


def test_statistics_equal_a_direct_computation_from_the_trades():
    market = Market()
    market.subscribe(entry_types={EntryType.OPENING, EntryType.HIGH, EntryType.LOW, EntryType.VWAP,
                                  EntryType.VOLUME, EntryType.TRADE})
    trades = random_flow(market, random.Random(3), 300)
    assert trades, "the flow must trade for this test to mean anything"
    stats = market.subscribers["r1"].statistics["AAPL"]
    prices = [t.price for t in trades]
    volume = sum(t.quantity for t in trades)
    assert stats[EntryType.OPENING] == (prices[0], None)
    assert stats[EntryType.HIGH] == (max(prices), None)
    assert stats[EntryType.LOW] == (min(prices), None)
    assert stats[EntryType.VOLUME] == (None, volume)
    assert stats[EntryType.VWAP] == (Fraction(sum(t.price * t.quantity for t in trades), volume), None)


def test_a_trade_is_published_before_the_book_change_it_caused():
    market = Market()
    market.order(Side.SELL, 10, 101)
    market.subscribe(entry_types={EntryType.TRADE, EntryType.OFFER})
    market.order(Side.BUY, 4, 101)
    update = market.sent[-1]
    assert [(e.entry_type, e.action) for e in update.entries] == [
        (EntryType.TRADE, UpdateAction.NEW), (EntryType.OFFER, UpdateAction.CHANGE)]
    assert [e.rpt_seq for e in update.entries] == [1, 2]


def test_a_subscriber_behind_by_many_commands_gets_the_latest_state_per_level_in_one_update():
    conflated, stepwise = Market(), Market()
    for market in (conflated, stepwise):
        market.subscribe(depth=0, entry_types=BOOK)
    random_flow(conflated, random.Random(11), 300, publish_every=50)
    random_flow(stepwise, random.Random(11), 300, publish_every=1)
    for market in (conflated, stepwise):
        model = market.subscribers["r1"]
        assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY)
        assert model.depth("AAPL", bids=False) == market.engine_depth("AAPL", Side.SELL)

    def entries(market):
        return sum(len(p.entries) for p in market.sent if isinstance(p, Incremental))
    assert entries(conflated) < entries(stepwise) / 2


def test_a_late_subscriber_is_not_sent_trades_from_before_its_snapshot():
    market = Market()
    market.order(Side.SELL, 10, 101)
    market.order(Side.BUY, 3, 101, publish=False)  # traded, not yet published
    (snapshot,) = market.subscribe(entry_types={EntryType.TRADE})
    assert [(e.price, e.size) for e in snapshot.entries if e.entry_type is EntryType.TRADE] == [(101, 3)]
    assert market.publish() == []


def test_several_symbols_in_one_request_get_a_snapshot_each_and_share_the_updates():
    market = Market()
    snapshots = market.subscribe(symbols=("AAPL", "MSFT"), entry_types=BOOK)
    assert [s.symbol for s in snapshots] == ["AAPL", "MSFT"]
    random_flow(market, random.Random(5), 200, symbols=("AAPL", "MSFT"))
    model = market.subscribers["r1"]
    for symbol in ("AAPL", "MSFT"):
        assert model.depth(symbol, bids=True) == market.engine_depth(symbol, Side.BUY)
        assert model.depth(symbol, bids=False) == market.engine_depth(symbol, Side.SELL)


def test_a_full_refresh_subscriber_gets_a_new_snapshot_after_each_change():
    market = Market()
    market.subscribe(update_type=UpdateType.FULL_REFRESH, entry_types=BOOK)
    market.order(Side.BUY, 5, 99)
    market.order(Side.BUY, 5, 98)
    refreshes = [p for p in market.sent if isinstance(p, Snapshot)]
    assert len(refreshes) == 3 and not any(isinstance(p, Incremental) for p in market.sent)
    assert [(e.price, e.size) for e in refreshes[-1].entries] == [(99, 5), (98, 5)]


def test_a_held_session_is_sent_nothing_and_catches_up_with_a_snapshot_that_carries_the_feeds_rpt_seq():
    market = Market()
    market.subscribe("slow", entry_types=BOOK | {EntryType.TRADE}, session="SLOW")
    market.subscribe("fast", entry_types=BOOK | {EntryType.TRADE})
    rng = random.Random(9)
    for _ in range(50):
        market.order(rng.choice([Side.BUY, Side.SELL]), rng.randint(1, 9), rng.randint(95, 105), publish=False)
        market._deliver(market.hub.publish(held={"SLOW"}))
    assert not any(p.request_id == "slow" for p in market.sent[2:])
    assert any(p.request_id == "fast" for p in market.sent[2:])
    refreshed = market._deliver(market.hub.refresh("SLOW"))
    fast_seq = market.subscribers["fast"].rpt_seq["AAPL"]
    assert [p.rpt_seq for p in refreshed] == [fast_seq] and fast_seq > 0
    model = market.subscribers["slow"]
    assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY)
    assert model.depth("AAPL", bids=False) == market.engine_depth("AAPL", Side.SELL)
    market.order(Side.BUY, 1, 90)
    (update,) = [p for p in market.sent[-2:] if p.request_id == "slow"]
    assert update.entries[0].rpt_seq == fast_seq + 1


def test_identical_subscriptions_share_one_feed_and_are_sent_the_very_same_entries():
    market = Market()
    for i in range(50):
        market.subscribe(f"r{i}", depth=10, entry_types=BOOK, session=f"S{i}")
    market.subscribe("other", depth=5, entry_types=BOOK)
    assert market.hub.subscription_count == 51 and market.hub.feed_count == 2
    market.sent.clear()
    market.order(Side.BUY, 5, 99)
    updates = [p for p in market.sent if p.request_id.startswith("r")]
    assert len(updates) == 50 and len({id(p.entries) for p in updates}) == 1
    for i in (0, 49):
        model = market.subscribers[f"r{i}"]
        assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY, 10)


def test_a_subscriber_joining_a_busy_feed_gets_its_current_state_and_then_its_updates():
    market = Market()
    market.subscribe("early", depth=3, entry_types=BOOK | {EntryType.TRADE})
    rng = random.Random(4)
    random_flow(market, rng, 120)
    (snapshot,) = market.subscribe("late", depth=3, entry_types=BOOK | {EntryType.TRADE}, session="LATE")
    assert snapshot.rpt_seq == market.subscribers["early"].rpt_seq["AAPL"]
    assert market.hub.feed_count == 1
    random_flow(market, rng, 120)
    for name in ("early", "late"):
        model = market.subscribers[name]
        assert model.depth("AAPL", bids=True) == market.engine_depth("AAPL", Side.BUY, 3)
        assert model.depth("AAPL", bids=False) == market.engine_depth("AAPL", Side.SELL, 3)


def test_leaving_the_last_member_ends_the_feed():
    market = Market()
    market.subscribe("a")
    market.subscribe("b", session="OTHER")
    market.hub.handle(Unsubscribe("MD", "a"))
    assert market.hub.feed_count == 1
    market.hub.handle(DropSession("OTHER"))
    assert market.hub.feed_count == 0 and market.hub.subscription_count == 0


def test_a_snapshot_only_request_sends_one_snapshot_and_no_updates():
    market = Market()
    market.subscribe(subscription=SubscriptionType.SNAPSHOT)
    market.order(Side.BUY, 5, 99)
    assert len(market.sent) == 1 and isinstance(market.sent[0], Snapshot)
    assert market.hub.subscription_count == 0


def test_unsubscribing_stops_updates_and_an_unknown_request_id_is_refused_with_text():
    market = Market()
    market.subscribe()
    assert market.hub.handle(Unsubscribe("MD", "r1")) == []
    assert market.order(Side.BUY, 5, 99) and market.publish() == []
    (reject,) = market.hub.handle(Unsubscribe("MD", "r1"))
    assert reject.reason is RequestRejectReason.UNKNOWN_REQUEST_ID and "r1" in reject.text


def test_a_session_that_logs_out_loses_its_subscriptions():
    market = Market()
    market.subscribe("a")
    market.subscribe("b", session="OTHER")
    market.hub.handle(DropSession("MD"))
    market.sent.clear()
    market.order(Side.BUY, 5, 99)
    assert [p.request_id for p in market.sent] == ["b"]


@pytest.mark.parametrize("request_kw, reason, words", [
    ({"symbols": ("NOPE",)}, RequestRejectReason.UNKNOWN_SYMBOL, "NOPE"),
    ({"symbols": ()}, RequestRejectReason.UNKNOWN_SYMBOL, "no symbol"),
    ({"depth": -1}, RequestRejectReason.UNSUPPORTED_MARKET_DEPTH, "-1"),
    ({"entry_types": ()}, RequestRejectReason.UNSUPPORTED_ENTRY_TYPE, "MDEntryType"),
])
def test_a_bad_request_is_rejected_with_its_reason_and_a_readable_text(request_kw, reason, words):
    market = Market()
    (reject,) = market.subscribe(**request_kw)
    assert isinstance(reject, RequestRejected) and reject.reason is reason and words in reject.text
    assert market.hub.subscription_count == 0


def test_a_request_id_already_subscribed_by_the_session_is_a_duplicate():
    market = Market()
    market.subscribe("r1")
    (reject,) = market.subscribe("r1")
    assert reject.reason is RequestRejectReason.DUPLICATE_REQUEST_ID
    (snapshot,) = market.subscribe("r1", session="OTHER")  # ids are per session
    assert isinstance(snapshot, Snapshot)


def test_a_refused_request_is_answered_with_the_gateways_reason():
    market = Market()
    (reject,) = market.hub.handle(RefuseRequest("MD", "r9", RequestRejectReason.INSUFFICIENT_PERMISSIONS, "no"))
    assert reject == RequestRejected("MD", "r9", RequestRejectReason.INSUFFICIENT_PERMISSIONS, "no")


def test_at_the_end_of_the_day_the_last_price_becomes_the_close_and_the_days_statistics_end():
    market = Market()
    market.order(Side.SELL, 10, 101)
    market.order(Side.BUY, 10, 101)
    market.subscribe(entry_types={EntryType.CLOSING, EntryType.OPENING, EntryType.VOLUME})
    market.hub.handle(EndTradingDay(2_000))
    market.publish()
    stats = market.subscribers["r1"].statistics["AAPL"]
    assert stats == {EntryType.CLOSING: (101, None)}
