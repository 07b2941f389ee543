"""The matching engine: commands in, events out, one at a time.

Deterministic by construction: it reads time only through the injected clock (once
per command) and numbers orders, trades and events from counters it is given, so
replaying the same commands against the same clock readings gives the same events.
It does no I/O and is not thread-safe: exactly one writer calls `process`.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable

from matching.book import OpenOrders, Order, OrderBook, PriceLevel, drop_level, highest_key, lowest_key
from matching.breakers import CircuitBreakerRules, InstrumentBreaker, TradingPhase, TradingStatusReason, uncross
from matching.commands import (
    AdvanceClock, CancelOrder, Command, EndTradingDay, HaltTrading, MassCancel, QueryOrder, RejectCancel,
    RejectOrder, ReplaceOrder, ResumeTrading, SubmitOrder,
)
from matching.events import (
    AuctionCompleted, BookLevelChanged, CancelRejected, Event, MassCancelCompleted, MassCancelRejected,
    OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected, OrderReplaced, OrderRepriced,
    OrderRestated, OrderStatusReported, OrderTriggered, PriceBandChanged, StatusQueryRejected, TradeExecuted,
    TradingStatusChanged,
)
from matching.frozen import field_reader
from matching.rejects import CancelRejectReason, MassCancelRejectReason, OrderRejectReason
from matching.types import (
    CancelReason, Instrument, OrderStatus, OrderType, ReplyTo, SelfTradePrevention, Side, TimeInForce,
)

BUY = Side.BUY
SELL = Side.SELL
NEW = OrderStatus.NEW
PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
FILLED = OrderStatus.FILLED
LIMIT = OrderType.LIMIT
STOP_LIMIT = OrderType.STOP_LIMIT
STOP = OrderType.STOP
GTD = TimeInForce.GTD
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
OPEN = TradingPhase.OPEN
HALTED = TradingPhase.HALTED
PRE_OPEN = TradingPhase.PRE_OPEN
CANCELLED = OrderStatus.CANCELLED
REQUESTED = CancelReason.REQUESTED
IMMEDIATE_OR_CANCEL = CancelReason.IMMEDIATE_OR_CANCEL
REPLY_TO_CANCEL = ReplyTo.CANCEL
REPLY_TO_REPLACE = ReplyTo.REPLACE

# A command's fields are read all at once: compiled, each read of one by name is a generic attribute
# lookup (about 130 instructions), and a new order's checks read a dozen (see matching.frozen.field_reader).
submit_fields = field_reader(
    SubmitOrder, "session", "firm", "client_order_id", "symbol", "side", "order_type", "time_in_force",
    "quantity", "price", "stop_price", "expire_time_ns", "self_trade_prevention", "self_match_id",
    "protection_price", "possible_resend")
cancel_fields = field_reader(
    CancelOrder, "session", "firm", "client_order_id", "possible_resend", "order_id", "orig_client_order_id")
replace_fields = field_reader(
    ReplaceOrder, "session", "firm", "client_order_id", "possible_resend", "order_id", "orig_client_order_id",
    "quantity", "price", "stop_price", "symbol", "side", "order_type")


@dataclass(frozen=True, slots=True)
class AmendedOrder:
    """What an open order would be after a replace: for pre-trade checks before the replace is applied."""

    order_id: int
    firm: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: int  # the new total, executed included
    leaves_quantity: int  # what would be left to work (0: the replace would close the order)
    price: int | None
    stop_price: int | None


class MatchingEngine:
    """Order books for a set of instruments with price-time priority matching."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        clock: Callable[[], int],
        *,
        first_sequence: int = 1,
        first_order_id: int = 1,
        first_trade_id: int = 1,
        circuit_breakers: CircuitBreakerRules | None = None,
        queue_when_halted: bool = True,
    ) -> None:
        self._books: dict[str, OrderBook] = {i.symbol: OrderBook(i) for i in instruments}
        # Price bands, limit states and pauses; without rules only an operator's halts stop matching.
        self._rules = circuit_breakers
        self._queue_when_halted = circuit_breakers.queue_during_pause if circuit_breakers else queue_when_halted
        if circuit_breakers is not None:
            for book in self._books.values():
                instrument = book.instrument
                if instrument.reference_price is not None:
                    book.breaker = InstrumentBreaker(circuit_breakers, instrument.reference_price,
                                                     instrument.band_tier, instrument.tick_size,
                                                     instrument.price_decimals)
        self._deadlines: dict[str, int] = {}  # symbol -> when its limit state times out or its pause ends
        self._next_review_ns: int | None = None  # when reference prices are next reviewed (after trades)
        self._clock = clock
        self._next_sequence = first_sequence
        self._next_order_id = first_order_id
        self._next_trade_id = first_trade_id
        self._next_priority = 1
        # Every order of the trading day, plus open GTC/GTD orders from earlier days.
        self._orders: dict[int, Order] = {}
        # session -> ClOrdID -> order, for every ClOrdID a session used today (new, cancel or replace).
        # Nested rather than keyed by (session, ClOrdID): string keys hash once and need no tuple per lookup.
        self._by_client_id: dict[str, dict[str, Order]] = {}
        # session -> its open orders in entry order, for mass cancel and cancel-on-disconnect.
        self._open_by_session: dict[str, OpenOrders] = {}
        self._expiries: list[tuple[int, int]] = []  # heap of (expire_time_ns, order_id)
        # Per command: its events, its time, and the levels it changed, each after its book (book, level,
        # book, level, ...; no tuples): each level keeps its state before the command (PriceLevel.touched).
        self._events: list[Event] = []
        self._now = 0
        self._touched: list[OrderBook | PriceLevel] = []
        # Highest and lowest trade price since stops were last checked.
        self._trade_high: int | None = None
        self._trade_low: int | None = None
        self._handlers: dict[type, Callable] = {
            SubmitOrder: self._submit,
            CancelOrder: self._cancel,
            ReplaceOrder: self._replace,
            QueryOrder: self._query,
            MassCancel: self._mass_cancel,
            AdvanceClock: self._tick,
            HaltTrading: self._halt,
            ResumeTrading: self._resume,
            EndTradingDay: self._end_trading_day,
            RejectOrder: self._record_order_reject,
            RejectCancel: self._record_cancel_reject,
        }

    # ------------------------------------------------------------------ public

    def process(self, command: Command) -> list[Event]:
        """Apply one command; return the events it caused, in order."""
        self._now = self._clock()
        self._events = events = []
        self._trade_high = self._trade_low = None
        kind = type(command)
        # The three commands of nearly all traffic are called directly: compiled, that is a C call where
        # the table's bound methods are Python calls (about 1% of a command's instructions).
        if kind is SubmitOrder:
            self._submit(command)
        elif kind is CancelOrder:
            self._cancel(command)
        elif kind is ReplaceOrder:
            self._replace(command)
        else:
            self._handlers[kind](command)
        if self._touched:
            if self._rules is not None:
                self._watch_bands()
            self._emit_level_changes()
        return events

    def book(self, symbol: str) -> OrderBook:
        return self._books[symbol]

    @property
    def symbols(self) -> list[str]:
        return list(self._books)

    def open_orders(self, session: str | None = None) -> list[Order]:
        """Open orders (resting or waiting for a trigger), oldest first. Read-only use."""
        if session is not None:
            return list(self._open_by_session.get(session, ()))
        return sorted((o for orders in self._open_by_session.values() for o in orders), key=lambda o: o.order_id)

    def amended_order(self, cmd: ReplaceOrder) -> AmendedOrder | None:
        """The open order `cmd` names as the replace would leave it; None when it names no open order of the
        firm's (the replace is then refused by `process`, which says why)."""
        order = self._locate(cmd.session, cmd.firm, cmd.order_id, cmd.orig_client_order_id)
        if order is None or not order.status.is_open:
            return None
        return AmendedOrder(order.order_id, order.firm, order.symbol, order.side, order.order_type, cmd.quantity,
                            max(0, cmd.quantity - order.cum_quantity),
                            order.price if cmd.price is None else cmd.price,
                            order.stop_price if cmd.stop_price is None else cmd.stop_price)

    def has_client_order_id(self, session: str, client_order_id: str) -> bool:
        """Whether the session used this ClOrdID today (a PossResend of it is answered with its order's status)."""
        return self._order_by_client_id(session, client_order_id) is not None

    @property
    def next_sequence(self) -> int:
        return self._next_sequence

    @property
    def next_order_id(self) -> int:
        return self._next_order_id

    @property
    def next_expiry_ns(self) -> int | None:
        """The earliest GTD expire time still scheduled (it may belong to an order already closed)."""
        return self._expiries[0][0] if self._expiries else None

    @property
    def next_timer_ns(self) -> int | None:
        """When an AdvanceClock next has work: a GTD expiry, a limit state timing out or a pause ending."""
        due = [t for t in (self._expiries[0][0] if self._expiries else None, self._next_review_ns) if t is not None]
        if self._deadlines:
            due.append(min(self._deadlines.values()))
        return min(due) if due else None

    def trading_status(self, symbol: str) -> TradingStatusChanged:
        """The instrument's status now, as the event that would announce it (sequence 0: not an event)."""
        book = self._books[symbol]
        return self._status_event(book, book.phase_reason or TradingStatusReason.OPERATOR_RESUME, 0)

    def digest(self) -> str:
        """One hash over every book, for determinism checks."""
        return "|".join(self._books[s].digest() for s in sorted(self._books))

    def check_invariants(self) -> None:
        """Raise AssertionError if any book or index is inconsistent."""
        for book in self._books.values():
            book.check_invariants()
        in_books = {o.order_id for b in self._books.values() for o in b.resting_orders()}
        in_stops = {o.order_id for b in self._books.values() for o in b.stop_orders()}
        assert not in_books & in_stops, "an order is both resting and waiting for a trigger"
        open_ids = set()
        for session, orders in self._open_by_session.items():
            previous = None
            for order in orders:
                assert order.session == session and order.prev_in_session is previous, (
                    f"{order!r} misplaced among {session}'s open orders")
                assert previous is None or previous.order_id < order.order_id, f"{session}: entry order broken"
                assert order.status.is_open, f"closed {order!r} still indexed as open"
                assert self._orders.get(order.order_id) is order, f"{order!r} missing from the order-id index"
                assert order.order_id not in open_ids, f"{order!r} listed twice"
                open_ids.add(order.order_id)
                previous = order
            assert orders.tail is previous and len(orders) == sum(1 for _ in orders), (
                f"{session}: open orders' tail or count is wrong")
        assert open_ids == in_books | in_stops, (
            f"open index and books disagree: only indexed {sorted(open_ids - in_books - in_stops)[:5]}, "
            f"only in books {sorted((in_books | in_stops) - open_ids)[:5]}"
        )
        for order in self._orders.values():  # quantities are conserved order by order
            if not order.status.is_open:
                assert order.level is None and order.leaves_quantity == 0, f"closed {order!r} keeps leaves"
            assert order.cum_quantity <= order.quantity, f"{order!r} executed more than its quantity"
            if order.status is FILLED:
                assert order.cum_quantity == order.quantity, f"filled {order!r} executed less than its quantity"
        assert not self._touched

    # ------------------------------------------------------------------ helpers

    def _sequence(self) -> int:
        sequence = self._next_sequence
        self._next_sequence = sequence + 1
        return sequence

    def _touch(self, book: OrderBook, level: PriceLevel) -> None:
        """Remember a resting level's state before its first change in this command.

        Kept on the level itself: a dict keyed by (book, side, price) cost a tuple, its hash and two
        lookups per change. A level the command opens is touched while still empty (see _rest).
        """
        if not level.touched:
            level.touched = True
            level.quantity_before = level.quantity
            level.count_before = level.count
            touched = self._touched
            touched.append(book)
            touched.append(level)

    def _emit_level_changes(self) -> None:
        """One BookLevelChanged per price level whose quantity or order count the command changed, in the
        order the command first touched them, with the level's state at the end of the command."""
        events = self._events
        now = self._now
        sequence = self._next_sequence
        touched = self._touched
        for index in range(0, len(touched), 2):
            level = touched[index + 1]
            if not level.touched:
                continue  # its price was reported with an earlier level's (below)
            level.touched = False
            book = touched[index]
            quantity = level.quantity
            count = level.count
            if not count:
                # Emptied, so dropped from the book. A level opened at the same price later in the command
                # (a replace re-queueing there, say) is touched too: report the price once, as it ends.
                current = (book.bid_at if level.side is BUY else book.ask_at)(level.price)
                if current is not None:
                    if not current.touched:
                        continue  # a level emptied in between: the price is reported already
                    current.touched = False
                    quantity = current.quantity
                    count = current.count
            if quantity != level.quantity_before or count != level.count_before:
                events.append(BookLevelChanged(sequence, now, book.symbol, level.side, level.price, quantity,
                                               count))
                sequence += 1
        self._next_sequence = sequence
        touched.clear()

    def _close(self, order: Order, status: OrderStatus) -> None:
        order.status = status
        order.leaves_quantity = 0
        orders = self._open_by_session[order.session]
        orders.remove(order)

    def _unbook(self, book: OrderBook, order: Order) -> None:
        """Take an open order out of wherever it waits: a price level or the stop book."""
        if order.level is not None:
            self._touch(book, order.level)
            book.take_out(order)
        elif order.stop_price is not None and self._waiting_for_trigger(book, order):
            book.remove_stop(order)

    @staticmethod
    def _waiting_for_trigger(book: OrderBook, order: Order) -> bool:
        stops = book.buy_stops if order.side is BUY else book.sell_stops
        waiting = stops.get(order.stop_price)
        return waiting is not None and waiting.get(order.order_id) is order

    def _cancel_open(self, order: Order, reason: CancelReason,
                     client_order_id: str | None = None, orig_client_order_id: str | None = None) -> None:
        """Close an open order that is no longer in any book; emit OrderCancelled."""
        cancelled = order.leaves_quantity
        self._close(order, CANCELLED)
        self._events.append(OrderCancelled(
            self._sequence(), self._now, order.order_id, order.session, order.firm,
            client_order_id if client_order_id is not None else order.client_order_id,
            orig_client_order_id, order.symbol, order.side, order.quantity, order.price,
            order.cum_quantity, order.cum_notional, cancelled, reason))

    def _order_by_client_id(self, session: str, client_order_id: str) -> Order | None:
        """The order the session's ClOrdID named today (as a new order, cancel or replace), if any."""
        ids = self._by_client_id.get(session)
        return None if ids is None else ids.get(client_order_id)

    def _client_order_ids(self, session: str) -> dict[str, Order]:
        """The session's ClOrdIDs of today, to record a new one."""
        ids = self._by_client_id.get(session)
        if ids is None:
            ids = self._by_client_id[session] = {}
        return ids

    def _locate(self, session: str, firm: str, order_id: int | None, client_order_id: str | None) -> Order | None:
        """The firm's order named by OrderID, or by the session's ClOrdID; None hides other firms' orders."""
        if order_id is not None:
            order = self._orders.get(order_id)
            if order is not None and client_order_id is not None:
                if self._order_by_client_id(order.session, client_order_id) is not order:
                    return None  # the two ids name different orders
        elif client_order_id is not None:
            order = self._order_by_client_id(session, client_order_id)
        else:
            return None
        if order is None or order.firm != firm:
            return None
        return order

    # ------------------------------------------------------------------ new orders

    def _validate_new(self, cmd: SubmitOrder, book: OrderBook, client_order_id: str,
                      used_ids: dict[str, Order] | None, order_type: OrderType, quantity: int, price: int | None,
                      stop_price: int | None, protection_price: int | None, time_in_force: TimeInForce,
                      expire_time_ns: int | None) -> tuple[OrderRejectReason, str] | None:
        """Why a new order for a known instrument is refused (None: it is not). Its fields come as _submit
        has read them; `used_ids` are the session's ClOrdIDs of today, if it has any."""
        instrument = book.instrument
        if quantity <= 0:
            return OrderRejectReason.INCORRECT_QUANTITY, f"quantity must be positive, got {quantity}"
        if quantity % book.lot_size:
            return (OrderRejectReason.INCORRECT_QUANTITY,
                    f"quantity {quantity} is not a multiple of the lot size {instrument.lot_size}")
        if order_type is LIMIT and price is not None and price > 0 and not price % book.tick_size:
            problem = None if stop_price is None else _check_price(
                "stop price", stop_price, False, order_type, instrument)
        else:  # the less common shapes, checked in full
            problem = _check_price("price", price, order_type is LIMIT or order_type is STOP_LIMIT, order_type,
                                   instrument)
            if problem is None:
                problem = _check_price("stop price", stop_price, order_type is STOP or order_type is STOP_LIMIT,
                                       order_type, instrument)
        if problem is not None:
            return problem
        if protection_price is not None:
            if order_type is not OrderType.MARKET and order_type is not STOP:
                return OrderRejectReason.OTHER, ("only a market order, or a stop order (a market order once "
                                                 "triggered), takes a protection price")
            problem = _check_price("protection price", protection_price, True, order_type, instrument)
            if problem is not None:
                return problem
        if time_in_force is GTD:
            if expire_time_ns is None:
                return OrderRejectReason.OTHER, "a GTD order needs an expire time"
            if expire_time_ns <= self._now:
                return OrderRejectReason.TOO_LATE_TO_ENTER, "the expire time has already passed"
        elif expire_time_ns is not None:
            return OrderRejectReason.OTHER, "an expire time is only allowed with time in force GTD"
        if used_ids is not None and client_order_id in used_ids:
            return (OrderRejectReason.DUPLICATE_ORDER,
                    f"ClOrdID {client_order_id!r} was already used today by this session")
        if book.phase is not OPEN:
            return self._closed_problem(book, cmd)
        return None

    def _closed_problem(self, book: OrderBook, cmd: SubmitOrder) -> tuple[OrderRejectReason, str] | None:
        """Why a new order is refused while the instrument does not trade continuously (None: it queues)."""
        why = _why_not_open(book, self._rules)
        if book.phase is HALTED:
            return (OrderRejectReason.EXCHANGE_CLOSED,
                    f"{book.symbol}: trading is {why}; new orders are refused until it reopens, cancels are accepted")
        if cmd.order_type is OrderType.MARKET or cmd.time_in_force is IOC or cmd.time_in_force is FOK:
            return (OrderRejectReason.EXCHANGE_CLOSED,
                    f"{book.symbol}: trading is {why}; market, IOC and FOK orders are refused until it reopens, "
                    f"limit orders queue for the reopening auction")
        return None

    def _submit(self, cmd: SubmitOrder) -> None:
        (session, firm, client_order_id, symbol, side, order_type, time_in_force, quantity, price, stop_price,
         expire_time_ns, self_trade_prevention, self_match_id, protection_price, possible_resend) = submit_fields(cmd)
        if possible_resend and self._report_if_seen(session, firm, client_order_id):
            return
        book = self._books.get(symbol)
        used_ids = self._by_client_id.get(session)
        if book is None:
            problem = OrderRejectReason.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}"
        else:
            problem = self._validate_new(cmd, book, client_order_id, used_ids, order_type, quantity, price,
                                         stop_price, protection_price, time_in_force, expire_time_ns)
        if problem is not None:
            self._events.append(OrderRejected(
                self._sequence(), self._now, session, firm, client_order_id, symbol, side, order_type, quantity,
                price, problem[0], problem[1]))
            return
        order_id = self._next_order_id
        self._next_order_id = order_id + 1
        order = Order(
            order_id, session, firm, client_order_id, symbol, side, order_type, time_in_force, quantity, price,
            stop_price, expire_time_ns, self_trade_prevention, self_match_id)
        if protection_price is not None:
            order.protection_price = protection_price
        self._orders[order_id] = order
        if used_ids is None:
            used_ids = self._by_client_id[session] = {}
        used_ids[client_order_id] = order
        session_orders = self._open_by_session.get(session)
        if session_orders is None:
            session_orders = self._open_by_session[session] = OpenOrders()
        session_orders.append(order)
        sequence = self._next_sequence
        self._next_sequence = sequence + 1
        self._events.append(OrderAccepted(
            sequence, self._now, order_id, session, firm, client_order_id, symbol, side, order_type, time_in_force,
            quantity, price, stop_price, expire_time_ns))
        if expire_time_ns is not None:
            heapq.heappush(self._expiries, (expire_time_ns, order_id))
        if stop_price is not None:
            last = book.last_trade_price
            if last is not None and _stop_reached(order, last, last):
                self._trigger(book, order, last)  # entered already through its stop price
            else:
                book.add_stop(order)
                return
        else:
            self._execute(book, order)
        if self._trade_high is not None:
            self._run_triggers(book)

    def _execute(self, book: OrderBook, order: Order) -> None:
        """Match an order entering the book, then rest it or cancel what is left, per its type and TIF."""
        tif = order.time_in_force
        if book.phase is OPEN:
            if tif is FOK and not self._can_fill_completely(book, order):
                self._cancel_open(order, CancelReason.FILL_OR_KILL)
                return
            self._match(book, order)
            status = order.status
            if status is not NEW and status is not PARTIALLY_FILLED:
                return
        # else nothing matches: a limit order queues for the reopening auction
        if order.price is None:  # market orders never rest
            self._cancel_open(order, self._why_market_stopped(book, order))
        elif tif is IOC or tif is FOK:
            self._cancel_open(order, IMMEDIATE_OR_CANCEL)
        else:
            breaker = book.breaker
            if breaker is not None and book.phase is OPEN:
                if order.side is BUY:
                    if order.price > breaker.band_high:
                        self._reprice(order, breaker.band_high)
                elif order.price < breaker.band_low:
                    self._reprice(order, breaker.band_low)
            self._rest(book, order)

    def _rest(self, book: OrderBook, order: Order) -> None:
        order.priority = self._next_priority  # time priority from the moment it rests (or re-rests)
        self._next_priority += 1
        level = (book.bid_at if order.side is BUY else book.ask_at)(order.price)
        if level is None:
            level = book.open_level(order.side, order.price)  # touched below with nothing before it
        self._touch(book, level)
        level.append(order)

    def _why_market_stopped(self, book: OrderBook, order: Order) -> CancelReason:
        buy = order.side is BUY
        levels = book.asks if buy else book.bids
        if not levels or book.phase is not OPEN:
            return CancelReason.NO_LIQUIDITY
        following = lowest_key(levels) if buy else highest_key(levels)
        protection = order.protection_price
        if protection is not None and (following > protection if buy else following < protection):
            return CancelReason.PRICE_PROTECTION
        breaker = book.breaker
        if breaker is not None and (following > breaker.band_high if buy else following < breaker.band_low):
            return CancelReason.PRICE_BAND
        return CancelReason.NO_LIQUIDITY

    @staticmethod
    def _match_limit(book: OrderBook, order: Order) -> int | None:
        """The worst price the order may trade at: its limit, its protection, the price band; None: any."""
        limit = order.price if order.price is not None else order.protection_price
        breaker = book.breaker
        if breaker is not None:
            if order.side is BUY:
                if limit is None or limit > breaker.band_high:
                    return breaker.band_high
            elif limit is None or limit < breaker.band_low:
                return breaker.band_low
        return limit

    def _can_fill_completely(self, book: OrderBook, order: Order) -> bool:
        """FOK: is there enough opposite quantity within the limit, ahead of any self-match?"""
        needed = order.leaves_quantity
        buy = order.side is BUY
        levels = book.asks if buy else book.bids
        limit = self._match_limit(book, order)
        prices = levels.keys() if buy else reversed(levels.keys())
        for price in prices:
            if limit is not None and (price > limit if buy else price < limit):
                return False
            resting = levels[price].head
            while resting is not None:
                if order.stp is not None and resting.stp_key == order.stp_key:
                    return False
                needed -= resting.leaves_quantity
                if needed <= 0:
                    return True
                resting = resting.next
        return False

    def _match(self, book: OrderBook, order: Order) -> None:
        """Trade `order` against the opposite side in price-time priority, at the resting prices."""
        buy = order.side is BUY
        levels = book.ask_keys if buy else book.bid_keys  # for drop_level
        limit = order.price
        if limit is None:
            limit = order.protection_price
        breaker = book.breaker
        if breaker is not None:  # never beyond the band: _match_limit, inline on the hottest path
            if buy:
                if limit is None or limit > breaker.band_high:
                    limit = breaker.band_high
            elif limit is None or limit < breaker.band_low:
                limit = breaker.band_low
        check_self = order.stp is not None
        prices = book.ask_prices if buy else book.bid_prices
        while prices:
            price = prices[0][0] if buy else prices[-1][-1]
            if limit is not None and (price > limit if buy else price < limit):
                return
            level = (book.ask_at if buy else book.bid_at)(price)
            self._touch(book, level)
            resting = level.head
            while resting is not None:
                following = resting.next
                if check_self and resting.stp_key == order.stp_key:
                    keep_going = self._prevent_self_trade(order, resting)
                else:
                    self._fill(book, order, resting, price)
                    keep_going = order.leaves_quantity > 0
                if not keep_going:
                    break
                resting = following
            if level.count == 0:
                drop_level(levels, price)
            if order.status is not NEW and order.status is not PARTIALLY_FILLED:
                return

    def _fill(self, book: OrderBook, aggressor: Order, resting: Order, price: int) -> None:
        quantity = min(aggressor.leaves_quantity, resting.leaves_quantity)
        notional = quantity * price
        trade_id = self._next_trade_id
        self._next_trade_id = trade_id + 1
        resting.level.quantity -= quantity
        now = self._now
        sequence = self._next_sequence
        self._fill_side(aggressor, trade_id, price, quantity, notional, True, sequence)
        self._fill_side(resting, trade_id, price, quantity, notional, False, sequence + 1)
        sequence += 2
        events = self._events
        if aggressor.side is BUY:
            events.append(TradeExecuted(sequence, now, trade_id, book.symbol, price, quantity, BUY,
                                        aggressor.order_id, resting.order_id, aggressor.firm, resting.firm))
        else:
            events.append(TradeExecuted(sequence, now, trade_id, book.symbol, price, quantity, SELL,
                                        resting.order_id, aggressor.order_id, resting.firm, aggressor.firm))
        self._next_sequence = sequence + 1
        book.last_trade_price = price
        breaker = book.breaker
        if breaker is not None:  # breaker.record_trade, inline
            breaker.trades.append((now, price))
            breaker.price_sum += price
            breaker.traded = True
        if self._trade_high is None:
            self._trade_high = self._trade_low = price
        elif price > self._trade_high:
            self._trade_high = price
        elif price < self._trade_low:
            self._trade_low = price

    def _fill_side(self, order: Order, trade_id: int, price: int, quantity: int, notional: int, is_aggressor: bool,
                   sequence: int) -> None:
        """One side of a trade: the order's quantities and status, and its OrderFilled."""
        order.cum_quantity += quantity
        order.leaves_quantity -= quantity
        order.cum_notional += notional
        if order.leaves_quantity:
            order.status = PARTIALLY_FILLED
        else:
            if order.level is not None:
                order.level.unlink(order)
            self._close(order, FILLED)
        self._events.append(OrderFilled(
            sequence, self._now, order.order_id, order.session, order.firm, order.client_order_id,
            order.symbol, order.side, order.quantity, order.price, trade_id, price, quantity,
            order.cum_quantity, order.leaves_quantity, order.cum_notional, is_aggressor))

    def _prevent_self_trade(self, incoming: Order, resting: Order) -> bool:
        """Apply the incoming order's self-trade prevention; return whether it may keep matching."""
        mode = incoming.stp
        reason = CancelReason.SELF_TRADE_PREVENTION
        if mode is SelfTradePrevention.DECREMENT_AND_CANCEL:
            decrement = min(incoming.leaves_quantity, resting.leaves_quantity)
            for order in (resting, incoming):
                if order.leaves_quantity == decrement:
                    if order.level is not None:
                        order.level.quantity -= decrement
                        order.level.unlink(order)
                    self._cancel_open(order, reason)
                else:
                    order.leaves_quantity -= decrement
                    order.quantity -= decrement
                    if order.level is not None:
                        order.level.quantity -= decrement
                    self._events.append(OrderRestated(
                        self._sequence(), self._now, order.order_id, order.session, order.firm,
                        order.client_order_id, order.symbol, order.side, order.quantity, order.price,
                        order.cum_quantity, order.leaves_quantity, order.cum_notional, decrement, reason))
            return incoming.status.is_open
        if mode is SelfTradePrevention.CANCEL_RESTING or mode is SelfTradePrevention.CANCEL_BOTH:
            resting.level.quantity -= resting.leaves_quantity
            resting.level.unlink(resting)
            self._cancel_open(resting, reason)
            if mode is SelfTradePrevention.CANCEL_RESTING:
                return True
        self._cancel_open(incoming, reason)
        return False

    # ------------------------------------------------------------------ stops

    def _trigger(self, book: OrderBook, order: Order, trigger_price: int) -> None:
        """A stop reached its price: it enters now, as market (STOP) or limit (STOP_LIMIT)."""
        self._events.append(OrderTriggered(
            self._sequence(), self._now, order.order_id, order.session, order.firm, order.client_order_id,
            order.symbol, order.side, OrderType.LIMIT if order.price is not None else OrderType.MARKET,
            order.quantity, order.price, order.stop_price, trigger_price))
        self._execute(book, order)

    def _run_triggers(self, book: OrderBook) -> None:
        """Trigger every stop the trades crossed, in order; their trades may trigger more (a cascade)."""
        queue: deque[tuple[Order, int]] = deque(self._take_triggered(book))
        while queue:
            order, trigger_price = queue.popleft()
            self._trigger(book, order, trigger_price)
            queue.extend(self._take_triggered(book))

    def _take_triggered(self, book: OrderBook) -> list[tuple[Order, int]]:
        """Remove and return stops reached by trades since the last check.

        Buy stops go first, lowest stop price first (a rising price reaches them in
        that order), then sell stops, highest stop price first; arrival order within
        one stop price.
        """
        high, low = self._trade_high, self._trade_low
        if high is None:
            return []
        self._trade_high = self._trade_low = None
        triggered: list[tuple[Order, int]] = []
        if book.buy_stops:
            for stop_price in list(book.buy_stops.irange(maximum=high)):
                triggered.extend((o, high) for o in book.buy_stops.pop(stop_price).values())
        if book.sell_stops:
            for stop_price in list(book.sell_stops.irange(minimum=low, reverse=True)):
                triggered.extend((o, low) for o in book.sell_stops.pop(stop_price).values())
        return triggered

    # ------------------------------------------------------------------ cancel / replace / query

    def _reject_cancel(self, cmd: CancelOrder | ReplaceOrder, response_to: ReplyTo, order: Order | None,
                       reason: CancelRejectReason, text: str) -> None:
        self._events.append(CancelRejected(
            self._sequence(), self._now, cmd.session, cmd.firm, cmd.client_order_id,
            cmd.orig_client_order_id, order.order_id if order is not None else cmd.order_id,
            response_to, reason, text, order.status if order is not None else None))

    def _check_amendable(self, cmd: CancelOrder | ReplaceOrder, response_to: ReplyTo, session: str, firm: str,
                         client_order_id: str, order_id: int | None, orig_client_order_id: str | None
                         ) -> Order | None:
        """The open order a cancel or replace names, or None after emitting the reject (its fields come as
        _cancel or _replace has read them)."""
        order = self._locate(session, firm, order_id, orig_client_order_id)
        if order is None:
            self._reject_cancel(cmd, response_to, None, CancelRejectReason.UNKNOWN_ORDER, "unknown order")
            return None
        status = order.status
        if status is not NEW and status is not PARTIALLY_FILLED:  # not status.is_open: a Python call
            self._reject_cancel(cmd, response_to, order, CancelRejectReason.TOO_LATE_TO_CANCEL,
                                f"order is already {order.status.value}")
            return None
        if self._order_by_client_id(session, client_order_id) is not None:
            self._reject_cancel(cmd, response_to, order, CancelRejectReason.DUPLICATE_CLORDID,
                                f"ClOrdID {client_order_id!r} was already used today by this session")
            return None
        return order

    def _report_if_seen(self, session: str, firm: str, client_order_id: str) -> bool:
        """For a possible resend: if this ClOrdID was already processed, report its order's status."""
        order = self._order_by_client_id(session, client_order_id)
        if order is None or order.firm != firm:
            return False
        self._report_status(session, order)
        return True

    def _cancel(self, cmd: CancelOrder) -> None:
        session, firm, client_order_id, possible_resend, order_id, orig_client_order_id = cancel_fields(cmd)
        if possible_resend and self._report_if_seen(session, firm, client_order_id):
            return
        order = self._check_amendable(cmd, REPLY_TO_CANCEL, session, firm, client_order_id, order_id,
                                      orig_client_order_id)
        if order is None:
            return
        self._client_order_ids(session)[client_order_id] = order
        previous_id = order.client_order_id
        order.client_order_id = client_order_id
        self._unbook(self._books[order.symbol], order)
        self._cancel_open(order, REQUESTED, client_order_id, previous_id)

    def _replace(self, cmd: ReplaceOrder) -> None:
        (session, firm, client_order_id, possible_resend, order_id, orig_client_order_id, quantity, price,
         stop_price, asked_symbol, asked_side, asked_type) = replace_fields(cmd)
        if possible_resend and self._report_if_seen(session, firm, client_order_id):
            return
        order = self._check_amendable(cmd, REPLY_TO_REPLACE, session, firm, client_order_id, order_id,
                                      orig_client_order_id)
        if order is None:
            return
        book = self._books[order.symbol]
        instrument = book.instrument
        waiting = order.stop_price is not None and self._waiting_for_trigger(book, order)
        problem = None
        if book.phase is HALTED:
            problem = (CancelRejectReason.OTHER, f"{book.symbol}: trading is {_why_not_open(book, self._rules)}; "
                                                 f"replaces are refused until it reopens, cancels are accepted")
        elif asked_symbol is not None and asked_symbol != order.symbol:
            problem = _unchangeable("symbol", order.symbol, asked_symbol)
        elif asked_side is not None and asked_side != order.side:
            problem = _unchangeable("side", order.side, asked_side)
        elif asked_type is not None and asked_type != order.order_type:
            problem = _unchangeable("order type", order.order_type, asked_type)
        if problem is None and (quantity <= 0 or quantity % book.lot_size):
            problem = (CancelRejectReason.OTHER,
                       f"quantity {quantity} must be a positive multiple of the lot size {instrument.lot_size}")
        if problem is None and price is not None:
            order_type = order.order_type
            problem = _check_price("price", price, order_type is LIMIT or order_type is STOP_LIMIT, order_type,
                                   instrument)  # (order_type.has_limit_price, without a Python call)
        if problem is None and stop_price is not None and stop_price != order.stop_price:
            if not waiting:
                problem = (CancelRejectReason.OTHER, "the stop price can only change before the stop triggers")
            else:
                problem = _check_price("stop price", stop_price, True, order.order_type, instrument)
        if problem is not None:
            reason, text = problem
            if isinstance(reason, OrderRejectReason):
                reason = (CancelRejectReason.INVALID_PRICE_INCREMENT
                          if reason is OrderRejectReason.INVALID_PRICE_INCREMENT else CancelRejectReason.OTHER)
            self._reject_cancel(cmd, REPLY_TO_REPLACE, order, reason, text)
            return

        self._client_order_ids(session)[client_order_id] = order
        previous_id = order.client_order_id
        order.client_order_id = client_order_id
        if quantity <= order.cum_quantity:
            # Nothing left to work: the replace closes the order.
            self._unbook(book, order)
            self._cancel_open(order, CancelReason.REPLACED_BELOW_EXECUTED, client_order_id, previous_id)
            return

        new_price = order.price if price is None else price
        new_stop = order.stop_price if stop_price is None else stop_price
        keeps_priority = (new_price == order.price and new_stop == order.stop_price
                          and quantity <= order.quantity)
        if waiting:
            if not keeps_priority:
                book.remove_stop(order)
        elif keeps_priority:
            reduction = order.quantity - quantity
            if reduction:
                self._touch(book, order.level)
                order.level.quantity -= reduction
        else:
            self._unbook(book, order)
        order.leaves_quantity = quantity - order.cum_quantity
        order.quantity = quantity
        order.price = new_price
        if order.protection_price is not None and new_stop != order.stop_price:
            # A stop's protection was set from its stop price: it moves with it, never below one tick.
            order.protection_price = max(order.protection_price + new_stop - order.stop_price, instrument.tick_size)
        order.stop_price = new_stop
        self._events.append(OrderReplaced(
            self._sequence(), self._now, order.order_id, order.session, order.firm, order.client_order_id,
            previous_id, order.symbol, order.side, order.order_type, order.time_in_force, order.quantity,
            order.price, order.stop_price, order.cum_quantity, order.leaves_quantity, order.cum_notional,
            keeps_priority))
        if keeps_priority:
            return
        if waiting:
            last = book.last_trade_price
            if last is not None and _stop_reached(order, last, last):
                self._trigger(book, order, last)
                self._run_triggers(book)
            else:
                book.add_stop(order)
        else:
            self._execute(book, order)  # a new price may cross the spread
            self._run_triggers(book)

    def _query(self, cmd: QueryOrder) -> None:
        order = self._locate(cmd.session, cmd.firm, cmd.order_id, cmd.client_order_id)
        if order is None:
            self._events.append(StatusQueryRejected(
                self._sequence(), self._now, cmd.session, cmd.firm, cmd.client_order_id, cmd.order_id,
                OrderRejectReason.UNKNOWN_ORDER, "unknown order"))
            return
        self._report_status(cmd.session, order)

    def _report_status(self, reply_session: str, order: Order) -> None:
        self._events.append(OrderStatusReported(
            self._sequence(), self._now, reply_session, order.order_id, order.session, order.firm,
            order.client_order_id, order.symbol, order.side, order.order_type, order.time_in_force,
            order.quantity, order.price, order.stop_price, order.cum_quantity, order.leaves_quantity,
            order.cum_notional, order.status))

    def _mass_cancel(self, cmd: MassCancel) -> None:
        if cmd.symbol is not None and cmd.symbol not in self._books:
            self._events.append(MassCancelRejected(
                self._sequence(), self._now, cmd.session, cmd.firm, cmd.request_id,
                MassCancelRejectReason.UNKNOWN_SECURITY, f"unknown symbol {cmd.symbol!r}"))
            return
        targets = [
            order
            for session, orders in self._open_by_session.items()
            if cmd.only_session is None or session == cmd.only_session
            for order in orders
            if order.firm == cmd.firm
            and (cmd.symbol is None or order.symbol == cmd.symbol)
            and (cmd.side is None or order.side is cmd.side)
            and (cmd.time_in_force is None or order.time_in_force is cmd.time_in_force)
        ]
        targets.sort(key=lambda o: o.order_id)
        for order in targets:
            self._unbook(self._books[order.symbol], order)
            self._cancel_open(order, cmd.reason)
        self._events.append(MassCancelCompleted(
            self._sequence(), self._now, cmd.session, cmd.firm, cmd.request_id, cmd.only_session,
            cmd.symbol, cmd.side, tuple(o.order_id for o in targets)))

    def _record_order_reject(self, cmd: RejectOrder) -> None:
        self._events.append(OrderRejected(
            self._sequence(), self._now, cmd.session, cmd.firm, cmd.client_order_id, cmd.symbol, cmd.side,
            cmd.order_type, cmd.quantity, cmd.price, cmd.reason, cmd.text))

    def _record_cancel_reject(self, cmd: RejectCancel) -> None:
        order = self._locate(cmd.session, cmd.firm, cmd.order_id, cmd.orig_client_order_id)
        self._events.append(CancelRejected(
            self._sequence(), self._now, cmd.session, cmd.firm, cmd.client_order_id, cmd.orig_client_order_id,
            order.order_id if order is not None else cmd.order_id, cmd.response_to, cmd.reason, cmd.text,
            order.status if order is not None else None))

    # ------------------------------------------------------------------ time

    def _expire(self, order: Order) -> None:
        self._unbook(self._books[order.symbol], order)
        expired = order.leaves_quantity
        self._close(order, OrderStatus.EXPIRED)
        self._events.append(OrderExpired(
            self._sequence(), self._now, order.order_id, order.session, order.firm, order.client_order_id,
            order.symbol, order.side, order.time_in_force, order.quantity, order.price, order.cum_quantity,
            order.cum_notional, expired))

    def _tick(self, cmd: AdvanceClock) -> None:
        self._expire_due()
        now = self._now
        if self._next_review_ns is not None and self._next_review_ns <= now:
            self._next_review_ns = None
            for book in self._books.values():
                breaker = book.breaker
                if breaker is not None and breaker.traded and book.phase is OPEN:
                    if breaker.update_reference(self._rules, now):
                        self._band_changed(book)
                        self._check_limit_state(book, breaker)  # the band may have moved away from the book
        if self._deadlines:
            for symbol, deadline in list(self._deadlines.items()):
                if deadline > now:
                    continue
                book = self._books[symbol]
                breaker = book.breaker
                if book.phase is OPEN and breaker.limit_state_since is not None:
                    self._pause(book)
                elif book.phase is not OPEN and breaker.pause_until is not None:
                    self._reopen(book, TradingStatusReason.PAUSE_ENDED)

    def _expire_due(self) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= self._now:
            expire_time, order_id = heapq.heappop(expiries)
            order = self._orders.get(order_id)
            if order is not None and order.status.is_open and order.expire_time_ns == expire_time:
                self._expire(order)

    def _end_trading_day(self, cmd: EndTradingDay) -> None:
        for order in self.open_orders():
            if order.time_in_force is TimeInForce.DAY:
                self._expire(order)
        # The new day starts with no ClOrdIDs used and only the open orders remembered.
        self._orders = {i: o for i, o in self._orders.items() if o.status.is_open}
        self._by_client_id = {}
        for order in self._orders.values():
            self._client_order_ids(order.session)[order.client_order_id] = order
        self._open_by_session = {s: orders for s, orders in self._open_by_session.items() if orders}

    # ------------------------------------------------------------------ circuit breakers and halts

    def _watch_bands(self) -> None:
        """After a command: schedule a review of reference prices after trades; enter or leave limit states."""
        seen = None
        touched = self._touched
        for index in range(0, len(touched), 2):
            book = touched[index]
            if book is seen:  # a command's levels come book by book; checking a book twice is harmless
                continue
            seen = book
            breaker = book.breaker
            if breaker is None or book.phase is not OPEN:
                continue
            if breaker.traded and self._next_review_ns is None:
                self._next_review_ns = self._now + self._rules.review_ns
            self._check_limit_state(book, breaker)

    def _check_limit_state(self, book: OrderBook, breaker: InstrumentBreaker) -> None:
        """Enter or leave the limit state: the best bid at the upper band, or the best offer at the lower."""
        bids, asks = book.bid_prices, book.ask_prices  # the best prices in one index each: after every command
        at_band = ((bids and bids[-1][-1] >= breaker.band_high)
                   or (asks and asks[0][0] <= breaker.band_low))
        if at_band:
            if breaker.limit_state_since is None:
                breaker.limit_state_since = self._now
                self._deadlines[book.symbol] = self._now + self._rules.limit_state_ns
                self._events.append(self._status_event(book, TradingStatusReason.LIMIT_STATE_ENTERED))
        elif breaker.limit_state_since is not None:
            breaker.limit_state_since = None
            del self._deadlines[book.symbol]
            self._events.append(self._status_event(book, TradingStatusReason.LIMIT_STATE_CLEARED))

    def _band_changed(self, book: OrderBook) -> None:
        """Announce the new band and slide orders now outside it to its edge."""
        breaker = book.breaker
        self._events.append(PriceBandChanged(self._sequence(), self._now, book.symbol, breaker.reference,
                                             breaker.band_low, breaker.band_high))
        self._slide_into_band(book)

    def _slide_into_band(self, book: OrderBook) -> None:
        breaker = book.breaker
        for side, levels, prices, edge in (
                (BUY, book.bids, book.bids.irange(minimum=breaker.band_high + 1, reverse=True), breaker.band_high),
                (SELL, book.asks, book.asks.irange(maximum=breaker.band_low - 1), breaker.band_low)):
            for price in list(prices):
                for order in list(levels[price]):
                    self._touch(book, order.level)
                    book.take_out(order)
                    self._reprice(order, edge)
                    self._rest(book, order)

    def _reprice(self, order: Order, price: int) -> None:
        previous = order.price
        order.price = price
        self._events.append(OrderRepriced(
            self._sequence(), self._now, order.order_id, order.session, order.firm, order.client_order_id,
            order.symbol, order.side, order.order_type, order.quantity, price, previous, order.cum_quantity,
            order.leaves_quantity, order.cum_notional))

    def _status_event(self, book: OrderBook, reason: TradingStatusReason, sequence: int | None = None
                      ) -> TradingStatusChanged:
        breaker = book.breaker
        if breaker is None:
            return TradingStatusChanged(self._sequence() if sequence is None else sequence, self._now, book.symbol,
                                        book.phase, reason, False, None, None, None, None)
        return TradingStatusChanged(
            self._sequence() if sequence is None else sequence, self._now, book.symbol, book.phase, reason,
            breaker.limit_state_since is not None, breaker.reference, breaker.band_low, breaker.band_high,
            breaker.pause_until)

    def _pause(self, book: OrderBook) -> None:
        """The limit state was not cleared in time: stop matching until the pause ends."""
        breaker = book.breaker
        breaker.limit_state_since = None
        breaker.pause_until = self._deadlines[book.symbol] = self._now + self._rules.pause_ns
        book.phase = PRE_OPEN if self._queue_when_halted else HALTED
        book.phase_reason = TradingStatusReason.LIMIT_STATE_TIMEOUT
        self._events.append(self._status_event(book, TradingStatusReason.LIMIT_STATE_TIMEOUT))

    def _targets(self, symbol: str | None) -> list[OrderBook]:
        if symbol is None:
            return list(self._books.values())
        book = self._books.get(symbol)
        return [] if book is None else [book]

    def _halt(self, cmd: HaltTrading) -> None:
        for book in self._targets(cmd.symbol):
            if book.phase_reason is TradingStatusReason.OPERATOR_HALT:
                continue
            breaker = book.breaker
            if breaker is not None:  # an operator's halt has no set end, and replaces a pause
                breaker.limit_state_since = breaker.pause_until = None
                self._deadlines.pop(book.symbol, None)
            book.phase = PRE_OPEN if self._queue_when_halted else HALTED
            book.phase_reason = TradingStatusReason.OPERATOR_HALT
            self._events.append(self._status_event(book, TradingStatusReason.OPERATOR_HALT))

    def _resume(self, cmd: ResumeTrading) -> None:
        for book in self._targets(cmd.symbol):
            if book.phase is not OPEN:
                self._reopen(book, TradingStatusReason.OPERATOR_RESUME)

    def _reopen(self, book: OrderBook, reason: TradingStatusReason) -> None:
        """Uncross the queued orders in a call auction, then trade continuously again."""
        breaker = book.breaker
        if breaker is not None:
            reference = breaker.reference
        elif book.instrument.reference_price is not None:
            reference = book.instrument.reference_price
        else:
            reference = book.last_trade_price or 0
        result = uncross([(p, q) for p, q, _ in book.depth(BUY)], [(p, q) for p, q, _ in book.depth(SELL)],
                         reference)
        if result is not None:
            left = result.volume
            while left:
                buy = book.bids[highest_key(book.bids)].head
                sell = book.asks[lowest_key(book.asks)].head
                left -= self._cross(book, buy, sell, result.price)
            self._events.append(AuctionCompleted(self._sequence(), self._now, book.symbol, result.price,
                                                 result.volume, result.imbalance))
        book.phase = OPEN
        book.phase_reason = None
        moved = False
        if breaker is not None:
            breaker.pause_until = None
            self._deadlines.pop(book.symbol, None)
            breaker.traded = False
            moved = result is not None and breaker.set_reference(self._rules, result.price)
        self._events.append(self._status_event(book, reason))  # with the band around the auction price
        if moved:
            self._slide_into_band(book)
        if breaker is not None:
            self._check_limit_state(book, breaker)
        if self._trade_high is not None:
            self._run_triggers(book)

    def _cross(self, book: OrderBook, buy: Order, sell: Order, price: int) -> int:
        """An auction trade between two queued orders at the auction price; neither took liquidity."""
        quantity = min(buy.leaves_quantity, sell.leaves_quantity)
        trade_id = self._next_trade_id
        self._next_trade_id = trade_id + 1
        events = self._events
        for order in (buy, sell):
            self._touch(book, order.level)
            level = order.level
            level.quantity -= quantity
            order.cum_quantity += quantity
            order.leaves_quantity -= quantity
            order.cum_notional += quantity * price
            if order.leaves_quantity:
                order.status = PARTIALLY_FILLED
            else:
                level.unlink(order)
                if level.count == 0:
                    del (book.bids if order.side is BUY else book.asks)[level.price]
                self._close(order, FILLED)
            events.append(OrderFilled(
                self._sequence(), self._now, order.order_id, order.session, order.firm, order.client_order_id,
                order.symbol, order.side, order.quantity, order.price, trade_id, price, quantity,
                order.cum_quantity, order.leaves_quantity, order.cum_notional, False))
        events.append(TradeExecuted(self._sequence(), self._now, trade_id, book.symbol, price, quantity, None,
                                    buy.order_id, sell.order_id, buy.firm, sell.firm))
        book.last_trade_price = price
        if book.breaker is not None:
            book.breaker.record_trade(self._now, price)
        if self._trade_high is None:
            self._trade_high = self._trade_low = price
        else:
            self._trade_high = max(self._trade_high, price)
            self._trade_low = min(self._trade_low, price)
        return quantity


def _check_price(name: str, value: int | None, required: bool, order_type: OrderType,
                 instrument: Instrument) -> tuple[OrderRejectReason, str] | None:
    if not required:
        if value is not None:
            return OrderRejectReason.OTHER, f"a {order_type.value} order takes no {name}"
        return None
    if value is None:
        return OrderRejectReason.OTHER, f"a {order_type.value} order needs a {name}"
    show = instrument.format_price
    if value <= 0:
        return OrderRejectReason.OTHER, f"{name} must be positive, got {show(value)}"
    if value % instrument.tick_size:
        return (OrderRejectReason.INVALID_PRICE_INCREMENT,
                f"{name} {show(value)} is not a multiple of the tick {show(instrument.tick_size)}")
    return None


def _name(value: object) -> str:
    return value.value if isinstance(value, (Side, OrderType)) else str(value)


def _unchangeable(name: str, actual: object, asked: object) -> tuple[CancelRejectReason, str]:
    return (CancelRejectReason.OTHER,
            f"a replace cannot change the {name} ({_name(actual)} to {_name(asked)}); cancel and enter a new order")


def _stop_reached(order: Order, high: int, low: int) -> bool:
    """A buy stop triggers when a trade prints at or above its stop, a sell stop at or below."""
    return high >= order.stop_price if order.side is BUY else low <= order.stop_price



def _why_not_open(book: OrderBook, rules: CircuitBreakerRules | None) -> str:
    if book.phase_reason is TradingStatusReason.LIMIT_STATE_TIMEOUT and rules is not None:
        return (f"paused by the circuit breaker (limit state not cleared within "
                f"{rules.limit_state_ns // 1_000_000_000} s)")
    return "halted by the operator"
