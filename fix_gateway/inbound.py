"""FIX to commands: one application message, read as one string, becomes one command.

QuickFIX has already checked the message against the session's data dictionary
(required fields present, values of the right type and enumeration), so what is
left is meaning: prices become integer price units, quantities integers, codes
become the core's enums. What cannot be translated becomes a recorded reject
(RejectOrder / RejectCancel) with the reason and a readable Text, so that it is
numbered and audited like any other outcome.
"""

from __future__ import annotations

import calendar
import time as _time
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Mapping

from config import InstrumentSettings
from fix_gateway.versions import FixVersion
from matching import (
    CancelOrder, CancelRejectReason, MassCancel, OrderRejectReason, OrderType, QueryOrder, RejectCancel,
    RejectOrder, ReplaceOrder, ReplyTo, SelfTradePrevention, Side, SubmitOrder, TimeInForce,
)

SOH = "\x01"
SIDES = {"1": Side.BUY, "2": Side.SELL}
ORDER_TYPES = {"1": OrderType.MARKET, "2": OrderType.LIMIT, "3": OrderType.STOP, "4": OrderType.STOP_LIMIT}
TIMES_IN_FORCE = {"0": TimeInForce.DAY, "1": TimeInForce.GTC, "3": TimeInForce.IOC, "4": TimeInForce.FOK,
                  "6": TimeInForce.GTD}
# SelfMatchPreventionInstruction (2964, FIX 5.0 SP2): 1 cancel aggressive, 2 cancel passive, 3 both.
SELF_MATCH_INSTRUCTIONS = {"1": SelfTradePrevention.CANCEL_INCOMING, "2": SelfTradePrevention.CANCEL_RESTING,
                           "3": SelfTradePrevention.CANCEL_BOTH}
MASS_CANCEL_FOR_SECURITY, MASS_CANCEL_ALL = "1", "7"


def parse(raw: str) -> dict[str, str]:
    """tag -> value for a raw FIX message; the first occurrence wins (we read no repeating groups)."""
    pairs = raw.split(SOH)
    pairs.reverse()  # so that in dict() the first occurrence is written last and wins
    return dict(pair.split("=", 1) for pair in pairs if pair)


@dataclass(frozen=True, slots=True)
class SessionContext:
    """Who sent a message, and the defaults that apply to it."""

    comp_id: str
    firm: str
    version: FixVersion
    self_trade_prevention: SelfTradePrevention | None  # the firm's configured default


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request answered by the gateway itself; it never becomes a command."""

    reason: int
    text: str


class _Untranslatable(Exception):
    def __init__(self, reason: OrderRejectReason, text: str) -> None:
        super().__init__(text)
        self.reason, self.text = reason, text


class Inbound:
    def __init__(self, instruments: Mapping[str, InstrumentSettings], trading_day_end: time) -> None:
        self._instruments = instruments
        self._trading_day_end = trading_day_end
        self._price_units: dict[tuple[str, str], int] = {}  # (symbol, price text): a Decimal parse costs µs

    def _price(self, instrument: InstrumentSettings, f: Mapping[str, str], tag: str, name: str) -> int | None:
        text = f.get(tag)
        if text is None:
            return None
        key = (instrument.symbol, text)
        units = self._price_units.get(key)
        if units is None:
            units = instrument.to_units(_decimal(text, name))
            if units is None:
                raise _Untranslatable(OrderRejectReason.INVALID_PRICE_INCREMENT,
                                      f"{name} {text} is not a multiple of the tick {instrument.tick_size}")
            if len(self._price_units) >= 100_000:
                self._price_units.clear()
            self._price_units[key] = units
        return units

    # ------------------------------------------------------------------ NewOrderSingle (D)

    def new_order(self, f: Mapping[str, str], ctx: SessionContext) -> SubmitOrder | RejectOrder:
        client_order_id = f["11"]
        symbol = f.get("55", "")
        side = SIDES.get(f.get("54", ""))
        order_type = ORDER_TYPES.get(f.get("40", ""))
        try:
            quantity = _quantity(f)
            if side is None:
                raise _Untranslatable(OrderRejectReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                                      f"Side {f.get('54')} is not supported; use 1 (buy) or 2 (sell)")
            if order_type is None:
                raise _Untranslatable(OrderRejectReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                                      f"OrdType {f.get('40')} is not supported; use 1 market, 2 limit, 3 stop "
                                      f"or 4 stop limit")
            instrument = self._instrument(symbol)
            price = self._price(instrument, f, "44", "Price")
            stop_price = self._price(instrument, f, "99", "StopPx")
            time_in_force = TIMES_IN_FORCE.get(f.get("59", "0"))
            if time_in_force is None:
                raise _Untranslatable(OrderRejectReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                                      f"TimeInForce {f.get('59')} is not supported; use 0 day, 1 GTC, 3 IOC, "
                                      f"4 FOK or 6 GTD")
            expire_time_ns = self._expire_time(f) if time_in_force is TimeInForce.GTD else None
            self_trade_prevention, self_match_id = self._self_trade_prevention(f, ctx)
        except _Untranslatable as problem:
            return RejectOrder(ctx.comp_id, ctx.firm, client_order_id, symbol, side, order_type,
                               _quantity_or_zero(f), None, problem.reason, problem.text)
        return SubmitOrder(
            ctx.comp_id, ctx.firm, client_order_id, symbol, side, order_type, quantity, price, stop_price,
            time_in_force, expire_time_ns, self_trade_prevention, self_match_id, possible_resend=_resent(f))

    # ------------------------------------------------------------------ cancel (F) and replace (G)

    def cancel(self, f: Mapping[str, str], ctx: SessionContext) -> CancelOrder | RejectCancel:
        order_id, problem = _order_id(f)
        if problem is not None:
            return RejectCancel(ctx.comp_id, ctx.firm, f["11"], f.get("41"), None, ReplyTo.CANCEL,
                                CancelRejectReason.UNKNOWN_ORDER, problem)
        return CancelOrder(ctx.comp_id, ctx.firm, f["11"], f.get("41"), order_id, possible_resend=_resent(f))

    def replace(self, f: Mapping[str, str], ctx: SessionContext) -> ReplaceOrder | RejectCancel:
        client_order_id, orig = f["11"], f.get("41")
        order_id, problem = _order_id(f)
        if problem is not None:
            return RejectCancel(ctx.comp_id, ctx.firm, client_order_id, orig, None, ReplyTo.REPLACE,
                                CancelRejectReason.UNKNOWN_ORDER, problem)
        try:
            quantity = _quantity(f)
            side = SIDES.get(f.get("54", ""))
            order_type = ORDER_TYPES.get(f.get("40", ""))
            if side is None or order_type is None:
                raise _Untranslatable(OrderRejectReason.OTHER, "Side and OrdType must be those of the order")
            instrument = self._instrument(f.get("55", ""))
            price = self._price(instrument, f, "44", "Price")
            stop_price = self._price(instrument, f, "99", "StopPx")
        except _Untranslatable as untranslatable:
            reason = (CancelRejectReason.INVALID_PRICE_INCREMENT
                      if untranslatable.reason is OrderRejectReason.INVALID_PRICE_INCREMENT else CancelRejectReason.OTHER)
            return RejectCancel(ctx.comp_id, ctx.firm, client_order_id, orig, order_id, ReplyTo.REPLACE, reason,
                                untranslatable.text)
        return ReplaceOrder(ctx.comp_id, ctx.firm, client_order_id, quantity, orig, order_id, price, stop_price,
                            instrument.symbol, side, order_type, possible_resend=_resent(f))

    # ------------------------------------------------------------------ status (H) and mass cancel (q)

    def status(self, f: Mapping[str, str], ctx: SessionContext) -> QueryOrder:
        order_id, problem = _order_id(f)
        return QueryOrder(ctx.comp_id, ctx.firm, f.get("11"), order_id if problem is None else -1)

    def mass_cancel(self, f: Mapping[str, str], ctx: SessionContext) -> MassCancel | Refusal:
        """Mass cancel covers the sending session's orders: by security (530=1) or all (530=7), optionally one side."""
        request_type = f.get("530")
        side = SIDES.get(f.get("54", "")) if "54" in f else None
        if request_type == MASS_CANCEL_ALL:
            return MassCancel(ctx.comp_id, ctx.firm, f["11"], only_session=ctx.comp_id, side=side)
        if request_type == MASS_CANCEL_FOR_SECURITY:
            return MassCancel(ctx.comp_id, ctx.firm, f["11"], only_session=ctx.comp_id, symbol=f.get("55", ""),
                              side=side)
        return Refusal(0, f"MassCancelRequestType {request_type} is not supported; use 1 (by security) or 7 (all)")

    # ------------------------------------------------------------------ pieces

    def _instrument(self, symbol: str) -> InstrumentSettings:
        instrument = self._instruments.get(symbol)
        if instrument is None:
            raise _Untranslatable(OrderRejectReason.UNKNOWN_SYMBOL,
                                  f"unknown symbol {symbol!r}" if symbol else "Symbol (55) is required")
        return instrument

    def _expire_time(self, f: Mapping[str, str]) -> int | None:
        if "126" in f:
            return _utc_timestamp_ns(f["126"])
        if "432" in f:  # ExpireDate: the end of that trading day
            day = f["432"]
            end = self._trading_day_end
            seconds = calendar.timegm((int(day[0:4]), int(day[4:6]), int(day[6:8]), end.hour, end.minute, 0))
            return seconds * 1_000_000_000
        return None

    @staticmethod
    def _self_trade_prevention(f: Mapping[str, str], ctx: SessionContext) -> tuple[SelfTradePrevention | None,
                                                                                   str | None]:
        if ctx.version.self_match_prevention and "2964" in f:
            instruction = SELF_MATCH_INSTRUCTIONS.get(f["2964"])
            if instruction is None:
                raise _Untranslatable(OrderRejectReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                                      f"SelfMatchPreventionInstruction {f['2964']} is not supported")
            return instruction, f.get("2362")
        return ctx.self_trade_prevention, f.get("2362") if ctx.version.self_match_prevention else None


def _resent(f: Mapping[str, str]) -> bool:
    return f.get("97") == "Y"


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Untranslatable(OrderRejectReason.OTHER, f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise _Untranslatable(OrderRejectReason.OTHER, f"{what} {text!r} is not a number")
    return value


def _quantity(f: Mapping[str, str]) -> int:
    if "38" not in f:
        raise _Untranslatable(OrderRejectReason.INCORRECT_QUANTITY, "OrderQty (38) is required")
    value = _decimal(f["38"], "OrderQty")
    if value != value.to_integral_value():
        raise _Untranslatable(OrderRejectReason.INCORRECT_QUANTITY, f"OrderQty {f['38']} must be a whole number")
    return int(value)


def _quantity_or_zero(f: Mapping[str, str]) -> int:
    try:
        return _quantity(f)
    except _Untranslatable:
        return 0


def _order_id(f: Mapping[str, str]) -> tuple[int | None, str | None]:
    if "37" not in f:
        return None, None
    text = f["37"]
    if not text.isdigit():
        return None, f"OrderID {text!r} is not one of this venue's order ids"
    return int(text), None


def _utc_timestamp_ns(text: str) -> int:
    """FIX UTCTimestamp (YYYYMMDD-HH:MM:SS[.fff...]) to nanoseconds since the epoch."""
    whole, _, fraction = text.partition(".")
    try:
        parsed = _time.strptime(whole, "%Y%m%d-%H:%M:%S")
    except ValueError:
        raise _Untranslatable(OrderRejectReason.OTHER, f"ExpireTime {text!r} is not a UTC timestamp") from None
    nanos = int((fraction + "000000000")[:9]) if fraction.isdigit() else 0
    return calendar.timegm(parsed) * 1_000_000_000 + nanos
