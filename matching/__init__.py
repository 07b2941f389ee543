"""The matching core: price-time order books, commands in, events out. No I/O, no wall clock."""

from matching import compiled as _compiled

# Before anything imports the book or the engine: a compiled build of older sources must not run.
COMPILED = _compiled.choose()

from matching.book import Order, OrderBook, PriceLevel
from matching.breakers import (
    BandPercentages, CircuitBreakerRules, InstrumentBreaker, TradingPhase, TradingStatusReason, Uncross, uncross,
)
from matching.commands import (
    AdvanceClock, CancelOrder, Command, EndTradingDay, HaltTrading, MassCancel, QueryOrder, RejectCancel,
    RejectOrder, ReplaceOrder, ResumeTrading, SubmitOrder,
)
from matching.engine import AmendedOrder, MatchingEngine
from matching.events import (
    AuctionCompleted, BookLevelChanged, CancelRejected, Event, MassCancelCompleted, MassCancelRejected,
    OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected, OrderReplaced, OrderRepriced,
    OrderRestated, OrderStatusReported, OrderTriggered, PriceBandChanged, StatusQueryRejected, TradeExecuted,
    TradingStatusChanged,
)
from matching.rejects import CancelRejectReason, MassCancelRejectReason, OrderRejectReason
from matching.types import (
    CancelReason, Instrument, OrderStatus, OrderType, ReplyTo, SelfTradePrevention, Side, TimeInForce,
)

__all__ = [name for name in dir() if not name.startswith("_")]
