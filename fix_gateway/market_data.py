"""Market data over FIX: MarketDataRequest (V) in; W, X and Y out, right for each version.

The translation is here; what to send is decided by `marketdata.MarketDataHub`,
which a `MarketDataPublisher` runs on its own thread, fed each command's events
through a queue: in the market-data process by its replay of the input journal
(fix_gateway/market_data_feed.py), and in the venue's own process only for
order-entry sessions configured to subscribe.

Messages with repeating groups are framed against the session's data dictionary
(`Message.setString(text, False, dictionary)`); without one QuickFIX sorts the
body by tag and scrambles the groups.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Callable, Mapping

import quickfix as fix

from config import InstrumentSettings
from fix_gateway.outbound import SOH, Outbound, fix_timestamp
from fix_gateway.versions import FIX42, FIX50SP2, FixVersion
from matching import PriceBandChanged, TradingPhase, TradingStatusChanged, TradingStatusReason
from marketdata import (
    DropSession, Entry, EntryType, Incremental, MarketDataHub, RefuseRequest, RequestRejected, RequestRejectReason,
    Snapshot, Subscribe, SubscriptionType, Unsubscribe, UpdateAction, UpdateType,
)

log = logging.getLogger("fixex.marketdata")
CHECK_INTERVAL_S = 0.25  # how often a quiet publisher looks for subscribers that caught up or got stuck
# The publisher wakes at most this often (config market_data.batch_milliseconds), so the writer's
# events reach it in batches: waking it for every command cost the order path about a third of its
# throughput (GIL hand-offs).
BATCH_INTERVAL_S = 0.001
IDLE_BATCH_INTERVAL_S = 0.02  # with no subscriber, the books only need to be current for the next one

ENTRY_TYPES_BY_VERSION = {
    # FIX 4.2's MDEntryType has no B (trade volume); every other type we publish is in all three.
    "FIX.4.2": frozenset(EntryType) - {EntryType.VOLUME},
    "FIX.4.4": frozenset(EntryType),
    "FIX.5.0SP2": frozenset(EntryType),
}
ENTRY_TYPE_NAMES = {"3": "index", "6": "settlement", "A": "imbalance", "C": "open interest"}


def fields_in_order(raw: str) -> list[tuple[str, str]]:
    """Every tag=value of a message in order, repeats included (repeating groups)."""
    pairs = []
    for pair in raw.split(SOH):
        tag, _, value = pair.partition("=")
        if tag:
            pairs.append((tag, value))
    return pairs


def translate_request(raw: str, session: str, version: FixVersion, timestamp_ns: int = 0):
    """A MarketDataRequest as a hub command: Subscribe, Unsubscribe or RefuseRequest."""
    pairs = fields_in_order(raw)
    first = {}
    for tag, value in pairs:
        first.setdefault(tag, value)
    request_id = first.get("262", "")
    subscription = {t.value: t for t in SubscriptionType}.get(first.get("263", ""))
    if subscription is None:
        return RefuseRequest(session, request_id, RequestRejectReason.UNSUPPORTED_SUBSCRIPTION_TYPE,
                             f"SubscriptionRequestType {first.get('263')!r} is not supported; use 0, 1 or 2")
    if subscription is SubscriptionType.UNSUBSCRIBE:
        return Unsubscribe(session, request_id)
    try:
        depth = int(first.get("264", ""))
    except ValueError:
        return RefuseRequest(session, request_id, RequestRejectReason.UNSUPPORTED_MARKET_DEPTH,
                             f"MarketDepth {first.get('264')!r} is not a whole number")
    update_type = UpdateType.INCREMENTAL
    if "265" in first:
        update_type = {t.value: t for t in UpdateType}.get(first["265"])
        if update_type is None:
            return RefuseRequest(session, request_id, RequestRejectReason.UNSUPPORTED_UPDATE_TYPE,
                                 f"MDUpdateType {first['265']!r} is not supported; use 0 (full) or 1 (incremental)")
    elif subscription is SubscriptionType.SNAPSHOT_AND_UPDATES:
        return RefuseRequest(session, request_id, RequestRejectReason.UNSUPPORTED_UPDATE_TYPE,
                             "MDUpdateType (265) is required with SubscriptionRequestType 1")
    codes = [value for tag, value in pairs if tag == "269"]
    supported = {t.value: t for t in ENTRY_TYPES_BY_VERSION[version.name]}
    unsupported = [code for code in codes if code not in supported]
    if unsupported:
        names = ", ".join(f"{c} ({ENTRY_TYPE_NAMES[c]})" if c in ENTRY_TYPE_NAMES else c for c in unsupported)
        return RefuseRequest(session, request_id, RequestRejectReason.UNSUPPORTED_ENTRY_TYPE,
                             f"MDEntryType {names} is not published; supported: "
                             f"{', '.join(sorted(supported))}")
    symbols = tuple(dict.fromkeys(value for tag, value in pairs if tag == "55"))
    return Subscribe(session, request_id, subscription, depth, update_type, symbols,
                     frozenset(supported[c] for c in codes), timestamp_ns)


class MarketDataRenderer:
    """Bodies of W, X and Y for one venue's instruments."""

    def __init__(self, instruments: Mapping[str, InstrumentSettings], outbound: Outbound) -> None:
        self._instruments = instruments
        self._outbound = outbound
        self._last_entries: tuple = ((), None, "")  # (entries, version, text): one feed's members in a row

    def render(self, publication, version: FixVersion) -> str:
        if isinstance(publication, Snapshot):
            return self._snapshot(publication, version)
        if isinstance(publication, Incremental):
            return self._incremental(publication, version)
        return self._reject(publication, version)

    def _snapshot(self, snapshot: Snapshot, version: FixVersion) -> str:
        parts = f"35=W{SOH}262={snapshot.request_id}{SOH}55={snapshot.symbol}{SOH}"
        if version is FIX50SP2:
            parts += f"779={fix_timestamp(snapshot.timestamp_ns)}{SOH}"
        return parts + self._entries(snapshot.entries, version, snapshot=True, rpt_seq=snapshot.rpt_seq)

    def _incremental(self, update: Incremental, version: FixVersion) -> str:
        return f"35=X{SOH}262={update.request_id}{SOH}" + self._entries(update.entries, version, snapshot=False)

    def _entries(self, entries: tuple[Entry, ...], version: FixVersion, *, snapshot: bool, rpt_seq: int = 0) -> str:
        """NoMDEntries and the entries; the members of one feed share the tuple, so it is rendered once."""
        cached_entries, cached_version, text = self._last_entries
        if entries is cached_entries and version is cached_version:
            return text
        text = f"268={len(entries)}{SOH}" + "".join(
            self._entry(entry, version, snapshot=snapshot, rpt_seq=rpt_seq if snapshot else entry.rpt_seq)
            for entry in entries)
        self._last_entries = (entries, version, text)
        return text

    def _entry(self, entry: Entry, version: FixVersion, *, snapshot: bool, rpt_seq: int) -> str:
        text = "" if snapshot else f"279={entry.action.value}{SOH}"
        text += f"269={entry.entry_type.value}{SOH}"
        if not snapshot:
            text += f"55={entry.symbol}{SOH}"
        if entry.price is not None:
            text += f"270={self._price(entry.symbol, entry.price)}{SOH}"
        deleted = entry.action is UpdateAction.DELETE  # a delete names the level by its price only
        if entry.size is not None and not deleted:
            text += f"271={entry.size}{SOH}"
        if entry.time_ns is not None:
            text += f"273={fix_timestamp(entry.time_ns)[9:]}{SOH}"  # UTCTimeOnly: the part after the date
        if entry.order_count is not None and not deleted:
            text += f"346={entry.order_count}{SOH}"
        if version is FIX50SP2:
            text += f"83={rpt_seq}{SOH}"
        return text

    def _price(self, symbol: str, price: int | Fraction) -> str:
        if isinstance(price, int):
            return self._outbound.price(symbol, price)
        unit = self._instruments[symbol].price_unit
        value = (Decimal(price.numerator) / Decimal(price.denominator)) * unit
        return format(value.quantize(Decimal("1e-8")).normalize(), "f")

    def security_list(self, request: ListSecurities, version: FixVersion, response_id: str) -> str:
        """SecurityList (y): each instrument's symbol, trading status and tick (5.0 SP2), lot and currency.

        FIX 4.4's SecurityList has no MinPriceIncrement or status fields: there the tick goes in
        SecurityDesc (107). Request types other than 0 (one symbol) and 4 (all) get 560=1.
        """
        if request.request_type == "4":
            instruments = list(self._instruments.values())
        elif request.request_type == "0":
            instruments = [self._instruments[request.symbol]] if request.symbol in self._instruments else []
        else:
            return f"35=y{SOH}320={request.request_id}{SOH}322={response_id}{SOH}560=1{SOH}"
        if not instruments:
            return f"35=y{SOH}320={request.request_id}{SOH}322={response_id}{SOH}560=2{SOH}"
        parts = [f"35=y{SOH}320={request.request_id}{SOH}322={response_id}{SOH}560=0{SOH}"
                 f"393={len(instruments)}{SOH}146={len(instruments)}{SOH}"]
        for instrument in instruments:
            tick = format(instrument.tick_size, "f")
            if version is FIX50SP2:  # dictionary order: 55, 965, 969, 561, 15
                parts.append(f"55={instrument.symbol}{SOH}965=1{SOH}969={tick}{SOH}561={instrument.lot_size}{SOH}"
                             f"15={instrument.currency}{SOH}")
            else:  # 55, 107, 15, 561
                parts.append(f"55={instrument.symbol}{SOH}107=tick {tick}{SOH}15={instrument.currency}{SOH}"
                             f"561={instrument.lot_size}{SOH}")
        return "".join(parts)

    def security_status(self, event: TradingStatusChanged | PriceBandChanged, version: FixVersion,
                        request_id: str | None = None) -> str:
        """SecurityStatus (f): 326 SecurityTradingStatus, the band as HighPx (332) / LowPx (333), and a Text.

        326: 2 halted; 21 pre-open (orders queue for the reopening auction; 4.2 lacks 21 and
        gets 2); 3 resumed after a halt or pause; 6 limit state (a trading range indication);
        17 ready to trade. With `request_id` it answers a SecurityStatusRequest (324), else it
        is unsolicited (325=Y). FIX 4.2's SecurityStatus has no Text.
        """
        price = self._outbound.price
        symbol = event.symbol
        if isinstance(event, PriceBandChanged):
            code = 17
            text = (f"price band moved: reference {price(symbol, event.reference_price)}, band "
                    f"{price(symbol, event.band_low)} to {price(symbol, event.band_high)}")
        else:
            code, text = _trading_status(event, version, price, snapshot=request_id is not None)
        parts = f"35=f{SOH}" + (f"324={request_id}{SOH}" if request_id is not None else "")
        parts += f"55={symbol}{SOH}" + ("" if request_id is not None else f"325=Y{SOH}") + f"326={code}{SOH}"
        if event.band_high is not None:
            parts += f"332={price(symbol, event.band_high)}{SOH}333={price(symbol, event.band_low)}{SOH}"
        parts += f"60={fix_timestamp(event.timestamp_ns)}{SOH}"
        if version is not FIX42:
            parts += f"58={text}{SOH}"
        return parts

    @staticmethod
    def instrument_session_status(event: TradingStatusChanged) -> str:
        """TradingSessionStatus (h) for one instrument, which only 5.0 SP2's h can name (Instrument):
        340 TradSesStatus 1 halted, 4 pre-open (orders queue for the auction), 2 open."""
        status = {TradingPhase.HALTED: 1, TradingPhase.PRE_OPEN: 4, TradingPhase.OPEN: 2}[event.phase]
        return (f"35=h{SOH}336={TRADING_SESSION_ID}{SOH}325=Y{SOH}340={status}{SOH}"
                f"60={fix_timestamp(event.timestamp_ns)}{SOH}55={event.symbol}{SOH}")

    @staticmethod
    def trading_session_status(change: VenueStatusChanged, version: FixVersion) -> str:
        """TradingSessionStatus (h): 340 TradSesStatus 1 halted or 2 open, for the whole venue."""
        text = ("the venue is halted by the operator: orders queue or are refused per instrument, cancels are "
                "accepted" if change.halted else "the venue has reopened")
        body = f"35=h{SOH}336={TRADING_SESSION_ID}{SOH}325=Y{SOH}340={1 if change.halted else 2}{SOH}"
        if version is FIX50SP2:
            body += f"60={fix_timestamp(change.timestamp_ns)}{SOH}"
        return body + f"58={text}{SOH}"

    def _reject(self, rejected: RequestRejected, version: FixVersion) -> str:
        text = f"35=Y{SOH}262={rejected.request_id}{SOH}"
        if rejected.reason.value:  # every code we use is in 4.2's 0-8, 4.4's and 5.0 SP2's lists
            text += f"281={rejected.reason.value}{SOH}"
        return text + f"58={rejected.text}{SOH}"


@dataclass(frozen=True, slots=True)
class ListSecurities:
    """A SecurityListRequest (x): one symbol (559=0 with 55) or every instrument (559=4)."""

    session: str
    request_id: str
    request_type: str
    symbol: str | None


TRADING_SESSION_ID = "1"  # TradingSessionID (336): the venue runs one session, "1" (Day), the only value all versions allow


def _trading_status(event: TradingStatusChanged, version: FixVersion, price, *, snapshot: bool) -> tuple[int, str]:
    symbol = event.symbol
    band = (f"band {price(symbol, event.band_low)} to {price(symbol, event.band_high)}"
            if event.band_high is not None else "no price band")
    reason = event.reason
    if event.phase is not TradingPhase.OPEN:
        until = (f" until {fix_timestamp(event.until_ns)[9:17]} UTC" if event.until_ns is not None else "")
        why = ("paused by the circuit breaker (limit state not cleared)" if reason is
               TradingStatusReason.LIMIT_STATE_TIMEOUT else "halted by the operator")
        if event.phase is TradingPhase.HALTED:
            return 2, f"trading {why}{until}: new orders are refused, cancels accepted"
        return (2 if version is FIX42 else 21,
                f"trading {why}{until}: limit orders queue for the reopening auction, cancels accepted")
    if event.limit_state:
        return 6, f"limit state: the book is at the edge of the price band ({band}); trading pauses unless it clears"
    if not snapshot and reason in (TradingStatusReason.OPERATOR_RESUME, TradingStatusReason.PAUSE_ENDED):
        return 3, f"trading resumed after the reopening auction; {band}"
    if reason is TradingStatusReason.LIMIT_STATE_CLEARED and not snapshot:
        return 17, f"limit state cleared; {band}"
    return 17, f"continuous trading; {band}"


def _is_phase_change(event) -> bool:
    """A halt, pause or reopening (not a limit state or a band move)."""
    return isinstance(event, TradingStatusChanged) and event.reason in (
        TradingStatusReason.OPERATOR_HALT, TradingStatusReason.LIMIT_STATE_TIMEOUT,
        TradingStatusReason.OPERATOR_RESUME, TradingStatusReason.PAUSE_ENDED)


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """An instrument's trading status or price band changed: its subscribers get a SecurityStatus (f)."""

    event: TradingStatusChanged | PriceBandChanged


@dataclass(frozen=True, slots=True)
class SubscribeStatus:
    """A SecurityStatusRequest (e): the status now, and with 263=1 every change until 263=2 or logout."""

    session: str
    request_id: str
    symbol: str
    subscription_type: str  # 263: 0 snapshot, 1 snapshot and updates, 2 end the updates
    current: TradingStatusChanged


@dataclass(frozen=True, slots=True)
class VenueStatusChanged:
    """The operator halted or reopened the whole venue: market-data sessions get a TradingSessionStatus (h)."""

    halted: bool
    timestamp_ns: int
    sessions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProbeAnswered:
    """A Heartbeat answering one of our TestRequests: the session has read everything sent before it."""

    session: str
    test_request_id: str


@dataclass(slots=True)
class _Reader:
    """How far one market-data session has read what we sent it."""

    sent: int = 0
    read: int = 0
    probe: tuple[str, int] | None = None  # TestReqID in flight, and `sent` when it went out
    held_since: float | None = None


PROBE_PREFIX = "MD-"


class MarketDataPublisher:
    """Runs the hub on its own thread: the writer queues events and requests, this sends W/X/Y.

    QuickFIX queues what we send without bound and never says how much of it a
    counterparty has read, so we ask the FIX way: after every `probe_every` messages a
    TestRequest (1), whose Heartbeat (0) reply means everything before it was read.
    A session more than `max_unread` messages behind is held (sent nothing; its book
    keeps being tracked); when it is back under half that, it gets a fresh snapshot of
    everything it subscribed to. Held for longer than `stuck_after_s`, it is logged out
    with a Text saying why. Order entry never waits for any of this.
    """

    def __init__(self, hub: MarketDataHub, renderer: MarketDataRenderer,
                 send: Callable[[str, str], None], version_of: Callable[[str], FixVersion | None], *,
                 send_admin: Callable[[str, str], None] | None = None,
                 log_out: Callable[[str, str], None] | None = None, max_unread: int = 2000,
                 probe_every: int = 100, stuck_after_s: float = 10.0, batch_interval_s: float = BATCH_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic, event_clock: Callable[[], int] = time.time_ns) -> None:
        self.hub = hub
        self._renderer = renderer
        self._send = send
        self._send_admin = send_admin or send
        self._log_out = log_out
        self._version_of = version_of
        self.max_unread = max_unread
        self.probe_every = probe_every
        self.stuck_after_s = stuck_after_s
        self.batch_interval_s = batch_interval_s
        self._clock = clock
        self._readers: dict[str, _Reader] = {}
        self._status_subscribers: dict[str, set[str]] = {}  # symbol -> sessions with a SecurityStatusRequest
        self._security_lists = 0
        self._event_clock = event_clock
        self._lags_ns: collections.deque[int] = collections.deque(maxlen=100_000)  # event to update sent
        self._probes = itertools.count(1)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fixex-marketdata", daemon=True)
        self._warm_up: Callable[[], None] | None = None
        self.ready = threading.Event()  # set once warmed up; requests queued before then wait
        self.published = 0
        self.held_sessions: frozenset[str] = frozenset()
        self.logged_out_for_being_stuck = 0

    def start(self, warm_up: Callable[[], None] | None = None) -> None:
        """Start publishing; `warm_up` runs first on the publisher's thread (e.g. loading dictionaries)."""
        self._warm_up = warm_up
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        lag = self.lag_us()
        if lag is not None:
            log.info("market data: %d messages sent; publish lag (event to send) p50 %d us, p99 %d us over %d "
                     "updates", self.published, *lag)

    def lag_us(self) -> tuple[int, int, int] | None:
        """Publish lag (event to update sent) p50 and p99 in microseconds over the last updates, and how many."""
        lags = sorted(list(self._lags_ns))  # a copy first: the publisher's thread appends
        if not lags:
            return None
        return lags[len(lags) // 2] // 1000, lags[min(len(lags) - 1, len(lags) * 99 // 100)] // 1000, len(lags)

    def events(self, events: list) -> None:
        """Called by the writer with each command's events (cheap: a queue put)."""
        self._queue.put(events)

    def request(self, command) -> None:
        """A subscriber's request, queued behind the events before it so its snapshot is in order."""
        self._queue.put(command)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def unread(self) -> dict[str, int]:
        """Per subscriber, messages sent that it has not yet confirmed reading (any thread)."""
        return {session: reader.sent - reader.read for session, reader in dict(self._readers).items()}

    def _run(self) -> None:
        if self._warm_up is not None:
            self._warm_up()
        self.ready.set()
        while True:
            try:
                batch = [self._queue.get(timeout=CHECK_INTERVAL_S)]
            except queue.Empty:
                batch = []  # nothing new: still look for subscribers that caught up or are stuck
            try:  # take everything waiting: the hub conflates it into one update per subscription
                while True:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            for item in batch:
                if item is None:
                    self._flush()
                    return
                if isinstance(item, list):
                    self.hub.apply(item)
                elif isinstance(item, ProbeAnswered):
                    self._answered(item)
                elif isinstance(item, ListSecurities):
                    self._list_securities(item)
                elif isinstance(item, StatusChanged):
                    self._flush()  # the book as it stood when the status changed goes out first
                    symbol = item.event.symbol
                    for session in sorted(self.hub.sessions_for(symbol) | self._status_subscribers.get(symbol, set())):
                        version = self._version_of(session)
                        if version is not None:
                            self._send(session, self._renderer.security_status(item.event, version))
                            if version is FIX50SP2 and _is_phase_change(item.event):
                                self._send(session, self._renderer.instrument_session_status(item.event))
                elif isinstance(item, SubscribeStatus):
                    self._status_request(item)
                elif isinstance(item, VenueStatusChanged):
                    self._flush()
                    for session in item.sessions:
                        version = self._version_of(session)
                        if version is not None:
                            self._send(session, self._renderer.trading_session_status(item, version))
                else:
                    self._flush()  # earlier events reach existing subscribers before a new snapshot
                    if isinstance(item, DropSession):
                        self._readers.pop(item.session, None)
                        for subscribers in self._status_subscribers.values():
                            subscribers.discard(item.session)
                    for publication in self.hub.handle(item):
                        self._deliver(publication)
            self._flush()
            if batch:
                time.sleep(self.batch_interval_s if self.hub.subscription_count
                           else max(self.batch_interval_s, IDLE_BATCH_INTERVAL_S))

    def _flush(self) -> None:
        self.held_sessions = frozenset(self._check_readers())
        for publication in self.hub.publish(self.held_sessions):
            self._deliver(publication)

    def _check_readers(self) -> set[str]:
        now = self._clock()
        held = set()
        for session, reader in list(self._readers.items()):
            unread = reader.sent - reader.read
            if reader.held_since is None:
                if unread > self.max_unread:
                    reader.held_since = now
                    log.warning("market data for %s held: %d messages unread", session, unread)
                    held.add(session)
            elif unread <= self.max_unread // 2:
                reader.held_since = None
                log.info("market data for %s resumed with fresh snapshots", session)
                for publication in self.hub.refresh(session):
                    self._deliver(publication)
            elif now - reader.held_since > self.stuck_after_s:
                text = (f"market data consumer too slow: {unread} messages unread for "
                        f"{now - reader.held_since:.0f}s")
                log.warning("logging %s out: %s", session, text)
                self.hub.handle(DropSession(session))
                del self._readers[session]
                self.logged_out_for_being_stuck += 1
                if self._log_out is not None:
                    self._log_out(session, text)
            else:
                held.add(session)
        return held

    def _list_securities(self, request: ListSecurities) -> None:
        version = self._version_of(request.session)
        if version is not None:
            self._security_lists += 1
            self._send(request.session, self._renderer.security_list(
                request, version, f"SL-{self._security_lists}"))

    def _status_request(self, request: SubscribeStatus) -> None:
        subscribers = self._status_subscribers.setdefault(request.symbol, set())
        if request.subscription_type == "2":
            subscribers.discard(request.session)
            return
        if request.subscription_type == "1":
            subscribers.add(request.session)
        version = self._version_of(request.session)
        if version is not None:
            self._send(request.session, self._renderer.security_status(request.current, version, request.request_id))

    def _answered(self, answer: ProbeAnswered) -> None:
        reader = self._readers.get(answer.session)
        if reader is not None and reader.probe is not None and reader.probe[0] == answer.test_request_id:
            reader.read = reader.probe[1]
            reader.probe = None
            self._probe_if_due(answer.session, reader)

    def _deliver(self, publication) -> None:
        session = publication.session
        version = self._version_of(session)
        if version is None:
            return
        self._send(session, self._renderer.render(publication, version))
        self.published += 1
        if isinstance(publication, Incremental):
            self._lags_ns.append(self._event_clock() - publication.timestamp_ns)
        reader = self._readers.get(session)
        if reader is None:
            reader = self._readers[session] = _Reader()
        reader.sent += 1
        self._probe_if_due(session, reader)

    def _probe_if_due(self, session: str, reader: _Reader) -> None:
        if reader.probe is None and reader.sent - reader.read >= self.probe_every:
            probe_id = f"{PROBE_PREFIX}{next(self._probes)}"
            reader.probe = (probe_id, reader.sent)
            self._send_admin(session, f"35=1{SOH}112={probe_id}{SOH}")


@functools.lru_cache(maxsize=None)
def dictionaries_for(begin_string: str, transport: str | None, application: str | None):
    """The QuickFIX DataDictionary objects that frame a message with groups for this session.

    Loaded once per process and shared (QuickFIX only reads them): the 5.0 SP2 dictionary
    takes about a second and tens of megabytes to load.
    """
    from fix_gateway.acceptor import shipped_dictionary

    if begin_string == "FIXT.1.1":
        return (fix.DataDictionary(str(shipped_dictionary(transport or "FIXT11.xml"))),
                fix.DataDictionary(str(shipped_dictionary(application or "FIX50SP2.xml"))))
    name = {"FIX.4.2": "FIX42.xml", "FIX.4.4": "FIX44.xml"}[begin_string]
    return (fix.DataDictionary(str(shipped_dictionary(name))),)
