from matching import (
    CancelReason, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected, OrderRejectReason,
    Side, TimeInForce, TradeExecuted,
)
from venue_harness import of, one, px


def test_a_market_order_takes_liquidity_and_its_unfilled_remainder_is_cancelled(venue):
    venue.sell(10, 10.00)
    venue.sell(10, 10.50)
    events = venue.buy(25, None, session="S2", firm="FIRM_B")
    assert [t.price for t in of(events, TradeExecuted)] == [px(10.00), px(10.50)]
    cancelled = one(events, OrderCancelled)
    assert cancelled.reason is CancelReason.NO_LIQUIDITY and cancelled.cancelled_quantity == 5
    assert venue.depth(Side.BUY) == [], "market orders never rest"


def test_a_market_order_into_an_empty_book_is_cancelled_in_full(venue):
    events = venue.sell(10, None)
    assert one(events, OrderAccepted)
    assert one(events, OrderCancelled).cancelled_quantity == 10


def test_an_ioc_order_fills_what_it_can_and_never_rests(venue):
    venue.sell(10, 10.00)
    events = venue.buy(30, 10.00, tif=TimeInForce.IOC, session="S2", firm="FIRM_B")
    assert one(events, TradeExecuted).quantity == 10
    cancelled = one(events, OrderCancelled)
    assert cancelled.reason is CancelReason.IMMEDIATE_OR_CANCEL and cancelled.cancelled_quantity == 20
    assert venue.depth(Side.BUY) == []


def test_a_fok_order_fills_completely_when_the_book_holds_enough_within_its_limit(venue):
    venue.sell(10, 10.00)
    venue.sell(10, 10.01)
    events = venue.buy(20, 10.01, tif=TimeInForce.FOK, session="S2", firm="FIRM_B")
    assert sum(t.quantity for t in of(events, TradeExecuted)) == 20
    assert not of(events, OrderCancelled)


def test_a_fok_order_that_cannot_fill_completely_trades_nothing(venue):
    venue.sell(10, 10.00)
    venue.sell(10, 10.02)
    events = venue.buy(20, 10.01, tif=TimeInForce.FOK, session="S2", firm="FIRM_B")
    assert not of(events, TradeExecuted)
    assert one(events, OrderCancelled).reason is CancelReason.FILL_OR_KILL
    assert venue.depth(Side.SELL) == [(10.00, 10), (10.02, 10)]


def test_a_gtd_order_expires_on_the_first_clock_tick_at_or_after_its_expire_time(venue):
    venue.buy(10, 10.00, tif=TimeInForce.GTD, expire=2_000_000_000, client_order_id="gtd")
    assert venue.tick(1_999_999_999) == []
    events = venue.tick(2_000_000_000)
    expired = one(events, OrderExpired)
    assert expired.client_order_id == "gtd" and expired.expired_quantity == 10
    assert venue.depth(Side.BUY) == []


def test_a_partially_filled_gtd_order_expires_only_its_remainder(venue):
    venue.buy(10, 10.00, tif=TimeInForce.GTD, expire=2_000_000_000)
    venue.sell(4, 10.00, session="S2", firm="FIRM_B")
    expired = one(venue.tick(3_000_000_000), OrderExpired)
    assert (expired.cum_quantity, expired.expired_quantity) == (4, 6)


def test_a_gtd_order_whose_expire_time_has_passed_is_rejected_as_too_late(venue):
    events = venue.buy(10, 10.00, tif=TimeInForce.GTD, expire=venue.now)
    assert one(events, OrderRejected).reason is OrderRejectReason.TOO_LATE_TO_ENTER


def test_a_gtd_order_without_an_expire_time_and_a_day_order_with_one_are_rejected(venue):
    assert one(venue.buy(10, 10.00, tif=TimeInForce.GTD), OrderRejected).reason is OrderRejectReason.OTHER
    rejected = one(venue.buy(10, 10.00, expire=venue.now + 10), OrderRejected)
    assert rejected.reason is OrderRejectReason.OTHER and "GTD" in rejected.text


def test_day_orders_expire_at_the_end_of_the_trading_day_and_gtc_orders_stay(venue):
    venue.buy(10, 10.00, client_order_id="day")
    venue.buy(10, 9.99, tif=TimeInForce.GTC, client_order_id="gtc")
    venue.sell(10, 11.00, stop=12.00, client_order_id="day-stop")
    expired = of(venue.end_of_day(), OrderExpired)
    assert [e.client_order_id for e in expired] == ["day", "day-stop"]
    assert venue.depth(Side.BUY) == [(9.99, 10)]


def test_a_new_day_frees_clordids_but_remembers_open_gtc_orders(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.buy(10, 9.99, tif=TimeInForce.GTC, client_order_id="G")
    venue.end_of_day()
    assert one(venue.buy(5, 9.00, client_order_id="A"), OrderAccepted)
    assert one(venue.cancel("G"), OrderCancelled).cancelled_quantity == 10
