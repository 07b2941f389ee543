"""What market data is made of: aggregated books per price level and trade statistics.

Both are rebuilt from the matching core's events alone (`BookLevelChanged`,
`TradeExecuted`), the same way a subscriber rebuilds them from what we send.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import islice

from sortedcontainers import SortedDict

from marketdata.model import EntryType
from matching import BookLevelChanged, Side, TradeExecuted

Level = tuple[int, int]  # (quantity, order count)


class LevelBook:
    """One instrument's book aggregated by price: best first on each side."""

    __slots__ = ("symbol", "bids", "offers")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: SortedDict = SortedDict(lambda price: -price)  # best (highest) first
        self.offers: SortedDict = SortedDict()

    def side(self, side: Side) -> SortedDict:
        return self.bids if side is Side.BUY else self.offers

    def apply(self, event: BookLevelChanged) -> None:
        levels = self.side(event.side)
        if event.quantity == 0:
            levels.pop(event.price, None)
        else:
            levels[event.price] = (event.quantity, event.order_count)

    def top(self, side: Side, depth: int) -> dict[int, Level]:
        """The best `depth` levels (all for depth 0) as price -> (quantity, orders)."""
        levels = self.side(side)
        if depth == 0 or depth >= len(levels):
            return dict(levels.items())
        return {price: levels[price] for price in islice(levels.keys(), depth)}

    def best(self, side: Side) -> tuple[int, Level] | None:
        levels = self.side(side)
        return levels.peekitem(0) if levels else None


@dataclass(slots=True)
class Trade:
    price: int
    quantity: int
    timestamp_ns: int


class TradeStatistics:
    """The trading day's open, high, low, last, volume and VWAP, and the last closing price."""

    __slots__ = ("symbol", "opening", "high", "low", "last", "volume", "notional", "closing")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.closing: int | None = None
        self.opening: int | None = None
        self.high: int | None = None
        self.low: int | None = None
        self.last: Trade | None = None
        self.volume = 0
        self.notional = 0

    def apply(self, event: TradeExecuted) -> None:
        price = event.price
        if self.opening is None:
            self.opening = self.high = self.low = price
        else:
            if price > self.high:
                self.high = price
            if price < self.low:
                self.low = price
        self.last = Trade(price, event.quantity, event.timestamp_ns)
        self.volume += event.quantity
        self.notional += price * event.quantity

    def end_day(self) -> None:
        if self.last is not None:
            self.closing = self.last.price
        self.opening = self.high = self.low = self.last = None
        self.volume = self.notional = 0

    @property
    def vwap(self) -> Fraction | None:
        return Fraction(self.notional, self.volume) if self.volume else None

    def values(self) -> dict[EntryType, tuple[int | Fraction | None, int | None]]:
        """Statistic entry type -> (price, size) for each statistic that has a value."""
        values: dict[EntryType, tuple[int | Fraction | None, int | None]] = {}
        if self.closing is not None:
            values[EntryType.CLOSING] = (self.closing, None)
        if self.opening is not None:
            values[EntryType.OPENING] = (self.opening, None)
            values[EntryType.HIGH] = (self.high, None)
            values[EntryType.LOW] = (self.low, None)
            values[EntryType.VWAP] = (self.vwap, None)
            values[EntryType.VOLUME] = (None, self.volume)
        return values
