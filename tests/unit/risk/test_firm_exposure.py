"""Credit and position limits follow the core's events: what rests, what fills, what is cancelled."""

from __future__ import annotations

from matching import (
    CancelOrder, Instrument, MatchingEngine, OrderRejectReason, OrderType, ReplaceOrder, Side, SubmitOrder,
    TimeInForce,
)
from risk.exposure import ExposureLimits, FirmExposure


class Desk:
    """An engine with two firms whose every event feeds the exposure tracker."""

    def __init__(self, credit: int | None = None, position: int | None = None) -> None:
        self.engine = MatchingEngine([Instrument("AAPL", tick_size=1, lot_size=1)], clock=lambda: 1)
        limits = ExposureLimits(credit, position)
        self.exposure = FirmExposure({"A": limits, "B": ExposureLimits(None, None)}, {"AAPL": 100}, {"AAPL": 1},
                                     lambda units: str(units))
        self.count = 0

    def order(self, firm: str, side: Side, quantity: int, price: int | None, order_type=OrderType.LIMIT):
        self.count += 1
        command = SubmitOrder(f"S{firm}", firm, f"C{self.count}", "AAPL", side, order_type, quantity, price, None,
                              TimeInForce.DAY, None)
        breach = self.exposure.check(command)
        if breach is not None:
            return breach
        events = self.engine.process(command)
        self.exposure.apply(events)
        return events

    def do(self, command):
        events = self.engine.process(command)
        self.exposure.apply(events)
        return events


def order_id(events) -> int:
    return next(e.order_id for e in events if type(e).__name__ == "OrderAccepted")


def test_resting_orders_use_credit_at_their_limit_price_and_a_cancel_gives_it_back():
    desk = Desk(credit=10_000)
    events = desk.order("A", Side.BUY, 50, 100)
    assert desk.exposure.credit_used("A") == 5_000
    desk.do(CancelOrder("SA", "A", "X1", None, order_id(events)))
    assert desk.exposure.credit_used("A") == 0


def test_an_order_that_would_pass_the_credit_limit_is_refused_naming_it():
    desk = Desk(credit=10_000)
    desk.order("A", Side.BUY, 60, 100)
    breach = desk.order("A", Side.BUY, 41, 100)
    assert breach.reason is OrderRejectReason.EXCEEDS_LIMIT and "credit" in breach.text and "10000" in breach.text
    assert isinstance(desk.order("A", Side.BUY, 40, 100), list)  # exactly at the limit is allowed


def test_executed_notional_counts_at_the_trade_price_for_the_rest_of_the_day():
    desk = Desk(credit=10_000)
    desk.order("B", Side.SELL, 30, 90)
    desk.order("A", Side.BUY, 30, 100)  # trades 30 at 90: executed 2,700, nothing left open
    assert desk.exposure.credit_used("A") == 2_700
    desk.exposure.end_trading_day()
    assert desk.exposure.credit_used("A") == 0


def test_a_replace_moves_the_open_notional_to_the_new_price_and_quantity():
    desk = Desk(credit=100_000)
    events = desk.order("A", Side.BUY, 10, 100)
    desk.do(ReplaceOrder("SA", "A", "R1", 20, f"C{desk.count}", None, 150, None))
    assert desk.exposure.credit_used("A") == 3_000
    assert order_id(events)


def test_the_net_position_follows_fills_and_open_orders_count_as_filled_against_the_limit():
    desk = Desk(position=100)
    desk.order("B", Side.SELL, 60, 100)
    desk.order("A", Side.BUY, 60, 100)
    assert desk.exposure.position("A", "AAPL") == 60 and desk.exposure.position("B", "AAPL") == -60
    desk.order("A", Side.BUY, 30, 90)  # rests: 90 long if it fills
    breach = desk.order("A", Side.BUY, 11, 90)
    assert breach is not None and "long 101" in breach.text and "now 60" in breach.text
    assert isinstance(desk.order("A", Side.SELL, 150, 200), list)  # 60 - 150 = 90 short: allowed
    assert "short 101" in desk.order("A", Side.SELL, 11, 200).text


def test_crossing_eighty_percent_of_the_credit_limit_alerts_once_a_day():
    desk = Desk(credit=10_000)
    desk.order("A", Side.BUY, 79, 100)
    assert desk.exposure.alerts == []
    desk.order("A", Side.BUY, 1, 100)
    desk.order("A", Side.BUY, 5, 100)
    assert len(desk.exposure.alerts) == 1 and "80%" in desk.exposure.alerts[0]


def test_a_market_order_is_priced_at_the_reference_and_releases_its_credit_when_it_is_done():
    desk = Desk(credit=10_000)
    breach = desk.order("A", Side.BUY, 101, None, OrderType.MARKET)  # 101 x reference 100
    assert breach is not None
    desk.order("A", Side.BUY, 50, None, OrderType.MARKET)  # no liquidity: cancelled at once
    assert desk.exposure.credit_used("A") == 0


def test_firms_without_limits_are_never_refused():
    desk = Desk(credit=1)
    assert isinstance(desk.order("B", Side.BUY, 1_000_000, 100), list)


def test_a_firm_that_has_lost_more_than_its_daily_limit_may_send_no_new_orders_until_the_next_day():
    engine = MatchingEngine([Instrument("AAPL", tick_size=1, lot_size=1)], clock=lambda: 1)
    exposure = FirmExposure({"A": ExposureLimits(None, None, 1_000), "B": ExposureLimits(None, None)},
                            {"AAPL": 100}, {"AAPL": 1}, lambda units: str(units))
    desk = Desk.__new__(Desk)
    desk.engine, desk.exposure, desk.count = engine, exposure, 0
    desk.order("B", Side.SELL, 100, 100)
    desk.order("A", Side.BUY, 100, 100)  # A long 100 at 100
    desk.order("C", Side.SELL, 1, 89)
    desk.order("B", Side.BUY, 1, 89)  # the market now trades at 89: A is down 1,100
    assert exposure.profit_today("A") == -1_100
    breach = desk.order("A", Side.SELL, 10, 89)
    assert breach is not None and "daily loss" in breach.text and "1100" in breach.text
    exposure.end_trading_day()  # a new day starts from today's marks
    assert exposure.profit_today("A") == 0
    assert isinstance(desk.order("A", Side.SELL, 10, 95), list)


def test_a_replace_is_checked_on_what_it_adds_to_credit_at_its_new_price():
    desk = Desk(credit=10_000)
    events = desk.order("A", Side.BUY, 50, 100)  # 5,000 in use
    bigger = desk.engine.amended_order(ReplaceOrder("SA", "A", "R1", 90, order_id=order_id(events), price=100))
    assert bigger.leaves_quantity == 90
    breach = desk.exposure.check_amend(bigger)  # 9,000 instead of 5,000: 4,000 more on 5,000 is within 10,000
    assert breach is None
    dearer = desk.engine.amended_order(ReplaceOrder("SA", "A", "R1", 90, order_id=order_id(events), price=120))
    breach = desk.exposure.check_amend(dearer)  # 10,800 instead of 5,000
    assert breach is not None and breach.limit == "credit_limit" and "this replace's added 5800" in breach.text


def test_a_replace_that_adds_nothing_passes_even_when_the_firm_is_over_its_limits():
    desk = Desk(credit=10_000, position=60)
    events = desk.order("A", Side.BUY, 60, 100)
    desk.exposure.set_limits({"A": ExposureLimits(1_000, 10)})  # tightened below what is already open
    smaller = desk.engine.amended_order(ReplaceOrder("SA", "A", "R1", 40, order_id=order_id(events), price=99))
    assert desk.exposure.check_amend(smaller) is None
    larger = desk.engine.amended_order(ReplaceOrder("SA", "A", "R2", 61, order_id=order_id(events)))
    assert desk.exposure.check_amend(larger).limit == "credit_limit"


def test_a_replace_that_adds_quantity_is_checked_against_the_position_limit():
    desk = Desk(position=100)
    events = desk.order("A", Side.SELL, 80, 100)
    amended = desk.engine.amended_order(ReplaceOrder("SA", "A", "R1", 101, order_id=order_id(events)))
    breach = desk.exposure.check_amend(amended)
    assert breach.limit == "max_position" and "short 101" in breach.text


def test_the_engine_names_no_amended_order_for_another_firms_order_or_a_closed_one():
    desk = Desk()
    events = desk.order("A", Side.BUY, 10, 100)
    assert desk.engine.amended_order(ReplaceOrder("SB", "B", "R1", 20, order_id=order_id(events))) is None
    desk.do(CancelOrder("SA", "A", "X1", None, order_id(events)))
    assert desk.engine.amended_order(ReplaceOrder("SA", "A", "R2", 20, order_id=order_id(events))) is None
