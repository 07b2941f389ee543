"""Price collars: a limit order priced too far through the market is refused.

A buy may be priced at most `percent` (or `ticks` ticks) above the best offer, a
sell at most that far below the best bid; with no opposite side, the instrument's
reference price is the anchor. With both a percentage and a number of ticks set
for a firm, the tighter bound applies. This catches fat fingers (a buy at
1,900.00 for 190.00) before they sweep the book. The same check applies to the
new price of a replace, and the same bound protects market orders: they may not
trade beyond it (a firm without a collar gets its market order protection
percentage instead). Pure and exact: prices are integer units and percentages
Fractions, so no float ever decides a reject.
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
                 format_price: Callable[[str, int], str], *, ticks_by_firm: Mapping[str, int] | None = None,
                 tick_sizes: Mapping[str, int] | None = None,
                 protection_percent_by_firm: Mapping[str, Fraction] | None = None) -> None:
        self._percent = dict(percent_by_firm)
        self._ticks = dict(ticks_by_firm or {})
        self._tick_sizes = dict(tick_sizes or {})  # price units per tick, per symbol (1 when not given)
        self._protection = dict(protection_percent_by_firm or {})  # market orders of firms without a collar
        self._reference_prices = dict(reference_prices)
        self._format = format_price
        # Each percentage as integers, for the per-order test: a buy breaches when
        # price * scale > anchor * up, a sell when price * scale < anchor * down.
        self._percent_factors = {firm: (100 * p.denominator + p.numerator, 100 * p.denominator - p.numerator,
                                        100 * p.denominator) for firm, p in self._percent.items()}

    def check(self, order: SubmitOrder, best_bid: int | None, best_offer: int | None) -> LimitBreach | None:
        """A new limit or stop-limit order's price against the collar (market and stop orders pass)."""
        if order.order_type not in PRICED or order.price is None:
            return None
        return self.check_price(order.firm, order.symbol, order.side, order.price, best_bid, best_offer)

    def check_price(self, firm: str, symbol: str, side: Side, price: int, best_bid: int | None,
                    best_offer: int | None) -> LimitBreach | None:
        """A limit price (of a new order or a replace) against the firm's collar; None if within it."""
        factors = self._percent_factors.get(firm)
        ticks = self._ticks.get(firm)
        if factors is None and ticks is None:
            return None
        buying = side is Side.BUY
        best = best_offer if buying else best_bid
        anchor = best if best is not None else self._reference_prices.get(symbol)
        if anchor is None:
            return None
        # Integer comparisons first (every order pays for these); the text only for a breach.
        if factors is not None:
            up, down, scale = factors
            breached = price * scale > anchor * up if buying else price * scale < anchor * down
        else:
            breached = False
        if not breached and ticks is not None:
            step = ticks * self._tick_sizes.get(symbol, 1)
            breached = price > anchor + step if buying else price < anchor - step
        if not breached:
            return None
        bound, key, size = self._bound(firm, symbol, buying, anchor)
        if (price > bound) if buying else (price < bound):
            what = ("best offer" if buying else "best bid") if best is not None else "reference price"
            direction = "above" if buying else "below"
            show = self._format
            other = ""
            if firm in self._percent and firm in self._ticks:
                other = ("price_collar_ticks " + str(self._ticks[firm]) if key == "price_collar_percent" else
                         "price_collar_percent " + _percent_text(self._percent[firm]))
                other = f", the tighter of it and {other}"
            return LimitBreach(OrderRejectReason.PRICE_EXCEEDS_BAND,
                               f"{'buy' if buying else 'sell'} price {show(symbol, price)} is more than "
                               f"{size} {direction} the {what} {show(symbol, anchor)} "
                               f"(collar {show(symbol, _on_tick(bound, self._tick_sizes.get(symbol, 1), buying))}; "
                               f"risk {key}{other})", key)
        return None

    def protection_price(self, firm: str, symbol: str, side: Side, best_bid: int | None,
                         best_offer: int | None) -> int | None:
        """The worst price a market order may trade at: the collar's bound (the firm's market order
        protection percentage when it has no collar) from the best opposite price, or from the reference
        price when that side is empty; on the tick, rounded inward (a buy's down, a sell's up), and never
        below one tick. None when the firm has neither a collar nor a protection percentage."""
        buying = side is Side.BUY
        best = best_offer if buying else best_bid
        anchor = best if best is not None else self._reference_prices.get(symbol)
        if anchor is None:
            return None
        if firm in self._percent or firm in self._ticks:
            bound = Fraction(self._bound(firm, symbol, buying, anchor)[0])
        elif firm in self._protection:
            percent = self._protection[firm]
            bound = anchor * (1 + percent / 100) if buying else anchor * (1 - percent / 100)
        else:
            return None
        tick = self._tick_sizes.get(symbol, 1)
        return max(_on_tick(bound, tick, buying), tick)

    def _bound(self, firm: str, symbol: str, buying: bool, anchor: int) -> tuple[Fraction | int, str, str]:
        """The tighter of the firm's collars from `anchor`: (bound price, its config key, its size as text)."""
        bounds: list[tuple[Fraction | int, str, str]] = []
        percent = self._percent.get(firm)
        if percent is not None:
            bounds.append((anchor * (1 + percent / 100) if buying else anchor * (1 - percent / 100),
                           "price_collar_percent", f"{_percent_text(percent)}%"))
        ticks = self._ticks.get(firm)
        if ticks is not None:
            tick = self._tick_sizes.get(symbol, 1)
            bounds.append((anchor + ticks * tick if buying else anchor - ticks * tick, "price_collar_ticks",
                           f"{ticks} tick{'' if ticks == 1 else 's'} ({self._format(symbol, ticks * tick)})"))
        return min(bounds, key=lambda b: b[0]) if buying else max(bounds, key=lambda b: b[0])


def _on_tick(bound: Fraction | int, tick: int, buying: bool) -> int:
    """The furthest price on the tick grid within `bound`: a buy's rounded down, a sell's up."""
    return int(bound // tick if buying else -(-bound // tick)) * tick


def _percent_text(percent: Fraction) -> str:
    return format((Decimal(percent.numerator) / Decimal(percent.denominator)).normalize(), "f")
