"""Circuit breakers modelled on US Limit Up-Limit Down: price bands, limit state, pause, reopening auction.

The rules are values given to the engine; the state lives with each book because it
decides matching (an order never trades outside its instrument's band) and must be
replayed with the book. Everything here is integer arithmetic on price units and
nanoseconds from the engine's clock: no float and no wall clock decides a halt.

- Reference price: the arithmetic mean of the trade prices of the last `window_ns`
  (5 minutes), rounded to the tick, reviewed every `review_ns` (30 s) after trades.
  As in LULD it only replaces the reference in force when it has moved by at least
  `update_percent` (1%), and a spike cannot drag the band along with it within one
  review; with no trades in the window the reference stays.
- Bands: reference +/- a percentage that depends on the instrument's tier and on
  the reference price (LULD: 5% tier 1, 10% tier 2, 20% for either at $3.00 or less),
  rounded to the tick towards the reference.
- Limit state: the best bid sits at the upper band or the best offer at the lower
  band. Not cleared within `limit_state_ns` (15 s), trading pauses for `pause_ns`
  (5 minutes), then reopens through a call auction (`uncross`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Mapping

from matching.types import FastEnum

SECOND_NS = 1_000_000_000


class TradingPhase(FastEnum):
    """Where an instrument's trading stands."""

    OPEN = "open"  # continuous matching (possibly in a limit state)
    HALTED = "halted"  # nothing matches; new orders and replaces are refused, cancels accepted
    PRE_OPEN = "pre_open"  # nothing matches; orders queue for the reopening auction, cancels accepted


class TradingStatusReason(FastEnum):
    """Why an instrument's trading status changed."""

    LIMIT_STATE_ENTERED = "limit_state_entered"  # best bid at the upper band, or best offer at the lower
    LIMIT_STATE_CLEARED = "limit_state_cleared"
    LIMIT_STATE_TIMEOUT = "limit_state_timeout"  # the limit state lasted too long: trading pause
    OPERATOR_HALT = "operator_halt"
    OPERATOR_RESUME = "operator_resume"  # reopened by the operator, through the auction
    PAUSE_ENDED = "pause_ended"  # the pause ran its course, reopened through the auction


@dataclass(frozen=True, slots=True)
class BandPercentages:
    """Band width in percent of the reference price: by tier above `low_price`, one width at or below it."""

    by_tier: Mapping[int, Fraction] = field(default_factory=lambda: {1: Fraction(5), 2: Fraction(10)})
    low_price_percent: Fraction = Fraction(20)
    low_price: Fraction = Fraction(0)  # in currency; at or below it the low-price width applies (0: never)

    def percent(self, tier: int, reference: int, price_decimals: int) -> Fraction:
        if reference <= self.low_price * 10**price_decimals:
            return self.low_price_percent
        return self.by_tier[tier]


@dataclass(frozen=True, slots=True)
class CircuitBreakerRules:
    """How the venue's circuit breakers behave; one set for every instrument, bands by tier."""

    bands: BandPercentages = field(default_factory=BandPercentages)
    window_ns: int = 300 * SECOND_NS
    review_ns: int = 30 * SECOND_NS
    update_percent: Fraction = Fraction(1)
    limit_state_ns: int = 15 * SECOND_NS
    pause_ns: int = 300 * SECOND_NS
    queue_during_pause: bool = True  # False: new orders are refused while trading is paused or halted

    def band(self, reference: int, tier: int, tick: int, price_decimals: int) -> tuple[int, int]:
        """(lower, upper) band around `reference` (price units), on the tick grid, never below one tick."""
        delta = reference * self.bands.percent(tier, reference, price_decimals) / 100
        delta = (delta.numerator // delta.denominator) // tick * tick
        return max(reference - delta, tick), reference + delta


class InstrumentBreaker:
    """One instrument's circuit-breaker state (mutated only by the engine)."""

    __slots__ = ("tier", "tick", "decimals", "reference", "band_low", "band_high", "trades", "price_sum", "traded",
                 "limit_state_since", "pause_until")

    def __init__(self, rules: CircuitBreakerRules, reference: int, tier: int, tick: int, price_decimals: int) -> None:
        self.tier = tier
        self.tick = tick
        self.decimals = price_decimals
        self.reference = reference
        self.band_low, self.band_high = rules.band(reference, tier, tick, price_decimals)
        self.trades: deque[tuple[int, int]] = deque()  # (timestamp_ns, price) inside the window
        self.price_sum = 0
        self.traded = False  # trades since the reference was last reviewed
        self.limit_state_since: int | None = None
        self.pause_until: int | None = None  # a LULD pause's end; None for an operator halt (no end)

    def record_trade(self, timestamp_ns: int, price: int) -> None:
        self.trades.append((timestamp_ns, price))
        self.price_sum += price
        self.traded = True

    def update_reference(self, rules: CircuitBreakerRules, now_ns: int) -> bool:
        """Recompute the window's mean; adopt it if it moved enough. True when the band changed."""
        self.traded = False
        trades = self.trades
        horizon = now_ns - rules.window_ns
        while trades and trades[0][0] < horizon:
            self.price_sum -= trades.popleft()[1]
        if not trades:
            return False
        count = len(trades)
        mean = (2 * self.price_sum + count) // (2 * count)  # rounded half up
        mean = (2 * mean + self.tick) // (2 * self.tick) * self.tick
        if abs(mean - self.reference) * 100 < self.reference * rules.update_percent:
            return False
        return self.set_reference(rules, mean)

    def set_reference(self, rules: CircuitBreakerRules, reference: int) -> bool:
        """Adopt a reference price; True when the band changed."""
        self.reference = reference
        band = rules.band(reference, self.tier, self.tick, self.decimals)
        if band == (self.band_low, self.band_high):
            return False
        self.band_low, self.band_high = band
        return True


@dataclass(frozen=True, slots=True)
class Uncross:
    """Where a call auction uncrosses: its price, the volume it executes and what is left unmatched there."""

    price: int
    volume: int
    imbalance: int  # buy interest minus sell interest at `price`: positive when buyers are left over


def uncross(bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]], reference: int) -> Uncross | None:
    """The auction price for aggregated (price, quantity) levels, bids best first, asks best first.

    The price that executes the most volume; among those, the one leaving the smallest
    imbalance; then the one closest to the reference price; then the lower. Candidates
    are the limit prices on the book and the reference price itself. None when the book
    does not cross.
    """
    bids = list(bids)
    asks = list(asks)
    if not bids or not asks or bids[0][0] < asks[0][0]:
        return None
    low, high = asks[0][0], bids[0][0]
    candidates = {price for price, _ in bids if price >= low} | {price for price, _ in asks if price <= high}
    if low <= reference <= high:
        candidates.add(reference)
    best: tuple | None = None
    for price in candidates:
        demand = sum(quantity for bid, quantity in bids if bid >= price)
        supply = sum(quantity for ask, quantity in asks if ask <= price)
        volume = min(demand, supply)
        key = (-volume, abs(demand - supply), abs(price - reference), price)
        if best is None or key < best[0]:
            best = (key, Uncross(price, volume, demand - supply))
    assert best is not None
    return best[1] if best[1].volume > 0 else None
