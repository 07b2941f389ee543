"""Events to FIX: the body of each reply as one string, right for the session's version.

A reply is handed to QuickFIX with a single `Message.setString` (the session fills
in the header, BodyLength and CheckSum), crossing the SWIG boundary once per
message instead of once per field. Every field and value written here is in the
version's data dictionary; tests check that against a strict QuickFIX initiator.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Mapping

from config import InstrumentSettings
from fix_gateway.versions import FixVersion
from matching import (
    CancelReason, CancelRejected, Event, MassCancelCompleted, MassCancelRejected, OrderAccepted, OrderCancelled,
    OrderExpired, OrderFilled, OrderRejected, OrderReplaced, OrderRepriced, OrderRestated, OrderStatus,
    OrderStatusReported, OrderTriggered, OrderType, ReplyTo, Side, StatusQueryRejected, TimeInForce,
)

SOH = "\x01"
SIDE = {Side.BUY: "1", Side.SELL: "2"}
ORD_TYPE = {OrderType.MARKET: "1", OrderType.LIMIT: "2", OrderType.STOP: "3", OrderType.STOP_LIMIT: "4"}
TIME_IN_FORCE = {TimeInForce.DAY: "0", TimeInForce.GTC: "1", TimeInForce.IOC: "3", TimeInForce.FOK: "4",
                 TimeInForce.GTD: "6"}
ORD_STATUS = {OrderStatus.NEW: "0", OrderStatus.PARTIALLY_FILLED: "1", OrderStatus.FILLED: "2",
              OrderStatus.CANCELLED: "4", OrderStatus.EXPIRED: "C"}
REJECTED = "8"
# Events that are copied to drop-copy sessions: every ExecutionReport of an order's life, not replies to requests.
DROP_COPY_EVENTS = (OrderAccepted, OrderRejected, OrderFilled, OrderCancelled, OrderReplaced, OrderRestated,
                    OrderRepriced, OrderExpired, OrderTriggered)
NO_ORDER_ID = "NONE"  # OrderID is required even when no order exists
BROKER_OPTION = "4"  # ExecRestatementReason for venue-side changes; in every version's dictionary
REPRICING_OF_ORDER = "3"  # ExecRestatementReason for a price slid to the band edge; in every version too
CANCEL_TEXT = {
    CancelReason.REQUESTED: None,
    CancelReason.MASS_CANCEL: "cancelled by mass cancel",
    CancelReason.SELF_TRADE_PREVENTION: "cancelled by self-trade prevention",
    CancelReason.IMMEDIATE_OR_CANCEL: "IOC: unfilled quantity cancelled",
    CancelReason.FILL_OR_KILL: "FOK: the book could not fill the whole quantity",
    CancelReason.NO_LIQUIDITY: "market order: no more liquidity, rest cancelled",
    CancelReason.REPLACED_BELOW_EXECUTED: "replace quantity at or below the executed quantity: rest cancelled",
    CancelReason.SESSION_DISCONNECTED: "cancelled on disconnect",
    CancelReason.VENUE_CLOSED: "cancelled: the venue is shutting down",
    CancelReason.KILL_SWITCH: "cancelled by the exchange's kill switch",
    CancelReason.PRICE_PROTECTION: ("market order: rest cancelled at its protection price, as far through the "
                                    "market as the price collar allows (risk price_collar_percent / "
                                    "price_collar_ticks, else market_order_protection_percent; for a triggered "
                                    "stop, from its stop price)"),
    CancelReason.PRICE_BAND: "rest cancelled: it could only trade outside the price band (circuit breaker)",
}


_last_second: list = [None, ""]  # strftime once per second, not once per message


def fix_timestamp(timestamp_ns: int) -> str:
    """UTCTimestamp with milliseconds: valid in FIX 4.2, 4.4 and 5.0 SP2."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    if seconds != _last_second[0]:
        _last_second[:] = [seconds, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds))]
    return f"{_last_second[1]}.{nanos // 1_000_000:03d}"


def frame(begin_string: str, body: str) -> str:
    """A whole message for Message.setString; QuickFIX recomputes BodyLength and CheckSum on send."""
    return f"8={begin_string}{SOH}9=0{SOH}{body}10=000{SOH}"


class Outbound:
    """Renders events for one venue's instruments (prices go out as decimals)."""

    def __init__(self, instruments: Mapping[str, InstrumentSettings]) -> None:
        self._instruments = instruments
        self._tick_exponent = {s: Decimal(i.tick_size).as_tuple().exponent for s, i in instruments.items()}
        self._price_text: dict[tuple[str, int], str] = {}  # Decimal formatting is slow; prices repeat

    # ------------------------------------------------------------------ values

    def price(self, symbol: str, units: int | None) -> str | None:
        if units is None:
            return None
        key = (symbol, units)
        text = self._price_text.get(key)
        if text is None:
            if len(self._price_text) > 100_000:
                self._price_text.clear()
            text = self._price_text[key] = self._format_price(symbol, units)
        return text

    def _format_price(self, symbol: str, units: int) -> str:
        instrument = self._instruments.get(symbol)
        if instrument is None:
            return str(units)
        value = instrument.from_units(units)
        exponent = self._tick_exponent[symbol]
        if value == value.quantize(Decimal(1).scaleb(exponent)):
            value = value.quantize(Decimal(1).scaleb(exponent))
        return format(value, "f")

    def average_price(self, symbol: str, cum_notional: int, cum_quantity: int) -> str:
        if cum_quantity == 0:
            return "0"
        instrument = self._instruments[symbol]
        average = (Decimal(cum_notional) / cum_quantity) * instrument.price_unit
        return format(average.quantize(Decimal("1e-8")).normalize(), "f")

    # ------------------------------------------------------------------ dispatch

    def render(self, event: Event, version: FixVersion, request: Mapping[str, str] | None = None) -> str | None:
        """The body for `event` in `version`, or None if this version has nothing to say about it.

        `request` is the inbound message's fields, for replies that echo what was asked.
        """
        renderer = _RENDERERS.get(type(event))
        return renderer(self, event, version, request or {}) if renderer is not None else None

    # ------------------------------------------------------------------ execution reports

    def _execution_report(
        self, version: FixVersion, event: Event, *, exec_type: str, ord_status: str, order_id: str,
        client_order_id: str, symbol: str, side: Side | None, leaves: int, cum: int, cum_notional: int,
        side_code: str | None = None,
        orig_client_order_id: str | None = None, quantity: int | None = None, price: int | None = None,
        stop_price: int | None = None, order_type: OrderType | None = None,
        time_in_force: TimeInForce | None = None, last_price: int | None = None, last_quantity: int | None = None,
        text: str | None = None, ord_rej_reason: int | None = None, restated: bool = False,
        status_report: bool = False, trade_id: int | None = None, aggressor: bool | None = None,
    ) -> str:
        # In ascending tag order, as QuickFIX keeps a body's fields: its setString then sorts nothing (about a
        # quarter of its cost), and what goes on the wire is the same.
        fields = [("35", "8"), ("6", self.average_price(symbol, cum_notional, cum)), ("11", client_order_id),
                  ("14", str(cum)), ("17", str(event.sequence))]
        if version.exec_trans_type:
            fields.append(("20", "3" if status_report else "0"))
        if last_quantity is not None:
            fields += [("31", self.price(symbol, last_price)), ("32", str(last_quantity))]
        fields.append(("37", order_id))
        if quantity is not None and quantity > 0:
            fields.append(("38", str(quantity)))
        fields.append(("39", ord_status))
        if order_type is not None:
            fields.append(("40", ORD_TYPE[order_type]))
        if orig_client_order_id is not None:
            fields.append(("41", orig_client_order_id))
        if price is not None:
            fields.append(("44", self.price(symbol, price)))
        fields += [("54", SIDE[side] if side is not None else side_code or "1"), ("55", symbol)]
        if text:
            fields.append(("58", text))
        if time_in_force is not None:
            fields.append(("59", TIME_IN_FORCE[time_in_force]))
        fields.append(("60", fix_timestamp(event.timestamp_ns)))
        if stop_price is not None:
            fields.append(("99", self.price(symbol, stop_price)))
        if ord_rej_reason is not None:
            fields.append(("103", str(ord_rej_reason)))
        fields += [("150", exec_type), ("151", str(leaves))]
        if restated:  # True: the venue's own option; else the ExecRestatementReason itself
            fields.append(("378", BROKER_OPTION if restated is True else restated))
        if last_quantity is not None:
            if version.liquidity_indicator and aggressor is not None:
                fields.append(("851", "2" if aggressor else "1"))  # 2 removed, 1 added liquidity
            if version.trade_match_id and trade_id is not None:
                fields.append(("880", str(trade_id)))
        return _body(fields)

    def _accepted(self, e: OrderAccepted, v: FixVersion, _: Mapping[str, str]) -> str:
        if e.stop_price is None and e.price is not None:  # the common case, written in one piece
            return (f"35=8\x016=0\x0111={e.client_order_id}\x0114=0\x0117={e.sequence}\x01"
                    f"{'20=0' + SOH if v.exec_trans_type else ''}37={e.order_id}\x0138={e.quantity}\x0139=0\x01"
                    f"40={ORD_TYPE[e.order_type]}\x0144={self.price(e.symbol, e.price)}\x0154={SIDE[e.side]}\x01"
                    f"55={e.symbol}\x0159={TIME_IN_FORCE[e.time_in_force]}\x0160={fix_timestamp(e.timestamp_ns)}\x01"
                    f"150=0\x01151={e.quantity}\x01")
        return self._execution_report(
            v, e, exec_type="0", ord_status="0", order_id=str(e.order_id), client_order_id=e.client_order_id,
            symbol=e.symbol, side=e.side, leaves=e.quantity, cum=0, cum_notional=0, quantity=e.quantity,
            price=e.price, stop_price=e.stop_price, order_type=e.order_type, time_in_force=e.time_in_force)

    def _rejected(self, e: OrderRejected, v: FixVersion, request: Mapping[str, str]) -> str:
        return self._execution_report(
            v, e, exec_type=REJECTED, ord_status=REJECTED, order_id=NO_ORDER_ID, client_order_id=e.client_order_id,
            symbol=e.symbol or request.get("55", "NONE"), side=e.side, side_code=request.get("54"), leaves=0, cum=0,
            cum_notional=0, quantity=e.quantity, order_type=e.order_type, ord_rej_reason=v.ord_rej_reason(e.reason),
            text=e.text)

    def _filled(self, e: OrderFilled, v: FixVersion, _: Mapping[str, str]) -> str:
        done = e.leaves_quantity == 0
        if v.trade_exec_type:
            exec_type = "F"
        else:
            exec_type = "2" if done else "1"
        return self._execution_report(
            v, e, exec_type=exec_type, ord_status="2" if done else "1", order_id=str(e.order_id),
            client_order_id=e.client_order_id, symbol=e.symbol, side=e.side, leaves=e.leaves_quantity,
            cum=e.cum_quantity, cum_notional=e.cum_notional, quantity=e.quantity, price=e.price,
            last_price=e.last_price, last_quantity=e.last_quantity, trade_id=e.trade_id, aggressor=e.aggressor)

    def _cancelled(self, e: OrderCancelled, v: FixVersion, _: Mapping[str, str]) -> str:
        return self._execution_report(
            v, e, exec_type="4", ord_status="4", order_id=str(e.order_id), client_order_id=e.client_order_id,
            orig_client_order_id=e.orig_client_order_id, symbol=e.symbol, side=e.side, leaves=0,
            cum=e.cum_quantity, cum_notional=e.cum_notional, quantity=e.quantity, price=e.price,
            text=CANCEL_TEXT[e.reason])

    def _replaced(self, e: OrderReplaced, v: FixVersion, _: Mapping[str, str]) -> str:
        status = "5" if v.name == "FIX.4.2" else ("1" if e.cum_quantity else "0")
        return self._execution_report(
            v, e, exec_type="5", ord_status=status, order_id=str(e.order_id), client_order_id=e.client_order_id,
            orig_client_order_id=e.orig_client_order_id, symbol=e.symbol, side=e.side, leaves=e.leaves_quantity,
            cum=e.cum_quantity, cum_notional=e.cum_notional, quantity=e.quantity, price=e.price,
            stop_price=e.stop_price, order_type=e.order_type, time_in_force=e.time_in_force)

    def _restated(self, e: OrderRestated, v: FixVersion, _: Mapping[str, str]) -> str:
        return self._execution_report(
            v, e, exec_type="D", ord_status="1" if e.cum_quantity else "0", order_id=str(e.order_id),
            client_order_id=e.client_order_id, symbol=e.symbol, side=e.side, leaves=e.leaves_quantity,
            cum=e.cum_quantity, cum_notional=e.cum_notional, quantity=e.quantity, price=e.price, restated=True,
            text=f"quantity reduced by {e.reduced_by}: {CANCEL_TEXT[e.reason] or e.reason.value}")

    def _repriced(self, e: OrderRepriced, v: FixVersion, _: Mapping[str, str]) -> str:
        return self._execution_report(
            v, e, exec_type="D", ord_status="1" if e.cum_quantity else "0", order_id=str(e.order_id),
            client_order_id=e.client_order_id, symbol=e.symbol, side=e.side, leaves=e.leaves_quantity,
            cum=e.cum_quantity, cum_notional=e.cum_notional, quantity=e.quantity, price=e.price,
            restated=REPRICING_OF_ORDER,
            text=f"repriced from {self.price(e.symbol, e.previous_price)} to {self.price(e.symbol, e.price)}, "
                 f"the edge of the price band (circuit breaker): the order rests there")

    def _expired(self, e: OrderExpired, v: FixVersion, _: Mapping[str, str]) -> str:
        return self._execution_report(
            v, e, exec_type="C", ord_status="C", order_id=str(e.order_id), client_order_id=e.client_order_id,
            symbol=e.symbol, side=e.side, leaves=0, cum=e.cum_quantity, cum_notional=e.cum_notional,
            quantity=e.quantity, price=e.price, time_in_force=e.time_in_force)

    def _triggered(self, e: OrderTriggered, v: FixVersion, _: Mapping[str, str]) -> str:
        # 5.0 SP2 has ExecType L "triggered by the system"; older versions report a venue restatement.
        return self._execution_report(
            v, e, exec_type="L" if v.triggered_exec_type else "D", ord_status="0", order_id=str(e.order_id),
            client_order_id=e.client_order_id, symbol=e.symbol, side=e.side, leaves=e.quantity, cum=0,
            cum_notional=0, quantity=e.quantity, price=e.price, stop_price=e.stop_price,
            restated=not v.triggered_exec_type,
            text=f"stop triggered at {self.price(e.symbol, e.trigger_price)}; working as {e.order_type.value}")

    def _status(self, e: OrderStatusReported, v: FixVersion, _: Mapping[str, str]) -> str:
        status = ORD_STATUS[e.status]
        return self._execution_report(
            v, e, exec_type=status if v.exec_trans_type else "I", ord_status=status, order_id=str(e.order_id),
            client_order_id=e.client_order_id, symbol=e.symbol, side=e.side, leaves=e.leaves_quantity,
            cum=e.cum_quantity, cum_notional=e.cum_notional, quantity=e.quantity, price=e.price,
            stop_price=e.stop_price, order_type=e.order_type, time_in_force=e.time_in_force, status_report=True)

    def _status_rejected(self, e: StatusQueryRejected, v: FixVersion, request: Mapping[str, str]) -> str:
        return self._execution_report(
            v, e, exec_type=REJECTED if v.exec_trans_type else "I", ord_status=REJECTED,
            order_id=str(e.order_id) if e.order_id is not None else request.get("37", NO_ORDER_ID),
            client_order_id=e.client_order_id or request.get("11", NO_ORDER_ID),
            symbol=request.get("55", "NONE"), side=None, side_code=request.get("54"), leaves=0, cum=0,
            cum_notional=0,
            ord_rej_reason=v.ord_rej_reason(e.reason), text=e.text, status_report=True)

    # ------------------------------------------------------------------ other replies

    def _cancel_rejected(self, e: CancelRejected, v: FixVersion, _: Mapping[str, str]) -> str:
        return _body([  # ascending tags, as in _execution_report
            ("35", "9"), ("11", e.client_order_id), ("37", str(e.order_id) if e.order_id is not None else NO_ORDER_ID),
            ("39", ORD_STATUS[e.order_status] if e.order_status is not None else REJECTED),
            ("41", e.orig_client_order_id or NO_ORDER_ID), ("58", e.text), ("102", str(v.cxl_rej_reason(e.reason))),
            ("434", "1" if e.response_to is ReplyTo.CANCEL else "2"),
        ])

    def _mass_cancel_completed(self, e: MassCancelCompleted, v: FixVersion, request: Mapping[str, str]) -> str | None:
        if e.request_id is None or not v.mass_cancel_reject_reasons:
            return None  # the venue's own mass cancel (on disconnect) has no one to report to
        request_type = request.get("530", "1" if e.symbol else "7")
        fields = [("35", "r"), ("11", e.request_id), ("37", f"MC{e.sequence}")]
        if v.mass_action_report_id:
            fields.append(("1369", f"MC{e.sequence}"))
        fields += [("530", request_type), ("531", request_type), ("533", str(len(e.cancelled_order_ids)))]
        if e.symbol is not None:
            fields.append(("55", e.symbol))
        if e.side is not None:
            fields.append(("54", SIDE[e.side]))
        fields.append(("60", fix_timestamp(e.timestamp_ns)))
        return _body(fields)

    def _mass_cancel_rejected(self, e: MassCancelRejected, v: FixVersion, request: Mapping[str, str]) -> str | None:
        if not v.mass_cancel_reject_reasons:
            return None
        return mass_cancel_reject(v, e.request_id, request.get("530", "7"), f"MC{e.sequence}",
                                  v.mass_cancel_reject_reason(e.reason), e.text)


def mass_cancel_reject(version: FixVersion, request_id: str, request_type: str, report_id: str, reason: int,
                       text: str) -> str:
    fields = [("35", "r"), ("11", request_id), ("37", report_id)]
    if version.mass_action_report_id:
        fields.append(("1369", report_id))
    fields += [("530", request_type), ("531", "0"), ("532", str(reason)), ("58", text)]
    return _body(fields)


def business_reject(version: FixVersion, ref_seq_num: str | None, ref_msg_type: str, reason: int, text: str,
                    ref_id: str | None = None) -> str:
    fields = [("35", "j")]
    if ref_seq_num:
        fields.append(("45", ref_seq_num))
    fields.append(("372", ref_msg_type))
    if ref_id:
        fields.append(("379", ref_id))
    fields += [("380", str(version.business_reject_reason(reason))), ("58", text)]
    return _body(fields)


def _body(fields: list[tuple[str, str | None]]) -> str:
    return "".join([f"{tag}={value}{SOH}" for tag, value in fields if value is not None])


_RENDERERS = {
    OrderAccepted: Outbound._accepted,
    OrderRejected: Outbound._rejected,
    OrderFilled: Outbound._filled,
    OrderCancelled: Outbound._cancelled,
    OrderReplaced: Outbound._replaced,
    OrderRestated: Outbound._restated,
    OrderRepriced: Outbound._repriced,
    OrderExpired: Outbound._expired,
    OrderTriggered: Outbound._triggered,
    OrderStatusReported: Outbound._status,
    StatusQueryRejected: Outbound._status_rejected,
    CancelRejected: Outbound._cancel_rejected,
    MassCancelCompleted: Outbound._mass_cancel_completed,
    MassCancelRejected: Outbound._mass_cancel_rejected,
}
