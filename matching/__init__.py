"""The matching core: price-time order books, commands in, events out. No I/O, no wall clock."""

from matching.book import Order, OrderBook, PriceLevel
from matching.commands import (
    CancelOrder, Command, EndTradingDay, ExpireOrders, MassCancel, QueryOrder, RejectCancel, RejectOrder,
    ReplaceOrder, SubmitOrder,
)
from matching.engine import MatchingEngine
from matching.events import (
    BookLevelChanged, CancelRejected, Event, MassCancelCompleted, MassCancelRejected, OrderAccepted,
    OrderCancelled, OrderExpired, OrderFilled, OrderRejected, OrderReplaced, OrderRestated,
    OrderStatusReported, OrderTriggered, StatusQueryRejected, TradeExecuted,
)
from matching.rejects import CancelRejectReason, MassCancelRejectReason, OrderRejectReason
from matching.types import (
    CancelReason, Instrument, OrderStatus, OrderType, ReplyTo, SelfTradePrevention, Side, TimeInForce,
)

__all__ = [name for name in dir() if not name.startswith("_")]
