"""Events: what the matching core did (past-tense names).

Every event carries the engine-wide `sequence` (gap-free, starting where the engine
was told to start) and `timestamp_ns` from the injected clock; all events of one
command share its timestamp. Order events carry enough of the order's state for an
ExecutionReport without a lookup: `cum_notional` is the sum of price * quantity over
the order's fills, so AvgPx = cum_notional / cum_quantity stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.breakers import TradingPhase, TradingStatusReason
from matching.frozen import fast_init
from matching.rejects import CancelRejectReason, MassCancelRejectReason, OrderRejectReason
from matching.types import CancelReason, OrderStatus, OrderType, ReplyTo, Side, TimeInForce


@fast_init
@dataclass(frozen=True, slots=True)
class Event:
    sequence: int
    timestamp_ns: int


@fast_init
@dataclass(frozen=True, slots=True)
class OrderAccepted(Event):
    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price: int | None
    stop_price: int | None
    expire_time_ns: int | None


@fast_init
@dataclass(frozen=True, slots=True)
class OrderRejected(Event):
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side | None  # None when the message named a side the venue does not trade
    order_type: OrderType | None  # None when the message named a type the venue does not trade
    quantity: int
    price: int | None
    reason: OrderRejectReason
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class OrderFilled(Event):
    """One side of one trade; every trade yields two, aggressor first."""

    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    price: int | None
    trade_id: int
    last_price: int
    last_quantity: int
    cum_quantity: int
    leaves_quantity: int
    cum_notional: int
    aggressor: bool


@fast_init
@dataclass(frozen=True, slots=True)
class TradeExecuted(Event):
    """The public print of a trade, at the resting order's price (at the auction price in an auction)."""

    trade_id: int
    symbol: str
    price: int
    quantity: int
    aggressor_side: Side | None  # None for an auction trade: neither side took liquidity
    buy_order_id: int
    sell_order_id: int
    buy_firm: str
    sell_firm: str


@fast_init
@dataclass(frozen=True, slots=True)
class OrderCancelled(Event):
    """The order is closed; `cancelled_quantity` of it will never trade.

    For a requested cancel `client_order_id` is the cancel request's id and
    `orig_client_order_id` the order's id before it.
    """

    order_id: int
    session: str
    firm: str
    client_order_id: str
    orig_client_order_id: str | None
    symbol: str
    side: Side
    quantity: int
    price: int | None
    cum_quantity: int
    cum_notional: int
    cancelled_quantity: int
    reason: CancelReason


@fast_init
@dataclass(frozen=True, slots=True)
class OrderReplaced(Event):
    order_id: int
    session: str
    firm: str
    client_order_id: str
    orig_client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price: int | None
    stop_price: int | None
    cum_quantity: int
    leaves_quantity: int
    cum_notional: int
    priority_kept: bool


@fast_init
@dataclass(frozen=True, slots=True)
class OrderRestated(Event):
    """The venue reduced an open order that stays open (decrement-and-cancel self-trade prevention)."""

    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    price: int | None
    cum_quantity: int
    leaves_quantity: int
    cum_notional: int
    reduced_by: int
    reason: CancelReason


@fast_init
@dataclass(frozen=True, slots=True)
class OrderExpired(Event):
    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    time_in_force: TimeInForce
    quantity: int
    price: int | None
    cum_quantity: int
    cum_notional: int
    expired_quantity: int


@fast_init
@dataclass(frozen=True, slots=True)
class OrderTriggered(Event):
    """A stop order's stop price was reached; it now trades as `order_type` (MARKET or LIMIT)."""

    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: int
    price: int | None
    stop_price: int
    trigger_price: int


@fast_init
@dataclass(frozen=True, slots=True)
class CancelRejected(Event):
    """A cancel or replace request was refused; `order_status` is None when no such order is known."""

    session: str
    firm: str
    client_order_id: str
    orig_client_order_id: str | None
    order_id: int | None
    response_to: ReplyTo
    reason: CancelRejectReason
    text: str
    order_status: OrderStatus | None


@fast_init
@dataclass(frozen=True, slots=True)
class OrderStatusReported(Event):
    """The answer to a status query; `reply_session` asked, `session` owns the order."""

    reply_session: str
    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price: int | None
    stop_price: int | None
    cum_quantity: int
    leaves_quantity: int
    cum_notional: int
    status: OrderStatus


@fast_init
@dataclass(frozen=True, slots=True)
class StatusQueryRejected(Event):
    session: str
    firm: str
    client_order_id: str | None
    order_id: int | None
    reason: OrderRejectReason
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class MassCancelCompleted(Event):
    session: str
    firm: str
    request_id: str | None  # None: the venue asked (cancel on disconnect)
    only_session: str | None
    symbol: str | None
    side: Side | None
    cancelled_order_ids: tuple[int, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class MassCancelRejected(Event):
    session: str
    firm: str
    request_id: str
    reason: MassCancelRejectReason
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class BookLevelChanged(Event):
    """A price level's new aggregate after a command; quantity 0 means the level is gone."""

    symbol: str
    side: Side
    price: int
    quantity: int
    order_count: int


@fast_init
@dataclass(frozen=True, slots=True)
class OrderRepriced(Event):
    """The venue moved an open order's limit price to the edge of the price band (LULD price sliding).

    A buy priced above the upper band rests at the upper band, a sell below the lower
    band at the lower band; the order joins the back of that level's queue.
    """

    order_id: int
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: int
    price: int
    previous_price: int
    cum_quantity: int
    leaves_quantity: int
    cum_notional: int


@fast_init
@dataclass(frozen=True, slots=True)
class TradingStatusChanged(Event):
    """An instrument's trading status changed: limit state, pause, halt or reopening.

    `until_ns` is when a circuit-breaker pause ends (None otherwise); the band is the
    one in force after the change (None when the venue runs without price bands).
    """

    symbol: str
    phase: TradingPhase
    reason: TradingStatusReason
    limit_state: bool
    reference_price: int | None
    band_low: int | None
    band_high: int | None
    until_ns: int | None


@fast_init
@dataclass(frozen=True, slots=True)
class PriceBandChanged(Event):
    """The reference price moved enough to move the instrument's price band."""

    symbol: str
    reference_price: int
    band_low: int
    band_high: int


@fast_init
@dataclass(frozen=True, slots=True)
class AuctionCompleted(Event):
    """A reopening call auction uncrossed: `volume` traded at `price` (its trades came just before)."""

    symbol: str
    price: int
    volume: int
    imbalance: int  # buy minus sell interest left at the price: positive when buyers are left over
