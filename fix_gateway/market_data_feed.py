"""The market-data feed: market-data and drop-copy sessions on their own port, served from the input journal.

`fixex serve` runs it as a child process (`fixex market-data`). It follows the input
journal the order path writes anyway (reporting.command_journal), replays each command
through its own matching engine (the core is deterministic, so it sees exactly the
events the venue saw, as the auditor does) and publishes them to its subscribers with
a `MarketDataPublisher`. The order path does no market-data work at all: however
many subscribers there are and however slowly they read, they cost it nothing but
the cores the machine shares.

What a subscriber sees is what was journaled, which is everything the venue did: a
command is journaled before any ExecutionReport of it leaves. The feed looks for new
entries every market_data.batch_milliseconds. It writes what it is doing to
`<journal>/market-data-status.json` every second (the venue's metrics and
`fixex admin status` read it).

Drop-copy sessions are served here too, for the same reason: a copy of every
ExecutionReport costs the order path a second send into QuickFIX (about ten system
calls) per report. The replay gives the very events the owners were sent, ExecIDs
included, so a copy is the owner's report rendered in the drop-copy session's version.
Which journal entries have been copied is kept in `<journal>/drop-copies-sent.json`
(rewritten at most every 0.1 s while copies flow), so a restarted feed does not send
them again; copies of entries after that mark but journaled before the restart may have
gone out just before a crash, so they go out again with PossResend (97=Y), and the
receiver drops any ExecID it has.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

import quickfix as fix

from config import Settings
from fix_gateway import heap
from fix_gateway.acceptor import SessionHost, journal_fed_sessions
from fix_gateway.inbound import SessionContext, parse
from fix_gateway.market_data import (
    ListSecurities, MarketDataPublisher, MarketDataRenderer, StatusChanged, SubscribeStatus, VenueStatusChanged,
    translate_request,
)
from fix_gateway.outbound import DROP_COPY_EVENTS, Outbound, business_reject
from fix_gateway.sessions import SessionsFile
from fix_gateway.venue import build_engine, replay_engine_at
from fix_gateway.versions import NOT_AUTHORIZED, OTHER_BUSINESS_REASON, UNKNOWN_SECURITY
from marketdata import DropSession, MarketDataHub, RefuseRequest, RequestRejectReason
from marketdata import EndTradingDay as MarketDataDayEnded
from matching import EndTradingDay, HaltTrading, PriceBandChanged, ResumeTrading, TradingStatusChanged
from reporting.command_journal import (
    INPUT_CODEC, CommandApplied, OperatorActed, ReplayDivergedError, VenueStarted, commands_file_in,
)
from reporting.journal import JournalCorruptError, JournalTail, last_journal_seq
from risk.throttle import ThrottleVerdict

log = logging.getLogger("fixex.marketdata")

STATUS_FILE_NAME = "market-data-status.json"
DROP_COPY_MARK_FILE_NAME = "drop-copies-sent.json"
# How often the mark is rewritten while copies flow: a rename in the journal's directory every batch
# would ride along with each of the venue's journal fsyncs. A crash resends at most this much, as PossResend.
DROP_COPY_MARK_INTERVAL_S = 0.1
POSS_RESEND = "97=Y\x01"
STATUS_INTERVAL_S = 1.0
ORDER_MESSAGES = ("D", "F", "G", "H", "q")
STATUS_EVENTS = (TradingStatusChanged, PriceBandChanged)  # to subscribers as SecurityStatus (f)
GUARD_COMP_ID = "FIXEX-STOP-GUARD-MD"


class MarketDataFeed(SessionHost):
    """Market-data and drop-copy sessions on market_data.port, fed by replaying the input journal."""

    def __init__(self, settings: Settings, sessions: SessionsFile, *, work_dir: str | Path = ".",
                 journal_directory: str | Path | None = None, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__(settings, sessions, journal_fed_sessions(sessions, settings), port=settings.market_data.port,
                         work_dir=work_dir, settings_name="market-data.cfg", guard_comp_id=GUARD_COMP_ID)
        self._clock = clock
        self.journal_directory = Path(journal_directory) if journal_directory is not None else \
            self._work_dir / settings.journal.path
        instruments = {i.symbol: i for i in settings.instruments}
        self._outbound = Outbound(instruments)
        self.publisher = MarketDataPublisher(
            MarketDataHub(instruments), MarketDataRenderer(instruments, self._outbound),
            self._send_with_groups,
            lambda comp_id: self._contexts[comp_id].version if comp_id in self._contexts else None,
            send_admin=self._send, log_out=self._log_out_session,
            max_unread=settings.market_data.max_unread_messages,
            stuck_after_s=settings.market_data.stuck_logout_seconds, event_clock=clock,
            batch_interval_s=settings.market_data.batch_milliseconds / 1000)
        self._poll_interval_s = settings.market_data.batch_milliseconds / 1000
        self._inputs = JournalTail(commands_file_in(self.journal_directory), INPUT_CODEC)
        # Until the journal's first entry names where the venue's ids start, an engine as the venue
        # starts: a trading status asked for before then is the configured one.
        self._command_time = 0
        self._engine = build_engine(settings, lambda: self._command_time)
        self._engine_started = False
        # The replay and the requests that read what it built: a subscription is queued behind the
        # events replayed before it, so its snapshot comes in order.
        self.lock = threading.Lock()
        self.replayed_seq = 0
        self._stopping = threading.Event()
        self._follower: threading.Thread | None = None
        self.failure: str | None = None  # why the journal could not be followed: the process exits
        self.status_path = self.journal_directory / STATUS_FILE_NAME
        self._status_lock = threading.Lock()
        self._subscribers = tuple(c for c, role in self._roles.items() if role == "market_data")
        self._drop_copies: list[tuple[str, frozenset[str] | None]] = []
        for comp_id, role in self._roles.items():
            if role == "drop_copy":
                firms = settings.session(comp_id).drop_copy_firms
                self._drop_copies.append((comp_id, frozenset(firms) if firms else None))
        self._copy_mark_path = self.journal_directory / DROP_COPY_MARK_FILE_NAME
        self.copied_through = self._read_copy_mark()  # per drop-copy session: journal_seq copied through
        # Entries up to here were journaled before this process started: a copy of one the mark does
        # not cover may have gone out from the process before, just before it died.
        self._journaled_before_start = last_journal_seq(self._inputs.path)
        self._unsent_copies: list[tuple[str, str]] = []  # copied while replaying at start, before listening
        self._next_mark = 0.0  # monotonic time of the next mark while copies flow

    # ------------------------------------------------------------------ lifecycle

    def start(self, stop_requested: Callable[[], bool] = lambda: False) -> bool:
        """Replay the journal so far, then listen; from then on follow the journal as it grows.

        Returns False, having listened on nothing, when a stop is asked for during the replay (a long
        journal takes seconds): copies not yet sent wait in the journal for the next start.
        """
        started = time.monotonic()
        while self.catch_up():
            if stop_requested():
                log.info("market data: stop asked for while replaying the input journal (at journal_seq %d); "
                         "not listening", self.replayed_seq)
                return False
        log.info("market data: replayed the input journal to journal_seq %d in %.2f s", self.replayed_seq,
                 time.monotonic() - started)
        # The 5.0 SP2 dictionary takes about a second to load: do it before the first subscriber asks.
        self.publisher.start(warm_up=lambda: [self._dictionaries_of(comp_id) for comp_id in self._contexts])
        self.start_acceptor()
        with self.lock:
            for comp_id, body in self._unsent_copies:  # stored by QuickFIX for sessions not logged on yet
                self._send(comp_id, body)
            self._unsent_copies.clear()
            self._mark_copied(now=True)
        self._follower = threading.Thread(target=self._follow, name="fixex-marketdata-journal", daemon=True)
        self._follower.start()
        log.info("market data: listening on %s:%d for %s%s", self.settings.fix.host, self._port,
                 ", ".join(self._contexts) or "no sessions", " over TLS" if self.tls else "")
        return True

    def stop(self) -> None:
        """Publish what the journal holds, log every subscriber out and stop."""
        self._stopping.set()
        if self._follower is not None:
            self._follower.join(timeout=5)
        if self.failure is None:
            while self.catch_up():  # the venue's last commands (e.g. cancels on disconnect) still go out
                pass
            with self.lock:
                self._mark_copied(now=True)
        self.publisher.stop()
        self._write_status()
        self.stop_acceptor()
        log.info("market data: stopped")

    def catch_up(self, limit: int = 2000) -> int:
        """Replay what is new in the input journal (at most `limit` entries); how many were read."""
        with self.lock:
            entries = self._inputs.read_new(limit=limit)
            for entry in entries:
                self._replay(entry.record, entry.journal_seq)
                self.replayed_seq = entry.journal_seq
            if entries and self.listening:
                self._mark_copied()
        return len(entries)

    def _follow(self) -> None:
        next_status = 0.0
        while not self._stopping.wait(self._poll_interval_s):
            try:
                while self.catch_up():
                    pass
            except Exception as error:  # a damaged journal, or a replay that diverged: nothing more is right
                self.failure = f"{type(error).__name__}: {error}"
                log.critical("market data cannot follow the input journal: %s", self.failure)
                self._write_status()
                return
            if time.monotonic() >= next_status:
                with self.lock:
                    self._mark_copied(now=True)
                self._write_status()
                next_status = time.monotonic() + STATUS_INTERVAL_S

    def _replay(self, item, journal_seq: int) -> None:
        """One input entry: the venue's command through our engine, its events to the publisher and
        the drop copies."""
        if isinstance(item, VenueStarted):
            self._engine = replay_engine_at(item, journal_seq, self._engine if self._engine_started else None,
                                            self.settings, lambda: self._command_time, self._inputs.path)
            self._engine_started = True
            return
        if isinstance(item, OperatorActed):
            return  # kill switches: their cancels are journaled as commands of their own
        if not isinstance(item, CommandApplied):
            raise ValueError(f"{self._inputs.path}: unknown input {item!r}")
        command = item.command
        if isinstance(command, (HaltTrading, ResumeTrading)) and command.symbol is None:
            sessions = tuple(c for c in self._subscribers if self.logged_on(c))  # the venue's status first
            if sessions:
                self.publisher.request(VenueStatusChanged(isinstance(command, HaltTrading), item.timestamp_ns,
                                                          sessions))
        self._command_time = item.timestamp_ns
        events = self._engine.process(command)
        if self._drop_copies:
            self._copy(events, journal_seq)
        self.publisher.events(events)
        for event in events:  # after the book changes of the same command
            if isinstance(event, STATUS_EVENTS):
                self.publisher.request(StatusChanged(event))
        if isinstance(command, EndTradingDay):
            self.publisher.request(MarketDataDayEnded(item.timestamp_ns))

    def _copy(self, events: list, journal_seq: int) -> None:
        """Each drop-copy session's copies of the order events of one journal entry, unless already sent."""
        for event in events:
            if not isinstance(event, DROP_COPY_EVENTS):
                continue
            for comp_id, firms in self._drop_copies:
                if journal_seq <= self.copied_through.get(comp_id, 0) or (firms is not None and event.firm not in firms):
                    continue
                body = self._outbound.render(event, self._contexts[comp_id].version)
                if body is None:
                    continue
                if journal_seq <= self._journaled_before_start:
                    body = POSS_RESEND + body
                if self.listening:
                    self._send(comp_id, body)
                else:
                    self._unsent_copies.append((comp_id, body))

    def _read_copy_mark(self) -> dict[str, int]:
        try:
            marks = json.loads(self._copy_mark_path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:  # copies are sent again, marked PossResend: never lost
            log.error("drop copies: %s unreadable (%s); copying the whole journal again, with PossResend (97=Y)",
                      self._copy_mark_path, error)
            return {}
        return {comp_id: seq for comp_id, seq in marks.items() if isinstance(seq, int)} if isinstance(marks, dict) \
            else {}

    def _mark_copied(self, now: bool = False) -> None:
        """Every drop copy of what is replayed so far is with QuickFIX (sent, or stored to be): say so on disk,
        at most every DROP_COPY_MARK_INTERVAL_S unless `now`. Lock held."""
        if not self._drop_copies or all(self.copied_through.get(c, 0) >= self.replayed_seq
                                        for c, _ in self._drop_copies):
            return
        if not now and time.monotonic() < self._next_mark:
            return
        self._next_mark = time.monotonic() + DROP_COPY_MARK_INTERVAL_S
        marks = {comp_id: max(self.replayed_seq, self.copied_through.get(comp_id, 0)) for comp_id, _ in self._drop_copies}
        try:
            temporary = self._copy_mark_path.with_suffix(".tmp")
            temporary.write_text(json.dumps(marks, sort_keys=True))
            temporary.replace(self._copy_mark_path)  # a process that dies keeps the file; no fsync needed
        except OSError as error:  # the copies went out; after a restart they go again, with PossResend
            log.warning("drop copies: mark not written to %s: %s", self._copy_mark_path, error)
            return
        self.copied_through = marks

    def status(self) -> dict:
        """What the feed is doing, for the venue's metrics and `fixex admin status`."""
        lag = self.publisher.lag_us()
        return {
            "pid": os.getpid(),
            "port": self._port,
            "replayed_seq": self.replayed_seq,
            "journal_backlog": max(0, last_journal_seq(self._inputs.path) - self.replayed_seq),
            "queue": self.publisher.backlog,
            "subscriptions": self.publisher.hub.subscription_count,
            "sessions": {comp_id: {"logged_on": self.logged_on(comp_id), "role": self._roles[comp_id]}
                         for comp_id in self._contexts},
            "drop_copies_through": dict(self.copied_through),
            "unread": self.publisher.unread(),
            "held": sorted(self.publisher.held_sessions),
            "published": self.publisher.published,
            "logged_out_for_being_stuck": self.publisher.logged_out_for_being_stuck,
            "lag_p50_us": lag[0] if lag else None,
            "lag_p99_us": lag[1] if lag else None,
            "error": self.failure,
            "written_ns": time.time_ns(),
        }

    def _write_status(self) -> None:
        try:
            with self._status_lock:  # one temporary file: two writers at once would leave half a document
                self.status_path.parent.mkdir(parents=True, exist_ok=True)
                temporary = self.status_path.with_suffix(".tmp")
                temporary.write_text(json.dumps(self.status(), sort_keys=True))
                temporary.replace(self.status_path)
        except OSError as error:  # the feed goes on; only the operator's view of it is stale
            log.warning("market data status not written to %s: %s", self.status_path, error)

    # ------------------------------------------------------------------ QuickFIX callbacks

    def onLogout(self, session_id: fix.SessionID) -> None:
        comp_id = session_id.getTargetCompID().getValue()
        log.info("logout: %s", session_id.toString())
        if comp_id in self._contexts:
            self.publisher.request(DropSession(comp_id))  # a subscription lasts as long as its session

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        raw = message.toString()
        f = parse(raw)
        msg_type = f.get("35", "")
        comp_id = f.get("49", "")
        ctx = self._contexts.get(comp_id)
        if ctx is None or msg_type not in ("V", "x", "e", *ORDER_MESSAGES):
            raise fix.UnsupportedMessageType()
        verdict = self._throttles[comp_id].admit(self._clock())
        if verdict is not ThrottleVerdict.ADMIT:
            self.throttle_refusal(comp_id, ctx, f, msg_type, verdict)
        elif self._roles[comp_id] == "drop_copy" and msg_type == "V":
            self.publisher.request(RefuseRequest(
                comp_id, f.get("262", ""), RequestRejectReason.INSUFFICIENT_PERMISSIONS,
                f"session {comp_id} is drop copy only: market data is for market-data sessions"))
        elif self._roles[comp_id] == "drop_copy" or msg_type in ORDER_MESSAGES:
            self._send(comp_id, business_reject(
                ctx.version, f.get("34"), msg_type, NOT_AUTHORIZED,
                f"session {comp_id} is {self._roles[comp_id].replace('_', ' ')} only and may not send {msg_type}"
                + ("; orders go to the order-entry port" if msg_type in ORDER_MESSAGES else ""),
                f.get("11") if msg_type in ORDER_MESSAGES else None))
        elif msg_type == "V":
            request = translate_request(raw, comp_id, ctx.version, self._clock())
            with self.lock:  # queued behind the events replayed before it, so its snapshot is in order
                self.publisher.request(request)
        elif msg_type == "x":
            self.publisher.request(ListSecurities(comp_id, f.get("320", ""), f.get("559", ""), f.get("55")))
        else:
            self._security_status_request(f, ctx)

    def _security_status_request(self, f: dict[str, str], ctx: SessionContext) -> None:
        """SecurityStatusRequest (e): the instrument's trading status now, and with 263=1 every change."""
        symbol = f.get("55", "")
        refusal = None
        if symbol not in self._engine.symbols:
            refusal = (UNKNOWN_SECURITY, f"unknown symbol {symbol!r}; symbols: {', '.join(self._engine.symbols)}")
        elif f.get("263", "0") not in ("0", "1", "2"):
            refusal = (OTHER_BUSINESS_REASON, f"SubscriptionRequestType (263) {f['263']!r} is not supported; "
                                              f"use 0 (snapshot), 1 (snapshot and updates) or 2 (end updates)")
        if refusal is not None:
            self._send(ctx.comp_id, business_reject(ctx.version, f.get("34"), "e", refusal[0], refusal[1],
                                                    f.get("324")))
            return
        with self.lock:  # the status as of every command replayed before this one, queued behind their events
            self.publisher.request(SubscribeStatus(ctx.comp_id, f.get("324", ""), symbol, f.get("263", "0"),
                                                   self._engine.trading_status(symbol)))


def read_status(journal_directory: Path) -> dict | None:
    """The feed's last status (see MarketDataFeed.status), or None if it has written none."""
    try:
        return json.loads((journal_directory / STATUS_FILE_NAME).read_text())
    except (OSError, ValueError):
        return None


def run_market_data(settings: Settings, sessions: SessionsFile, journal_directory: Path, *, work_dir: Path,
                    stop_requested: Callable[[], bool]) -> int:
    """`fixex market-data`: serve the market-data sessions until asked to stop."""
    feed = MarketDataFeed(settings, sessions, work_dir=work_dir, journal_directory=journal_directory)
    try:
        if not feed.start(stop_requested):
            log.info("market data: stopped")
            return 0
    except JournalCorruptError as error:  # serve restarts us with growing pauses; the operator reads why
        log.critical("market data cannot start: the input journal %s does not verify at line %d: %s",
                     error.path, error.line_number, error.problem)
        return 1
    except ReplayDivergedError as error:
        log.critical("market data cannot start: %s", error)
        return 1
    except fix.RuntimeError as error:  # e.g. the port is taken
        log.error("cannot start the market-data acceptor on %s:%d (config market_data.port): %s",
                  settings.fix.host, settings.market_data.port, error)
        return 1
    heap.settle()  # the replay's garbage, before the first subscriber
    while not stop_requested() and feed.failure is None:
        time.sleep(0.1)
    feed.stop()
    return 0 if feed.failure is None else 1
