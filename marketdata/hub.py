"""Subscriptions and what each subscriber is sent.

The hub keeps the venue's books and statistics (from matching events) and, per
feed, what its subscribers were last told. An update is the difference between
the two, so it is right however many batches of events arrived since the last one:
updates are conflated to the latest state per price level rather than every step.
Trades are never conflated: each is sent.

A feed is every subscription asking for the same thing (symbols, depth, entry
types, update type): the difference is computed once per feed and the very same
entries go to each member, so fifty identical subscribers cost one diff, not fifty.
RptSeq counts a feed's entries per symbol; a snapshot carries the RptSeq of the
last entry it includes, and the next incremental entry is one more.

Single-threaded by design: one publisher owns a hub, fed in event order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable

from marketdata.model import (
    BOOK_ENTRY_TYPES, STATISTIC_ENTRY_TYPES, DropSession, EndTradingDay, Entry, EntryType, Incremental,
    Publication, RefuseRequest, RequestRejected, RequestRejectReason, Snapshot, Subscribe, SubscriptionType,
    Unsubscribe, UpdateAction, UpdateType,
)
from marketdata.views import Level, LevelBook, Trade, TradeStatistics
from matching import BookLevelChanged, Event, Side, TradeExecuted

SUPPORTED_ENTRY_TYPES = frozenset(EntryType)
Stat = tuple[int | Fraction | None, int | None]


@dataclass(slots=True)
class _SentView:
    """What one subscription last told its subscriber about one symbol."""

    bids: dict[int, Level] = field(default_factory=dict)
    offers: dict[int, Level] = field(default_factory=dict)
    statistics: dict[EntryType, Stat] = field(default_factory=dict)
    trades_seen: int = 0
    rpt_seq: int = 0


@dataclass(slots=True)
class _Feed:
    request: Subscribe  # the first member's request: what every member asked for
    views: dict[str, _SentView]
    members: dict[tuple[str, str], Subscribe] = field(default_factory=dict)


def _feed_key(request: Subscribe) -> tuple:
    return request.symbols, request.depth, request.entry_types, request.update_type


class MarketDataHub:
    def __init__(self, symbols: Iterable[str]) -> None:
        self.books = {symbol: LevelBook(symbol) for symbol in symbols}
        self.statistics = {symbol: TradeStatistics(symbol) for symbol in self.books}
        self._feeds: dict[tuple, _Feed] = {}
        self._feed_of: dict[tuple[str, str], _Feed] = {}  # (session, request id) -> its feed
        self._trade_count = dict.fromkeys(self.books, 0)
        self._recent_trades: dict[str, list[tuple[int, Trade]]] = {symbol: [] for symbol in self.books}
        self._dirty_levels: dict[str, set[tuple[Side, int]]] = {}
        self._dirty_statistics: set[str] = set()
        self._now_ns = 0

    # ------------------------------------------------------------------ input

    def apply(self, events: Iterable[Event]) -> None:
        """Take the events of one command; nothing is published until `publish()`."""
        for event in events:
            if isinstance(event, BookLevelChanged):
                book = self.books.get(event.symbol)
                if book is not None:
                    book.apply(event)
                    self._dirty_levels.setdefault(event.symbol, set()).add((event.side, event.price))
                self._now_ns = event.timestamp_ns
            elif isinstance(event, TradeExecuted):
                statistics = self.statistics.get(event.symbol)
                if statistics is not None:
                    statistics.apply(event)
                    self._trade_count[event.symbol] += 1
                    self._recent_trades[event.symbol].append(
                        (self._trade_count[event.symbol], statistics.last))
                    self._dirty_statistics.add(event.symbol)
                self._now_ns = event.timestamp_ns

    def handle(self, command) -> list[Publication]:
        """A subscriber's request (or the end of its session, or of the day), answered at once."""
        if isinstance(command, Subscribe):
            return self._subscribe(command)
        if isinstance(command, Unsubscribe):
            if (command.session, command.request_id) not in self._feed_of:
                return [RequestRejected(command.session, command.request_id, RequestRejectReason.UNKNOWN_REQUEST_ID,
                                        f"no subscription with MDReqID {command.request_id!r} to end")]
            self._leave((command.session, command.request_id))
            return []
        if isinstance(command, RefuseRequest):
            return [RequestRejected(command.session, command.request_id, command.reason, command.text)]
        if isinstance(command, DropSession):
            for member in [member for member in self._feed_of if member[0] == command.session]:
                self._leave(member)
            return []
        if isinstance(command, EndTradingDay):
            for statistics in self.statistics.values():
                statistics.end_day()
            self._dirty_statistics.update(self.statistics)
            self._now_ns = command.timestamp_ns
            return []
        raise TypeError(f"not a market-data command: {command!r}")

    @property
    def subscription_count(self) -> int:
        return len(self._feed_of)

    @property
    def feed_count(self) -> int:
        return len(self._feeds)

    # ------------------------------------------------------------------ output

    def publish(self, held: frozenset[str] | set[str] = frozenset()) -> list[Publication]:
        """What each subscriber must be sent for everything applied since the last call.

        Sessions in `held` are sent nothing (their feeds move on without them): they are
        behind, and get `refresh()` when they catch up.
        """
        touched = set(self._dirty_levels) | self._dirty_statistics
        publications: list[Publication] = []
        if touched:
            for feed in self._feeds.values():
                symbols = [s for s in feed.request.symbols if s in touched]
                if not symbols:
                    continue
                if feed.request.update_type is UpdateType.FULL_REFRESH:
                    snapshots = [self._snapshot(feed.request, symbol, feed.views[symbol]) for symbol in symbols]
                    publications += [dataclasses.replace(snapshot, session=session, request_id=request_id)
                                     for (session, request_id) in feed.members if session not in held
                                     for snapshot in snapshots]
                    continue
                entries: list[Entry] = []
                for symbol in symbols:
                    entries += self._changes(feed.request, symbol, feed.views[symbol])
                if entries:
                    shared = tuple(entries)  # one object for every member: rendered once per version
                    publications += [Incremental(session, request_id, shared, self._now_ns)
                                     for (session, request_id) in feed.members if session not in held]
        self._dirty_levels.clear()
        self._dirty_statistics.clear()
        for trades in self._recent_trades.values():
            trades.clear()
        return publications

    def refresh(self, session: str) -> list[Publication]:
        """A snapshot of every symbol of every subscription of `session` (after it was held)."""
        return [self._snapshot_of_view(session, request_id, feed, symbol)
                for (owner, request_id), feed in self._feed_of.items() if owner == session
                for symbol in feed.request.symbols]

    def sessions(self) -> set[str]:
        """Sessions with a live subscription."""
        return {session for session, _ in self._feed_of}

    def sessions_for(self, symbol: str) -> set[str]:
        """Sessions with a live subscription that includes `symbol`."""
        return {session for (session, _), feed in self._feed_of.items() if symbol in feed.request.symbols}

    # ------------------------------------------------------------------ internals

    def _subscribe(self, request: Subscribe) -> list[Publication]:
        self._now_ns = max(self._now_ns, request.timestamp_ns)
        refusal = self._refusal(request)
        if refusal is not None:
            return [RequestRejected(request.session, request.request_id, *refusal)]
        if request.subscription is SubscriptionType.SNAPSHOT:
            return [self._snapshot(request, symbol, _SentView()) for symbol in request.symbols]
        member = (request.session, request.request_id)
        feed = self._feeds.get(_feed_key(request))
        if feed is None:  # the first of its kind: its snapshot sets what the feed has told
            feed = self._feeds[_feed_key(request)] = _Feed(request, {s: _SentView() for s in request.symbols})
            snapshots = [self._snapshot(request, symbol, feed.views[symbol]) for symbol in request.symbols]
            snapshots = [dataclasses.replace(s, session=request.session, request_id=request.request_id)
                         for s in snapshots]
        else:
            snapshots = [self._snapshot_of_view(request.session, request.request_id, feed, symbol)
                         for symbol in request.symbols]
        feed.members[member] = request
        self._feed_of[member] = feed
        return snapshots

    def _leave(self, member: tuple[str, str]) -> None:
        feed = self._feed_of.pop(member)
        del feed.members[member]
        if not feed.members:
            del self._feeds[_feed_key(feed.request)]

    def _snapshot_of_view(self, session: str, request_id: str, feed: _Feed, symbol: str) -> Snapshot:
        """What the feed's members know of `symbol` (current: the hub publishes before it takes requests)."""
        view = feed.views[symbol]
        wanted = feed.request.entry_types
        entries = [Entry(EntryType.BID, symbol, price, quantity, orders)
                   for price, (quantity, orders) in view.bids.items()]
        entries += [Entry(EntryType.OFFER, symbol, price, quantity, orders)
                    for price, (quantity, orders) in view.offers.items()]
        last = self.statistics[symbol].last
        if EntryType.TRADE in wanted and last is not None:
            entries.append(Entry(EntryType.TRADE, symbol, last.price, last.quantity, time_ns=last.timestamp_ns))
        entries += [Entry(t, symbol, price, size) for t, (price, size) in view.statistics.items()]
        return Snapshot(session, request_id, symbol, tuple(entries), view.rpt_seq, self._now_ns)

    def _refusal(self, request: Subscribe) -> tuple[RequestRejectReason, str] | None:
        if request.subscription is SubscriptionType.UNSUBSCRIBE:
            return RequestRejectReason.UNSUPPORTED_SUBSCRIPTION_TYPE, "use Unsubscribe to end a subscription"
        if (request.session, request.request_id) in self._feed_of:
            return (RequestRejectReason.DUPLICATE_REQUEST_ID,
                    f"MDReqID {request.request_id!r} is already an active subscription of this session")
        if not request.symbols:
            return RequestRejectReason.UNKNOWN_SYMBOL, "the request names no symbol"
        unknown = [s for s in request.symbols if s not in self.books]
        if unknown:
            return (RequestRejectReason.UNKNOWN_SYMBOL,
                    f"unknown symbol {', '.join(unknown)}; this venue lists {', '.join(sorted(self.books))}")
        if request.depth < 0:
            return RequestRejectReason.UNSUPPORTED_MARKET_DEPTH, f"MarketDepth {request.depth} is negative"
        if not request.entry_types:
            return RequestRejectReason.UNSUPPORTED_ENTRY_TYPE, "the request names no MDEntryType"
        return None

    def _snapshot(self, request: Subscribe, symbol: str, view: _SentView) -> Snapshot:
        """The symbol's current state for `request`; `view` becomes what its subscribers now know."""
        wanted = request.entry_types
        book = self.books[symbol]
        entries: list[Entry] = []
        if EntryType.BID in wanted:
            view.bids = book.top(Side.BUY, request.depth)
            entries += [Entry(EntryType.BID, symbol, price, quantity, orders)
                        for price, (quantity, orders) in view.bids.items()]
        if EntryType.OFFER in wanted:
            view.offers = book.top(Side.SELL, request.depth)
            entries += [Entry(EntryType.OFFER, symbol, price, quantity, orders)
                        for price, (quantity, orders) in view.offers.items()]
        statistics = self.statistics[symbol]
        if EntryType.TRADE in wanted and statistics.last is not None:
            last = statistics.last
            entries.append(Entry(EntryType.TRADE, symbol, last.price, last.quantity, time_ns=last.timestamp_ns))
        view.trades_seen = self._trade_count[symbol]
        view.statistics = {t: value for t, value in statistics.values().items() if t in wanted}
        entries += [Entry(t, symbol, price, size) for t, (price, size) in view.statistics.items()]
        return Snapshot(request.session, request.request_id, symbol, tuple(entries), view.rpt_seq, self._now_ns)

    def _changes(self, request: Subscribe, symbol: str, view: _SentView) -> list[Entry]:
        """Entries that bring `view` up to date, in the order they happened: trades, book, statistics."""
        wanted = request.entry_types
        changes: list[tuple[EntryType, UpdateAction, int | Fraction | None, int | None, int | None, int | None]] = []
        if EntryType.TRADE in wanted:
            for index, trade in self._recent_trades[symbol]:
                if index > view.trades_seen:
                    changes.append((EntryType.TRADE, UpdateAction.NEW, trade.price, trade.quantity, None,
                                    trade.timestamp_ns))
        view.trades_seen = self._trade_count[symbol]
        if wanted & BOOK_ENTRY_TYPES and symbol in self._dirty_levels:
            book = self.books[symbol]
            for entry_type, side, sent in ((EntryType.BID, Side.BUY, view.bids),
                                           (EntryType.OFFER, Side.SELL, view.offers)):
                if entry_type in wanted:
                    if request.depth == 0:
                        now = {price: book.side(side).get(price) for s, price in self._dirty_levels[symbol]
                               if s is side}
                        changes += _level_changes(entry_type, sent, now, partial=True)
                    else:
                        changes += _level_changes(entry_type, sent, book.top(side, request.depth), partial=False)
        if wanted & STATISTIC_ENTRY_TYPES and symbol in self._dirty_statistics:
            now_stats = {t: value for t, value in self.statistics[symbol].values().items() if t in wanted}
            for entry_type in [t for t in view.statistics if t not in now_stats]:
                changes.append((entry_type, UpdateAction.DELETE, *view.statistics.pop(entry_type), None, None))
            for entry_type, value in now_stats.items():
                before = view.statistics.get(entry_type)
                if before != value:
                    action = UpdateAction.NEW if before is None else UpdateAction.CHANGE
                    view.statistics[entry_type] = value
                    changes.append((entry_type, action, *value, None, None))
        entries = []
        for entry_type, action, price, size, orders, time_ns in changes:
            view.rpt_seq += 1
            entries.append(Entry(entry_type, symbol, price, size, orders, action, view.rpt_seq, time_ns))
        return entries


def _level_changes(entry_type: EntryType, sent: dict[int, Level], now: dict[int, Level | None], *, partial: bool):
    """Deletes first, then new and changed levels; `sent` is updated to match.

    With `partial`, `now` holds only the levels that may have changed (None: gone);
    otherwise it is the whole view and any sent level missing from it is deleted.
    """
    gone = [price for price, level in now.items() if level is None and price in sent] if partial else \
        [price for price in sent if price not in now]
    changes = []
    for price in gone:
        quantity, orders = sent.pop(price)
        changes.append((entry_type, UpdateAction.DELETE, price, quantity, orders, None))
    for price, level in now.items():
        if level is None:
            continue
        before = sent.get(price)
        if before != level:
            sent[price] = level
            action = UpdateAction.NEW if before is None else UpdateAction.CHANGE
            changes.append((entry_type, action, price, level[0], level[1], None))
    return changes
