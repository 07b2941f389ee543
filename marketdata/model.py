"""Market-data values: what a subscriber asked for and what it is sent.

The enum values are the FIX codes (MDEntryType 269, MDUpdateAction 279,
SubscriptionRequestType 263, MDUpdateType 265, MDReqRejReason 281) so the gateway
renders them without a table; nothing here knows how a FIX message is laid out.
Prices are integer price units, except VWAP, which is an exact Fraction of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from matching.frozen import fast_init


class EntryType(Enum):
    BID = "0"
    OFFER = "1"
    TRADE = "2"
    OPENING = "4"
    CLOSING = "5"
    HIGH = "7"
    LOW = "8"
    VWAP = "9"
    VOLUME = "B"


BOOK_ENTRY_TYPES = frozenset({EntryType.BID, EntryType.OFFER})
STATISTIC_ENTRY_TYPES = frozenset({EntryType.OPENING, EntryType.CLOSING, EntryType.HIGH, EntryType.LOW,
                                   EntryType.VWAP, EntryType.VOLUME})


class UpdateAction(Enum):
    NEW = "0"
    CHANGE = "1"
    DELETE = "2"


class SubscriptionType(Enum):
    SNAPSHOT = "0"
    SNAPSHOT_AND_UPDATES = "1"
    UNSUBSCRIBE = "2"


class UpdateType(Enum):
    FULL_REFRESH = "0"
    INCREMENTAL = "1"


class RequestRejectReason(Enum):
    UNKNOWN_SYMBOL = "0"
    DUPLICATE_REQUEST_ID = "1"
    INSUFFICIENT_PERMISSIONS = "3"
    UNSUPPORTED_SUBSCRIPTION_TYPE = "4"
    UNSUPPORTED_MARKET_DEPTH = "5"
    UNSUPPORTED_UPDATE_TYPE = "6"
    UNSUPPORTED_ENTRY_TYPE = "8"
    UNKNOWN_REQUEST_ID = ""  # unsubscribing what was never subscribed: FIX has no code, Text says it


# ---------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Subscribe:
    """A MarketDataRequest: snapshot only, or snapshot then updates. `depth` 0 is the full book."""

    session: str
    request_id: str
    subscription: SubscriptionType
    depth: int
    update_type: UpdateType
    symbols: tuple[str, ...]
    entry_types: frozenset[EntryType]
    timestamp_ns: int = 0  # when it was received: a snapshot of a quiet book is "as of" then


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    session: str
    request_id: str


@dataclass(frozen=True, slots=True)
class RefuseRequest:
    """A request the gateway could not translate; answered with a reject and nothing else."""

    session: str
    request_id: str
    reason: RequestRejectReason
    text: str


@dataclass(frozen=True, slots=True)
class DropSession:
    """The session logged out: its subscriptions end."""

    session: str


@dataclass(frozen=True, slots=True)
class EndTradingDay:
    """The day's last trade price becomes the closing price; the day's statistics start again."""

    timestamp_ns: int


# ---------------------------------------------------------------------------------------- output


@fast_init
@dataclass(frozen=True, slots=True)
class Entry:
    """One MDEntry. `action` is None in a snapshot; `rpt_seq` counts the feed's entries per symbol."""

    entry_type: EntryType
    symbol: str
    price: int | Fraction | None
    size: int | None
    order_count: int | None = None
    action: UpdateAction | None = None
    rpt_seq: int = 0
    time_ns: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Snapshot:
    """A full refresh of one symbol for one request (FIX W)."""

    session: str
    request_id: str
    symbol: str
    entries: tuple[Entry, ...]
    rpt_seq: int  # of the last entry it includes: the next incremental entry carries rpt_seq + 1
    timestamp_ns: int


@fast_init
@dataclass(frozen=True, slots=True)
class Incremental:
    """Changes since the last message for one request, possibly across symbols (FIX X)."""

    session: str
    request_id: str
    entries: tuple[Entry, ...]
    timestamp_ns: int


@dataclass(frozen=True, slots=True)
class RequestRejected:
    session: str
    request_id: str
    reason: RequestRejectReason
    text: str


Publication = Snapshot | Incremental | RequestRejected
