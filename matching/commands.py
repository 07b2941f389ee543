"""Commands: what the outside world asks the matching core to do (imperative names).

Prices are integer price units and quantities integer units of the instrument
(see `matching.types.Instrument`); `None` means "not given".
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.frozen import fast_init
from matching.rejects import CancelRejectReason, OrderRejectReason
from matching.types import CancelReason, OrderType, ReplyTo, SelfTradePrevention, Side, TimeInForce


@fast_init
@dataclass(frozen=True, slots=True)
class SubmitOrder:
    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: int
    price: int | None = None  # limit price: LIMIT and STOP_LIMIT only
    stop_price: int | None = None  # STOP and STOP_LIMIT only
    time_in_force: TimeInForce = TimeInForce.DAY
    expire_time_ns: int | None = None  # GTD only
    self_trade_prevention: SelfTradePrevention | None = None  # None: this order may trade with its own firm
    self_match_id: str | None = None  # narrows the self-trade key from the firm to firm + this id
    # A copy that may already have been processed (FIX PossResend): if its ClOrdID is
    # known, answer with the order's status instead of rejecting it as a duplicate.
    possible_resend: bool = False
    # MARKET orders only: the worst price it may trade at (a buy's highest, a sell's lowest), set by
    # risk from the price collar at entry; the rest is cancelled there instead of sweeping the book.
    protection_price: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel by OrderID, or by the session's OrigClOrdID when order_id is None."""

    session: str
    firm: str
    client_order_id: str  # this request's own id
    orig_client_order_id: str | None = None
    order_id: int | None = None
    possible_resend: bool = False  # see SubmitOrder


@fast_init
@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """Change quantity and prices of an open order; `quantity` is the new total (executed included)."""

    session: str
    firm: str
    client_order_id: str  # becomes the order's ClOrdID
    quantity: int
    orig_client_order_id: str | None = None
    order_id: int | None = None
    price: int | None = None
    stop_price: int | None = None
    # What the request says the order is; a replace cannot change these (None: not checked).
    symbol: str | None = None
    side: Side | None = None
    order_type: OrderType | None = None
    possible_resend: bool = False  # see SubmitOrder


@fast_init
@dataclass(frozen=True, slots=True)
class QueryOrder:
    session: str
    firm: str
    client_order_id: str | None = None
    order_id: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class MassCancel:
    """Cancel the firm's open orders, narrowed by any of session, symbol, side and time in force.

    `request_id` None means the venue itself asked (cancel on disconnect): no report follows.
    """

    session: str
    firm: str
    request_id: str | None
    only_session: str | None = None
    symbol: str | None = None
    side: Side | None = None
    time_in_force: TimeInForce | None = None
    reason: CancelReason = CancelReason.MASS_CANCEL


@fast_init
@dataclass(frozen=True, slots=True)
class RejectOrder:
    """Record that a new order was refused before it could become a SubmitOrder.

    The gateway sends this when a message is valid FIX but cannot be translated (a
    price that is not a whole number of price units, an unsupported order type), so
    that the rejection is numbered and recorded like every other outcome.
    """

    session: str
    firm: str
    client_order_id: str
    symbol: str
    side: Side | None  # None when the message named a side the venue does not trade
    order_type: OrderType | None
    quantity: int
    price: int | None
    reason: OrderRejectReason
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class RejectCancel:
    """Record that a cancel or replace request was refused before translation (see RejectOrder)."""

    session: str
    firm: str
    client_order_id: str
    orig_client_order_id: str | None
    order_id: int | None
    response_to: ReplyTo
    reason: CancelRejectReason
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class AdvanceClock:
    """A clock tick: expire GTD orders whose time has passed and run circuit-breaker timers that are due."""


@fast_init
@dataclass(frozen=True, slots=True)
class HaltTrading:
    """Stop matching in one instrument, or in every instrument when `symbol` is None (an operator's halt)."""

    symbol: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ResumeTrading:
    """Reopen halted or paused trading through a call auction; every halted instrument when `symbol` is None."""

    symbol: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class EndTradingDay:
    """Expire all Day orders and forget the day's closed orders and ClOrdIDs."""


Command = (SubmitOrder | CancelOrder | ReplaceOrder | QueryOrder | MassCancel | AdvanceClock | EndTradingDay
           | RejectOrder | RejectCancel | HaltTrading | ResumeTrading)
