"""The fast path for acknowledgements writes exactly what the general renderer writes."""

from pathlib import Path

import quickfix as fix

from config import load_settings
from fix_gateway.inbound import parse
from fix_gateway.outbound import Outbound, fix_timestamp, frame
from fix_gateway.versions import FIX42, FIX44, FIX50SP2
from matching import (CancelReason, CancelRejected, CancelRejectReason, OrderAccepted, OrderCancelled, OrderFilled,
                      OrderRejected, OrderRejectReason, OrderRestated, OrderStatus, OrderStatusReported, OrderTriggered,
                      OrderType, ReplyTo, Side, TimeInForce)

SETTINGS = load_settings(Path(__file__).resolve().parents[3] / "config" / "exchange.yaml")
OUTBOUND = Outbound({i.symbol: i for i in SETTINGS.instruments})


def test_the_acknowledgement_fast_path_matches_the_general_renderer_field_for_field():
    event = OrderAccepted(7, 1_763_800_000_123_000_000, 42, "BROKER1", "FIRM_A", "A1", "AAPL", Side.SELL,
                          OrderType.LIMIT, TimeInForce.GTC, 100, 1_900_100, None, None)
    for version in (FIX42, FIX44, FIX50SP2):
        fast = parse(OUTBOUND.render(event, version))
        general = parse(OUTBOUND._execution_report(
            version, event, exec_type="0", ord_status="0", order_id="42", client_order_id="A1", symbol="AAPL",
            side=Side.SELL, leaves=100, cum=0, cum_notional=0, quantity=100, price=1_900_100,
            order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC))
        assert fast == general
        assert fast["44"] == "190.01" and fast["60"] == "20251122-08:26:40.123"


def test_timestamps_are_utc_with_milliseconds_across_second_boundaries():
    assert fix_timestamp(1_763_800_000_999_999_999) == "20251122-08:26:40.999"
    assert fix_timestamp(1_763_800_001_000_000_000) == "20251122-08:26:41.000"


def test_parse_keeps_the_first_occurrence_of_a_repeated_tag():
    assert parse("35=D\x0111=A\x0148=X\x0148=Y\x01") == {"35": "D", "11": "A", "48": "X"}


def _reports():
    """One event of each ExecutionReport kind and a cancel reject, with every optional field some version writes."""
    t = 1_763_800_000_123_000_000
    return [
        OrderAccepted(7, t, 42, "BROKER1", "FIRM_A", "A1", "AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.DAY, 100,
                      1_900_100, None, None),
        OrderAccepted(8, t, 43, "BROKER1", "FIRM_A", "A2", "AAPL", Side.SELL, OrderType.STOP_LIMIT, TimeInForce.GTC,
                      100, 1_890_000, 1_895_000, None),
        OrderFilled(9, t, 42, "BROKER1", "FIRM_A", "A1", "AAPL", Side.BUY, 100, 1_900_100, 5, 1_900_000, 40, 40, 60,
                    76_000_000, True),
        OrderCancelled(10, t, 42, "BROKER1", "FIRM_A", "A3", "A1", "AAPL", Side.BUY, 100, 1_900_100, 40, 76_000_000,
                       60, CancelReason.REQUESTED),
        OrderRejected(11, t, "BROKER1", "FIRM_A", "A4", "AAPL", Side.BUY, OrderType.LIMIT, 100, 1_900_100,
                      OrderRejectReason.UNKNOWN_SYMBOL, "unknown symbol"),
        OrderRestated(12, t, 42, "BROKER1", "FIRM_A", "A1", "AAPL", Side.BUY, 100, 1_900_100, 40, 50, 76_000_000, 10,
                      CancelReason.SELF_TRADE_PREVENTION),
        OrderTriggered(13, t, 43, "BROKER1", "FIRM_A", "A2", "AAPL", Side.SELL, OrderType.LIMIT, 100, 1_890_000,
                       1_895_000, 1_894_000),
        OrderStatusReported(14, t, "BROKER1", 42, "BROKER1", "FIRM_A", "A1", "AAPL", Side.BUY, OrderType.LIMIT,
                            TimeInForce.DAY, 100, 1_900_100, None, 40, 60, 76_000_000, OrderStatus.PARTIALLY_FILLED),
        CancelRejected(15, t, "BROKER1", "FIRM_A", "A5", "A1", 42, ReplyTo.CANCEL, CancelRejectReason.UNKNOWN_ORDER,
                       "no such order", OrderStatus.FILLED),
    ]


def test_execution_reports_and_cancel_rejects_list_their_fields_in_ascending_tag_order_as_quickfix_keeps_them():
    # QuickFIX stores a body's fields sorted by tag: a body already in that order costs its setString no sorting,
    # and what it sends is our text unchanged.
    message = fix.Message()
    for version in (FIX42, FIX44, FIX50SP2):
        for event in _reports():
            body = OUTBOUND.render(event, version)
            tags = [int(pair.split("=", 1)[0]) for pair in body.split("\x01") if pair]
            assert tags[0] == 35 and tags[1:] == sorted(tags[1:]), (version.name, type(event).__name__, tags)
            message.setString(frame("FIX.4.4", body), False)  # no dictionary: the version does not matter
            assert body[body.index("\x01") + 1:] in message.toString(), (version.name, type(event).__name__)
