"""Credit and position limits: what each firm has at stake, kept from the core's events.

Per firm: the open notional of its resting orders (leaves x price; the stop price for
a stop not yet triggered, the reference price for an order with neither) plus the
notional it executed today is its credit usage; per firm and symbol: its net
position (bought minus sold) and the quantity its open buys and sells could add.

A new order is refused if it could take the firm past its credit limit, or its
position past the long or short limit should every open order on that side fill,
or while the firm's loss today (what its trades today earned or lost, with every
position marked to the symbol's last trade price) is beyond its daily loss limit.
Crossing 80% of a credit limit raises an alert once per firm per day.

Pure and exact: integer units in, no clock, no I/O. All notionals are in one unit
(the finest price unit of any instrument) so one limit in currency covers them all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from matching import (
    AmendedOrder, Event, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejectReason,
    OrderReplaced, OrderRepriced, OrderRestated, OrderTriggered, Side, SubmitOrder,
)
from risk.limits import LimitBreach

log = logging.getLogger("fixex.risk")

ALERT_FRACTION_PERCENT = 80


@dataclass(frozen=True, slots=True)
class ExposureLimits:
    credit_units: int | None  # None: no credit limit
    max_position: int | None  # None: no position limit; else the most the firm may be long or short
    max_daily_loss_units: int | None = None  # None: no loss limit


@dataclass(slots=True)
class _OpenOrder:
    firm: str
    symbol: str
    side: Side
    price: int  # in the common unit
    leaves: int


@dataclass(slots=True)
class _Firm:
    open_notional: int = 0
    executed_notional: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    open_buys: dict[str, int] = field(default_factory=dict)
    open_sells: dict[str, int] = field(default_factory=dict)
    alerted: bool = False
    cash_today: int = 0  # sells minus buys since the day began
    positions_at_open: dict[str, int] = field(default_factory=dict)
    marks_at_open: dict[str, int] = field(default_factory=dict)


# The events that change what a firm has at stake.
_TRACKED = frozenset({OrderAccepted, OrderFilled, OrderCancelled, OrderExpired, OrderReplaced, OrderRestated,
                      OrderTriggered, OrderRepriced})


class FirmExposure:
    def __init__(self, limits: Mapping[str, ExposureLimits], reference_prices: Mapping[str, int],
                 price_scale: Mapping[str, int], format_notional) -> None:
        self._limits = dict(limits)
        self._reference = dict(reference_prices)  # common unit
        self._scale = dict(price_scale)
        self._format = format_notional  # common units -> text in currency
        self._firms: dict[str, _Firm] = {}
        self._orders: dict[int, _OpenOrder] = {}
        self._marks: dict[str, int] = {}  # last trade price per symbol, common unit
        self.alerts: list[str] = []

    # ------------------------------------------------------------------ state

    @property
    def limits(self) -> dict[str, ExposureLimits]:
        return dict(self._limits)

    def set_limits(self, limits: Mapping[str, ExposureLimits]) -> None:
        """New limits (the operator reloaded them); what the firms have at stake is kept."""
        self._limits = dict(limits)

    def firm(self, firm_id: str) -> _Firm:
        state = self._firms.get(firm_id)
        if state is None:
            state = self._firms[firm_id] = _Firm()
        return state

    def credit_used(self, firm_id: str) -> int:
        state = self.firm(firm_id)
        return state.open_notional + state.executed_notional

    def position(self, firm_id: str, symbol: str) -> int:
        return self.firm(firm_id).positions.get(symbol, 0)

    def _mark(self, symbol: str) -> int:
        return self._marks.get(symbol, self._reference.get(symbol, 0))

    def profit_today(self, firm_id: str) -> int:
        """Realized and unrealized P&L since the day began, positions marked to the last trade."""
        state = self.firm(firm_id)
        now = sum(quantity * self._mark(symbol) for symbol, quantity in state.positions.items())
        then = sum(quantity * state.marks_at_open.get(symbol, self._mark(symbol))
                   for symbol, quantity in state.positions_at_open.items())
        return state.cash_today + now - then

    def apply(self, events: Iterable[Event]) -> None:
        tracked = _TRACKED
        for event in events:
            kind = type(event)
            if kind not in tracked:  # book levels, trade prints, replies: most events
                continue
            if kind is OrderAccepted:
                price = event.price if event.price is not None else event.stop_price
                self._open(event.order_id, event.firm, event.symbol, event.side, price, event.quantity)
            elif kind is OrderFilled:
                state = self._firms.get(event.firm) or self.firm(event.firm)
                price = event.last_price * self._scale.get(event.symbol, 1)
                notional = price * event.last_quantity
                state.executed_notional += notional
                state.cash_today += -notional if event.side is Side.BUY else notional
                self._marks[event.symbol] = price
                signed = event.last_quantity if event.side is Side.BUY else -event.last_quantity
                state.positions[event.symbol] = state.positions.get(event.symbol, 0) + signed
                self._set_leaves(event.order_id, event.leaves_quantity)
                self._check_alert(event.firm, state)
            elif kind is OrderCancelled or kind is OrderExpired:
                self._set_leaves(event.order_id, 0)
            elif kind is OrderReplaced:
                order = self._orders.get(event.order_id)
                if order is not None:
                    self._set_leaves(event.order_id, 0)
                    price = event.price if event.price is not None else event.stop_price
                    self._open(event.order_id, order.firm, order.symbol, order.side, price, event.leaves_quantity)
            elif kind is OrderRestated:
                self._set_leaves(event.order_id, event.leaves_quantity)
            elif kind is OrderRepriced:  # slid to the band edge: its open notional moves with it
                order = self._orders.get(event.order_id)
                if order is not None:
                    self._set_leaves(event.order_id, 0)
                    self._open(event.order_id, order.firm, order.symbol, order.side, event.price,
                                event.leaves_quantity)
            elif kind is OrderTriggered and event.price is not None:
                order = self._orders.get(event.order_id)
                if order is not None:
                    leaves = order.leaves
                    self._set_leaves(event.order_id, 0)
                    self._open(event.order_id, order.firm, order.symbol, order.side, event.price, leaves)

    def end_trading_day(self) -> None:
        """Executed notional counts per day; positions and open orders carry over."""
        for state in self._firms.values():
            state.executed_notional = 0
            state.alerted = False
            state.cash_today = 0
            state.positions_at_open = dict(state.positions)
            state.marks_at_open = {symbol: self._mark(symbol) for symbol in state.positions}

    def _open(self, order_id: int, firm: str, symbol: str, side: Side, price: int | None, leaves: int) -> None:
        common = price * self._scale.get(symbol, 1) if price is not None else self._reference.get(symbol, 0)
        state = self._firms.get(firm) or self.firm(firm)
        if leaves:
            self._orders[order_id] = _OpenOrder(firm, symbol, side, common, leaves)
            state.open_notional += leaves * common
            book = state.open_buys if side is Side.BUY else state.open_sells
            book[symbol] = book.get(symbol, 0) + leaves
        self._check_alert(firm, state)

    def _set_leaves(self, order_id: int, leaves: int) -> None:
        order = self._orders.get(order_id)
        if order is None:
            return
        state = self._firms[order.firm]  # made when the order was opened
        change = leaves - order.leaves
        state.open_notional += change * order.price
        book = state.open_buys if order.side is Side.BUY else state.open_sells
        book[order.symbol] += change
        order.leaves = leaves
        if leaves == 0:
            del self._orders[order_id]

    def _check_alert(self, firm: str, state: _Firm | None = None) -> None:
        if state is None:
            state = self.firm(firm)
        if state.alerted:
            return
        limits = self._limits.get(firm)
        if limits is None or limits.credit_units is None:
            return
        used = state.open_notional + state.executed_notional
        if used * 100 >= limits.credit_units * ALERT_FRACTION_PERCENT:
            state.alerted = True
            text = (f"credit alert: firm {firm} has used {self._format(used)} of its "
                    f"{self._format(limits.credit_units)} credit limit (80% or more)")
            self.alerts.append(text)
            log.warning(text)

    # ------------------------------------------------------------------ pre-trade

    def check(self, order: SubmitOrder) -> LimitBreach | None:
        price = self._common_price(order.symbol, order.price, order.stop_price)
        return self._check(order.firm, order.symbol, order.side, price * order.quantity, order.quantity,
                           "this order's")

    def check_amend(self, amended: AmendedOrder) -> LimitBreach | None:
        """A replace (see MatchingEngine.amended_order), by what it adds: the order's open notional and quantity
        as they would be, less what they are. A replace that adds nothing always passes."""
        current = self._orders.get(amended.order_id)
        notional_now, leaves_now = (current.price * current.leaves, current.leaves) if current is not None else (0, 0)
        price = self._common_price(amended.symbol, amended.price, amended.stop_price)
        added_notional = price * amended.leaves_quantity - notional_now
        added_quantity = amended.leaves_quantity - leaves_now
        if added_notional <= 0 and added_quantity <= 0:
            return None
        return self._check(amended.firm, amended.symbol, amended.side, max(0, added_notional), max(0, added_quantity),
                           "this replace's added")

    def _common_price(self, symbol: str, price: int | None, stop_price: int | None) -> int:
        own = price if price is not None else stop_price
        return own * self._scale.get(symbol, 1) if own is not None else self._reference.get(symbol, 0)

    def _check(self, firm: str, symbol: str, side: Side, added_notional: int, added_quantity: int,
               what: str) -> LimitBreach | None:
        limits = self._limits.get(firm)
        if limits is None:
            return None
        state = self.firm(firm)
        if limits.max_daily_loss_units is not None:
            loss = -self.profit_today(firm)
            if loss > limits.max_daily_loss_units:
                return LimitBreach(OrderRejectReason.EXCEEDS_LIMIT,
                                   f"daily loss: the firm has lost {self._format(loss)} today (positions marked to "
                                   f"the last trade), beyond its limit of {self._format(limits.max_daily_loss_units)}"
                                   f" (risk max_daily_loss); new orders are refused", "max_daily_loss")
        if limits.credit_units is not None:
            used = state.open_notional + state.executed_notional
            if used + added_notional > limits.credit_units:
                return LimitBreach(OrderRejectReason.EXCEEDS_LIMIT,
                                   f"credit: {what} {self._format(added_notional)} on top of "
                                   f"{self._format(used)} in use (open and executed today) exceeds the firm's "
                                   f"limit of {self._format(limits.credit_units)} (risk credit_limit)", "credit_limit")
        if limits.max_position is not None and added_quantity:
            position = state.positions.get(symbol, 0)
            if side is Side.BUY:
                worst = position + state.open_buys.get(symbol, 0) + added_quantity
                if worst > limits.max_position:
                    return LimitBreach(OrderRejectReason.EXCEEDS_LIMIT,
                                       f"position: {symbol} long {worst} if every open buy filled, above the "
                                       f"firm's limit of {limits.max_position} (risk max_position; now {position})",
                                       "max_position")
            else:
                worst = position - state.open_sells.get(symbol, 0) - added_quantity
                if -worst > limits.max_position:
                    return LimitBreach(OrderRejectReason.EXCEEDS_LIMIT,
                                       f"position: {symbol} short {-worst} if every open sell filled, above "
                                       f"the firm's limit of {limits.max_position} (risk max_position; now "
                                       f"{position})", "max_position")
        return None
