"""Limit Up-Limit Down circuit breakers in the core: bands, limit state, pause and the reopening auction.

AAPL's reference price is 100.00 in tier 1, so its band is 95.00 to 105.00 (5%).
"""

from fractions import Fraction

import pytest

from matching import (
    AuctionCompleted, BandPercentages, CancelReason, CircuitBreakerRules, HaltTrading, OrderAccepted,
    OrderCancelled, OrderFilled, OrderRejected, OrderRejectReason, OrderRepriced, PriceBandChanged, ResumeTrading,
    Side, SubmitOrder, OrderType, TimeInForce, TradeExecuted, TradingPhase, TradingStatusChanged,
    TradingStatusReason, CancelRejected,
)
from venue_harness import TICK, Venue, of, one, px, seconds

RULES = CircuitBreakerRules()


@pytest.fixture
def venue() -> Venue:
    return Venue(RULES)


def band(venue, symbol="AAPL"):
    breaker = venue.engine.book(symbol).breaker
    return breaker.band_low / 10_000, breaker.band_high / 10_000


def test_the_band_is_the_reference_plus_or_minus_the_tier_percentage_rounded_inward_to_the_tick():
    rules = CircuitBreakerRules(BandPercentages({1: Fraction(5), 2: Fraction(10)}, Fraction(20), Fraction(3)))
    assert rules.band(px(100.00), 1, TICK, 4) == (px(95.00), px(105.00))
    assert rules.band(px(100.00), 2, TICK, 4) == (px(90.00), px(110.00))
    assert rules.band(px(123.45), 1, TICK, 4) == (px(117.28), px(129.62)), "6.1725 rounds down to 6.17"
    assert rules.band(px(2.50), 1, TICK, 4) == (px(2.00), px(3.00)), "at $3.00 or less the band is 20%"


def test_a_buy_through_the_band_trades_up_to_the_band_and_its_rest_slides_to_the_upper_band(venue):
    venue.sell(10, 104.00, session="S2", firm="FIRM_B")
    venue.sell(10, 106.00, session="S2", firm="FIRM_B")
    events = venue.buy(30, 107.00)
    assert [(t.price, t.quantity) for t in of(events, TradeExecuted)] == [(px(104.00), 10)]
    repriced = one(events, OrderRepriced)
    assert (repriced.previous_price, repriced.price, repriced.leaves_quantity) == (px(107.00), px(105.00), 20)
    assert venue.depth(Side.BUY) == [(105.00, 20)]
    status = one(events, TradingStatusChanged)
    assert status.reason is TradingStatusReason.LIMIT_STATE_ENTERED and status.limit_state
    assert status.phase is TradingPhase.OPEN and (status.band_low, status.band_high) == (px(95.00), px(105.00))


def test_a_market_order_stops_at_the_band_and_its_rest_is_cancelled_for_the_band(venue):
    venue.buy(10, 96.00, session="S2", firm="FIRM_B")
    venue.buy(10, 94.00, session="S2", firm="FIRM_B")
    events = venue.sell(25, None)
    assert [t.price for t in of(events, TradeExecuted)] == [px(96.00)]
    cancelled = one(events, OrderCancelled)
    assert cancelled.reason is CancelReason.PRICE_BAND and cancelled.cancelled_quantity == 15


def test_a_fok_order_counts_only_what_it_could_buy_inside_the_band(venue):
    venue.sell(10, 104.00, session="S2", firm="FIRM_B")
    venue.sell(10, 106.00, session="S2", firm="FIRM_B")
    events = venue.buy(20, 106.00, tif=TimeInForce.FOK)
    assert not of(events, TradeExecuted)
    assert one(events, OrderCancelled).reason is CancelReason.FILL_OR_KILL


def test_a_limit_state_cleared_within_fifteen_seconds_does_not_pause_trading(venue):
    venue.buy(10, 105.00)
    assert venue.engine.book("AAPL").breaker.limit_state_since is not None
    venue.now += seconds(10)
    events = venue.sell(10, 105.00, session="S2", firm="FIRM_B")
    assert one(events, TradingStatusChanged).reason is TradingStatusReason.LIMIT_STATE_CLEARED
    assert venue.tick(venue.now + seconds(20)) == []
    assert venue.engine.book("AAPL").phase is TradingPhase.OPEN


def test_a_limit_state_not_cleared_in_fifteen_seconds_pauses_trading_for_five_minutes(venue):
    venue.buy(10, 105.00)
    entered = venue.now
    assert venue.engine.next_timer_ns == entered + seconds(15)
    assert venue.tick(entered + seconds(14)) == []
    events = venue.tick(entered + seconds(15))
    status = one(events, TradingStatusChanged)
    assert status.reason is TradingStatusReason.LIMIT_STATE_TIMEOUT and status.phase is TradingPhase.PRE_OPEN
    assert status.until_ns == entered + seconds(15 + 300) == venue.engine.next_timer_ns


def paused(venue) -> int:
    """Pause AAPL with a bid of 10 at the upper band; returns when the pause ends."""
    venue.buy(10, 105.00, client_order_id="BAND_BID")
    venue.tick(venue.now + seconds(15))
    return venue.engine.book("AAPL").breaker.pause_until


def test_during_a_pause_limit_orders_queue_without_trading_even_when_the_book_crosses(venue):
    paused(venue)
    events = venue.sell(5, 101.00, session="S2", firm="FIRM_B")
    assert one(events, OrderAccepted) and not of(events, TradeExecuted)
    assert venue.depth(Side.SELL) == [(101.00, 5)] and venue.depth(Side.BUY) == [(105.00, 10)]


@pytest.mark.parametrize("kind", ["market", "ioc", "fok"])
def test_during_a_pause_market_ioc_and_fok_orders_are_refused_as_exchange_closed(venue, kind):
    paused(venue)
    price = None if kind == "market" else 101.00
    tif = {"market": TimeInForce.DAY, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}[kind]
    rejected = one(venue.sell(5, price, tif=tif, session="S2", firm="FIRM_B"), OrderRejected)
    assert rejected.reason is OrderRejectReason.EXCHANGE_CLOSED
    assert "paused by the circuit breaker" in rejected.text and "queue for the reopening auction" in rejected.text


def test_during_a_pause_cancels_are_accepted(venue):
    paused(venue)
    assert one(venue.cancel("BAND_BID"), OrderCancelled).reason is CancelReason.REQUESTED


def test_the_pause_ends_in_an_auction_at_one_price_then_continuous_trading_with_bands_around_it(venue):
    until = paused(venue)
    venue.sell(4, 101.00, session="S2", firm="FIRM_B", client_order_id="S_101")
    venue.sell(20, 104.00, session="S2", firm="FIRM_B", client_order_id="S_104")
    venue.buy(6, 103.00, client_order_id="B_103")
    events = venue.tick(until)
    trades = of(events, TradeExecuted)
    # at 104 buyers want 10 and sellers offer 24 -> 10; at 103 16 and 4 -> 4: 104 executes the most
    assert {t.price for t in trades} == {px(104.00)} and sum(t.quantity for t in trades) == 10
    assert all(t.aggressor_side is None for t in trades)
    assert not any(f.aggressor for f in of(events, OrderFilled))
    auction = one(events, AuctionCompleted)
    assert (auction.price, auction.volume, auction.imbalance) == (px(104.00), 10, -14)
    assert not of(events, PriceBandChanged), "the reopening status carries the new band"
    status = [e for e in of(events, TradingStatusChanged)][0]
    assert status.phase is TradingPhase.OPEN and status.reason is TradingStatusReason.PAUSE_ENDED
    assert (status.reference_price, status.band_low, status.band_high) == (px(104.00), px(98.80), px(109.20))
    assert band(venue) == (98.80, 109.20)
    assert venue.depth(Side.BUY) == [(103.00, 6)] and venue.depth(Side.SELL) == [(104.00, 14)]


def test_with_orders_refused_during_a_pause_new_orders_and_replaces_are_refused_but_cancels_accepted():
    venue = Venue(CircuitBreakerRules(queue_during_pause=False))
    paused(venue)
    assert venue.engine.book("AAPL").phase is TradingPhase.HALTED
    rejected = one(venue.sell(5, 101.00, session="S2", firm="FIRM_B"), OrderRejected)
    assert rejected.reason is OrderRejectReason.EXCHANGE_CLOSED and "new orders are refused" in rejected.text
    assert "replaces are refused" in one(venue.replace("BAND_BID", 5, 104.00), CancelRejected).text
    assert of(venue.cancel("BAND_BID"), OrderCancelled)


def test_the_reference_is_the_mean_trade_price_of_the_last_five_minutes_reviewed_every_thirty_seconds(venue):
    venue.sell(10, 100.50, session="S2", firm="FIRM_B")
    venue.buy(10, 100.50)
    review = venue.now + seconds(30)
    assert venue.engine.next_timer_ns == review
    assert not of(venue.tick(review), PriceBandChanged), "a 0.5% move keeps the reference"
    venue.sell(10, 101.50, session="S2", firm="FIRM_B")
    events = venue.buy(10, 101.50)  # mean 101.00: a 1% move, adopted at the next review only
    assert not of(events, PriceBandChanged)
    changed = one(venue.tick(venue.now + seconds(30)), PriceBandChanged)
    assert changed.reference_price == px(101.00) and band(venue) == (95.95, 106.05)
    venue.now += seconds(301)  # both trades leave the window; one new trade is the whole mean
    venue.sell(10, 99.00, session="S2", firm="FIRM_B")
    venue.buy(10, 99.00)
    assert one(venue.tick(venue.now + seconds(30)), PriceBandChanged).reference_price == px(99.00)


def test_a_spike_cannot_drag_the_band_along_within_one_review(venue):
    venue.sell(10, 104.00, session="S2", firm="FIRM_B")
    venue.buy(10, 104.00)
    assert band(venue) == (95.00, 105.00)
    venue.sell(10, 106.00, session="S2", firm="FIRM_B")
    assert not of(venue.buy(10, 107.00), TradeExecuted), "106 is outside the band in force"


def test_a_band_that_moves_slides_resting_orders_outside_it_to_its_edge(venue):
    venue.sell(1, 104.00, session="S2", firm="FIRM_B")
    venue.buy(1, 104.00)
    venue.sell(5, 96.00, session="S3", firm="FIRM_C", client_order_id="LOW_ASK")  # inside the band in force
    events = venue.tick(venue.now + seconds(30))  # reference 104.00: band 98.80 - 109.20
    assert one(events, PriceBandChanged).band_low == px(98.80)
    repriced = one(events, OrderRepriced)
    assert (repriced.client_order_id, repriced.previous_price, repriced.price) == ("LOW_ASK", px(96.00), px(98.80))
    assert venue.depth(Side.SELL) == [(98.80, 5)]


def test_an_operator_halt_stops_matching_and_the_resume_reopens_through_the_auction(venue):
    events = venue.do(HaltTrading("AAPL"))
    status = one(events, TradingStatusChanged)
    assert status.reason is TradingStatusReason.OPERATOR_HALT and status.phase is TradingPhase.PRE_OPEN
    venue.sell(10, 100.00, session="S2", firm="FIRM_B")
    assert not of(venue.buy(10, 100.00), TradeExecuted)
    assert venue.engine.next_timer_ns is None, "an operator's halt has no set end"
    events = venue.do(ResumeTrading("AAPL"))
    assert one(events, TradeExecuted).price == px(100.00)
    assert one(events, TradingStatusChanged).reason is TradingStatusReason.OPERATOR_RESUME


def test_a_venue_wide_halt_halts_every_instrument_and_a_venue_wide_resume_reopens_them_all(venue):
    events = venue.do(HaltTrading(None))
    assert sorted(e.symbol for e in of(events, TradingStatusChanged)) == ["AAPL", "MSFT", "RLOT"]
    events = venue.do(ResumeTrading(None))
    assert all(e.phase is TradingPhase.OPEN for e in of(events, TradingStatusChanged))
    assert len(of(events, TradingStatusChanged)) == 3


def test_halts_work_without_circuit_breakers_and_refuse_orders_when_so_configured():
    venue = Venue(queue_when_halted=False)
    venue.do(HaltTrading("MSFT"))
    rejected = one(venue.buy(10, 100.00, symbol="MSFT"), OrderRejected)
    assert rejected.reason is OrderRejectReason.EXCHANGE_CLOSED and "halted by the operator" in rejected.text
    assert one(venue.buy(10, 100.00), OrderAccepted), "other instruments keep trading"


def test_a_market_order_never_trades_beyond_its_protection_price(venue):
    venue.sell(10, 100.00, session="S2", firm="FIRM_B")
    venue.sell(10, 101.00, session="S2", firm="FIRM_B")
    events = venue.do(SubmitOrder("S1", "FIRM_A", "MKT", "AAPL", Side.BUY, OrderType.MARKET, 20,
                                  protection_price=px(100.50)))
    assert [t.price for t in of(events, TradeExecuted)] == [px(100.00)]
    assert one(events, OrderCancelled).reason is CancelReason.PRICE_PROTECTION


def test_a_protection_price_is_refused_on_anything_but_a_market_or_stop_order(venue):
    events = venue.do(SubmitOrder("S1", "FIRM_A", "LMT", "AAPL", Side.BUY, OrderType.LIMIT, 20, px(100.00),
                                  protection_price=px(100.50)))
    assert "only a market order, or a stop order" in one(events, OrderRejected).text


def test_a_triggered_stop_never_trades_beyond_its_protection_price(venue):
    venue.do(SubmitOrder("S1", "FIRM_A", "STOP", "AAPL", Side.BUY, OrderType.STOP, 30, stop_price=px(100.00),
                         protection_price=px(100.50)))
    for price in (100.00, 100.25, 101.00):
        venue.sell(10, price, session="S2", firm="FIRM_B")
    events = venue.buy(10, 100.00, session="S3", firm="FIRM_C")  # trades at 100.00: the stop triggers
    trigger = one(events, OrderAccepted).order_id
    assert [t.price for t in of(events, TradeExecuted) if t.buy_order_id != trigger] == [px(100.25)]
    cancelled = one(events, OrderCancelled)  # 101.00 is beyond 100.50: the stop's other 20 never trade there
    assert cancelled.reason is CancelReason.PRICE_PROTECTION and cancelled.cancelled_quantity == 20


def test_a_stops_protection_moves_with_its_stop_price_on_a_replace(venue):
    from matching import ReplaceOrder

    accepted = one(venue.do(SubmitOrder("S1", "FIRM_A", "STOP", "AAPL", Side.SELL, OrderType.STOP, 10,
                                        stop_price=px(99.00), protection_price=px(98.50))), OrderAccepted)
    venue.do(ReplaceOrder("S1", "FIRM_A", "R1", 10, order_id=accepted.order_id, stop_price=px(98.00)))
    order = venue.engine.open_orders("S1")[0]
    assert (order.stop_price, order.protection_price) == (px(98.00), px(97.50))


def test_a_band_that_moves_away_from_the_book_clears_the_limit_state_without_an_order(venue):
    venue.sell(1, 104.00, session="S2", firm="FIRM_B")
    venue.buy(1, 104.00)
    traded = venue.now
    venue.now += seconds(20)
    venue.buy(5, 105.00, client_order_id="AT_BAND")  # the best bid at the upper band: a limit state
    assert venue.engine.book("AAPL").breaker.limit_state_since is not None
    events = venue.tick(traded + seconds(30))  # the review moves the reference to 104.00: band to 109.20
    assert one(events, PriceBandChanged).band_high == px(109.20)
    assert one(events, TradingStatusChanged).reason is TradingStatusReason.LIMIT_STATE_CLEARED
    assert venue.tick(traded + seconds(60)) == [], "no pause follows"
