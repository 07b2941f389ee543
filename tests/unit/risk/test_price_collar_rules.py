"""Price collars refuse limit orders priced too far through the market, exactly at the edge."""

from __future__ import annotations

from fractions import Fraction

import pytest

from matching import OrderRejectReason, OrderType, Side, SubmitOrder, TimeInForce
from risk.collar import PriceCollars

COLLARS = PriceCollars({"FIRM_A": Fraction(10)}, {"AAPL": 1900000},
                       lambda symbol, units: f"{units / 10_000:.2f}")


def order(side: Side, price: int | None, order_type=OrderType.LIMIT, firm="FIRM_A") -> SubmitOrder:
    return SubmitOrder("S1", firm, "C1", "AAPL", side, order_type, 10, price, None, TimeInForce.DAY, None)


@pytest.mark.parametrize("price, refused", [(2200000, False), (2200001, True), (5000000, True)])
def test_a_buy_may_be_priced_up_to_ten_percent_above_the_best_offer(price, refused):
    breach = COLLARS.check(order(Side.BUY, price), best_bid=1990000, best_offer=2000000)
    assert (breach is not None) == refused
    if refused:
        assert breach.reason is OrderRejectReason.PRICE_EXCEEDS_BAND
        assert "more than 10% above the best offer 200.00 (collar 220.00" in breach.text


@pytest.mark.parametrize("price, refused", [(1800000, False), (1799999, True)])
def test_a_sell_may_be_priced_down_to_ten_percent_below_the_best_bid(price, refused):
    breach = COLLARS.check(order(Side.SELL, price), best_bid=2000000, best_offer=2010000)
    assert (breach is not None) == refused


def test_with_no_opposite_side_the_reference_price_is_the_anchor():
    breach = COLLARS.check(order(Side.BUY, 2100000), best_bid=None, best_offer=None)
    assert breach is not None and "reference price 190.00" in breach.text
    assert COLLARS.check(order(Side.BUY, 2090000), best_bid=None, best_offer=None) is None


def test_passive_prices_far_from_the_market_are_never_collared():
    assert COLLARS.check(order(Side.BUY, 100), best_bid=1990000, best_offer=2000000) is None
    assert COLLARS.check(order(Side.SELL, 99_000_000), best_bid=1990000, best_offer=2000000) is None


def test_market_orders_and_firms_without_a_collar_pass():
    assert COLLARS.check(order(Side.BUY, None, OrderType.MARKET), 1990000, 2000000) is None
    assert COLLARS.check(order(Side.BUY, 9_000_000, firm="FIRM_B"), 1990000, 2000000) is None
