from matching import (
    CancelReason, MassCancelCompleted, MassCancelRejected, MassCancelRejectReason, OrderCancelled,
    OrderRejectReason, OrderStatus, OrderStatusReported, Side, StatusQueryRejected,
)
from venue_harness import of, one, px


def test_a_status_query_reports_the_orders_current_state(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.sell(4, 10.00, session="S2", firm="FIRM_B")
    status = one(venue.query("A"), OrderStatusReported)
    assert status.status is OrderStatus.PARTIALLY_FILLED
    assert (status.cum_quantity, status.leaves_quantity, status.cum_notional) == (4, 6, 4 * px(10.00))


def test_a_status_query_by_order_id_from_a_sister_session_answers_that_session(venue):
    order_id = venue.buy(10, 10.00, client_order_id="A")[0].order_id
    status = one(venue.query(order_id=order_id, session="S1b"), OrderStatusReported)
    assert (status.reply_session, status.session) == ("S1b", "S1")


def test_a_status_query_for_an_unknown_or_foreign_order_is_rejected_as_unknown(venue):
    order_id = venue.buy(10, 10.00)[0].order_id
    assert one(venue.query("nope"), StatusQueryRejected).reason is OrderRejectReason.UNKNOWN_ORDER
    assert one(venue.query(order_id=order_id, session="S2", firm="FIRM_B"), StatusQueryRejected)


def test_cancelled_orders_keep_their_status_for_the_day(venue):
    venue.buy(10, 10.00, client_order_id="A")
    venue.cancel("A", client_order_id="C")
    assert one(venue.query("C"), OrderStatusReported).status is OrderStatus.CANCELLED


def test_mass_cancel_cancels_every_open_order_of_the_firm_and_no_other(venue):
    venue.buy(10, 10.00, session="S1")
    venue.sell(10, 11.00, session="S1b", symbol="MSFT")
    venue.buy(10, None, stop=12.00, session="S1")
    venue.buy(10, 9.00, session="S2", firm="FIRM_B")
    events = venue.mass_cancel()
    done = one(events, MassCancelCompleted)
    assert done.cancelled_order_ids == (1, 2, 3)
    assert all(c.reason is CancelReason.MASS_CANCEL for c in of(events, OrderCancelled))
    assert venue.depth(Side.BUY) == [(9.00, 10)]


def test_mass_cancel_can_be_narrowed_by_session_symbol_and_side(venue):
    venue.buy(10, 10.00, session="S1")
    venue.sell(10, 11.00, session="S1")
    venue.buy(10, 10.00, session="S1", symbol="MSFT")
    venue.buy(10, 10.00, session="S1b")
    done = one(venue.mass_cancel(only_session="S1", symbol="AAPL", side=Side.BUY), MassCancelCompleted)
    assert done.cancelled_order_ids == (1,)
    assert venue.depth(Side.BUY) == [(10.00, 10)] and venue.depth(Side.SELL) == [(11.00, 10)]


def test_mass_cancel_for_an_unknown_symbol_is_rejected(venue):
    rejected = one(venue.mass_cancel(symbol="ZZZZ"), MassCancelRejected)
    assert rejected.reason is MassCancelRejectReason.UNKNOWN_SECURITY


def test_cancel_on_disconnect_cancels_only_the_sessions_day_orders_with_its_reason(venue):
    from matching import TimeInForce
    venue.buy(10, 10.00, session="S1", client_order_id="day")
    venue.buy(10, 9.99, session="S1", tif=TimeInForce.GTC, client_order_id="gtc")
    venue.buy(10, 9.98, session="S1b", client_order_id="sister")
    events = venue.mass_cancel(only_session="S1", time_in_force=TimeInForce.DAY, request_id=None,
                               reason=CancelReason.SESSION_DISCONNECTED)
    cancelled = one(events, OrderCancelled)
    assert cancelled.client_order_id == "day" and cancelled.reason is CancelReason.SESSION_DISCONNECTED
    assert one(events, MassCancelCompleted).request_id is None
    assert venue.depth(Side.BUY) == [(9.99, 10), (9.98, 10)]
