from matching import (
    CancelReason, CancelRejected, CancelRejectReason, OrderCancelled, OrderFilled, OrderReplaced, OrderStatus,
    ReplyTo, Side, TradeExecuted,
)
from venue_harness import of, one, px


def test_an_order_is_cancelled_by_its_clordid_and_leaves_the_book(venue):
    venue.buy(10, 10.00, client_order_id="A")
    cancelled = one(venue.cancel("A", client_order_id="cxl-A"), OrderCancelled)
    assert (cancelled.client_order_id, cancelled.orig_client_order_id) == ("cxl-A", "A")
    assert cancelled.reason is CancelReason.REQUESTED and cancelled.cancelled_quantity == 10
    assert venue.depth(Side.BUY) == []


def test_another_session_of_the_same_firm_can_cancel_by_order_id(venue):
    order_id = venue.buy(10, 10.00, session="S1")[0].order_id
    assert one(venue.cancel(order_id=order_id, session="S1b"), OrderCancelled).order_id == order_id


def test_cancelling_an_unknown_order_is_rejected_as_unknown(venue):
    rejected = one(venue.cancel("nope"), CancelRejected)
    assert rejected.reason is CancelRejectReason.UNKNOWN_ORDER and rejected.order_status is None
    assert rejected.response_to is ReplyTo.CANCEL


def test_cancelling_a_filled_order_is_rejected_as_too_late_with_its_status(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.sell(10, 10.00, session="S2", firm="FIRM_B")
    rejected = one(venue.cancel("A"), CancelRejected)
    assert rejected.reason is CancelRejectReason.TOO_LATE_TO_CANCEL
    assert rejected.order_status is OrderStatus.FILLED


def test_another_firms_order_cannot_be_cancelled_and_looks_unknown(venue):
    order_id = venue.buy(10, 10.00, client_order_id="A")[0].order_id
    rejected = one(venue.cancel(order_id=order_id, session="S2", firm="FIRM_B"), CancelRejected)
    assert rejected.reason is CancelRejectReason.UNKNOWN_ORDER
    assert venue.depth(Side.BUY) == [(10.00, 10)]


def test_order_id_and_clordid_naming_different_orders_is_rejected_as_unknown(venue):
    venue.buy(10, 10.00, client_order_id="A")
    other = venue.buy(10, 9.00, client_order_id="B")[0].order_id
    assert one(venue.cancel("A", order_id=other), CancelRejected).reason is CancelRejectReason.UNKNOWN_ORDER


def test_a_cancel_reusing_a_clordid_is_rejected_as_duplicate(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.buy(10, 9.00, client_order_id="B")
    assert one(venue.cancel("A", client_order_id="B"), CancelRejected).reason is CancelRejectReason.DUPLICATE_CLORDID


def test_reducing_quantity_at_the_same_price_keeps_time_priority(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.buy(10, 10.00, client_order_id="B")
    replaced = one(venue.replace("A", 6, 10.00, client_order_id="A2"), OrderReplaced)
    assert replaced.priority_kept and replaced.leaves_quantity == 6
    assert venue.queue(Side.BUY, 10.00) == ["A2", "B"]
    assert venue.depth(Side.BUY) == [(10.00, 16)]


def test_increasing_quantity_loses_time_priority(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.buy(10, 10.00, client_order_id="B")
    assert not one(venue.replace("A", 20, client_order_id="A2"), OrderReplaced).priority_kept
    assert venue.queue(Side.BUY, 10.00) == ["B", "A2"]


def test_changing_price_loses_priority_and_can_trade_at_once(venue):
    venue.sell(10, 10.05, session="S2", firm="FIRM_B")
    venue.buy(10, 10.00, client_order_id="A")
    events = venue.replace("A", 10, 10.05, client_order_id="A2")
    assert events.index(one(events, OrderReplaced)) < events.index(one(events, TradeExecuted))
    fill = [f for f in of(events, OrderFilled) if f.client_order_id == "A2"][0]
    assert fill.aggressor and fill.last_price == px(10.05)


def test_replacing_at_or_below_the_executed_quantity_cancels_the_rest(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.sell(6, 10.00, session="S2", firm="FIRM_B")
    events = venue.replace("A", 5, client_order_id="A2")
    cancelled = one(events, OrderCancelled)
    assert cancelled.reason is CancelReason.REPLACED_BELOW_EXECUTED and cancelled.cancelled_quantity == 4
    assert not of(events, OrderReplaced)
    assert venue.depth(Side.BUY) == []


def test_a_partially_filled_order_replaced_above_its_fills_keeps_them(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.sell(6, 10.00, session="S2", firm="FIRM_B")
    replaced = one(venue.replace("A", 20, client_order_id="A2"), OrderReplaced)
    assert (replaced.cum_quantity, replaced.leaves_quantity) == (6, 14)


def test_a_replace_off_the_tick_is_rejected_and_the_order_is_unchanged(venue):
    venue.buy(10, 10.00, client_order_id="A")
    rejected = one(venue.replace("A", 10, 10.005), CancelRejected)
    assert rejected.reason is CancelRejectReason.INVALID_PRICE_INCREMENT
    assert rejected.response_to is ReplyTo.REPLACE and rejected.order_status is OrderStatus.NEW
    assert venue.depth(Side.BUY) == [(10.00, 10)]


def test_a_replace_to_zero_or_off_lot_quantity_is_rejected(venue):
    venue.buy(100, 10.00, symbol="RLOT", client_order_id="A")
    assert one(venue.replace("A", 0), CancelRejected).reason is CancelRejectReason.OTHER
    assert "lot size 100" in one(venue.replace("A", 150), CancelRejected).text


def test_the_replaced_clordid_names_the_order_from_then_on(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.replace("A", 8, client_order_id="A2")
    assert venue.query("A2")[0].quantity == 8
    assert one(venue.cancel("A2"), OrderCancelled).cancelled_quantity == 8


def test_a_replace_cannot_change_symbol_side_or_order_type(venue):
    from matching import OrderType, ReplaceOrder
    venue.buy(10, 10.00, client_order_id="A")
    for change in ({"side": Side.SELL}, {"symbol": "MSFT"}, {"order_type": OrderType.MARKET}):
        events = venue.do(ReplaceOrder("S1", "FIRM_A", f"R-{len(venue.history)}", 10, "A", price=px(10.00),
                                       **change))
        rejected = one(events, CancelRejected)
        assert rejected.reason is CancelRejectReason.OTHER and "cannot change the" in rejected.text
    assert venue.depth(Side.BUY) == [(10.00, 10)]


def test_a_possible_resend_of_a_processed_request_reports_status_instead_of_acting_twice(venue):
    from matching import CancelOrder, OrderAccepted, OrderStatusReported, OrderType, SubmitOrder
    first = venue.do(SubmitOrder("S1", "FIRM_A", "A", "AAPL", Side.BUY, OrderType.LIMIT, 10, px(10.00)))
    again = venue.do(SubmitOrder("S1", "FIRM_A", "A", "AAPL", Side.BUY, OrderType.LIMIT, 10, px(10.00),
                                 possible_resend=True))
    assert one(again, OrderStatusReported).order_id == first[0].order_id
    assert venue.depth(Side.BUY) == [(10.00, 10)]
    venue.do(CancelOrder("S1", "FIRM_A", "C", "A"))
    status = one(venue.do(CancelOrder("S1", "FIRM_A", "C", "A", possible_resend=True)), OrderStatusReported)
    assert status.status is OrderStatus.CANCELLED
    fresh = venue.do(SubmitOrder("S1", "FIRM_A", "B", "AAPL", Side.BUY, OrderType.LIMIT, 5, px(9.00),
                                 possible_resend=True))
    assert isinstance(fresh[0], OrderAccepted), "a resend with a new ClOrdID is simply processed"
