from matching import (
    CancelRejected, CancelRejectReason, OrderRejected, OrderRejectReason, OrderStatus, RejectCancel, RejectOrder,
    ReplyTo, Side,
)
from venue_harness import one


def test_a_reject_decided_at_the_gateway_is_numbered_like_any_other_event(venue):
    venue.buy(10, 10.00)
    events = venue.do(RejectOrder("S1", "FIRM_A", "bad", "AAPL", Side.BUY, None, 10, None,
                                  OrderRejectReason.OTHER, "order type P is not supported"))
    rejected = one(events, OrderRejected)
    assert rejected.sequence == venue.history[-2].sequence + 1
    assert rejected.order_type is None and rejected.text == "order type P is not supported"
    assert venue.depth(Side.BUY) == [(10.00, 10)]


def test_a_recorded_cancel_reject_carries_the_orders_status_when_the_order_is_known(venue):
    order_id = venue.buy(10, 10.00, client_order_id="A")[0].order_id
    events = venue.do(RejectCancel("S1", "FIRM_A", "R1", "A", None, ReplyTo.REPLACE, CancelRejectReason.OTHER,
                                   "a replace cannot change the side"))
    rejected = one(events, CancelRejected)
    assert (rejected.order_id, rejected.order_status) == (order_id, OrderStatus.NEW)
    unknown = one(venue.do(RejectCancel("S1", "FIRM_A", "R2", "nope", None, ReplyTo.CANCEL,
                                        CancelRejectReason.OTHER, "x")), CancelRejected)
    assert unknown.order_status is None
