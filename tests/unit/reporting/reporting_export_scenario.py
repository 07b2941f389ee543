"""A small trading session run through the real matching engine, audited, journaled and loaded.

Two firms trade AAPL and MSFT over two UTC days: a resting buy partly filled, replaced,
filled again and cancelled; a reject for an unknown symbol and one for an off-tick price;
a GTD order that expires; a stop order triggered by a trade and cancelled for want of
liquidity; a trade on the next day. Fees come from the config's tiers (FIRM_B is a
market maker). The export tests check every column against what this session must give.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert

from config import Settings, load_settings
from matching import (
    CancelOrder, AdvanceClock, Instrument, MatchingEngine, OrderType, ReplaceOrder, Side, SubmitOrder, TimeInForce,
)
from reporting.fees import FeeSchedule
from reporting.journal import JournalWriter
from reporting.loader import JournalLoader, ns_to_datetime
from reporting.records import AuditRecord, audit_record, message_record, session_record
from reporting.schema import audit_events, ensure_schema

SECOND = 10**9
T0 = 1_709_303_400 * SECOND  # 2024-03-01T14:30:00Z
DAY = 86_400 * SECOND

CONFIG = """\
database: {{url: "{url}"}}
instruments:
  - {{symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, reference_price: "190.00", price_band_tier: 1}}
  - {{symbol: MSFT, tick_size: "0.01", lot_size: 1, currency: USD, reference_price: "420.00", price_band_tier: 1}}
firms:
  FIRM_A: {{sessions: {{BROKER1: {{}}}}}}
  FIRM_B: {{fee_tier: market_maker, sessions: {{BROKER2: {{}}}}}}
fees:
  tiers:
    standard: {{maker_bps: "-0.20", taker_bps: "0.30"}}
    market_maker: {{maker_bps: "-0.30", taker_bps: "0.25"}}
"""


def write_config(directory: Path, database_url: str) -> Path:
    path = directory / "exchange.yaml"
    path.write_text(CONFIG.format(url=database_url))
    return path


def _px(text: str) -> int:
    """A price in AAPL/MSFT units (4 decimals)."""
    whole, _, fraction = text.partition(".")
    return int(whole) * 10_000 + int(fraction.ljust(4, "0"))


def _a(client_order_id: str, side: Side, quantity: int, symbol: str = "AAPL", price: str | None = None, *,
       order_type: OrderType = OrderType.LIMIT, stop: str | None = None, tif: TimeInForce = TimeInForce.DAY,
       expire: int | None = None) -> SubmitOrder:
    return SubmitOrder("BROKER1", "FIRM_A", client_order_id, symbol, side, order_type, quantity,
                       None if price is None else _px(price), None if stop is None else _px(stop), tif, expire)


def _b(client_order_id: str, side: Side, quantity: int, symbol: str, price: str, *,
       tif: TimeInForce = TimeInForce.DAY) -> SubmitOrder:
    return SubmitOrder("BROKER2", "FIRM_B", client_order_id, symbol, side, OrderType.LIMIT, quantity, _px(price),
                       None, tif)


# (seconds after T0, command)
SESSION: list[tuple[int, object]] = [
    (0, _a("A1", Side.BUY, 100, price="190.00")),
    (1, _b("B1", Side.SELL, 40, "AAPL", "189.90")),  # trade 1: 40 @ 190.00, A1 rests with 60
    (2, ReplaceOrder("BROKER1", "FIRM_A", "A2", 80, "A1", price=_px("190.05"))),  # 40 left at 190.05
    (3, _b("B2", Side.SELL, 30, "AAPL", "190.05", tif=TimeInForce.IOC)),  # trade 2: 30 @ 190.05, 10 left
    (4, CancelOrder("BROKER1", "FIRM_A", "X1", "A2")),  # the last 10 cancelled
    (5, _b("R1", Side.BUY, 5, "ZZZZ", "1.00")),  # rejected: unknown symbol (1)
    (6, _a("R2", Side.BUY, 10, price="190.001")),  # rejected: off the tick (18)
    (7, _a("A3", Side.SELL, 50, "MSFT", "420.00", tif=TimeInForce.GTD, expire=T0 + 60 * SECOND)),
    (8, _a("S1", Side.BUY, 5, order_type=OrderType.STOP, stop="190.10")),  # waits for a trade at 190.10
    (61, AdvanceClock()),  # A3 expires
    (70, _b("B3", Side.SELL, 20, "AAPL", "190.10")),
    (75, _a("A5", Side.BUY, 20, order_type=OrderType.MARKET)),  # trade 3: 20 @ 190.10; S1 triggers, no liquidity
    (DAY // SECOND, _b("B4", Side.SELL, 10, "MSFT", "420.00")),
    (DAY // SECOND + 1, _a("A6", Side.BUY, 10, "MSFT", "420.00")),  # trade 4, the next day
]


def scenario_settings(directory: Path, database_url: str) -> Settings:
    return load_settings(write_config(directory, database_url))


def scenario_records(settings: Settings, session: list[tuple[int, object]] = SESSION) -> list[AuditRecord]:
    """Every audit record of the session, fees charged, in the order the gateway would journal them."""
    now = [T0]
    instruments = [Instrument(i.symbol, i.tick_units, i.lot_size, i.price_decimals) for i in settings.instruments]
    decimals = {i.symbol: i.price_decimals for i in settings.instruments}
    engine = MatchingEngine(instruments, clock=lambda: now[0])
    fees = FeeSchedule.from_settings(settings)
    records = [session_record("logon", "BROKER1", "FIRM_A", T0, "logon"),
               message_record("inbound", "BROKER1", T0, "8=FIX.4.4\x0135=D\x0111=A1\x0155=AAPL\x01")]
    for offset, command in session:
        now[0] = T0 + offset * SECOND
        for event in engine.process(command):
            engine.check_invariants()
            record = audit_record(event)
            records.append(fees.charge(record, decimals[record.symbol]) if record.kind == "order_filled" else record)
    records.append(session_record("logout", "BROKER1", "FIRM_A", now[0] + SECOND, "bye"))
    return records


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    url: str  # the audit database holding the session
    config: Path  # a config file whose database.url is that database


def load_scenario(directory: Path, database_url: str,
                  session: list[tuple[int, object]] = SESSION) -> LoadedScenario:
    """Run the session (default: SESSION), journal it under `directory` and load it into `database_url`."""
    settings = scenario_settings(directory, database_url)
    journal = directory / "journal.jsonl"
    with JournalWriter(journal, "os") as writer:
        for record in scenario_records(settings, session):
            writer.append(record)
    loader = JournalLoader(journal, database_url, {i.symbol: i.price_decimals for i in settings.instruments})
    try:
        loader.load_available()
    finally:
        loader.stop()
    return LoadedScenario(database_url, Path(settings.source))


def insert_bulk_trades(database_url: str, count: int, pad: int = 400) -> None:
    """`count` trade_executed rows, one a second from T0 + 1 s, written straight into the table (no journal,
    no chain: for volume, not for verify); each carries `pad` characters of detail to make it heavy."""
    filler = "x" * pad
    rows = [{"journal_seq": n, "sequence": n, "timestamp_ns": T0 + n * SECOND,
             "timestamp": ns_to_datetime(T0 + n * SECOND), "kind": "trade_executed", "symbol": "AAPL",
             "trade_id": n, "price_decimals": 4, "price": Decimal("190.0100"), "quantity": 10, "body": "{}",
             "prev_hash": "0" * 64, "hash": "0" * 64,
             "detail": json.dumps({"aggressor_side": "buy", "pad": filler})} for n in range(1, count + 1)]
    engine = create_engine(database_url)
    try:
        ensure_schema(engine)
        with engine.begin() as connection:
            connection.execute(insert(audit_events), rows)
    finally:
        engine.dispose()
