"""The FIX acceptor and the venue's one writer.

QuickFIX calls us on its own thread. Each application message is read as one
string, translated, applied to the matching engine and answered, all under one
lock that every source of change takes (FIX callbacks, the timer thread, shutdown).
Keeping the work on the calling thread avoids a hand-off to another Python
thread, which can wait for the GIL switch interval (5 ms) when that thread is busy.
Replies leave in event-sequence order because they are sent under the same lock.

Market data is not here: market-data sessions connect to a process of its own
(fix_gateway/market_data_feed.py, on market_data.port), which replays the input
journal this writer keeps, so that no subscriber, however many or slow, costs the
order path anything. Only an order-entry session configured with market_data: true
subscribes here, on its own connection; then the writer hands each command's events
to a publisher thread through a queue (fix_gateway/market_data.py).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import quickfix as fix

from config import ConfigError, Settings, load_settings
from fix_gateway.acceptor import SessionHost, order_path_sessions, throttle_limits
from fix_gateway.admin import AdminServer
from fix_gateway.inbound import Inbound, Refusal, SessionContext, parse
from fix_gateway.market_data import (
    ListSecurities, MarketDataPublisher, MarketDataRenderer, StatusChanged, SubscribeStatus, VenueStatusChanged,
    translate_request,
)
from fix_gateway.metrics import VenueCollector, VenueCounters, serve_metrics
from fix_gateway.outbound import Outbound, business_reject, mass_cancel_reject
from fix_gateway.sessions import SessionsFile
from fix_gateway.venue import (
    build_engine, build_firm_exposure, build_order_limits, build_price_collars,
)
from fix_gateway.versions import (
    APPLICATION_NOT_AVAILABLE, NOT_AUTHORIZED, OTHER_BUSINESS_REASON, UNKNOWN_SECURITY,
)
from marketdata import DropSession, MarketDataHub, RefuseRequest, RequestRejectReason
from marketdata import EndTradingDay as MarketDataDayEnded
from matching import (
    Command, CancelReason, EndTradingDay, Event, AdvanceClock, MassCancel, MatchingEngine, OrderAccepted,
    OrderRejected, OrderStatusReported,
    OrderRejectReason, RejectOrder, SubmitOrder, TimeInForce,
)
from matching import CancelRejectReason, OrderType, RejectCancel, ReplaceOrder, ReplyTo
from matching import (
    HaltTrading, PriceBandChanged, ResumeTrading, TradeExecuted, TradingPhase, TradingStatusChanged,
    TradingStatusReason,
)
from fix_gateway.market_data_feed import read_status as read_market_data_status
from reporting.audit_service import read_status
from reporting.command_journal import (
    CommandApplied, CommandJournal, OperatorActed, VenueStarted, check_replay, commands_file_in, read_inputs,
)
from reporting.journal import JournalCorruptError
from risk.limits import LimitBreach
from risk.throttle import ThrottleVerdict

log = logging.getLogger("fixex.gateway")

ORDER_MESSAGES = ("D", "F", "G", "H", "q")
STATUS_EVENTS = frozenset({TradingStatusChanged, PriceBandChanged})  # to market data as SecurityStatus (f)
NOTED_EVENTS = STATUS_EVENTS | {OrderAccepted, OrderRejected, TradeExecuted}  # counted or forwarded
HALTING = (TradingStatusReason.OPERATOR_HALT, TradingStatusReason.LIMIT_STATE_TIMEOUT)
TIMER_INTERVAL_S = 0.1
VENUE = "venue"  # the kill switch's target for every firm at once
JOURNAL_CLOSED = "the venue is stopping"


class Gateway(SessionHost):
    """The order path: order-entry sessions on fix.port (market-data and drop-copy sessions have their own
    process and port: fix_gateway.market_data_feed)."""

    def __init__(self, settings: Settings, sessions: SessionsFile, *, clock: Callable[[], int] = time.time_ns,
                 work_dir: str | Path = ".", admin_socket: str | Path | None = None, journal: bool = True,
                 pre_trade_risk: bool = True) -> None:
        if not pre_trade_risk:  # benchmarks only (fixex serve --no-risk): no checks, exposure or bands
            settings = dataclasses.replace(settings, circuit_breakers=dataclasses.replace(
                settings.circuit_breakers, enabled=False))
        super().__init__(settings, sessions, order_path_sessions(sessions, settings), port=settings.fix.port,
                         work_dir=work_dir, settings_name="acceptor.cfg")
        self._pre_trade_risk = pre_trade_risk
        self.counters = VenueCounters()
        self.trading_days_ended = 0  # by the timer while running (fixex serve settles the heap after each)
        self._clock = clock
        self.journal_directory = self._work_dir / settings.journal.path
        # The engine reads the time of the command being applied: the live clock's reading,
        # journaled with the command, or on replay the journaled reading.
        self._command_time = clock()
        first = _first_entry(commands_file_in(self.journal_directory)) if journal else None
        # A new journal starts ids from the clock (microseconds), so that OrderIDs and ExecIDs
        # never repeat even if an operator starts a fresh journal.
        start = self._command_time // 1000
        self.engine: MatchingEngine = build_engine(
            settings, lambda: self._command_time,
            first_sequence=first.next_sequence if first is not None else start,
            first_order_id=first.next_order_id if first is not None else start)
        self.lock = threading.Lock()
        self._exposure = build_firm_exposure(settings)
        instruments = {i.symbol: i for i in settings.instruments}
        self._inbound = Inbound(instruments, settings.venue.trading_day_end)
        self._outbound = Outbound(instruments)
        self._set_risk_limits(settings)
        self._books = {symbol: self.engine.book(symbol) for symbol in self.engine.symbols}
        self.publisher = MarketDataPublisher(
            MarketDataHub(instruments), MarketDataRenderer(instruments, self._outbound), self._send_with_groups,
            lambda comp_id: self._contexts[comp_id].version if comp_id in self._contexts else None,
            send_admin=self._send, log_out=self._log_out_session,
            max_unread=settings.market_data.max_unread_messages,
            stuck_after_s=settings.market_data.stuck_logout_seconds, event_clock=clock,
            batch_interval_s=settings.market_data.batch_milliseconds / 1000)
        # Order-entry sessions configured with market_data: true subscribe here, on their own connection;
        # without one, the order path hands the publisher nothing.
        self._subscribers_here = tuple(c for c in self._contexts if settings.session(c).may_subscribe)
        self._handlers: dict[str, Callable[[dict[str, str], SessionContext], None]] = {
            "D": lambda f, ctx: self._apply(self._inbound.new_order(f, ctx), f, ctx),
            "F": lambda f, ctx: self._apply(self._inbound.cancel(f, ctx), f, ctx),
            "G": lambda f, ctx: self._apply(self._inbound.replace(f, ctx), f, ctx),
            "H": lambda f, ctx: self._apply(self._inbound.status(f, ctx), f, ctx),
            "q": self._mass_cancel,
        }
        self._metrics_server = None
        self._kill_switches: set[str] = set()  # firm ids, or VENUE: new orders refused, resting ones cancelled
        self._admin = AdminServer(Path(admin_socket) if admin_socket is not None else
                                  Path("var") / "admin.sock" if self._work_dir == Path(".") else
                                  self._work_dir / "var" / "admin.sock", self.admin)
        self._stopping = threading.Event()
        self._timers: threading.Thread | None = None
        self._next_day_end_ns = _next_day_end_ns(clock(), settings.venue.trading_day_end)
        self._journal: CommandJournal | None = None
        self._journal_error: str | None = None  # set when a write failed: new work is refused
        self.recovered_commands = 0
        if journal:
            self._journal = CommandJournal(self.journal_directory, settings.journal.fsync,
                                           group_commit_ms=settings.journal.group_commit_ms)
            try:
                self._recover()
            except BaseException:
                self._journal.close()
                raise

    # ------------------------------------------------------------------ restart recovery

    def _recover(self) -> None:
        """Replay the input journal: books, ids, exposure, halts and kill switches as they were."""
        assert self._journal is not None
        started = time.monotonic()
        last_time = None
        for entry in self._journal.entries():
            item = entry.record
            if isinstance(item, CommandApplied):
                self._command_time = last_time = item.timestamp_ns
                events = self.engine.process(item.command)
                self._apply_to_state(item.command, events)
                if self._subscribers_here:  # queued until the publisher starts: the books subscribers see
                    self.publisher.events(events)
                self.recovered_commands += 1
            elif isinstance(item, OperatorActed):
                self._operator_state(item.action, item.target)
            elif isinstance(item, VenueStarted) and entry.journal_seq > 1:
                check_replay(item, entry.journal_seq, self.engine, self._journal.path)
        if last_time is not None and _next_day_end_ns(last_time, self.settings.venue.trading_day_end) <= self._clock():
            self._process(EndTradingDay())  # the venue was down when the day ended
        self._journal.record(VenueStarted(self._clock(), self.engine.next_sequence, self.engine.next_order_id))
        if self.recovered_commands:
            log.info("recovered from %s: %d commands replayed in %.2f s; %d open orders", self._journal.path,
                     self.recovered_commands, time.monotonic() - started, len(self.engine.open_orders()))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.start_acceptor()
        self._timers = threading.Thread(target=self._run_timers, name="fixex-timers", daemon=True)
        self._timers.start()
        try:
            self._admin.start()
            log.info("admin endpoint: %s (fixex admin --socket %s ...)", self._admin.path, self._admin.path)
        except OSError as error:  # trading does not depend on it; the operator is told why
            log.error("admin endpoint unavailable at %s: %s", self._admin.path, error)
        metrics = self.settings.metrics
        try:
            self._metrics_server = serve_metrics(VenueCollector(self.counters, self.metric_gauges, self.lock),
                                                 metrics.host, metrics.port)
        except OSError as error:  # nor on metrics
            log.error("metrics endpoint unavailable on %s:%d (config metrics.port): %s", metrics.host, metrics.port,
                      error)
        # The 5.0 SP2 dictionary takes about a second to load: do it before the first subscriber asks.
        self.publisher.start(warm_up=lambda: [self._dictionaries_of(c) for c in self._subscribers_here])
        log.info("FIX acceptor listening on %s:%d as %s%s", self.settings.fix.host, self.settings.fix.port,
                 self.settings.fix.sender_comp_id, " over TLS" if self.tls else "")

    def stop(self) -> None:
        """Log every session out and stop. Open orders stay: the journal brings them back on restart."""
        if not self.listening:
            self.close_journal()
            return
        self._stopping.set()
        self._admin.stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        if self._timers is not None:
            self._timers.join(timeout=5)
        self.publisher.stop()
        self.stop_acceptor()
        self.close_journal()
        log.info("FIX acceptor stopped")

    def close_journal(self) -> None:
        """Flush and release the input journal (a gateway that was never started still holds it)."""
        with self.lock:
            if self._journal is not None and self._journal_error != JOURNAL_CLOSED:
                self._journal.close()
                self._journal_error = JOURNAL_CLOSED

    # ------------------------------------------------------------------ QuickFIX callbacks

    def onLogout(self, session_id: fix.SessionID) -> None:
        comp_id = session_id.getTargetCompID().getValue()
        log.info("logout: %s", session_id.toString())
        if comp_id in self._subscribers_here:
            self.publisher.request(DropSession(comp_id))  # a subscription lasts as long as its session
        if self._stopping.is_set() or self._roles.get(comp_id) != "order_entry":
            return
        if not self.settings.session(comp_id).cancel_on_disconnect:
            return
        with self.lock:
            if self.engine.open_orders(comp_id):
                self._process(MassCancel(comp_id, self._contexts[comp_id].firm, None, only_session=comp_id,
                                         time_in_force=TimeInForce.DAY, reason=CancelReason.SESSION_DISCONNECTED))

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        arrived_ns = time.perf_counter_ns()  # latency metric: from here to the replies sent
        raw = message.toString()
        f = parse(raw)
        msg_type = f.get("35", "")
        handler = self._handlers.get(msg_type)
        if handler is None and msg_type not in ("V", "x", "e"):
            raise fix.UnsupportedMessageType()
        comp_id = f.get("49", "")
        ctx = self._contexts.get(comp_id)
        if ctx is None:  # the shutdown guard sends no application messages
            raise fix.UnsupportedMessageType()
        verdict = self._throttles[comp_id].admit(self._clock())
        if verdict is not ThrottleVerdict.ADMIT:
            self._throttled(comp_id, ctx, f, msg_type, verdict)
            return
        if msg_type == "x":  # reference data: any order-entry or market-data session may ask
            self.publisher.request(ListSecurities(comp_id, f.get("320", ""), f.get("559", ""), f.get("55")))
            return
        if msg_type == "e":
            self._security_status_request(f, ctx)
            return
        if msg_type == "V":
            if self.settings.session(comp_id).may_subscribe:
                request = translate_request(raw, comp_id, ctx.version, self._clock())
            else:
                request = RefuseRequest(comp_id, f.get("262", ""), RequestRejectReason.INSUFFICIENT_PERMISSIONS,
                                        f"session {comp_id} is {self._roles[comp_id].replace('_', ' ')}: "
                                        f"market data is for market-data sessions and order-entry sessions "
                                        f"configured with market_data: true")
            with self.lock:  # queued behind the events before it, so its snapshot is in order
                self.publisher.request(request)
            return
        with self.lock:
            if self._roles[comp_id] != "order_entry":
                self._send(comp_id, business_reject(
                    ctx.version, f.get("34"), msg_type, NOT_AUTHORIZED,
                    f"session {comp_id} is {self._roles[comp_id].replace('_', ' ')} only and may not send {msg_type}",
                    f.get("11")))
                return
            handler(f, ctx)
            self.counters.received[msg_type] += 1
            self.counters.latency[msg_type].observe_ns(time.perf_counter_ns() - arrived_ns)

    # ------------------------------------------------------------------ the writer (lock held)

    def _apply(self, command, request: dict[str, str], ctx: SessionContext) -> None:
        credit_breach = None  # set when this reject should trip the firm's kill switch
        risk = self._pre_trade_risk  # off only for benchmarks (fixex serve --no-risk)
        if risk and isinstance(command, SubmitOrder):
            breach = None
            book = self._books.get(command.symbol)
            # A resend of an order the venue already has is answered with its status by the core; any
            # other order, PossResend or not, passes every check: risk is never bypassed.
            if not self._known_resend(command):
                breach = self._trading_refusal(command) or self._limits.check(command)
                if breach is None and book is not None:
                    breach = self._collars.check(command, book.best_bid(), book.best_ask())
                if breach is None:
                    breach = self._exposure.check(command)
            if breach is not None:
                text = breach.text
                if breach.limit == "credit_limit" and command.firm in self._kill_on_credit_breach:
                    credit_breach = breach
                    text += "; the firm's kill switch is now set (risk kill_switch_on_credit_breach)"
                command = RejectOrder(command.session, command.firm, command.client_order_id, command.symbol,
                                      command.side, command.order_type, command.quantity, command.price,
                                      breach.reason, text)
            elif command.order_type is OrderType.MARKET and book is not None:
                # Protected: it never trades beyond the collar (a resend too, should it turn out to be new).
                command = dataclasses.replace(command, protection_price=self._collars.protection_price(
                    command.firm, command.symbol, command.side, book.best_bid(), book.best_ask()))
            elif command.order_type is OrderType.STOP and book is not None and command.stop_price is not None:
                # A market order once triggered, when the book may have moved anywhere: protected the same
                # distance from its stop price, the price it is triggered at.
                command = dataclasses.replace(command, protection_price=self._collars.protection_price(
                    command.firm, command.symbol, command.side, command.stop_price, command.stop_price))
        elif risk and isinstance(command, ReplaceOrder) and not self._known_resend(command):
            command = self._checked_replace(command)
        self._process(command, request, ctx.comp_id)
        if credit_breach is not None:
            self._kill_switch_on_credit_breach(command.firm, credit_breach)

    def _checked_replace(self, command: ReplaceOrder) -> ReplaceOrder | RejectCancel:
        """A replace passes the checks a new order would, on what it changes: the new price against the collar,
        the new quantity and notional against the firm's order limits, and what it adds to the firm's credit and
        position. Refused, it is an OrderCancelReject (434=2) and the order stays as it was."""
        amended = self.engine.amended_order(command)
        if amended is None or command.symbol not in (None, amended.symbol) or command.side not in (None, amended.side):
            return command  # no such open order, or a change of symbol or side: the core refuses it and says why
        reason = CancelRejectReason.BROKER_OPTION  # "broker / exchange option": in 4.2's list and every later one
        breach = None
        if command.price is not None:
            book = self._books[amended.symbol]
            breach = self._collars.check_price(command.firm, amended.symbol, amended.side, command.price,
                                               book.best_bid(), book.best_ask())
            if breach is not None:
                reason = CancelRejectReason.PRICE_EXCEEDS_BAND
        if breach is None and amended.leaves_quantity:  # a replace down to what executed only closes the order
            breach = self._limits.check(amended) or self._exposure.check_amend(amended)
        if breach is None:
            return command
        return RejectCancel(command.session, command.firm, command.client_order_id, command.orig_client_order_id,
                            command.order_id, ReplyTo.REPLACE, reason, breach.text)

    def _known_resend(self, command: SubmitOrder | ReplaceOrder) -> bool:
        return command.possible_resend and self.engine.has_client_order_id(command.session, command.client_order_id)

    def _kill_switch_on_credit_breach(self, firm: str, breach: LimitBreach) -> None:
        """risk kill_switch_on_credit_breach: the firm's order was refused for credit, so stop the firm."""
        limit = self.settings.limits_for(firm).credit_limit
        log.warning("firm %s breached its credit limit of %s (risk credit_limit; kill_switch_on_credit_breach is "
                    "true): setting its kill switch. %s", firm, format(limit, ",f"), breach.text)
        answer = self._set_kill_switch(firm)
        if not answer["ok"]:
            log.error("kill switch for firm %s not set after its credit breach: %s", firm, answer["error"])

    def _set_risk_limits(self, settings: Settings) -> None:
        """Order limits and price collars from `settings` (at start, and on the operator's reload)."""
        self._limits = build_order_limits(settings)
        self._collars = build_price_collars(settings, self._outbound.price)
        self._kill_on_credit_breach = frozenset(f.firm_id for f in settings.firms
                                                if settings.limits_for(f.firm_id).kill_switch_on_credit_breach)

    def _reload_risk(self) -> dict:
        """Read the config file again and apply its risk section; anything else in it waits for a restart."""
        try:
            fresh = load_settings(self.settings.source)
        except (ConfigError, OSError) as error:
            return {"ok": False, "error": f"risk limits not reloaded: {error}"}
        self.settings = dataclasses.replace(self.settings, risk=fresh.risk)
        self._set_risk_limits(self.settings)
        self._exposure.set_limits(build_firm_exposure(self.settings).limits)
        for comp_id, throttle in self._throttles.items():
            throttle.limits = throttle_limits(self.settings, self._contexts[comp_id].firm)
        log.warning("risk limits reloaded from %s", self.settings.source)
        return {"ok": True, "reloaded": self.settings.source}

    def _trading_refusal(self, order: SubmitOrder) -> LimitBreach | None:
        if VENUE in self._kill_switches or order.firm in self._kill_switches:
            scope = "the venue" if VENUE in self._kill_switches else f"firm {order.firm}"
            return LimitBreach(OrderRejectReason.OTHER, f"kill switch set for {scope} by the operator: new orders "
                                                        f"are refused until it is reset")
        return None

    # ------------------------------------------------------------------ operator commands

    def admin(self, command: str, args: list[str]) -> dict:
        """One operator command (from the admin socket), executed by the writer."""
        firms = sorted(f.firm_id for f in self.settings.firms)
        with self.lock:
            if command == "reload-risk" and not args:
                return self._reload_risk()
            if command == "status" and not args:
                return {"ok": True, "sessions": {c: {"role": r, "logged_on": self.logged_on(c)}
                                                 for c, r in self._roles.items()},
                        "instruments": {s: self._instrument_status(s, b) for s, b in self._books.items()},
                        "kill_switches": sorted(self._kill_switches),
                        "journal": {"path": str(self._journal.path) if self._journal is not None else None,
                                    "last_seq": self._journal.last_seq if self._journal is not None else None,
                                    "error": self._journal_error},
                        "audit": read_status(self.journal_directory),
                        "market_data": read_market_data_status(self.journal_directory)}
            if command == "kill-switch" and len(args) == 2 and args[0] in ("set", "reset"):
                target = args[1]
                if target != VENUE and target not in firms:
                    return {"ok": False, "error": f"unknown firm {target!r}; firms: {', '.join(firms)}, or venue"}
                if args[0] == "set":
                    return self._set_kill_switch(target)
                refused = self._operator_act("kill-switch-reset", target)
                if refused:
                    return refused
                log.warning("kill switch reset for %s", target)
                return {"ok": True, "kill_switches": sorted(self._kill_switches)}
            if command in ("halt", "resume") and len(args) == 1:
                return self._halt_or_resume(command == "halt", args[0])
        return {"ok": False, "error": f"unknown command {' '.join([command, *args])!r}; commands: status, "
                                      f"kill-switch set|reset venue|FIRM, halt SYMBOL|venue, resume SYMBOL|venue, "
                                      f"reload-risk"}

    def _halt_or_resume(self, halt: bool, target: str) -> dict:
        """Halt (or reopen through the auction) one instrument or the whole venue. Lock held."""
        if target != VENUE and target not in self._books:
            return {"ok": False, "error": f"unknown symbol {target!r}; symbols: {', '.join(self._books)}, or venue"}
        if self._journal_error is not None:
            return {"ok": False, "error": f"not done: the input journal cannot be written ({self._journal_error})"}
        symbol = None if target == VENUE else target
        if symbol is None:  # the venue's status first, then each instrument's
            sessions = tuple(c for c in self._subscribers_here if self.logged_on(c))
            if sessions:  # market-data sessions hear of it from the feed, which replays this halt
                self.publisher.request(VenueStatusChanged(halt, self._clock(), sessions))
        self._process(HaltTrading(symbol) if halt else ResumeTrading(symbol))
        log.warning("%s %s by the operator", target, "halted" if halt else "reopened through the auction")
        return {"ok": True, "halted": sorted(s for s, b in self._books.items() if b.phase is not TradingPhase.OPEN)}

    def metric_gauges(self) -> dict:
        """What the metrics collector reads at a scrape (it holds the lock)."""
        books = {}
        for symbol, book in self._books.items():
            unit = float(self.settings.instrument(symbol).price_unit)
            bid, ask = book.best_bid(), book.best_ask()
            books[symbol] = {
                "best_bid": bid * unit if bid is not None else None,
                "best_ask": ask * unit if ask is not None else None,
                "spread": (ask - bid) * unit if bid is not None and ask is not None else None,
                "bid_levels": len(book.bids), "ask_levels": len(book.asks),
                "halted": book.phase is not TradingPhase.OPEN}
        audit = read_status(self.journal_directory) or {}
        feed = read_market_data_status(self.journal_directory) or {}
        return {
            "sessions_logged_on": sum(1 for comp_id in self._session_ids if self.logged_on(comp_id)),
            "books": books,
            "queues": {"journal": self._journal.unsynced if self._journal is not None else 0,
                       "audit_backlog": audit.get("input_backlog", 0) + audit.get("database_backlog", 0),
                       "market_data": self.publisher.backlog + feed.get("queue", 0),
                       "market_data_journal": feed.get("journal_backlog", 0)},
            "market_data_unread": {**feed.get("unread", {}), **self.publisher.unread()},
            "market_data_lag_us": {"0.5": feed.get("lag_p50_us"), "0.99": feed.get("lag_p99_us")},
            "credit": {firm: (self._exposure.credit_used(firm) / limits.credit_units,
                              self._exposure.firm(firm).alerted)
                       for firm, limits in self._exposure.limits.items() if limits.credit_units},
        }

    def _instrument_status(self, symbol: str, book) -> dict:
        breaker = book.breaker
        price = self._outbound.price
        status = {"phase": book.phase.value, "halted": book.phase is not TradingPhase.OPEN,
                  "reason": book.phase_reason.value if book.phase_reason is not None else None,
                  "best_bid": price(symbol, book.best_bid()), "best_offer": price(symbol, book.best_ask())}
        if breaker is not None:
            status.update(limit_state=breaker.limit_state_since is not None,
                          reference_price=price(symbol, breaker.reference),
                          band=[price(symbol, breaker.band_low), price(symbol, breaker.band_high)],
                          pause_until_ns=breaker.pause_until)
        return status

    def _set_kill_switch(self, target: str) -> dict:
        """Set a firm's (or the venue's) kill switch, journaled, and cancel the resting orders of its
        order-entry sessions (CancelReason.KILL_SWITCH); the answer for the operator. Lock held."""
        refused = self._operator_act("kill-switch-set", target)
        if refused:
            return refused
        cancelled = 0
        for comp_id, role in self._roles.items():
            firm = self._contexts[comp_id].firm
            if role == "order_entry" and target in (VENUE, firm) and self.engine.open_orders(comp_id):
                cancelled += len(self.engine.open_orders(comp_id))
                self._process(MassCancel(comp_id, firm, None, only_session=comp_id, reason=CancelReason.KILL_SWITCH))
        log.warning("kill switch set for %s: %d resting orders cancelled", target, cancelled)
        return {"ok": True, "kill_switches": sorted(self._kill_switches), "cancelled": cancelled}

    def _operator_act(self, action: str, target: str) -> dict | None:
        """Journal an operator's change of state, then make it; the refusal to return when it cannot be journaled."""
        if self._journal is not None:
            try:
                if self._journal_error is not None:
                    raise OSError(self._journal_error)
                self._journal.record(OperatorActed(self._clock(), action, target))
            except OSError as error:
                return {"ok": False, "error": f"not done: the input journal cannot be written ({error})"}
        self._operator_state(action, target)
        return None

    def _operator_state(self, action: str, target: str | None) -> None:
        if action == "kill-switch-set":
            self._kill_switches.add(target)
        elif action == "kill-switch-reset":
            self._kill_switches.discard(target)
        else:
            raise ValueError(f"unknown operator action {action!r} in the input journal")

    def _security_status_request(self, f: dict[str, str], ctx: SessionContext) -> None:
        """SecurityStatusRequest (e): the instrument's trading status now, and with 263=1 every change."""
        comp_id = ctx.comp_id
        symbol = f.get("55", "")
        refusal = None
        if not self.settings.session(comp_id).may_subscribe:
            refusal = (NOT_AUTHORIZED, f"session {comp_id} is {self._roles[comp_id].replace('_', ' ')}: trading "
                                       f"status is for market-data sessions and order-entry sessions configured "
                                       f"with market_data: true")
        elif symbol not in self._books:
            refusal = (UNKNOWN_SECURITY, f"unknown symbol {symbol!r}; symbols: {', '.join(self._books)}")
        elif f.get("263", "0") not in ("0", "1", "2"):
            refusal = (OTHER_BUSINESS_REASON, f"SubscriptionRequestType (263) {f['263']!r} is not supported; "
                                              f"use 0 (snapshot), 1 (snapshot and updates) or 2 (end updates)")
        if refusal is not None:
            self._send(comp_id, business_reject(ctx.version, f.get("34"), "e", refusal[0], refusal[1], f.get("324")))
            return
        with self.lock:  # the status as of every command before this one, queued behind their events
            self.publisher.request(SubscribeStatus(comp_id, f.get("324", ""), symbol, f.get("263", "0"),
                                                      self.engine.trading_status(symbol)))

    def _mass_cancel(self, f: dict[str, str], ctx: SessionContext) -> None:
        translated = self._inbound.mass_cancel(f, ctx)
        if isinstance(translated, Refusal):  # 532=0 "not supported" exists wherever mass cancel does
            self._send(ctx.comp_id, mass_cancel_reject(ctx.version, f["11"], f.get("530", "7"),
                                                       f"MC-{f['11']}", translated.reason, translated.text))
            return
        self._process(translated, f, ctx.comp_id)

    def _process(self, command: Command, request: dict[str, str] | None = None, requester: str | None = None) -> None:
        """Journal the command, apply it, answer: the journal line is written before any reply leaves."""
        self._command_time = self._clock()
        if self._journal is not None:
            if self._journal_error is not None:
                self._refuse_unjournaled(request, requester)
                return
            try:
                self._journal.command(self._command_time, command, requester,
                                      int(request["34"]) if request is not None and "34" in request else None)
            except OSError as error:
                self._journal_error = f"{type(error).__name__}: {error}"
                log.critical("input journal %s cannot be written (%s): the venue refuses new work until it is "
                             "restarted", self._journal.path, self._journal_error)
                self._refuse_unjournaled(request, requester)
                return
        events = self.engine.process(command)
        self._apply_to_state(command, events)
        statuses = None
        counters = self.counters
        for event in events:
            self._publish(event, request, requester)
            kind = type(event)
            if kind in NOTED_EVENTS:
                if kind is OrderAccepted:
                    counters.accepted += 1
                elif kind is TradeExecuted:
                    counters.executions[event.symbol] += 1
                    counters.volume[event.symbol] += event.quantity
                elif kind is OrderRejected:
                    counters.rejected[event.reason.name.lower()] += 1
                else:
                    statuses = [event] if statuses is None else statuses + [event]
                    if kind is TradingStatusChanged and event.reason in HALTING:
                        counters.halts[(event.symbol, event.reason.value)] += 1
        if not self._subscribers_here:
            return
        self.publisher.events(events)
        if statuses is not None:  # after the book changes of the same command
            for event in statuses:
                self.publisher.request(StatusChanged(event))

    def _apply_to_state(self, command: Command, events: list[Event]) -> None:
        """What the venue keeps besides the books (live and on replay alike)."""
        if self._pre_trade_risk:
            self._exposure.apply(events)
        if isinstance(command, EndTradingDay):
            self._exposure.end_trading_day()

    def _refuse_unjournaled(self, request: dict[str, str] | None, requester: str | None) -> None:
        """Nothing is done that could not be recorded; the requester is told so."""
        if request is None or requester is None:
            log.error("venue command not applied: the input journal is unavailable (%s)", self._journal_error)
            return
        ctx = self._contexts[requester]
        self._send(requester, business_reject(
            ctx.version, request.get("34"), request.get("35", ""), APPLICATION_NOT_AVAILABLE,
            "the exchange cannot record orders right now (its journal is unavailable); nothing was done with "
            "this message: please retry later", request.get("11")))

    def _publish(self, event: Event, request: dict[str, str] | None, requester: str | None) -> None:
        owner = event.reply_session if isinstance(event, OrderStatusReported) else getattr(event, "session", None)
        # Drop copies are not sent from here: the feed's process sends them from the journal (market_data_feed).
        ctx = self._contexts.get(owner) if owner is not None else None
        if ctx is not None:
            body = self._outbound.render(event, ctx.version, request if owner == requester else None)
            if body is not None:
                self._send(owner, body)

    def _throttled(self, comp_id: str, ctx: SessionContext, f: dict[str, str], msg_type: str,
                   verdict: ThrottleVerdict) -> None:
        with self.lock:
            self.counters.throttle_hits[comp_id] += 1
            self.throttle_refusal(comp_id, ctx, f, msg_type, verdict)

    # ------------------------------------------------------------------ timers

    def _run_timers(self) -> None:
        while not self._stopping.wait(TIMER_INTERVAL_S):
            now = self._clock()
            due = self.engine.next_timer_ns
            if due is not None and due <= now:
                with self.lock:
                    self._process(AdvanceClock())
            if now >= self._next_day_end_ns:
                with self.lock:
                    self._process(EndTradingDay())
                    self.publisher.request(MarketDataDayEnded(now))
                self._next_day_end_ns = _next_day_end_ns(now, self.settings.venue.trading_day_end)
                self.trading_days_ended += 1
                log.info("trading day ended: Day orders expired")


def _first_entry(path: Path) -> VenueStarted | None:
    """The journal's first entry, which fixes where ids start (None for a new journal)."""
    for entry in read_inputs(path):
        if not isinstance(entry.record, VenueStarted):
            raise JournalCorruptError(str(path), 1, entry.journal_seq,
                                      f"the first entry is {entry.record.kind!r}, not venue_started")
        return entry.record
    return None


def _next_day_end_ns(now_ns: int, day_end) -> int:
    now = datetime.fromtimestamp(now_ns / 1e9, tz=timezone.utc)
    end = now.replace(hour=day_end.hour, minute=day_end.minute, second=0, microsecond=0)
    if end <= now:
        end += timedelta(days=1)
    return int(end.timestamp()) * 1_000_000_000


def with_port(settings: Settings, port: int, metrics_port: int = 0, market_data_port: int | None = None) -> Settings:
    """The same settings listening on other ports (tests use free ports; metrics port 0: any free one)."""
    market_data = settings.market_data if market_data_port is None else dataclasses.replace(
        settings.market_data, port=market_data_port)
    return dataclasses.replace(settings, fix=dataclasses.replace(settings.fix, port=port),
                               metrics=dataclasses.replace(settings.metrics, port=metrics_port),
                               market_data=market_data)

