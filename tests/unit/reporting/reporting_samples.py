"""A small, realistic stream of audit records for loader and verify tests."""

from __future__ import annotations

from pathlib import Path

from matching.events import OrderAccepted, OrderFilled, OrderRejected, TradeExecuted
from matching.rejects import OrderRejectReason
from matching.types import OrderType, Side, TimeInForce
from reporting.journal import JournalWriter
from reporting.records import AuditRecord, audit_record, message_record, session_record

T0 = 1_700_000_000_123_456_789


def sample_records() -> list[AuditRecord]:
    return [
        session_record("logon", "BROKER1", "FIRM_A", T0, "logon"),
        message_record("inbound", "BROKER1", T0 + 1, "8=FIX.4.4\x019=60\x0135=D\x0111=c1\x0155=AAPL\x0110=123\x01"),
        audit_record(OrderAccepted(
            sequence=10, timestamp_ns=T0 + 2, order_id=500, session="BROKER1", firm="FIRM_A", client_order_id="c1",
            symbol="AAPL", side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, quantity=100,
            price=1_900_100, stop_price=None, expire_time_ns=None)),
        audit_record(OrderFilled(
            sequence=11, timestamp_ns=T0 + 3, order_id=500, session="BROKER1", firm="FIRM_A", client_order_id="c1",
            symbol="AAPL", side=Side.BUY, quantity=100, price=1_900_100, trade_id=7, last_price=1_900_000,
            last_quantity=40, cum_quantity=40, leaves_quantity=60, cum_notional=76_000_000, aggressor=True)),
        audit_record(TradeExecuted(
            sequence=12, timestamp_ns=T0 + 3, trade_id=7, symbol="AAPL", price=1_900_000, quantity=40,
            aggressor_side=Side.BUY, buy_order_id=500, sell_order_id=400, buy_firm="FIRM_A", sell_firm="FIRM_B")),
        audit_record(OrderRejected(
            sequence=13, timestamp_ns=T0 + 4, session="BROKER2", firm="FIRM_B", client_order_id="x9", symbol="ZZZ",
            side=Side.SELL, order_type=OrderType.LIMIT, quantity=5, price=12_345, reason=OrderRejectReason.UNKNOWN_SYMBOL,
            text="unknown symbol ZZZ")),
        message_record("outbound", "BROKER1", T0 + 5, "8=FIX.4.4\x019=70\x0135=8\x0117=11\x0110=200\x01"),
        session_record("logout", "BROKER1", "FIRM_A", T0 + 6, "bye"),
    ]


def write_journal(path: Path, records: list[AuditRecord] | None = None) -> int:
    """Append the records (default: sample_records) and return the last journal_seq."""
    with JournalWriter(path, "os") as writer:
        seq = 0
        for record in sample_records() if records is None else records:
            seq = writer.append(record)
    return seq
