"""The demo market maker's and brokers' pricing rules: pure functions of integer tick prices."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from config import InstrumentSettings
from fix_gateway.demo import (
    BUY, IOC, SELL, Quote, QuoteParams, broker_order, fair_limits, needs_requote, next_fair, price_limits,
    pricing_for, quote_ladder,
)

AAPL = InstrumentSettings("AAPL", Decimal("0.01"), 1, "USD", Decimal("190.00"), 1)
BAND_PERCENT = Decimal(5)  # the venue's tier 1 circuit-breaker band around the reference


def within_band(price: int, reference: int) -> bool:
    low, high = price_limits(reference, BAND_PERCENT)
    return low <= price <= high


def test_pricing_for_a_190_dollar_stock_quotes_two_ticks_wide_within_two_and_a_half_percent():
    p = pricing_for(AAPL)
    assert p.reference == 19000
    assert (p.half_spread, p.level_step) == (2, 2)
    assert (p.low, p.high) == (18525, 19475)
    assert p.price_text(19001) == "190.01"


def test_price_limits_round_inwards_to_whole_ticks():
    assert price_limits(1001, Decimal(10)) == (901, 1101)  # 900.9 -> 901, 1101.1 -> 1101


def test_ladder_at_the_reference_has_levels_bids_below_and_offers_above_in_lots():
    p = pricing_for(InstrumentSettings("X", Decimal("0.01"), 10, "USD", Decimal("100.00"), 1),
                    QuoteParams(levels=4))
    quotes = quote_ladder(p.reference, p, random.Random(1))
    bids = sorted((q for q in quotes if q.side == BUY), key=lambda q: q.level)
    offers = sorted((q for q in quotes if q.side == SELL), key=lambda q: q.level)
    assert [q.level for q in bids] == [q.level for q in offers] == [0, 1, 2, 3]
    assert bids[0].price == p.reference - p.half_spread and offers[0].price == p.reference + p.half_spread
    assert all(a.price > b.price for a, b in zip(bids, bids[1:]))  # each level further from the touch
    assert all(a.price < b.price for a, b in zip(offers, offers[1:]))
    assert all(q.quantity > 0 and q.quantity % 10 == 0 for q in quotes)


@pytest.mark.parametrize("fair_offset_percent", [-10, -3, 0, 3, 10])
def test_ladder_stays_within_the_quoting_limits_and_the_band_wherever_the_fair_value_is(fair_offset_percent):
    p = pricing_for(AAPL)
    fair = p.reference + p.reference * fair_offset_percent // 100
    for seed in range(20):
        quotes = quote_ladder(fair, p, random.Random(seed), position=seed * 500 - 5000)
        assert all(p.low <= q.price <= p.high for q in quotes)
        assert all(within_band(q.price, p.reference) for q in quotes)
        best_bid = max(q.price for q in quotes if q.side == BUY)
        best_offer = min(q.price for q in quotes if q.side == SELL)
        assert best_bid < best_offer


def test_a_long_position_skews_the_quotes_down_to_sell_it():
    p = pricing_for(AAPL)
    flat = quote_ladder(p.reference, p, random.Random(3))
    long = quote_ladder(p.reference, p, random.Random(3), position=300)
    assert [q.price - 3 for q in flat] == [q.price for q in long]


def test_fair_value_random_walk_stays_within_its_limits_and_returns_towards_the_reference():
    p = pricing_for(AAPL)
    rng = random.Random(7)
    low, high = fair_limits(p)
    fair = high
    for _ in range(2000):
        fair = next_fair(fair, p, rng)
        assert low <= fair <= high
    assert abs(fair - p.reference) < (high - p.reference)  # pulled back from the edge


def test_fair_value_moves_towards_the_last_trade():
    p = pricing_for(AAPL, QuoteParams(max_step_ticks=0))
    assert next_fair(p.reference, p, random.Random(1), last_trade=p.reference + 100) == p.reference + 30 - 1
    assert next_fair(p.reference, p, random.Random(1), last_trade=None) == p.reference


def test_requote_when_the_price_drifted_the_threshold_or_the_quote_is_mostly_filled():
    p = pricing_for(AAPL, QuoteParams(requote_ticks=2))
    wanted = Quote(BUY, 0, 19000, 100)
    assert not needs_requote(19000, 100, wanted, p)
    assert not needs_requote(19001, 100, wanted, p)  # one tick off: leave it, keep priority
    assert needs_requote(19002, 100, wanted, p)
    assert needs_requote(18998, 100, wanted, p)
    assert not needs_requote(19000, 50, wanted, p)  # half left
    assert needs_requote(19000, 49, wanted, p)  # mostly traded away: top it up


def test_broker_orders_mix_marketable_passive_and_market_orders_within_the_band():
    p = pricing_for(AAPL)
    rng = random.Random(11)
    kinds = {"marketable": 0, "passive": 0, "market": 0}
    for _ in range(1000):
        order = broker_order(p.reference, p, rng)
        kinds[order.kind] += 1
        assert order.quantity > 0
        if order.kind == "market":
            assert order.price is None and order.ord_type == "1" and order.time_in_force == IOC
            continue
        assert within_band(order.price, p.reference) and order.ord_type == "2"
        best_bid, best_offer = p.reference - p.half_spread, p.reference + p.half_spread
        if order.kind == "marketable":  # reaches the market maker's best quote on the other side
            assert order.price >= best_offer if order.side == BUY else order.price <= best_bid
            assert order.time_in_force == IOC
        else:  # joins or rests behind the touch on its own side
            assert order.price <= best_bid if order.side == BUY else order.price >= best_offer
    assert kinds["market"] > 50 and kinds["marketable"] > 350 and kinds["passive"] > 350


def test_a_broker_at_its_resting_limit_sends_no_passive_order():
    p = pricing_for(AAPL)
    rng = random.Random(5)
    assert all(broker_order(p.reference, p, rng, passive_allowed=False).kind != "passive" for _ in range(200))
