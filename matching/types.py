"""The core's vocabulary: sides, order types, time in force, self-trade prevention, order status.

These are plain enums with no FIX codes; the gateway translates them at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FastEnum(Enum):
    """An Enum hashed by identity in C.

    Enum's own __hash__ is a Python function (hash of the member name), which made
    every dict lookup or event hash keyed by an enum a Python call on the hot path.
    Members are singletons compared by identity, so identity hashing agrees with
    equality.
    """

    __hash__ = object.__hash__


class Side(FastEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(FastEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP = "stop"  # becomes a market order when triggered
    STOP_LIMIT = "stop_limit"  # becomes a limit order when triggered

    @property
    def is_stop(self) -> bool:
        return self is OrderType.STOP or self is OrderType.STOP_LIMIT

    @property
    def has_limit_price(self) -> bool:
        return self is OrderType.LIMIT or self is OrderType.STOP_LIMIT


class TimeInForce(FastEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"


class SelfTradePrevention(FastEnum):
    """What happens when an incoming order would trade with a resting order of the same self-match key.

    The incoming (aggressing) order's instruction decides, as on CME and ICE.
    """

    CANCEL_RESTING = "cancel_resting"
    CANCEL_INCOMING = "cancel_incoming"
    CANCEL_BOTH = "cancel_both"
    DECREMENT_AND_CANCEL = "decrement_and_cancel"


class OrderStatus(FastEnum):
    NEW = "new"  # accepted, resting or waiting for its stop trigger, nothing executed
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self is OrderStatus.NEW or self is OrderStatus.PARTIALLY_FILLED


class CancelReason(FastEnum):
    """Why an order (or its remainder) was cancelled."""

    REQUESTED = "requested"
    MASS_CANCEL = "mass_cancel"
    SELF_TRADE_PREVENTION = "self_trade_prevention"
    IMMEDIATE_OR_CANCEL = "immediate_or_cancel"  # IOC remainder
    FILL_OR_KILL = "fill_or_kill"  # FOK could not fill completely at entry
    NO_LIQUIDITY = "no_liquidity"  # market order remainder: market orders never rest
    REPLACED_BELOW_EXECUTED = "replaced_below_executed"  # replace quantity at or below CumQty
    SESSION_DISCONNECTED = "session_disconnected"  # cancel on disconnect
    VENUE_CLOSED = "venue_closed"  # the venue shut down
    KILL_SWITCH = "kill_switch"  # an operator's kill switch for the firm or the whole venue
    PRICE_PROTECTION = "price_protection"  # market order remainder: the next price is beyond its protection
    PRICE_BAND = "price_band"  # remainder that could only trade outside the instrument's price band


class ReplyTo(FastEnum):
    """Which request a cancel reject answers (FIX CxlRejResponseTo)."""

    CANCEL = "cancel"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the core needs to know of a tradable instrument, in integer units.

    Prices are integers in the instrument's price unit (10**-price_decimals of the
    currency, from config); `tick_size` is the smallest price step in those units and
    `lot_size` the smallest quantity step. Keeping a finer unit than the tick lets the
    core itself reject an off-tick price.
    """

    symbol: str
    tick_size: int = 1
    lot_size: int = 1
    price_decimals: int = 0  # for messages only: how people write these prices
    reference_price: int | None = None  # circuit breakers' first reference price (None: the first trade's)
    band_tier: int = 1  # circuit breakers' band width tier

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: tick_size and lot_size must be positive")

    def format_price(self, units: int) -> str:
        """Price units as people write them (1900010 with 4 decimals: 190.001), in integer arithmetic."""
        if self.price_decimals == 0:
            return str(units)
        sign = "-" if units < 0 else ""
        whole, fraction = divmod(abs(units), 10**self.price_decimals)
        fraction_text = f"{fraction:0{self.price_decimals}d}".rstrip("0")
        return f"{sign}{whole}.{fraction_text.ljust(2, '0')}" if fraction_text or self.price_decimals >= 2 \
            else f"{sign}{whole}"
