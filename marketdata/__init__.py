"""Market data: L1/L2 books, trades and statistics from matching events, per subscription."""

from marketdata.hub import MarketDataHub
from marketdata.model import (
    DropSession, EndTradingDay, Entry, EntryType, Incremental, Publication, RefuseRequest, RequestRejected,
    RequestRejectReason, Snapshot, Subscribe, SubscriptionType, Unsubscribe, UpdateAction, UpdateType,
)
from marketdata.views import LevelBook, TradeStatistics

__all__ = [name for name in dir() if not name.startswith("_")]
