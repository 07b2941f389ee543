"""Compliance exports of the audit trail in the database: rows for `fixex report KIND`.

Each export is one SQL query (SQLAlchemy Core) whose rows stream in chunks (see
`_stream`), so memory stays constant however many rows there are. Filters (time,
firm, symbol) are WHERE clauses on the indexed columns. `bars` and `summary` are
added up by PostgreSQL, and only their rows come to Python; on SQLite, which keeps
prices as text, they are added up here while the rows stream, keeping only the
groups still open (one bar per symbol; one day of symbols x firms).

Rows are tuples in `Export.columns` order holding text, integers or None (and, in
`summary`, a dict of reject reason code -> count). Prices and fees are exact decimal
text: prices with the instrument's `price_decimals` places, fees with 6.

    orders   order events in the style of the US Consolidated Audit Trail (CAT)
    rts24    order records in the style of MiFID II RTS 24
    trades   the trade blotter: one row per trade with both sides
    bars     OHLCV candles per symbol per interval, from the trades
    summary  per UTC day, per symbol and per firm in it: prices, volume, order counts, rejects, fees
"""

from __future__ import annotations

import json
import time
from collections import namedtuple
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Context, Decimal
from functools import lru_cache
from typing import Any

from psycopg import pq
from psycopg.rows import namedtuple_row
from sqlalchemy import BigInteger, Connection, Numeric, and_, case, cast, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.sql import ColumnElement, Select

from reporting.schema import audit_events

__all__ = [
    "BAR_INTERVALS",
    "BARS_COLUMNS",
    "EXPORT_KINDS",
    "ORDERS_COLUMNS",
    "RTS24_COLUMNS",
    "SUMMARY_COLUMNS",
    "TRADES_COLUMNS",
    "Export",
    "ExportFilters",
    "iso_ns",
    "iso_us",
    "run_export",
]

EXPORT_KINDS: tuple[str, ...] = ("orders", "rts24", "trades", "bars", "summary")
BAR_INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}  # seconds
_YIELD_PER = 2000
_CHUNK_ROWS = _YIELD_PER if pq.version() >= 170000 else 1  # libpq's chunked mode came in 17; before, row by row
_NS_PER_SECOND = 10**9


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Which rows: `start` inclusive, `end` exclusive (aware datetimes, compared in UTC); None: no limit."""

    start: datetime | None = None
    end: datetime | None = None
    firm: str | None = None
    symbol: str | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} {value} has no time zone; give it in UTC")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"the start {self.start.isoformat()} is not before the end {self.end.isoformat()}")


@dataclass(frozen=True, slots=True)
class Export:
    kind: str
    columns: tuple[str, ...]
    rows: Generator[tuple[Any, ...], None, None]  # close() it if not read to the end


def run_export(connection: Connection, kind: str, filters: ExportFilters = ExportFilters(), *,
               interval: str = "1m", currencies: Mapping[str, str] | None = None) -> Export:
    """The export `kind` (one of EXPORT_KINDS); rows stream from `connection` while they are read.

    `interval` (bars only) is a key of BAR_INTERVALS; `currencies` (rts24 only) maps symbol -> currency.
    """
    if kind == "orders":
        return Export(kind, ORDERS_COLUMNS, _orders(connection, filters))
    if kind == "rts24":
        return Export(kind, RTS24_COLUMNS, _rts24(connection, filters, dict(currencies or {})))
    if kind == "trades":
        return Export(kind, TRADES_COLUMNS, _trades(connection, filters))
    if kind == "bars":
        if interval not in BAR_INTERVALS:
            raise ValueError(f"unknown bar interval {interval!r}; allowed: {', '.join(BAR_INTERVALS)}")
        return Export(kind, BARS_COLUMNS, _bars(connection, filters, interval))
    if kind == "summary":
        return Export(kind, SUMMARY_COLUMNS, _summary(connection, filters))
    raise ValueError(f"unknown export {kind!r}; allowed: {', '.join(EXPORT_KINDS)}")


# --------------------------------------------------------------------------- formatting

_WIDE = Context(prec=80)  # quantize never runs out of digits on Numeric(38, 9) values
_FEE_QUANTUM = Decimal("0.000001")


@lru_cache(maxsize=4096)
def _utc_second(seconds: int) -> str:
    """2023-11-14T22:13:20: rows come in time order, so most share the second of a row just before."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def iso_ns(timestamp_ns: int) -> str:
    """UTC to the nanosecond: 2023-11-14T22:13:20.123456789Z."""
    seconds, fraction = divmod(timestamp_ns, _NS_PER_SECOND)
    return f"{_utc_second(seconds)}.{fraction:09d}Z"


def iso_us(timestamp_ns: int) -> str:
    """UTC to the microsecond (RTS 24's YYYY-MM-DDThh:mm:ss.ffffffZ), truncated as the database keeps it."""
    seconds, fraction = divmod(timestamp_ns, _NS_PER_SECOND)
    return f"{_utc_second(seconds)}.{fraction // 1000:06d}Z"


def _iso_seconds(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _utc_date(timestamp_ns: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp_ns // _NS_PER_SECOND))


def _price(value: Decimal | None, decimals: int | None) -> str | None:
    """A price with exactly the instrument's decimals (PostgreSQL hands back 9; SQLite what was stored).

    decimals None: the instrument was unknown when loaded and the value is integer price units.
    """
    if value is None:
        return None
    # Decimal's own formatting rounds half to even exactly as quantize does, in a third of the time.
    return format(value, _PRICE_FORMATS.get(decimals) or f".{decimals or 0}f")


_PRICE_FORMATS: dict[int | None, str] = {None: ".0f", **{places: f".{places}f" for places in range(10)}}


@lru_cache(maxsize=4096)
def _detail(text: str) -> Mapping[str, Any]:
    """A row's `detail` object, read only: most rows hold one of a few texts ({"aggressor":true}, ...), each
    parsed once (a parse took a third of the `orders` export's Python time)."""
    return json.loads(text)


def _fee(value: Decimal | None) -> str | None:
    """A fee with 6 decimal places (reporting.fees rounds to 6), or every digit it has if it has more."""
    if value is None:
        return None
    six = value.quantize(_FEE_QUANTUM, context=_WIDE)
    return format(six if six == value else value.normalize(_WIDE), "f")


def _stream(connection: Connection, statement: Select) -> Iterator[Any]:
    """Rows one batch at a time, each as a named tuple: reading a field of one takes about 40 ns, of a
    SQLAlchemy Row about 600 ns, and the exports read some 30 fields a row (measured: most of an export's
    Python time).

    On PostgreSQL the rows stream from an ordinary query in chunks (psycopg's `stream`, libpq's chunked
    mode), not from a server-side cursor: a cursor's query never runs in parallel, and is planned for its
    first tenth of rows. Measured on a 1-million-row trail: `summary` 3.3 -> 1.9 s, `trades` 11.1 -> 6.1 s,
    `orders` 24.2 -> 19.0 s, the rows the same. Memory stays bounded: the server waits while the client has
    not read. On SQLite, a stepping cursor (`yield_per`).
    """
    if connection.dialect.name == "postgresql":
        yield from _stream_from_postgresql(connection, statement)
        return
    result = connection.execution_options(yield_per=_YIELD_PER).execute(statement)
    try:
        make = namedtuple("ExportRow", result.keys())._make
        for batch in result.partitions():
            yield from map(make, batch)
    finally:
        result.close()


def _stream_from_postgresql(connection: Connection, statement: Select) -> Iterator[Any]:
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    driver = connection.connection.driver_connection
    try:
        with driver.cursor(row_factory=namedtuple_row) as cursor:
            yield from cursor.stream(str(compiled), compiled.params, size=_CHUNK_ROWS)
    except GeneratorExit:
        # Left before the end (a closed pipe): psycopg cancelled the query, which aborts the transaction.
        # The export only read, so end it, and the connection can be used again.
        driver.rollback()
        raise


def _time_and_symbol(table, filters: ExportFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.start is not None:
        clauses.append(table.c.timestamp >= filters.start.astimezone(timezone.utc))
    if filters.end is not None:
        clauses.append(table.c.timestamp < filters.end.astimezone(timezone.utc))
    if filters.symbol is not None:
        clauses.append(table.c.symbol == filters.symbol)
    return clauses


def _where(table, filters: ExportFilters) -> list[ColumnElement[bool]]:
    clauses = _time_and_symbol(table, filters)
    if filters.firm is not None:
        clauses.append(table.c.firm == filters.firm)
    return clauses


def _journal_window(table, filters: ExportFilters) -> list[ColumnElement[bool]]:
    """For an export in journal order with a time filter: the journal_seq range of the rows in that time.

    With the time clauses alone PostgreSQL walks the primary key (the order it streams in) over the
    whole trail, so a day's export out of a month reads the month. Bounded by the first and last
    journal_seq in the window, found on the timestamp index, the walk covers the window only; the time
    clauses still decide which rows are in it, so the result is the same.
    """
    if filters.start is None and filters.end is None:
        return []
    window = audit_events.alias("in_window")
    # OFFSET 0 keeps the planner from turning min()/max() into a primary-key walk that filters on time
    # (it would read the trail up to the window from each end).
    rows = (select(window.c.journal_seq).where(*_time_and_symbol(window, ExportFilters(filters.start, filters.end)))
            .offset(0).subquery("window_rows"))
    bounds = select(func.min(rows.c.journal_seq).label("first"), func.max(rows.c.journal_seq).label("last")).cte(
        "journal_window")
    return [table.c.journal_seq >= select(bounds.c.first).scalar_subquery(),
            table.c.journal_seq <= select(bounds.c.last).scalar_subquery()]


def _trades_of_firm(filters: ExportFilters) -> Select:
    """trade_executed rows carry no firm: a trade is the firm's when one of its fills is (ix firm_timestamp)."""
    fill = audit_events.alias("firm_fill")
    return select(fill.c.trade_id).where(fill.c.kind == "order_filled", *_where(fill, filters))


# --------------------------------------------------------------------------- orders and rts24

ORDER_EVENT_KINDS: tuple[str, ...] = ("order_accepted", "order_rejected", "order_replaced", "order_restated",
                                      "order_triggered", "order_cancelled", "order_expired", "order_filled")


def _order_events(connection: Connection, filters: ExportFilters) -> Iterator[Any]:
    """Order events in journal order, each with its order's type, TIF and expiry from its order_accepted row."""
    event, accepted = audit_events, audit_events.alias("accepted")
    statement = (
        select(event.c.journal_seq, event.c.sequence, event.c.timestamp_ns, event.c.kind, event.c.session,
               event.c.firm, event.c.client_order_id, event.c.orig_client_order_id, event.c.order_id,
               event.c.trade_id, event.c.symbol, event.c.side, event.c.order_type, event.c.time_in_force,
               event.c.price_decimals, event.c.price, event.c.stop_price, event.c.last_price, event.c.quantity,
               event.c.leaves_quantity, event.c.cum_quantity, event.c.last_quantity, event.c.reason_code,
               event.c.text, event.c.liquidity, event.c.detail,
               accepted.c.order_type.label("accepted_order_type"),
               accepted.c.time_in_force.label("accepted_time_in_force"),
               accepted.c.detail.label("accepted_detail"))
        .select_from(event.outerjoin(accepted, and_(accepted.c.order_id == event.c.order_id,
                                                    accepted.c.kind == "order_accepted")))
        .where(event.c.kind.in_(ORDER_EVENT_KINDS), *_where(event, filters), *_journal_window(event, filters))
        .order_by(event.c.journal_seq))
    return _stream(connection, statement)


@dataclass(frozen=True, slots=True)
class _OrderState:
    """What one order event says of its order, whatever the event's own columns left out."""

    order_type: str | None
    time_in_force: str | None
    expire_time_ns: int | None
    leaves: int | None
    cum: int | None
    closed_quantity: int | None  # cancelled, expired or (restated) reduced by this event
    reason: str | None
    aggressor: bool | None


def _order_state(row: Any) -> _OrderState:
    kind = row.kind
    detail = _detail(row.detail)
    order_type = row.accepted_order_type or row.order_type
    time_in_force = row.accepted_time_in_force or row.time_in_force
    expire_time_ns = None
    if time_in_force == "gtd":
        expire_time_ns = _detail(row.accepted_detail or row.detail).get("expire_time_ns")
    leaves, cum, closed = row.leaves_quantity, row.cum_quantity, None
    if kind in ("order_accepted", "order_triggered"):  # nothing executes before these (a stop waits untraded)
        leaves, cum = row.quantity, 0
    elif kind == "order_rejected":
        leaves, cum = 0, 0
    elif kind == "order_cancelled":
        leaves, closed = 0, detail.get("cancelled_quantity")
    elif kind == "order_expired":
        leaves, closed = 0, detail.get("expired_quantity")
    elif kind == "order_restated":
        closed = detail.get("reduced_by")
    return _OrderState(order_type, time_in_force, expire_time_ns, leaves, cum, closed, detail.get("reason"),
                       detail.get("aggressor"))


ORDERS_COLUMNS: tuple[str, ...] = (
    "journal_seq", "sequence", "event_timestamp", "event_type", "event", "order_key", "prior_order_key",
    "firm", "session", "order_id", "client_order_id", "orig_client_order_id", "symbol", "side", "order_type",
    "time_in_force", "expire_time", "price", "stop_price", "quantity", "leaves_quantity", "cum_quantity",
    "cancelled_quantity", "trade_id", "trade_price", "trade_quantity", "liquidity", "reason_code", "reason", "text",
)
# CAT event types (MENO new, MEOM modified, MEOJ adjusted by the venue, MEOC cancelled, MEOT trade); CAT has
# none for a reject on entry or a stop trigger, so those carry venue codes marked with an X.
CAT_EVENT_TYPES: dict[str, tuple[str, str]] = {
    "order_accepted": ("MENO", "new"),
    "order_replaced": ("MEOM", "modified"),
    "order_restated": ("MEOJ", "adjusted"),
    "order_cancelled": ("MEOC", "cancelled"),
    "order_expired": ("MEOC", "expired"),
    "order_filled": ("MEOT", "trade"),
    "order_rejected": ("XREJ", "rejected"),
    "order_triggered": ("XTRG", "triggered"),
}
_CAT_SIDE = {"buy": "B", "sell": "SL"}
# CAT order types are LMT and MKT; a stop order is the type it becomes when triggered, with its stop_price.
_CAT_ORDER_TYPE = {"limit": "LMT", "market": "MKT", "stop": "MKT", "stop_limit": "LMT"}


def _orders(connection: Connection, filters: ExportFilters) -> Iterator[tuple[Any, ...]]:
    for row in _order_events(connection, filters):
        state = _order_state(row)
        event_type, event = CAT_EVENT_TYPES[row.kind]
        key = None if row.order_id is None else f"{row.firm}:{row.order_id}"
        filled = row.kind == "order_filled"
        decimals = row.price_decimals
        yield (
            row.journal_seq, row.sequence, iso_ns(row.timestamp_ns), event_type, event, key,
            key if row.kind == "order_replaced" else None,  # the venue keeps the OrderID across a modification
            row.firm, row.session, row.order_id, row.client_order_id, row.orig_client_order_id, row.symbol,
            _CAT_SIDE.get(row.side), _CAT_ORDER_TYPE.get(state.order_type),
            None if state.time_in_force is None else state.time_in_force.upper(),
            None if state.expire_time_ns is None else iso_ns(state.expire_time_ns),
            _price(row.price, decimals), _price(row.stop_price, decimals), row.quantity, state.leaves, state.cum,
            state.closed_quantity, row.trade_id if filled else None,
            _price(row.last_price, decimals) if filled else None, row.last_quantity if filled else None,
            row.liquidity, row.reason_code, state.reason, row.text,
        )


RTS24_COLUMNS: tuple[str, ...] = (
    "sequence_number", "event_timestamp", "event_type", "order_id", "client_id", "session", "client_order_id",
    "instrument", "buy_sell", "order_type", "order_type_classification", "limit_price", "stop_price",
    "transaction_price", "price_currency", "initial_quantity", "remaining_quantity", "traded_quantity",
    "validity_period", "validity_date_time", "passive_aggressive", "venue_transaction_id", "reason_code", "text",
    "journal_seq",
)
_RTS24_EVENT = {"order_accepted": "NEWO", "order_replaced": "REME", "order_restated": "REMA",
                "order_triggered": "TRIG", "order_expired": "EXPI", "order_rejected": "REJE"}
# Cancelled at the member's own request (CAME) or by the venue's rules (CAMO).
_MEMBER_CANCELS = frozenset({"requested", "mass_cancel", "replaced_below_executed"})
_RTS24_SIDE = {"buy": "BUYI", "sell": "SELL"}
_RTS24_CLASSIFICATION = {"limit": "LMTO", "stop": "STOP", "stop_limit": "STOP"}  # market: none applies
_RTS24_VALIDITY = {"day": "DAVY", "gtc": "GTCV", "ioc": "IOCV", "fok": "FOKV", "gtd": "GTSV"}


def _rts24_event(kind: str, leaves: int | None, reason: str | None) -> str:
    if kind == "order_filled":
        return "FILL" if leaves == 0 else "PARF"
    if kind == "order_cancelled":
        return "CAME" if reason in _MEMBER_CANCELS else "CAMO"
    return _RTS24_EVENT[kind]


def _rts24(connection: Connection, filters: ExportFilters, currencies: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    for row in _order_events(connection, filters):
        state = _order_state(row)
        filled = row.kind == "order_filled"
        decimals = row.price_decimals
        yield (
            row.sequence, iso_us(row.timestamp_ns), _rts24_event(row.kind, state.leaves, state.reason),
            row.order_id, row.firm, row.session, row.client_order_id, row.symbol, _RTS24_SIDE.get(row.side),
            None if state.order_type is None else state.order_type.upper(),
            _RTS24_CLASSIFICATION.get(state.order_type), _price(row.price, decimals),
            _price(row.stop_price, decimals), _price(row.last_price, decimals) if filled else None,
            currencies.get(row.symbol), row.quantity, state.leaves, row.last_quantity if filled else None,
            _RTS24_VALIDITY.get(state.time_in_force),
            None if state.expire_time_ns is None else iso_us(state.expire_time_ns),
            (("AGRE" if state.aggressor else "PASV") if filled else None), row.trade_id if filled else None,
            row.reason_code, row.text, row.journal_seq,
        )


# --------------------------------------------------------------------------- trades

TRADES_COLUMNS: tuple[str, ...] = (
    "trade_id", "timestamp", "symbol", "price", "quantity", "notional", "aggressor_side",
    "buy_firm", "buy_session", "buy_order_id", "buy_client_order_id", "buy_liquidity", "buy_fee",
    "sell_firm", "sell_session", "sell_order_id", "sell_client_order_id", "sell_liquidity", "sell_fee",
    "sequence", "journal_seq",
)
_FILL_COLUMNS = ("firm", "session", "order_id", "client_order_id", "liquidity", "fee")


def _trade_statement(filters: ExportFilters) -> Select:
    trade, buy, sell = audit_events.alias("t"), audit_events.alias("b"), audit_events.alias("s")
    sides = []
    for alias, side in ((buy, "buy"), (sell, "sell")):
        sides.extend(getattr(alias.c, name).label(f"{side}_{name}") for name in _FILL_COLUMNS)
    where = [trade.c.kind == "trade_executed", *_time_and_symbol(trade, filters), *_journal_window(trade, filters)]
    if filters.firm is not None:
        where.append(trade.c.trade_id.in_(_trades_of_firm(filters)))
    return (
        select(trade.c.journal_seq, trade.c.sequence, trade.c.timestamp_ns, trade.c.trade_id, trade.c.symbol,
               trade.c.price_decimals, trade.c.price, trade.c.quantity, trade.c.detail, *sides)
        .select_from(
            trade.outerjoin(buy, and_(buy.c.trade_id == trade.c.trade_id, buy.c.kind == "order_filled",
                                      buy.c.side == "buy"))
            .outerjoin(sell, and_(sell.c.trade_id == trade.c.trade_id, sell.c.kind == "order_filled",
                                  sell.c.side == "sell")))
        .where(*where)
        .order_by(trade.c.journal_seq))


def _trades(connection: Connection, filters: ExportFilters) -> Iterator[tuple[Any, ...]]:
    for row in _stream(connection, _trade_statement(filters)):
        detail = _detail(row.detail)
        decimals = row.price_decimals
        notional = None if row.price is None else _WIDE.multiply(row.price, Decimal(row.quantity))
        yield (
            row.trade_id, iso_ns(row.timestamp_ns), row.symbol, _price(row.price, decimals), row.quantity,
            _price(notional, decimals), detail.get("aggressor_side"),
            detail.get("buy_firm", row.buy_firm), row.buy_session, detail.get("buy_order_id", row.buy_order_id),
            row.buy_client_order_id, row.buy_liquidity, _fee(row.buy_fee),
            detail.get("sell_firm", row.sell_firm), row.sell_session,
            detail.get("sell_order_id", row.sell_order_id), row.sell_client_order_id, row.sell_liquidity,
            _fee(row.sell_fee), row.sequence, row.journal_seq,
        )


# --------------------------------------------------------------------------- bars

BARS_COLUMNS: tuple[str, ...] = ("symbol", "interval", "start", "end", "open", "high", "low", "close", "volume",
                                 "trades")


def _bars(connection: Connection, filters: ExportFilters, interval: str) -> Iterator[tuple[Any, ...]]:
    """Bars in symbol then time order; a bar only where there were trades. Aligned to UTC (midnight for 1d)."""
    seconds = BAR_INTERVALS[interval]
    trade = audit_events
    where = [trade.c.kind == "trade_executed", *_time_and_symbol(trade, filters)]
    if filters.firm is not None:
        where.append(trade.c.trade_id.in_(_trades_of_firm(filters)))
    if connection.dialect.name == "postgresql":
        return _bars_in_postgresql(connection, where, interval, seconds)
    return _bars_from_rows(connection, where, interval, seconds)


def _bars_from_rows(connection: Connection, where: list[ColumnElement[bool]], interval: str,
                    seconds: int) -> Iterator[tuple[Any, ...]]:
    """The bars added up in Python from every trade (SQLite keeps prices as text)."""
    width = seconds * _NS_PER_SECOND
    trade = audit_events
    statement = (select(trade.c.symbol, trade.c.timestamp_ns, trade.c.price_decimals, trade.c.price,
                        trade.c.quantity)
                 .where(*where)
                 .order_by(trade.c.symbol, trade.c.timestamp, trade.c.journal_seq))  # ix symbol_timestamp
    bar: list[Any] | None = None  # [symbol, bucket, decimals, open, high, low, close, volume, trades]
    for row in _stream(connection, statement):
        bucket = row.timestamp_ns // width
        if bar is not None and (bar[0] != row.symbol or bar[1] != bucket):
            yield _bar_row(bar, interval, seconds)
            bar = None
        if bar is None:
            bar = [row.symbol, bucket, row.price_decimals, row.price, row.price, row.price, row.price, 0, 0]
        price = row.price
        if price > bar[4]:
            bar[4] = price
        if price < bar[5]:
            bar[5] = price
        bar[6] = price
        bar[7] += row.quantity
        bar[8] += 1
    if bar is not None:
        yield _bar_row(bar, interval, seconds)


def _bars_in_postgresql(connection: Connection, where: list[ColumnElement[bool]], interval: str,
                        seconds: int) -> Iterator[tuple[Any, ...]]:
    """The same bars, each added up by PostgreSQL: a few rows cross to Python rather than every trade (at 10
    million audit rows, 1.4 million trades). Open and close are the first and last price in time order,
    ties in journal order, as above; SQLite keeps prices as text, so there the trades are read."""
    trade = audit_events
    bucket = (trade.c.timestamp_ns // (seconds * _NS_PER_SECOND)).label("bucket")
    in_time = (trade.c.timestamp.asc(), trade.c.journal_seq.asc())
    backwards = (trade.c.timestamp.desc(), trade.c.journal_seq.desc())
    statement = (select(trade.c.symbol, bucket, func.max(trade.c.price_decimals).label("decimals"),
                        array_agg(aggregate_order_by(trade.c.price, *in_time))[1].label("open"),
                        func.max(trade.c.price).label("high"), func.min(trade.c.price).label("low"),
                        array_agg(aggregate_order_by(trade.c.price, *backwards))[1].label("close"),
                        func.sum(trade.c.quantity).cast(BigInteger).label("volume"),
                        func.count().label("trades"))
                 .where(*where)
                 .group_by(trade.c.symbol, bucket)
                 .order_by(trade.c.symbol.collate("C"), bucket))
    for row in _stream(connection, statement):
        yield _bar_row(list(row), interval, seconds)


def _bar_row(bar: list[Any], interval: str, seconds: int) -> tuple[Any, ...]:
    symbol, bucket, decimals, open_, high, low, close, volume, trades = bar
    return (symbol, interval, _iso_seconds(bucket * seconds), _iso_seconds((bucket + 1) * seconds),
            _price(open_, decimals), _price(high, decimals), _price(low, decimals), _price(close, decimals),
            volume, trades)


# --------------------------------------------------------------------------- summary

SUMMARY_COLUMNS: tuple[str, ...] = (
    "date", "symbol", "scope", "firm", "open", "high", "low", "close", "volume", "bought", "sold", "trades",
    "orders_accepted", "orders_replaced", "orders_cancelled", "orders_expired", "orders_rejected",
    "rejects_by_reason", "fees",
)
_SUMMARY_KINDS = ("order_accepted", "order_rejected", "order_replaced", "order_cancelled", "order_expired",
                  "order_filled", "trade_executed")
_COUNTED = {"order_accepted": "accepted", "order_replaced": "replaced", "order_cancelled": "cancelled",
            "order_expired": "expired", "order_rejected": "rejected"}


class _DayStats:
    """One day's running figures for a symbol (firm None: all firms) or one firm in it."""

    __slots__ = ("decimals", "open", "high", "low", "close", "volume", "bought", "sold", "trades", "accepted",
                 "replaced", "cancelled", "expired", "rejected", "rejects", "fees")

    def __init__(self) -> None:
        self.decimals: int | None = None
        self.open = self.high = self.low = self.close = None
        self.volume = self.bought = self.sold = self.trades = 0
        self.accepted = self.replaced = self.cancelled = self.expired = self.rejected = 0
        self.rejects: dict[int, int] = {}
        self.fees = Decimal(0)

    def trade(self, price: Decimal, quantity: int, decimals: int | None) -> None:
        self.decimals = decimals
        if self.open is None:
            self.open = self.high = self.low = price
        elif price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += quantity
        self.trades += 1


def _summary(connection: Connection, filters: ExportFilters) -> Iterator[tuple[Any, ...]]:
    """Rows per UTC day: each symbol's figures over all firms (scope "symbol"), then each firm's in it.

    With a firm filter only that firm's rows come out. PostgreSQL adds the figures up; on SQLite they are
    added up here, in time order, keeping one day's groups.
    """
    if connection.dialect.name == "postgresql":
        return _summary_in_postgresql(connection, filters)
    return _summary_from_rows(connection, filters)


def _summary_from_rows(connection: Connection, filters: ExportFilters) -> Iterator[tuple[Any, ...]]:
    """The summary added up in Python from every order event and trade (SQLite keeps prices as text)."""
    table = audit_events
    statement = (select(table.c.timestamp_ns, table.c.kind, table.c.firm, table.c.symbol, table.c.side,
                        table.c.price_decimals, table.c.price, table.c.quantity, table.c.last_price,
                        table.c.last_quantity, table.c.reason_code, table.c.fee)
                 .where(table.c.kind.in_(_SUMMARY_KINDS), *_where(table, filters))
                 .order_by(table.c.timestamp, table.c.journal_seq))  # ix timestamp
    firm_only = filters.firm is not None
    day: str | None = None
    groups: dict[tuple[str, str | None], _DayStats] = {}
    for row in _stream(connection, statement):
        row_day = _utc_date(row.timestamp_ns)
        if row_day != day:
            yield from _summary_rows(day, groups, firm_only)
            day, groups = row_day, {}
        symbol = row.symbol or ""
        market = groups.get((symbol, None))
        if market is None:
            market = groups[(symbol, None)] = _DayStats()
        if row.kind == "trade_executed":
            market.trade(row.price, row.quantity, row.price_decimals)
            continue
        firm = groups.get((symbol, row.firm))
        if firm is None:
            firm = groups[(symbol, row.firm)] = _DayStats()
        for stats in (market, firm):
            if row.kind == "order_filled":
                if row.fee is not None:
                    stats.fees = _WIDE.add(stats.fees, row.fee)
            else:
                name = _COUNTED[row.kind]
                setattr(stats, name, getattr(stats, name) + 1)
                if row.kind == "order_rejected" and row.reason_code is not None:
                    stats.rejects[row.reason_code] = stats.rejects.get(row.reason_code, 0) + 1
        if row.kind == "order_filled":
            firm.trade(row.last_price, row.last_quantity, row.price_decimals)
            if row.side == "buy":
                firm.bought += row.last_quantity
            else:
                firm.sold += row.last_quantity
    yield from _summary_rows(day, groups, firm_only)


def _summary_rows(day: str | None, groups: dict[tuple[str, str | None], _DayStats],
                  firm_only: bool) -> Iterator[tuple[Any, ...]]:
    for (symbol, firm), stats in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] is not None,
                                                                          item[0][1] or "")):
        if firm is None and firm_only:
            continue
        market = firm is None
        decimals = stats.decimals
        yield (
            day, symbol, "symbol" if market else "firm", firm, _price(stats.open, decimals),
            _price(stats.high, decimals), _price(stats.low, decimals), _price(stats.close, decimals), stats.volume,
            None if market else stats.bought, None if market else stats.sold, stats.trades, stats.accepted,
            stats.replaced, stats.cancelled, stats.expired, stats.rejected, dict(sorted(stats.rejects.items())),
            _fee(stats.fees),
        )


def _summary_in_postgresql(connection: Connection, filters: ExportFilters) -> Iterator[tuple[Any, ...]]:
    """The same rows, added up by PostgreSQL: one row per day, symbol and firm crosses to Python rather than
    every order event and trade (at 10 million audit rows, 7 million).

    Trades carry no firm, so each day's symbol has a group of firm NULL holding its trades, and a group per
    firm holding that firm's order events: the symbol's prices come from the first, each firm's from its own
    fills, and the symbol's counts, fees and rejects are the sum of its firms'. Open and close are the first
    and last price in time order, ties in journal order, and the decimals those of the last, as in Python:
    the least and greatest array [microsecond, journal_seq, value], which needs no sort (an ordered aggregate
    measured 1.4x slower). Names sort by code point, as Python sorts them, whatever the database's collation.
    """
    table = audit_events
    where = [table.c.kind.in_(_SUMMARY_KINDS), *_where(table, filters)]
    day = (table.c.timestamp_ns // (86400 * _NS_PER_SECOND)).label("day")
    symbol = func.coalesce(table.c.symbol, "").label("symbol")
    kind = table.c.kind
    trade, fill = kind == "trade_executed", kind == "order_filled"
    priced = trade | fill  # a trade in its symbol's group, a fill in its firm's
    price = case((trade, table.c.price), else_=table.c.last_price)
    quantity = case((trade, table.c.quantity), else_=table.c.last_quantity)

    def in_time(value: Any) -> Any:
        return postgresql.array([cast(table.c.timestamp_ns // 1000, Numeric), cast(table.c.journal_seq, Numeric),
                                 cast(value, Numeric)])

    def first(value: Any, name: str) -> Any:
        return func.min(in_time(value), type_=postgresql.ARRAY(Numeric)).filter(priced).label(name)

    def last(value: Any, name: str) -> Any:
        return func.max(in_time(value), type_=postgresql.ARRAY(Numeric)).filter(priced).label(name)

    def total(value: Any, rows: ColumnElement[bool], name: str) -> Any:
        return func.coalesce(func.sum(value).filter(rows), 0).cast(BigInteger).label(name)

    groups = (
        select(day, symbol, table.c.firm,
               first(price, "open"), func.max(price).filter(priced).label("high"),
               func.min(price).filter(priced).label("low"), last(price, "close"),
               last(table.c.price_decimals, "decimals"), total(quantity, priced, "volume"),
               func.count().filter(priced).label("trades"),
               total(table.c.last_quantity, fill & (table.c.side == "buy"), "bought"),
               total(table.c.last_quantity, fill & (func.coalesce(table.c.side, "") != "buy"), "sold"),
               *(func.count().filter(kind == name).label(column) for name, column in _COUNTED.items()),
               func.coalesce(func.sum(table.c.fee).filter(fill), 0).label("fees"))
        .where(*where)
        .group_by(day, symbol, table.c.firm)
        .subquery("summary_groups"))
    per_reason = (
        select(day, symbol, table.c.firm, table.c.reason_code, func.count().label("n"))
        .where(*where, kind == "order_rejected", table.c.reason_code.is_not(None))
        .group_by(day, symbol, table.c.firm, table.c.reason_code)
        .subquery("rejects_per_reason"))
    rejects = (
        select(per_reason.c.day, per_reason.c.symbol, per_reason.c.firm,
               array_agg(aggregate_order_by(per_reason.c.reason_code, per_reason.c.reason_code)).label("codes"),
               array_agg(aggregate_order_by(per_reason.c.n, per_reason.c.reason_code)).label("counts"))
        .group_by(per_reason.c.day, per_reason.c.symbol, per_reason.c.firm)
        .subquery("summary_rejects"))
    g = groups.c
    statement = (
        select(g.day, g.symbol, g.firm, g.open[3].label("open"), g.high, g.low, g.close[3].label("close"),
               g.decimals[3].label("decimals"), g.volume, g.trades, g.bought, g.sold, g.accepted, g.replaced,
               g.cancelled, g.expired, g.rejected, rejects.c.codes, rejects.c.counts, g.fees)
        .select_from(groups.outerjoin(rejects, and_(rejects.c.day == g.day, rejects.c.symbol == g.symbol,
                                                    rejects.c.firm.is_not_distinct_from(g.firm))))
        .order_by(g.day, g.symbol.collate("C"), g.firm.collate("C").nulls_first()))
    firm_only = filters.firm is not None
    block: list[Any] = []  # one day's symbol: its trades' group (firm None), if it traded, then its firms'
    for row in _stream(connection, statement):
        if block and (row.day, row.symbol) != (block[0].day, block[0].symbol):
            yield from _summary_block(block, firm_only)
            block = []
        block.append(row)
    if block:
        yield from _summary_block(block, firm_only)


def _summary_block(block: list[Any], firm_only: bool) -> Iterator[tuple[Any, ...]]:
    date = _utc_date(block[0].day * 86400 * _NS_PER_SECOND)
    symbol = block[0].symbol

    def figures(row: Any) -> tuple[Any, ...]:
        decimals = None if row.decimals is None else int(row.decimals)  # the last element of a numeric array
        return (*(_price(price, decimals) for price in (row.open, row.high, row.low, row.close)), row.volume)

    if not firm_only:
        traded = block[0] if block[0].firm is None else None
        rejects: dict[int, int] = {}
        fees = Decimal(0)
        for row in block:
            for code, count in zip(row.codes or (), row.counts or ()):
                rejects[code] = rejects.get(code, 0) + count
            fees = _WIDE.add(fees, row.fees)
        yield (
            date, symbol, "symbol", None, *(figures(traded) if traded else (None, None, None, None, 0)), None, None,
            traded.trades if traded else 0, *(sum(getattr(row, name) for row in block) for name in _COUNTED.values()),
            dict(sorted(rejects.items())), _fee(fees),
        )
    for row in block:
        if row.firm is not None:
            yield (date, symbol, "firm", row.firm, *figures(row), row.bought, row.sold, row.trades, row.accepted,
                   row.replaced, row.cancelled, row.expired, row.rejected, dict(zip(row.codes or (), row.counts or ())),
                   _fee(row.fees))
