from matching import CancelReason, OrderCancelled, OrderRestated, SelfTradePrevention, Side, TimeInForce, TradeExecuted
from venue_harness import of, one

STP = SelfTradePrevention


def test_without_an_instruction_orders_of_one_firm_may_trade_with_each_other(venue):
    venue.sell(10, 10.00, session="S1")
    assert one(venue.buy(10, 10.00, session="S1b"), TradeExecuted).quantity == 10


def test_cancel_resting_removes_the_firms_resting_order_and_keeps_matching(venue):
    venue.sell(10, 10.00, client_order_id="own")
    venue.sell(10, 10.00, session="S2", firm="FIRM_B", client_order_id="other")
    events = venue.buy(10, 10.00, session="S1b", stp=STP.CANCEL_RESTING)
    cancelled = one(events, OrderCancelled)
    assert cancelled.client_order_id == "own" and cancelled.reason is CancelReason.SELF_TRADE_PREVENTION
    trade = one(events, TradeExecuted)
    assert trade.sell_firm == "FIRM_B"


def test_cancel_incoming_cancels_the_aggressor_and_leaves_the_resting_order(venue):
    venue.sell(10, 10.00, client_order_id="own")
    events = venue.buy(10, 10.00, client_order_id="in", stp=STP.CANCEL_INCOMING)
    assert one(events, OrderCancelled).client_order_id == "in"
    assert venue.depth(Side.SELL) == [(10.00, 10)]


def test_cancel_both_cancels_the_resting_and_the_incoming_order(venue):
    venue.sell(10, 10.00, client_order_id="own")
    events = venue.buy(10, 10.00, client_order_id="in", stp=STP.CANCEL_BOTH)
    assert [c.client_order_id for c in of(events, OrderCancelled)] == ["own", "in"]
    assert not of(events, TradeExecuted) and venue.depth(Side.SELL) == []


def test_decrement_and_cancel_cancels_the_smaller_and_restates_the_larger(venue):
    venue.sell(10, 10.00, client_order_id="own")
    events = venue.buy(4, 10.00, client_order_id="in", stp=STP.DECREMENT_AND_CANCEL)
    restated = one(events, OrderRestated)
    assert (restated.client_order_id, restated.leaves_quantity, restated.reduced_by) == ("own", 6, 4)
    assert one(events, OrderCancelled).client_order_id == "in"
    assert venue.depth(Side.SELL) == [(10.00, 6)]


def test_decrement_and_cancel_lets_a_larger_incoming_order_trade_on(venue):
    venue.sell(4, 10.00, client_order_id="own")
    venue.sell(10, 10.01, session="S2", firm="FIRM_B")
    events = venue.buy(10, 10.01, client_order_id="in", stp=STP.DECREMENT_AND_CANCEL)
    assert one(events, OrderCancelled).client_order_id == "own"
    assert one(events, OrderRestated).leaves_quantity == 6
    assert one(events, TradeExecuted).quantity == 6


def test_a_self_match_id_narrows_prevention_to_orders_carrying_it(venue):
    venue.sell(10, 10.00, self_match_id="desk-1")
    events = venue.buy(10, 10.00, stp=STP.CANCEL_INCOMING, self_match_id="desk-2")
    assert one(events, TradeExecuted).quantity == 10
    venue.sell(10, 10.00, self_match_id="desk-1")
    events = venue.buy(10, 10.00, stp=STP.CANCEL_INCOMING, self_match_id="desk-1")
    assert not of(events, TradeExecuted)


def test_a_fok_order_blocked_by_its_own_firm_trades_nothing(venue):
    venue.sell(10, 10.00)
    venue.sell(10, 10.00, session="S2", firm="FIRM_B")
    events = venue.buy(10, 10.00, tif=TimeInForce.FOK, stp=STP.CANCEL_RESTING)
    assert not of(events, TradeExecuted)
    assert one(events, OrderCancelled).reason is CancelReason.FILL_OR_KILL
