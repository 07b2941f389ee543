"""Collars in ticks, the tighter of ticks and percent, replaces, and market order protection prices.

AAPL here: prices in units of 0.0001, tick 0.01 (100 units), reference price 190.00.
"""

from __future__ import annotations

import logging
from fractions import Fraction

import pytest

from matching import OrderAccepted, OrderRejectReason, OrderType, Side, SubmitOrder, TimeInForce
from risk.collar import PriceCollars
from risk.exposure import ExposureLimits, FirmExposure

TICK = 100


def show(symbol: str, units: int) -> str:
    return f"{units / 10_000:.2f}"


COLLARS = PriceCollars(
    {"PERCENT": Fraction(10), "BOTH": Fraction(1)}, {"AAPL": 1_900_000}, show,
    ticks_by_firm={"TICKS": 5, "BOTH": 50},
    tick_sizes={"AAPL": TICK},
    protection_percent_by_firm={"PERCENT": Fraction(5), "TICKS": Fraction(5), "BOTH": Fraction(5),
                                "NONE": Fraction(5), "HALF": Fraction(1, 2)})


def order(firm: str, side: Side, price: int | None, order_type=OrderType.LIMIT) -> SubmitOrder:
    return SubmitOrder("S1", firm, "C1", "AAPL", side, order_type, 10, price, None, TimeInForce.DAY, None)


# ---------------------------------------------------------------------- ticks


@pytest.mark.parametrize("price, refused", [(2_000_500, False), (2_000_600, True)])
def test_a_buy_may_be_priced_up_to_five_ticks_above_the_best_offer(price, refused):
    breach = COLLARS.check(order("TICKS", Side.BUY, price), best_bid=1_999_900, best_offer=2_000_000)
    assert (breach is not None) == refused
    if refused:
        assert breach.reason is OrderRejectReason.PRICE_EXCEEDS_BAND and breach.limit == "price_collar_ticks"
        assert breach.text == ("buy price 200.06 is more than 5 ticks (0.05) above the best offer 200.00 "
                               "(collar 200.05; risk price_collar_ticks)")


@pytest.mark.parametrize("price, refused", [(1_999_400, False), (1_999_300, True)])
def test_a_sell_may_be_priced_down_to_five_ticks_below_the_best_bid(price, refused):
    breach = COLLARS.check(order("TICKS", Side.SELL, price), best_bid=1_999_900, best_offer=2_000_000)
    assert (breach is not None) == refused


def test_a_tick_collar_with_an_empty_opposite_side_is_measured_from_the_reference_price():
    breach = COLLARS.check(order("TICKS", Side.SELL, 1_899_000), best_bid=None, best_offer=2_000_000)
    assert breach is not None and "below the reference price 190.00 (collar 189.95" in breach.text
    assert COLLARS.check(order("TICKS", Side.SELL, 1_899_500), best_bid=None, best_offer=2_000_000) is None


# ---------------------------------------------------------------------- both: the tighter applies


def test_with_both_set_the_tighter_bound_applies_and_the_text_names_it():
    # From 200.00: 1% is 2.00 and 50 ticks are 0.50, so the ticks bind at 200.50.
    breach = COLLARS.check(order("BOTH", Side.BUY, 2_005_100), best_bid=None, best_offer=2_000_000)
    assert breach is not None and breach.limit == "price_collar_ticks"
    assert "(collar 200.50; risk price_collar_ticks, the tighter of it and price_collar_percent 1)" in breach.text
    assert COLLARS.check(order("BOTH", Side.BUY, 2_005_000), best_bid=None, best_offer=2_000_000) is None


def test_with_both_set_a_low_price_makes_the_percentage_the_tighter_bound():
    # From 20.00: 1% is 0.20 and 50 ticks are 0.50, so the percentage binds at 19.80.
    collars = PriceCollars({"BOTH": Fraction(1)}, {"AAPL": 200_000}, show, ticks_by_firm={"BOTH": 50},
                           tick_sizes={"AAPL": TICK})
    breach = collars.check(order("BOTH", Side.SELL, 197_900), best_bid=None, best_offer=None)
    assert breach is not None and breach.limit == "price_collar_percent"
    assert "more than 1% below the reference price 20.00 (collar 19.80; risk price_collar_percent, the tighter " \
           "of it and price_collar_ticks 50)" in breach.text
    assert collars.check(order("BOTH", Side.SELL, 198_000), best_bid=None, best_offer=None) is None


# ---------------------------------------------------------------------- replaces


def test_a_replace_price_is_checked_against_the_collar_with_the_symbol_and_side_it_names():
    breach = COLLARS.check_price("PERCENT", "AAPL", Side.BUY, 2_300_000, best_bid=1_990_000, best_offer=2_000_000)
    assert breach is not None and breach.reason is OrderRejectReason.PRICE_EXCEEDS_BAND
    assert "more than 10% above the best offer 200.00 (collar 220.00; risk price_collar_percent)" in breach.text
    assert COLLARS.check_price("PERCENT", "AAPL", Side.BUY, 2_200_000, 1_990_000, 2_000_000) is None
    assert COLLARS.check_price("NONE", "AAPL", Side.BUY, 9_000_000, 1_990_000, 2_000_000) is None


# ---------------------------------------------------------------------- market order protection


@pytest.mark.parametrize("firm, side, best_bid, best_offer, expected", [
    ("PERCENT", Side.BUY, 1_990_000, 2_000_000, 2_200_000),  # 10% above the best offer
    ("PERCENT", Side.SELL, 1_990_000, 2_000_000, 1_791_000),  # 10% below the best bid
    ("TICKS", Side.BUY, 1_990_000, 2_000_000, 2_000_500),  # 5 ticks above the best offer
    ("TICKS", Side.SELL, 1_990_000, 2_000_000, 1_989_500),
    ("BOTH", Side.BUY, None, 2_000_000, 2_005_000),  # the tighter: 50 ticks rather than 1%
    ("PERCENT", Side.BUY, 1_990_000, None, 2_090_000),  # no offer: 10% above the reference 190.00
    ("PERCENT", Side.SELL, None, 2_000_000, 1_710_000),  # no bid: 10% below the reference
    ("NONE", Side.BUY, 1_990_000, 2_000_000, 2_100_000),  # no collar: the protection percentage, 5%
    ("NONE", Side.SELL, 1_990_000, 2_000_000, 1_890_500),
])
def test_a_market_order_is_protected_at_the_collar_bound_from_the_opposite_best(
        firm, side, best_bid, best_offer, expected):
    assert COLLARS.protection_price(firm, "AAPL", side, best_bid, best_offer) == expected


def test_a_protection_price_off_the_tick_is_rounded_inward():
    # 0.5% of 200.03 is 1.00015: a buy may go to 201.03015, so 201.03; a sell down to 199.02985, so 199.03.
    assert COLLARS.protection_price("HALF", "AAPL", Side.BUY, None, 2_000_300) == 2_010_300
    assert COLLARS.protection_price("HALF", "AAPL", Side.SELL, 2_000_300, None) == 1_990_300


def test_a_protection_price_is_never_below_one_tick():
    collars = PriceCollars({}, {"PENNY": 300}, show, tick_sizes={"PENNY": TICK}, ticks_by_firm={"F": 10})
    assert collars.protection_price("F", "PENNY", Side.SELL, 300, None) == TICK  # 0.03 - 10 ticks < 0


def test_a_firm_with_neither_a_collar_nor_a_protection_percentage_gets_no_protection_price():
    assert COLLARS.protection_price("OTHER", "AAPL", Side.BUY, None, 2_000_000) is None


# ---------------------------------------------------------------------- credit breaches are told apart by value


def test_a_credit_breach_is_told_apart_from_a_position_breach_by_its_limit_key():
    exposure = FirmExposure({"A": ExposureLimits(credit_units=10_000, max_position=50)}, {"AAPL": 100},
                            {"AAPL": 1}, str)
    big = SubmitOrder("S", "A", "C1", "AAPL", Side.BUY, OrderType.LIMIT, 200, 100)
    assert exposure.check(big).limit == "credit_limit"
    long = SubmitOrder("S", "A", "C2", "AAPL", Side.BUY, OrderType.LIMIT, 60, 1)
    assert exposure.check(long).limit == "max_position"


def test_crossing_eighty_percent_of_the_credit_limit_is_logged_as_a_warning(caplog):
    exposure = FirmExposure({"A": ExposureLimits(credit_units=10_000, max_position=None)}, {"AAPL": 100},
                            {"AAPL": 1}, str)
    with caplog.at_level(logging.WARNING, logger="fixex.risk"):
        exposure.apply([OrderAccepted(1, 1, 7, "S", "A", "C1", "AAPL", Side.BUY, OrderType.LIMIT,
                                      TimeInForce.DAY, 80, 100, None, None)])
    assert any("credit alert: firm A has used 8000 of its 10000 credit limit" in r.getMessage()
               for r in caplog.records)
