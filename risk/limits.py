"""Per-order limits per firm (from config): restricted symbols, whether market orders are allowed,
maximum quantity and maximum notional.

Pure and O(1): no I/O, no clock. The gateway applies it inside the writer, before
the order reaches the book; a breach becomes a recorded reject naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping

from matching import AmendedOrder, OrderRejectReason, OrderType, SubmitOrder


@dataclass(frozen=True, slots=True)
class FirmLimits:
    max_order_quantity: int
    max_order_notional_units: int  # in price units x quantity, like the core's notionals
    restricted_symbols: frozenset[str] = frozenset()
    market_orders_allowed: bool = True


@dataclass(frozen=True, slots=True)
class LimitBreach:
    reason: OrderRejectReason
    text: str
    # The config key of the limit that refused the order (e.g. "credit_limit"), so callers can act on
    # one kind of breach without reading the text; None for refusals that are not a configured limit.
    limit: str | None = None


class OrderLimits:
    def __init__(self, limits: Mapping[str, FirmLimits], reference_prices: Mapping[str, int],
                 price_unit: Mapping[str, Decimal], price_scale: Mapping[str, int] | None = None) -> None:
        self._limits = dict(limits)
        # Notional limits are in one unit for all instruments: each symbol's prices are
        # multiplied by its scale to reach it (1 when every instrument has the same decimals).
        self._scale = dict(price_scale or {})
        self._reference_prices = dict(reference_prices)  # for market and stop orders, which have no price
        self._price_unit = dict(price_unit)

    def check(self, order: SubmitOrder | AmendedOrder) -> LimitBreach | None:
        limits = self._limits.get(order.firm)
        if limits is None:
            return None
        if order.symbol in limits.restricted_symbols:
            return LimitBreach(OrderRejectReason.OTHER,
                               f"{order.symbol} is on the firm's restricted list (risk restricted_symbols)",
                               "restricted_symbols")
        if not limits.market_orders_allowed and order.order_type in (OrderType.MARKET, OrderType.STOP):
            return LimitBreach(OrderRejectReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                               "market orders (and stops that become them) are not allowed for this firm; send "
                               "a limit or stop-limit order (risk market_orders)", "market_orders")
        if order.quantity > limits.max_order_quantity:
            return LimitBreach(OrderRejectReason.EXCEEDS_LIMIT,
                               f"order quantity {order.quantity} exceeds the firm's limit of "
                               f"{limits.max_order_quantity} (risk max_order_quantity)", "max_order_quantity")
        scale = self._scale.get(order.symbol, 1)
        own_price = order.price or order.stop_price
        price = own_price * scale if own_price is not None else self._reference_prices.get(order.symbol)
        if price is None:
            return None
        notional = price * order.quantity
        if notional > limits.max_order_notional_units:
            unit = self._price_unit[order.symbol]
            return LimitBreach(OrderRejectReason.EXCEEDS_LIMIT,
                               f"order notional {format((notional * unit).normalize(), 'f')} exceeds the firm's "
                               f"limit of {format((limits.max_order_notional_units * unit).normalize(), 'f')} "
                               f"(risk max_order_notional)", "max_order_notional")
        return None
