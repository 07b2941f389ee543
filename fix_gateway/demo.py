"""`fixex demo`: a market maker and a few brokers trading on the venue over real FIX sessions.

The market maker (BROKER1, FIX 4.4) quotes every instrument two-sided, a few price
levels deep, around a fair value that starts at the instrument's reference price,
follows the trades and wanders a little; it re-quotes (OrderCancelReplaceRequest)
when a quote is a couple of ticks off or mostly filled, and replaces quotes that
traded away. Brokers (BROKER2 FIX 4.4, BROKER3 FIX 4.2, BROKER4 FIX 5.0 SP2) send
marketable and passive limit orders and the odd market order, and cancel passive
orders that rested a while. Every price stays within a few percent of the
reference, well inside the circuit breakers' bands.

The quoting rules are pure functions of integer tick prices (`quote_ladder`,
`next_fair`, `needs_requote`, `broker_order`): easy to test, no I/O.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import logging
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable, TextIO

from config import InstrumentSettings, Settings, load_settings
from fix_gateway.initiator import (
    Initiator, InitiatorError, SessionVersion, accepts_connections, connect_host, fields_in_order, first_fields,
    fix_now, session_versions,
)

log = logging.getLogger("fixex.demo")

BUY, SELL = "1", "2"
LIMIT, MARKET = "2", "1"
DAY, IOC = "0", "3"
FILL_EXEC_TYPES = frozenset({"F", "1", "2"})  # 4.2 reports fills as 1/2, 4.4 and 5.0 SP2 as F
DONE_ORD_STATUSES = frozenset({"2", "3", "4", "8", "C"})  # filled, done for day, cancelled, rejected, expired
DONE_EXEC_TYPES = frozenset({"3", "4", "8", "C"})
RACE_CXL_REJ_REASONS = frozenset({"0", "1"})  # too late to cancel, unknown order: it filled meanwhile
MARKET_MAKER = "BROKER1"
BROKERS = ("BROKER2", "BROKER3", "BROKER4")
TICK_S = 0.1  # the driver's step
REQUOTE_EVERY_S = 0.25  # how often the market maker reviews a symbol's quotes
FAIR_EVERY_S = 0.5  # how often its fair value moves
PENDING_TIMEOUT_S = 5.0
REJECT_BACKOFF_S = 5.0  # after a reject (e.g. the instrument is halted) a symbol is left alone this long


# ---------------------------------------------------------------------- pure quoting rules

@dataclass(frozen=True, slots=True)
class QuoteParams:
    levels: int = 3  # price levels quoted on each side
    half_spread_bps: Decimal = Decimal(1)  # best bid / offer distance from fair value, in basis points
    level_step_bps: Decimal = Decimal(1)  # distance between levels
    max_deviation_percent: Decimal = Decimal("2.5")  # every price stays this close to the reference
    requote_ticks: int = 2  # a quote this many ticks from where it should be is replaced
    base_lots: int = 100  # size of a level-0 quote in lots (deeper levels are larger)
    max_step_ticks: int = 1  # the fair value's random step


@dataclass(frozen=True, slots=True)
class Pricing:
    """One instrument's quoting parameters in whole ticks."""

    symbol: str
    tick_size: Decimal
    lot_size: int
    reference: int  # ticks
    half_spread: int
    level_step: int
    low: int  # lowest price we ever send
    high: int  # highest
    params: QuoteParams

    def price_text(self, ticks: int) -> str:
        return format(ticks * self.tick_size, "f")


def pricing_for(instrument: InstrumentSettings, params: QuoteParams = QuoteParams()) -> Pricing:
    reference = int(instrument.reference_price / instrument.tick_size)
    low, high = price_limits(reference, params.max_deviation_percent)

    def ticks(bps: Decimal) -> int:
        return max(1, int((reference * bps / 10000).to_integral_value()))

    return Pricing(instrument.symbol, instrument.tick_size, instrument.lot_size, reference,
                   ticks(params.half_spread_bps), ticks(params.level_step_bps), low, high, params)


def price_limits(reference: int, percent: Decimal) -> tuple[int, int]:
    """The lowest and highest tick price within `percent` of `reference`."""
    delta = reference * percent / 100
    return math.ceil(reference - delta), math.floor(reference + delta)


@dataclass(frozen=True, slots=True)
class Quote:
    side: str  # "1" bid, "2" offer
    level: int  # 0 is the best
    price: int  # ticks
    quantity: int  # shares, a multiple of the lot


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def fair_limits(p: Pricing) -> tuple[int, int]:
    """Where the fair value may go so that the whole ladder stays within the price limits."""
    reach = p.half_spread + (p.params.levels - 1) * p.level_step
    return p.low + reach, p.high - reach


def quote_ladder(fair: int, p: Pricing, rng: random.Random, position: int = 0) -> list[Quote]:
    """Bids below and offers above `fair` (skewed against the position), `levels` deep, randomly sized."""
    lot_quote = p.lot_size * p.params.base_lots
    skew = _clamp(-round(position / lot_quote), -2 * p.half_spread, 2 * p.half_spread) if position else 0
    low, high = fair_limits(p)
    centre = _clamp(fair + skew, low, high)
    quotes = []
    for level in range(p.params.levels):
        offset = p.half_spread + level * p.level_step
        for side, price in ((BUY, centre - offset), (SELL, centre + offset)):
            lots = max(1, round(p.params.base_lots * (1 + level) * rng.uniform(0.6, 1.4)))
            quotes.append(Quote(side, level, price, lots * p.lot_size))
    return quotes


def next_fair(fair: int, p: Pricing, rng: random.Random, last_trade: int | None = None) -> int:
    """The fair value a moment later: towards the last trade, slightly back to the reference, plus noise."""
    target = fair
    if last_trade is not None:
        target += round((last_trade - fair) * 0.3)
    target += round((p.reference - target) * 0.02)
    target += rng.randint(-p.params.max_step_ticks, p.params.max_step_ticks)
    low, high = fair_limits(p)
    return _clamp(target, low, high)


def needs_requote(resting_price: int, resting_leaves: int, wanted: Quote, p: Pricing) -> bool:
    """Replace a quote that drifted `requote_ticks` from where it should be, or that is mostly filled."""
    return (abs(resting_price - wanted.price) >= p.params.requote_ticks
            or resting_leaves * 2 < wanted.quantity)


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    kind: str  # "marketable", "passive" or "market"
    side: str
    price: int | None  # ticks; None for a market order
    quantity: int
    time_in_force: str

    @property
    def ord_type(self) -> str:
        return MARKET if self.price is None else LIMIT


def broker_order(fair: int, p: Pricing, rng: random.Random, *, passive_allowed: bool = True) -> BrokerOrder:
    """A broker's next order: 45% marketable limit (IOC), 45% passive limit (Day), 10% market (IOC)."""
    side = rng.choice((BUY, SELL))
    sign = 1 if side == BUY else -1
    quantity = p.lot_size * rng.choice((10, 20, 30, 50, 50, 100, 100, 150, 200))
    draw = rng.random()
    if draw < 0.10:
        return BrokerOrder("market", side, None, quantity, IOC)
    if draw < 0.55 or not passive_allowed:  # through the touch: trades with the best quote or two
        price = fair + sign * (p.half_spread + rng.randint(0, 2 * p.level_step))
        return BrokerOrder("marketable", side, _clamp(price, p.low, p.high), quantity, IOC)
    price = fair - sign * (p.half_spread + rng.randint(0, 3 * p.level_step))  # at or behind the touch
    return BrokerOrder("passive", side, _clamp(price, p.low, p.high), quantity, DAY)


# ---------------------------------------------------------------------- order bookkeeping

@dataclass(slots=True)
class WorkingOrder:
    symbol: str
    side: str
    cl_ord_id: str  # as the venue knows it now
    price: int | None
    quantity: int
    leaves: int
    pending: str | None = "new"  # new, replace or cancel: waiting for the venue's answer
    pending_id: str | None = None
    pending_price: int | None = None
    sent_at: float = 0.0
    expires_at: float = math.inf  # a broker's passive order is cancelled after this
    done: bool = False
    level: int = -1  # the market maker's quote level
    ids: list[str] = field(default_factory=list)  # every ClOrdID it went by


@dataclass(slots=True)
class DemoStats:
    orders: int = 0
    replaces: int = 0
    cancels: int = 0
    fills: int = 0  # execution reports with a fill, for either side
    volume: int = 0  # shares, each trade counted once per side
    rejects: int = 0  # orders rejected, cancel/replace rejects, business rejects
    last_reject: str = ""
    last_price: dict[str, str] = field(default_factory=dict)


class Participant:
    """One FIX session's orders: sends them and applies the venue's answers."""

    def __init__(self, name: str, version: SessionVersion, host: str, port: int, work_dir: Path,
                 stats: DemoStats, pricing: dict[str, Pricing], lock: threading.Lock, run_id: str,
                 on_fill: Callable[[str, str, int, int], None], on_reject: Callable[[str], None],
                 password: str | None = None) -> None:
        self.name = name
        self.version = version
        self.stats = stats
        self.pricing = pricing
        self.lock = lock  # shared by the whole demo; never held while sending
        self.orders: dict[str, WorkingOrder] = {}  # every ClOrdID ever used -> its order
        self.on_fill = on_fill
        self.on_reject = on_reject
        self._ids = itertools.count(1)
        self._prefix = f"{name[0]}{name[-1]}-{run_id}-"
        # No message log of our own: the venue's (var/log) has every message already.
        self.session = Initiator(version, host, port, work_dir / name, on_message=self._on_message,
                                 password=password, message_log=False)

    def next_id(self) -> str:
        return f"{self._prefix}{next(self._ids)}"

    # ------------------------------------------------------------------ messages (built under the lock, sent after)

    def new_order(self, symbol: str, side: str, ord_type: str, price: int | None, quantity: int, tif: str,
                  now: float) -> tuple[WorkingOrder, tuple[str, list]]:
        order = WorkingOrder(symbol, side, self.next_id(), price, quantity, quantity, sent_at=now)
        self._track(order, order.cl_ord_id)
        self.stats.orders += 1
        fields = [(11, order.cl_ord_id)]
        if self.version.version == "FIX.4.2":
            fields.append((21, "1"))  # HandlInst: required in 4.2
        p = self.pricing[symbol]
        fields += [(55, symbol), (54, side), (60, fix_now()), (38, quantity), (40, ord_type),
                   (44, p.price_text(price) if price is not None else None), (59, tif)]
        return order, ("D", fields)

    def replace(self, order: WorkingOrder, price: int, quantity: int, now: float) -> tuple[str, list]:
        new_id = self.next_id()
        order.pending, order.pending_id, order.sent_at = "replace", new_id, now
        order.pending_price = price
        self._track(order, new_id)
        self.stats.replaces += 1
        fields = [(41, order.cl_ord_id), (11, new_id)]
        if self.version.version == "FIX.4.2":
            fields.append((21, "1"))
        fields += [(55, order.symbol), (54, order.side), (60, fix_now()), (38, quantity), (40, LIMIT),
                   (44, self.pricing[order.symbol].price_text(price)), (59, DAY)]
        return "G", fields

    def cancel(self, order: WorkingOrder, now: float) -> tuple[str, list]:
        new_id = self.next_id()
        order.pending, order.pending_id, order.sent_at = "cancel", new_id, now
        self._track(order, new_id)
        self.stats.cancels += 1
        return "F", [(41, order.cl_ord_id), (11, new_id), (55, order.symbol), (54, order.side), (60, fix_now()),
                     (38, order.quantity)]

    def send_all(self, messages: list[tuple[str, list]]) -> None:
        for msg_type, fields in messages:
            self.session.send(msg_type, fields)

    def unanswered(self, order: WorkingOrder, now: float) -> bool:
        """A request the venue never answered (lost with a dropped connection) stops blocking the order."""
        if order.pending is None or now - order.sent_at < PENDING_TIMEOUT_S:
            return False
        if order.pending == "new":
            self._finish(order)
        order.pending = None
        return True

    def sweep(self) -> tuple[str, list] | None:
        """On each logon: an OrderMassCancelRequest (530=7, this session's orders) for orders left from before.

        A venue that restarts keeps resting orders (only a disconnect cancels them), which this
        session no longer tracks. FIX 4.2 has no mass cancel: there the leftovers stay until day end.
        """
        if self.version.version == "FIX.4.2":
            return None
        return "q", [(11, self.next_id()), (530, "7"), (60, fix_now())]

    def forget_all(self) -> None:
        """Logged out: the venue cancelled our orders (cancel on disconnect); after a new logon we start afresh."""
        for order in self.open_orders():
            self._finish(order)

    def open_orders(self) -> list[WorkingOrder]:
        return list({id(o): o for o in self.orders.values()}.values())

    def _track(self, order: WorkingOrder, cl_ord_id: str) -> None:
        order.ids.append(cl_ord_id)
        self.orders[cl_ord_id] = order

    def _finish(self, order: WorkingOrder) -> None:
        """Done orders are forgotten: a late report about one is ignored."""
        order.done = True
        order.pending = None
        for cl_ord_id in order.ids:
            self.orders.pop(cl_ord_id, None)

    # ------------------------------------------------------------------ answers (QuickFIX's thread)

    def _on_message(self, msg_type: str, raw: str) -> None:
        f = first_fields(fields_in_order(raw))
        with self.lock:
            if msg_type == "8":
                self._execution_report(f)
            elif msg_type == "9":
                self._cancel_rejected(f)
            elif msg_type == "j":
                self._business_reject(f)

    def _execution_report(self, f: dict[str, str]) -> None:
        order = self.orders.get(f.get("11", "")) or self.orders.get(f.get("41", ""))
        exec_type, status = f.get("150", ""), f.get("39", "")
        if exec_type in FILL_EXEC_TYPES and f.get("32"):
            quantity = int(Decimal(f["32"]))
            self.stats.fills += 1
            self.stats.volume += quantity
            self.stats.last_price[f.get("55", "")] = f.get("31", "")
            if order is not None:
                self.on_fill(order.symbol, order.side, quantity, self._ticks(order.symbol, f.get("31")))
        if order is None:
            return
        if "151" in f:
            order.leaves = int(Decimal(f["151"]))
        if exec_type == "8":
            self._rejected(order.symbol, f.get("58") or "order rejected")
        if exec_type == "5":  # replaced: the order now goes by the new ClOrdID
            order.cl_ord_id = f.get("11", order.cl_ord_id)
            order.price = self._ticks(order.symbol, f["44"]) if "44" in f else order.pending_price
            order.quantity = int(Decimal(f["38"])) if "38" in f else order.quantity
            order.pending = None
        elif exec_type == "0" and order.pending == "new":
            order.pending = None
        elif exec_type == "D" and "44" in f:  # restated, e.g. repriced to the band's edge
            order.price = self._ticks(order.symbol, f["44"])
        if exec_type in DONE_EXEC_TYPES or status in DONE_ORD_STATUSES or order.leaves == 0:
            self._finish(order)

    def _cancel_rejected(self, f: dict[str, str]) -> None:
        order = self.orders.get(f.get("11", "")) or self.orders.get(f.get("41", ""))
        text = f.get("58", "")
        if order is None:
            return
        order.pending = None
        if f.get("39") in DONE_ORD_STATUSES or f.get("102") in RACE_CXL_REJ_REASONS:
            self._finish(order)  # it traded or was cancelled before our request arrived: a race, not an error
        else:
            self._rejected(order.symbol, text or "cancel/replace rejected")

    def _business_reject(self, f: dict[str, str]) -> None:
        order = self.orders.get(f.get("379", ""))
        self._rejected(order.symbol if order is not None else None, f.get("58") or "business reject")
        if order is not None:
            if order.pending == "new":
                self._finish(order)
            order.pending = None

    def _rejected(self, symbol: str | None, text: str) -> None:
        self.stats.rejects += 1
        self.stats.last_reject = f"{self.name}{' ' + symbol if symbol else ''}: {text}"
        if symbol is not None:
            self.on_reject(symbol)

    def _ticks(self, symbol: str, text: str | None) -> int:
        p = self.pricing.get(symbol)
        if p is None or not text:
            return 0
        return int(Decimal(text) / p.tick_size)


class MarketMaker:
    """Keeps `levels` quotes on each side of every instrument (driven by `DemoTraffic`, lock held)."""

    def __init__(self, participant: Participant, pricing: dict[str, Pricing], rng: random.Random) -> None:
        self.participant = participant
        self.pricing = pricing
        self.rng = rng
        self.fair = {symbol: p.reference for symbol, p in pricing.items()}
        self.position = {symbol: 0 for symbol in pricing}
        self.slots: dict[tuple[str, str, int], WorkingOrder] = {}
        self._next_review = {symbol: 0.0 for symbol in pricing}
        self._next_move = {symbol: 0.0 for symbol in pricing}

    def step(self, now: float, last_trade: dict[str, int], backing_off: Callable[[str], bool] = lambda s: False,
             ) -> list[tuple[str, list]]:
        messages = []
        for symbol, p in self.pricing.items():
            if backing_off(symbol):
                continue
            if now >= self._next_move[symbol]:
                self.fair[symbol] = next_fair(self.fair[symbol], p, self.rng, last_trade.get(symbol))
                self._next_move[symbol] = now + FAIR_EVERY_S * self.rng.uniform(0.6, 1.4)
            if now < self._next_review[symbol]:
                continue
            self._next_review[symbol] = now + REQUOTE_EVERY_S * self.rng.uniform(0.6, 1.4)
            for quote in quote_ladder(self.fair[symbol], p, self.rng, self.position[symbol]):
                key = (symbol, quote.side, quote.level)
                order = self.slots.get(key)
                if order is not None:
                    self.participant.unanswered(order, now)
                if order is None or order.done:
                    order, message = self.participant.new_order(symbol, quote.side, LIMIT, quote.price,
                                                                quote.quantity, DAY, now)
                    order.level = quote.level
                    self.slots[key] = order
                    messages.append(message)
                elif order.pending is None and needs_requote(order.price, order.leaves, quote, p):
                    # OrderQty on a replace counts what already traded: the quote shows quote.quantity again.
                    total = order.quantity - order.leaves + quote.quantity
                    messages.append(self.participant.replace(order, quote.price, total, now))
        return messages

    def filled(self, symbol: str, side: str, quantity: int) -> None:
        self.position[symbol] += quantity if side == BUY else -quantity


class BrokerFlow:
    """Orders from a few brokers at about `rate` per second per symbol (driven by `DemoTraffic`, lock held)."""

    MAX_RESTING = 3  # passive orders per broker and symbol

    def __init__(self, brokers: list[Participant], pricing: dict[str, Pricing], rate: float,
                 rng: random.Random) -> None:
        self.brokers = brokers
        self.pricing = pricing
        self.rate = rate
        self.rng = rng
        self._next_order = {symbol: 0.0 for symbol in pricing}

    def step(self, now: float, fair: dict[str, int], backing_off: Callable[[str], bool] = lambda s: False,
             ) -> list[tuple[Participant, tuple[str, list]]]:
        messages = []
        for symbol, p in self.pricing.items():
            if self.rate <= 0:
                break
            if self._next_order[symbol] == 0.0:
                self._next_order[symbol] = now + self.rng.expovariate(self.rate)
            while now >= self._next_order[symbol]:
                self._next_order[symbol] += self.rng.expovariate(self.rate)
                brokers = [b for b in self.brokers if b.session.logged_on.is_set()]
                if backing_off(symbol) or not brokers:
                    continue
                broker = self.rng.choice(brokers)
                resting = [o for o in broker.open_orders() if o.symbol == symbol and o.price is not None]
                order = broker_order(fair[symbol], p, self.rng, passive_allowed=len(resting) < self.MAX_RESTING)
                working, message = broker.new_order(symbol, order.side, order.ord_type, order.price,
                                                    order.quantity, order.time_in_force, now)
                if order.kind == "passive":
                    working.expires_at = now + self.rng.uniform(3.0, 12.0)
                messages.append((broker, message))
        for broker in self.brokers:  # passive orders that rested long enough are cancelled
            for order in broker.open_orders():
                if (order.pending is None or broker.unanswered(order, now)) and not order.done \
                        and now >= order.expires_at:
                    messages.append((broker, broker.cancel(order, now)))
        return messages


class DemoTraffic:
    """The market maker and the broker flows, logged on to a running venue; `start()` and `stop()`."""

    def __init__(self, settings: Settings, versions: dict[str, SessionVersion], host: str, port: int,
                 work_dir: str | os.PathLike[str], *, seed: int | None = None, rate: float = 2.0,
                 params: QuoteParams = QuoteParams(), market_maker: str = MARKET_MAKER,
                 brokers: tuple[str, ...] = BROKERS, symbols: tuple[str, ...] | None = None,
                 passwords: dict[str, str] | None = None) -> None:
        passwords = passwords or {}
        missing = [c for c in (market_maker, *brokers) if c not in versions]
        if missing:
            raise InitiatorError(f"the sessions file has no session for {', '.join(missing)}")
        self.rng = random.Random(seed)
        self.pricing = {i.symbol: pricing_for(i, params) for i in settings.instruments
                        if symbols is None or i.symbol in symbols}
        self.stats = DemoStats()
        self.lock = threading.Lock()
        self.last_trade: dict[str, int] = {}
        run_id = _base36(int(time.time()) % 36 ** 6)
        work = Path(work_dir)

        def participant(comp_id: str, on_fill) -> Participant:
            return Participant(comp_id, versions[comp_id], host, port, work, self.stats, self.pricing, self.lock,
                               run_id, on_fill, self._rejected, passwords.get(comp_id))

        self.maker = MarketMaker(participant(market_maker, self._maker_filled), self.pricing, self.rng)
        self.flow = BrokerFlow([participant(c, self._broker_filled) for c in brokers], self.pricing, rate, self.rng)
        self._stop = threading.Event()
        self._driver: threading.Thread | None = None
        self._brokers_from = math.inf
        self.driver_error: str | None = None
        self._backoff: dict[str, float] = {}  # symbol -> until when no new orders are sent
        self._swept: set[str] = set()  # sessions that cancelled their leftovers since they logged on

    @property
    def participants(self) -> list[Participant]:
        return [self.maker.participant, *self.flow.brokers]

    def start(self, timeout: float = 10.0) -> None:
        """Log every session on, then quote; brokers begin once the first quotes had a moment to rest."""
        for participant in self.participants:  # connecting in parallel: a logon takes up to a second
            participant.session.start(wait=False)
        try:
            for participant in self.participants:
                participant.session.wait_for_logon(timeout)
        except InitiatorError:
            for participant in self.participants:
                participant.session.stop(graceful=False)
            raise
        self._brokers_from = time.monotonic() + 1.0
        self._driver = threading.Thread(target=self._drive, name="fixex-demo", daemon=True)
        self._driver.start()

    def stop(self) -> None:
        """Stop sending and log out (the venue cancels the sessions' orders: cancel on disconnect)."""
        self._stop.set()
        if self._driver is not None:
            self._driver.join(timeout=5)
        # All at once: each waits for its Logout reply, and QuickFIX's thread takes up to a second to stop.
        stoppers = [threading.Thread(target=participant.session.stop, name=f"stop-{participant.name}")
                    for participant in self.participants]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()

    def problems(self) -> list[str]:
        """Session rejects either way and handler errors: each is a bug somewhere."""
        found = [f"the order driver failed: {self.driver_error}"] if self.driver_error else []
        for participant in self.participants:
            session = participant.session
            found += [f"{participant.name} was sent a session Reject: {r}" for r in session.rejects_received]
            found += [f"{participant.name} rejected a venue message: {r}" for r in session.rejects_sent]
            found += [f"{participant.name}: {e}" for e in session.errors]
        return found

    def status_line(self, elapsed: float, *, sessions: bool = True) -> str:
        with self.lock:
            s = self.stats
            prices = "  ".join(f"{symbol} {s.last_price.get(symbol, '-')}" for symbol in self.pricing)
            line = (f"[{elapsed:5.0f}s] orders {s.orders}  replaces {s.replaces}  cancels {s.cancels}  "
                    f"fills {s.fills}  volume {s.volume}  rejects {s.rejects} | {prices}")
        away = [p.name for p in self.participants if sessions and not p.session.logged_on.is_set()]
        return line + (f" | not logged on (reconnecting): {', '.join(away)}" if away else "")

    # ------------------------------------------------------------------ the driver thread

    @property
    def failed(self) -> bool:
        """The driver stopped on a bug (see `problems()`)."""
        return self.driver_error is not None

    def _drive(self) -> None:
        try:
            self._drive_until_stopped()
        except Exception as error:  # a bug: reported by problems(), and the demo stops
            log.exception("the demo's order driver failed")
            self.driver_error = f"{type(error).__name__}: {error}"

    def _drive_until_stopped(self) -> None:
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            with self.lock:
                def backing_off(symbol: str) -> bool:
                    return self._backoff.get(symbol, 0.0) > now

                sweeps = []
                for participant in self.participants:
                    if not participant.session.logged_on.is_set():
                        participant.forget_all()
                        self._swept.discard(participant.name)
                    elif participant.name not in self._swept:
                        self._swept.add(participant.name)
                        sweep = participant.sweep()
                        if sweep is not None:
                            sweeps.append((participant, sweep))
                maker_messages = (self.maker.step(now, self.last_trade, backing_off)
                                  if self.maker.participant.session.logged_on.is_set() else [])
                broker_messages = (self.flow.step(now, self.maker.fair, backing_off)
                                   if now >= self._brokers_from else [])
            for participant, sweep in sweeps:  # outside the lock: see fix_gateway/initiator.py
                participant.send_all([sweep])
            self.maker.participant.send_all(maker_messages)
            for broker, message in broker_messages:
                broker.send_all([message])

    def _rejected(self, symbol: str) -> None:
        """A reject (lock held): leave the symbol alone a while; if it is halted, its orders would all be refused."""
        self._backoff[symbol] = time.monotonic() + REJECT_BACKOFF_S

    def _maker_filled(self, symbol: str, side: str, quantity: int, price: int) -> None:
        self.maker.filled(symbol, side, quantity)
        if price:
            self.last_trade[symbol] = price

    def _broker_filled(self, symbol: str, side: str, quantity: int, price: int) -> None:
        if price:
            self.last_trade[symbol] = price


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


# ---------------------------------------------------------------------- the venue as a child process

def listening(host: str, port: int) -> bool:
    return accepts_connections(connect_host(host), port)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child venue gets SIGTERM if the demo dies without stopping it (e.g. SIGKILL)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ChildVenue:
    """`fixex serve` as a child process, its output in a log file."""

    def __init__(self, config: str, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as output:
            # A session of its own: the terminal's Ctrl-C reaches only the demo, which logs out first.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fix_gateway.cli", "serve", "--config", self.config],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while not listening(host, port):
            if self.process.poll() is not None:
                raise InitiatorError(f"the venue exited with status {self.process.returncode} before listening: "
                                     f"{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise InitiatorError(f"the venue did not listen on {host}:{port} within {timeout:g} s; "
                                     f"see {self.log_path}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process is not None else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self, lines: int = 3) -> str:
        try:
            return " | ".join(self.log_path.read_text().strip().splitlines()[-lines:])
        except OSError:
            return "(no output)"


# ---------------------------------------------------------------------- the command

def add_arguments(parser: argparse.ArgumentParser, default_config: str) -> None:
    parser.add_argument("--config", default=default_config, help="YAML settings file (default: %(default)s)")
    parser.add_argument("--sessions", help="QuickFIX sessions file (default: fix.sessions_file from the config)")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable order flow")
    parser.add_argument("--rate", type=float, default=2.0,
                        help="broker orders per second per symbol (default: %(default)s)")
    parser.add_argument("--connect", action="store_true",
                        help="only connect to a venue that is already running; never start one "
                             "(default: use a running venue, else start `fixex serve` as a child process)")
    parser.add_argument("--host", help="venue address (default: fix.host from the config)")
    parser.add_argument("--port", type=int, help="venue FIX port (default: fix.port from the config)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.rate < 0:
        print("fixex: --rate must be zero or more", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    versions = session_versions(args.sessions or settings.fix.sessions_file, settings)
    host, port = args.host or settings.fix.host, args.port or settings.fix.port
    work_dir = Path("var") / "demo"
    received: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    venue = None
    if listening(host, port):
        print(f"using the venue already listening on {connect_host(host)}:{port}", file=out)
    elif args.connect:
        print(f"fixex: no venue is listening on {connect_host(host)}:{port} (start one with `fixex serve`, "
              f"or leave out --connect)", file=sys.stderr)
        return 1
    else:
        venue = ChildVenue(args.config, work_dir / "venue.log")
        print(f"starting the venue (`fixex serve --config {args.config}`); its log: {venue.log_path}", file=out)
        try:
            venue.start(host, port)
        except InitiatorError as error:
            print(f"fixex: {error}", file=sys.stderr)
            return 1
        if received:  # Ctrl-C while it was starting
            venue.stop()
            return 0
    passwords = {comp_id: os.environ[f"FIXEX_{comp_id}_PASSWORD"] for comp_id in (MARKET_MAKER, *BROKERS)
                 if f"FIXEX_{comp_id}_PASSWORD" in os.environ}
    try:
        traffic = DemoTraffic(settings, versions, host, port, work_dir, seed=args.seed, rate=args.rate,
                              passwords=passwords)
        traffic.start()
    except InitiatorError as error:
        print(f"fixex: {error}", file=sys.stderr)
        if venue is not None:
            venue.stop()
        return 1
    print(f"market maker {MARKET_MAKER} quoting {', '.join(traffic.pricing)}; brokers {', '.join(BROKERS)} "
          f"sending about {args.rate:g} orders/s per symbol. Watch a book with `fixex watch AAPL`; "
          f"stop with Ctrl-C.", file=out, flush=True)
    started = time.monotonic()
    next_line = started + 1.0
    venue_died = False
    while not received:
        now = time.monotonic()
        if args.duration is not None and now - started >= args.duration:
            break
        if now >= next_line:
            print(traffic.status_line(now - started), file=out, flush=True)
            next_line += 1.0
        if traffic.failed:
            break
        if venue is not None and venue.process.poll() is not None:
            print(f"fixex: the venue stopped (status {venue.process.returncode}): {venue.tail()}", file=sys.stderr)
            venue_died = True
            break
        time.sleep(0.05)
    print(f"{received[0] + ' received: ' if received else ''}logging the demo sessions out", file=out, flush=True)
    traffic.stop()
    print(traffic.status_line(time.monotonic() - started, sessions=False), file=out)
    if traffic.stats.last_reject:
        print(f"last reject: {traffic.stats.last_reject}", file=out)
    if venue is not None:
        print("stopping the venue", file=out, flush=True)
        status = venue.stop()
        if status not in (0, None):
            print(f"fixex: the venue exited with status {status}; see {venue.log_path}", file=sys.stderr)
    problems = traffic.problems()
    for problem in problems:
        print(f"fixex: {problem}", file=sys.stderr)
    print("demo stopped", file=out, flush=True)
    return 1 if problems or venue_died else 0
