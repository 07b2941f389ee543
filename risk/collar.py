"""Price collars: a limit order priced too far through the market is refused.

A buy may be priced at most `percent` above the best offer, a sell at most
`percent` below the best bid; with no opposite side, the instrument's reference
price is the anchor. This catches fat fingers (a buy at 1,900.00 for 190.00)
before they sweep the book. Pure and exact: prices are integer units and the
percentage a Fraction, so no float ever decides a reject.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Callable, Mapping

from matching import OrderRejectReason, OrderType, Side, SubmitOrder
from risk.limits import LimitBreach

PRICED = (OrderType.LIMIT, OrderType.STOP_LIMIT)


class PriceCollars:
    def __init__(self, percent_by_firm: Mapping[str, Fraction], reference_prices: Mapping[str, int],
                 format_price: Callable[[str, int], str]) -> None:
        self._percent = dict(percent_by_firm)
        self._reference_prices = dict(reference_prices)
        self._format = format_price

    def check(self, order: SubmitOrder, best_bid: int | None, best_offer: int | None) -> LimitBreach | None:
        percent = self._percent.get(order.firm)
        if percent is None or order.order_type not in PRICED or order.price is None:
            return None
        buying = order.side is Side.BUY
        best = best_offer if buying else best_bid
        anchor = best if best is not None else self._reference_prices.get(order.symbol)
        if anchor is None:
            return None
        factor = 1 + percent / 100 if buying else 1 - percent / 100
        bound = anchor * factor
        if (order.price > bound) if buying else (order.price < bound):
            what = ("best offer" if buying else "best bid") if best is not None else "reference price"
            direction = "above" if buying else "below"
            show = self._format
            return LimitBreach(OrderRejectReason.PRICE_EXCEEDS_BAND,
                               f"{'buy' if buying else 'sell'} price {show(order.symbol, order.price)} is more than "
                               f"{_percent_text(percent)}% {direction} the {what} {show(order.symbol, anchor)} "
                               f"(collar {show(order.symbol, int(bound))}; risk price_collar_percent)")
        return None


def _percent_text(percent: Fraction) -> str:
    return format((Decimal(percent.numerator) / Decimal(percent.denominator)).normalize(), "f")
