"""`fixex watch SYMBOL`: one instrument's Level 2 book, last trades and trading status in a terminal.

Fed by a FIX market-data session (MDCLIENT1 by default): a MarketDataRequest (V) for
the full book (264=0) with snapshot and incremental updates (263=1, 265=1) of bids,
offers and trades, and a SecurityStatusRequest (e) for the trading status. `WatchBook`
builds the picture from W, X and f messages and knows nothing of terminals;
`render_frame` draws it as lines of text; `run` ties them to a session and redraws
with plain ANSI escapes.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterable, TextIO

from config import load_settings
from fix_gateway.initiator import (
    Initiator, InitiatorError, accepts_connections, connect_host, fields_in_order, session_versions,
)

# SecurityTradingStatus (326) values the venue sends in SecurityStatus (f).
TRADING_STATUS = {
    "2": "HALTED",
    "3": "RESUMED",
    "6": "LIMIT STATE",
    "17": "READY TO TRADE",
    "21": "PRE-OPEN (paused: orders queue for the reopening auction)",
}
BID, OFFER, TRADE = "0", "1", "2"
NEW, CHANGE, DELETE = "0", "1", "2"


@dataclass(frozen=True, slots=True)
class Level:
    size: int
    orders: int | None = None  # NumberOfOrders (346), when the venue sends it


@dataclass(frozen=True, slots=True)
class Print:
    price: Decimal
    size: int
    time: str | None = None  # MDEntryTime (273), HH:MM:SS[.sss] UTC


def entries_of(msg_type: str, pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The MDEntries of a W or X as dicts: a new entry starts at its group's first tag (269 in W, 279 in X)."""
    first = "279" if msg_type == "X" else "269"
    entries: list[dict[str, str]] = []
    in_group = False
    for tag, value in pairs:
        if tag == "268":
            in_group = True
            continue
        if not in_group or tag == "10":
            continue
        if tag == first:
            entries.append({})
        if entries:
            entries[-1][tag] = value
    return entries


def _int(text: str | None) -> int | None:
    try:
        return int(Decimal(text)) if text is not None else None
    except InvalidOperation:
        return None


class WatchBook:
    """One symbol's book as a market-data subscriber sees it: levels by price, recent trades, status."""

    def __init__(self, symbol: str, max_trades: int = 10) -> None:
        self.symbol = symbol
        self.bids: dict[Decimal, Level] = {}
        self.offers: dict[Decimal, Level] = {}
        self.trades: collections.deque[Print] = collections.deque(maxlen=max_trades)
        self.status: str | None = None  # SecurityTradingStatus (326) code
        self.status_text: str | None = None
        self.band: tuple[str, str] | None = None  # (low, high) from 333 / 332
        self.status_refused: str | None = None  # a business reject of our SecurityStatusRequest
        self.error: str | None = None  # a MarketDataRequestReject: nothing will come
        self.snapshots = 0
        self.updates = 0

    # ------------------------------------------------------------------ messages

    def apply(self, msg_type: str, pairs: list[tuple[str, str]]) -> bool:
        """Apply one message (its fields in order); False if it was not about this book."""
        fields: dict[str, str] = {}
        for tag, value in pairs:
            fields.setdefault(tag, value)
        if msg_type == "W":
            if fields.get("55") != self.symbol:
                return False
            self.apply_snapshot(entries_of("W", pairs))
        elif msg_type == "X":
            self.apply_incremental(entries_of("X", pairs))
        elif msg_type == "f":
            if fields.get("55") != self.symbol:
                return False
            self.apply_status(fields)
        elif msg_type == "Y":
            self.error = fields.get("58") or f"market data request rejected (reason {fields.get('281', '?')})"
        elif msg_type == "j" and fields.get("372") == "e":
            self.status_refused = fields.get("58") or "the venue does not answer SecurityStatusRequest"
        else:
            return False
        return True

    def apply_snapshot(self, entries: list[dict[str, str]]) -> None:
        """A full refresh: the book is replaced; its trade entry is the last trade."""
        self.bids.clear()
        self.offers.clear()
        for entry in entries:
            entry_type = entry.get("269")
            if entry_type in (BID, OFFER) and "270" in entry:
                self._side(entry_type)[Decimal(entry["270"])] = Level(_int(entry.get("271")) or 0,
                                                                      _int(entry.get("346")))
            elif entry_type == TRADE and "270" in entry:
                last = Print(Decimal(entry["270"]), _int(entry.get("271")) or 0, entry.get("273"))
                if not self.trades or self.trades[-1] != last:
                    self.trades.append(last)
            self._status_of_entry(entry)
        self.snapshots += 1

    def apply_incremental(self, entries: list[dict[str, str]]) -> None:
        for entry in entries:
            if entry.get("55", self.symbol) != self.symbol:
                continue
            entry_type, action = entry.get("269"), entry.get("279", NEW)
            if entry_type in (BID, OFFER) and "270" in entry:
                side, price = self._side(entry_type), Decimal(entry["270"])
                if action == DELETE:
                    side.pop(price, None)
                else:
                    before = side.get(price)
                    orders = _int(entry.get("346"))
                    size = _int(entry.get("271"))
                    side[price] = Level(size if size is not None else (before.size if before else 0),
                                        orders if orders is not None else (before.orders if before else None))
            elif entry_type == TRADE and action != DELETE and "270" in entry:
                self.trades.append(Print(Decimal(entry["270"]), _int(entry.get("271")) or 0, entry.get("273")))
            self._status_of_entry(entry)
        self.updates += 1

    def apply_status(self, fields: dict[str, str]) -> None:
        """SecurityStatus (f): 326 the status, 332/333 the price band, 58 the venue's words."""
        if "326" in fields:
            self.status = fields["326"]
        if "332" in fields or "333" in fields:
            self.band = (fields.get("333", "?"), fields.get("332", "?"))
        if "58" in fields:
            self.status_text = fields["58"]

    def _status_of_entry(self, entry: dict[str, str]) -> None:
        if "326" in entry:  # FIX 5.0 SP2 may carry the trading status in market data too
            self.status = entry["326"]

    def _side(self, entry_type: str) -> dict[Decimal, Level]:
        return self.bids if entry_type == BID else self.offers

    # ------------------------------------------------------------------ views

    def ladder(self, depth: int) -> tuple[list[tuple[Decimal, Level]], list[tuple[Decimal, Level]]]:
        """The best `depth` bids (highest first) and offers (lowest first)."""
        bids = sorted(self.bids.items(), key=lambda item: item[0], reverse=True)[:depth]
        offers = sorted(self.offers.items(), key=lambda item: item[0])[:depth]
        return bids, offers

    @property
    def status_name(self) -> str:
        if self.status is None:
            return "status unknown"
        return TRADING_STATUS.get(self.status, f"status {self.status}")


# ---------------------------------------------------------------------- drawing

GREEN, RED, BOLD, DIM, RESET = "\x1b[32m", "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def render_frame(book: WatchBook, *, depth: int = 10, trades: int = 10, color: bool = False,
                 note: str = "") -> list[str]:
    """The book as lines of text: header, status, ladder (bids left, offers right), last trades."""
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    bids, offers = book.ladder(depth)
    status = book.status_name
    if book.band is not None:
        status += f"   band {book.band[0]} - {book.band[1]}"
    status_code = RED if book.status in ("2", "21", "6") else GREEN if book.status in ("3", "17") else DIM
    lines = [paint(f"{book.symbol}", BOLD) + f"   {time.strftime('%H:%M:%S', time.gmtime())} UTC"
             + (f"   {note}" if note else ""),
             paint(status, status_code)]
    if book.status_text:
        lines.append(f"  {book.status_text}")
    elif book.status_refused:
        lines.append(f"  (no trading status: {book.status_refused})")
    if book.error:
        lines.append(paint(f"market data refused: {book.error}", RED))
    if bids and offers:
        spread = offers[0][0] - bids[0][0]
        lines.append(f"best bid {bids[0][0]}  best offer {offers[0][0]}  spread {spread}")
    else:
        lines.append("best bid " + (str(bids[0][0]) if bids else "-") + "  best offer "
                     + (str(offers[0][0]) if offers else "-"))
    lines.append("")
    lines.append(f"{'orders':>6} {'bid size':>9} {'bid':>11} | {'ask':<11} {'ask size':<9} {'orders':<6}")
    for row in range(max(len(bids), len(offers), 1)):
        left = " " * 28
        right = ""
        if row < len(bids):
            price, level = bids[row]
            orders = "" if level.orders is None else str(level.orders)
            left = paint(f"{orders:>6} {level.size:>9} {str(price):>11}", GREEN)
        if row < len(offers):
            price, level = offers[row]
            orders = "" if level.orders is None else str(level.orders)
            right = paint(f"{str(price):<11} {level.size:<9} {orders:<6}", RED)
        if row == 0 and not bids and not offers:
            left, right = f"{'(empty book)':>28}", ""
        lines.append(f"{left} | {right}".rstrip())
    lines.append("")
    lines.append(paint("last trades", BOLD))
    recent = list(book.trades)[-trades:][::-1]
    if not recent:
        lines.append("  (none yet)")
    for index, trade in enumerate(recent):
        older = recent[index + 1] if index + 1 < len(recent) else None
        arrow = " "
        code = ""
        if older is not None and trade.price != older.price:
            arrow, code = ("+", GREEN) if trade.price > older.price else ("-", RED)
        text = f"  {trade.time or '':<12} {arrow}{str(trade.price):>11} x {trade.size}"
        lines.append(paint(text, code) if code else text)
    return lines


# ---------------------------------------------------------------------- the session

class BookFeed:
    """A market-data session feeding a WatchBook: subscribes on every logon."""

    def __init__(self, book: WatchBook, initiator_factory: Callable[[Callable[[str, str], None]], Initiator]) -> None:
        self.book = book
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.session = initiator_factory(self._on_message)
        self._ids = itertools.count(1)
        self._subscribed = False
        self.first_snapshot_at: float | None = None

    def subscribe_if_needed(self) -> None:
        """After each logon (the first, or after the venue restarted): the book and the status afresh."""
        if not self.session.logged_on.is_set():
            self._subscribed = False
            return
        if self._subscribed:
            return
        self._subscribed = True
        number = next(self._ids)
        tag = f"{os.getpid()}-{int(time.time())}-{number}"
        self.session.send("V", [(262, f"WATCH-{tag}"), (263, "1"), (264, "0"), (265, "1"), (267, 3),
                                (269, BID), (269, OFFER), (269, TRADE), (146, 1), (55, self.book.symbol)],
                          groups=True)
        self.session.send("e", [(324, f"STATUS-{tag}"), (55, self.book.symbol), (263, "1")])

    def _on_message(self, msg_type: str, raw: str) -> None:
        with self.lock:
            if self.book.apply(msg_type, fields_in_order(raw)):
                if msg_type == "W" and self.first_snapshot_at is None:
                    self.first_snapshot_at = time.monotonic()
                self.changed.set()

    def frame(self, **kw) -> list[str]:
        with self.lock:
            return render_frame(self.book, **kw)

    def ready_for_once(self, status_wait_s: float) -> bool:
        """A snapshot arrived and the status too (or it was refused, or it had `status_wait_s` to come)."""
        with self.lock:
            if self.book.error is not None:
                return True
            if self.first_snapshot_at is None:
                return False
            return (self.book.status is not None or self.book.status_refused is not None
                    or time.monotonic() - self.first_snapshot_at >= status_wait_s)


def add_arguments(parser: argparse.ArgumentParser, default_config: str) -> None:
    parser.add_argument("symbol", metavar="SYMBOL", help="the instrument to watch, e.g. AAPL")
    parser.add_argument("--session", default="MDCLIENT1",
                        help="market-data CompID from the sessions file (default: %(default)s, FIX 4.4; "
                             "MDCLIENT2 speaks FIX 5.0 SP2)")
    parser.add_argument("--config", default=default_config, help="YAML settings file (default: %(default)s)")
    parser.add_argument("--sessions", help="QuickFIX sessions file (default: fix.sessions_file from the config)")
    parser.add_argument("--host", help="venue address (default: fix.host from the config)")
    parser.add_argument("--port", type=int,
                        help="the venue's market-data port (default: market_data.port from the config)")
    parser.add_argument("--depth", type=int, default=10, help="price levels shown per side (default: %(default)s)")
    parser.add_argument("--trades", type=int, default=10, help="last trades shown (default: %(default)s)")
    parser.add_argument("--once", action="store_true",
                        help="print one frame after the first snapshot and exit (no screen control)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for the logon (and with --once, the snapshot) (default: %(default)s)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout,
        stop_requested: Callable[[], bool] = lambda: False) -> int:
    settings = load_settings(args.config)
    symbols = [i.symbol for i in settings.instruments]
    if args.symbol not in symbols:
        print(f"fixex: unknown symbol {args.symbol!r}; this venue lists {', '.join(symbols)}", file=sys.stderr)
        return 2
    versions = session_versions(args.sessions or settings.fix.sessions_file, settings)
    if args.session not in versions:
        print(f"fixex: the sessions file has no session {args.session!r}; market-data sessions: "
              f"{', '.join(s.comp_id for s in settings.sessions if s.role == 'market_data')}", file=sys.stderr)
        return 2
    host, port = args.host or settings.fix.host, args.port or settings.market_data.port
    if not accepts_connections(connect_host(host), port):
        print(f"fixex: no venue is listening on {connect_host(host)}:{port} (start one with `fixex serve` or "
              f"`fixex demo`; else pass --host/--port or --config)", file=sys.stderr)
        return 1
    password = os.environ.get(f"FIXEX_{args.session}_PASSWORD")
    with tempfile.TemporaryDirectory(prefix="fixex-watch-") as work_dir:
        feed = BookFeed(WatchBook(args.symbol, max_trades=max(args.trades, 1)), lambda on_message: Initiator(
            versions[args.session], host, port, work_dir, on_message=on_message, password=password,
            target_comp_id=settings.fix.sender_comp_id, heartbeat_s=10, message_log=False))
        try:
            feed.session.start(args.timeout)
        except InitiatorError as error:
            print(f"fixex: {error}", file=sys.stderr)
            return 1
        try:
            if args.once:
                return _once(feed, args, out, stop_requested)
            return _live(feed, args, out, stop_requested, f"{args.session}@{connect_host(host)}:{port}")
        finally:
            feed.session.stop(graceful=True)


def _once(feed: BookFeed, args: argparse.Namespace, out: TextIO, stop_requested: Callable[[], bool]) -> int:
    deadline = time.monotonic() + args.timeout
    feed.subscribe_if_needed()
    while not feed.ready_for_once(status_wait_s=1.0):
        if stop_requested():
            return 0
        if time.monotonic() > deadline:
            print(f"fixex: no market data snapshot for {args.symbol} within {args.timeout:g} s", file=sys.stderr)
            return 1
        feed.subscribe_if_needed()
        feed.changed.wait(0.05)
        feed.changed.clear()
    print("\n".join(feed.frame(depth=args.depth, trades=args.trades)), file=out, flush=True)
    return 1 if feed.book.error else 0


def _live(feed: BookFeed, args: argparse.Namespace, out: TextIO, stop_requested: Callable[[], bool],
          where: str) -> int:
    # The alternate screen, cursor hidden; both restored however we leave.
    out.write("\x1b[?1049h\x1b[?25l")
    try:
        while not stop_requested():
            feed.subscribe_if_needed()
            rows = shutil.get_terminal_size((100, 40)).lines
            depth = max(1, min(args.depth, (rows - 10 - args.trades)))
            note = where if feed.session.logged_on.is_set() else f"{where}: disconnected, reconnecting..."
            lines = feed.frame(depth=depth, trades=args.trades, color=True, note=note)
            lines.append("")
            lines.append("Ctrl-C to quit")
            out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
            out.flush()
            deadline = time.monotonic() + 0.5
            while not stop_requested() and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        out.write("\x1b[?25h\x1b[?1049l")
        out.flush()
    return 0


def main_with_signals(args: argparse.Namespace) -> int:
    """`run` with SIGINT / SIGTERM ending it cleanly (the terminal restored, the session logged out)."""
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    return run(args, stop_requested=lambda: bool(received))
