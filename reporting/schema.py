"""The audit trail's database schema (SQLAlchemy Core), for PostgreSQL and SQLite.

`audit_events` and `fix_messages` are the trail itself: one row per journal entry.
Rows are loaded from the journal, so each keeps the entry's `body` (the canonical
JSON the hash covers), `prev_hash` and `hash`: `reporting.verify` rechecks the chain
in the database without the journal file. The chain runs through both tables in
journal_seq order.

`orders`, `trades` and `sessions` are views of the trail kept as tables, filled by the
loader in the same transaction as the audit_events rows they come from:
  orders    one row per order, its state after its latest event
  trades    one row per trade, with both sides' order, firm, session, liquidity and fee
  sessions  one row per session event (logon, logout, session-level reject)
They are not hash-chained: `audit_events` is the evidence, these are for reading.

Prices are Numeric in currency (Decimal at this edge, rule 3), scaled with the
instrument's `price_decimals`, which the row keeps; a row whose instrument was
unknown at load time keeps integer price units and `price_decimals` NULL.

The schema is created or upgraded by `ensure_schema` (the loader calls it at start-up)
and its version recorded in `schema_version`. Version 2 added `fix_messages.msg_type`
and the orders, trades and sessions tables; upgrading a version 1 database fills them
from audit_events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    func,
    insert,
    select,
    update,
)

__all__ = [
    "ORDER_EVENT_KINDS",
    "SCHEMA_VERSION",
    "audit_events",
    "ensure_schema",
    "fix_messages",
    "metadata",
    "orders",
    "schema_version",
    "sessions",
    "trades",
]

SCHEMA_VERSION = 2
# The audit_events kinds that change an order's state (and so its `orders` row).
ORDER_EVENT_KINDS: tuple[str, ...] = ("order_accepted", "order_replaced", "order_restated", "order_triggered",
                                      "order_repriced", "order_filled", "order_cancelled", "order_expired")


class _DecimalText(TypeDecorator):
    """Decimal stored as text: SQLite has no exact decimal type and would round through float."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


# 38 digits, 9 after the point: price_decimals is at most 9 (config).
_Price = Numeric(38, 9, asdecimal=True).with_variant(_DecimalText(), "sqlite")
_Hash = String(64)

metadata = MetaData()


def _chain_columns() -> list[Column]:
    return [
        Column("body", Text, nullable=False),  # canonical JSON of the journal entry body
        Column("prev_hash", _Hash, nullable=False),
        Column("hash", _Hash, nullable=False),
    ]


audit_events = Table(
    "audit_events",
    metadata,
    Column("journal_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("sequence", BigInteger, nullable=True),  # the engine's; NULL for session records
    Column("timestamp_ns", BigInteger, nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),  # timestamp_ns to the microsecond, UTC
    Column("kind", String(40), nullable=False),
    Column("session", String(64)),
    Column("firm", String(64)),
    Column("client_order_id", String(128)),
    Column("orig_client_order_id", String(128)),
    Column("order_id", BigInteger),
    Column("exec_id", String(64)),
    Column("trade_id", BigInteger),
    Column("symbol", String(32)),
    Column("side", String(8)),
    Column("order_type", String(16)),
    Column("time_in_force", String(8)),
    Column("price_decimals", Integer),  # how the price columns are scaled; NULL: integer price units
    Column("price", _Price),
    Column("stop_price", _Price),
    Column("last_price", _Price),
    Column("quantity", BigInteger),
    Column("leaves_quantity", BigInteger),
    Column("cum_quantity", BigInteger),
    Column("last_quantity", BigInteger),
    Column("reason_code", Integer),
    Column("text", Text),
    Column("liquidity", String(8)),  # executions: maker / taker
    Column("fee", _Price),  # executions: in the instrument's currency; negative is a rebate
    Column("command_seq", BigInteger),  # the input journal entry that caused this row
    Column("detail", Text, nullable=False),  # canonical JSON object
    *_chain_columns(),
    Index("ix_audit_events_symbol_timestamp", "symbol", "timestamp"),
    Index("ix_audit_events_firm_timestamp", "firm", "timestamp"),
    Index("ix_audit_events_order_id", "order_id"),
    Index("ix_audit_events_kind", "kind"),
    Index("ix_audit_events_timestamp", "timestamp"),
    Index("ix_audit_events_trade_id", "trade_id"),
)

fix_messages = Table(
    "fix_messages",
    metadata,
    Column("journal_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("direction", String(8), nullable=False),  # inbound / outbound
    Column("session", String(64), nullable=False),
    Column("timestamp_ns", BigInteger, nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("raw", Text, nullable=False),  # the message as on the wire, SOH separators kept
    *_chain_columns(),
    Column("msg_type", Text),  # MsgType (35) from raw; NULL when the text has none (added in version 2)
    Index("ix_fix_messages_session_timestamp", "session", "timestamp"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("firm", String(64)),
    Column("session", String(64)),
    Column("client_order_id", String(128)),  # the latest: a cancel or replace request's ClOrdID once applied
    Column("symbol", String(32)),
    Column("side", String(8)),
    Column("order_type", String(16)),  # the latest known (a stop order becomes market or limit when triggered)
    Column("time_in_force", String(8)),
    Column("price_decimals", Integer),
    Column("price", _Price),  # the order's limit price after its latest event; NULL for market orders
    Column("quantity", BigInteger),  # the order's total
    Column("cum_quantity", BigInteger),
    Column("leaves_quantity", BigInteger),
    Column("status", String(16), nullable=False),  # new, partially_filled, filled, cancelled, expired
    Column("first_seq", BigInteger, nullable=False),  # journal_seq of its first and latest order event
    Column("last_seq", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_orders_firm_created_at", "firm", "created_at"),
    Index("ix_orders_symbol_created_at", "symbol", "created_at"),
)


def _trade_side_columns(side: str) -> list[Column]:
    return [
        Column(f"{side}_order_id", BigInteger),
        Column(f"{side}_firm", String(64)),
        Column(f"{side}_session", String(64)),  # this and the rest of the side: from its order_filled row
        Column(f"{side}_client_order_id", String(128)),
        Column(f"{side}_liquidity", String(8)),
        Column(f"{side}_fee", _Price),
    ]


trades = Table(
    "trades",
    metadata,
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("journal_seq", BigInteger, nullable=False),  # of its trade_executed row
    Column("sequence", BigInteger),
    Column("timestamp_ns", BigInteger, nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("price_decimals", Integer),
    Column("price", _Price, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("aggressor_side", String(8)),  # buy / sell; NULL for an auction trade
    *_trade_side_columns("buy"),
    *_trade_side_columns("sell"),
    Index("ix_trades_symbol_timestamp", "symbol", "timestamp"),
    Index("ix_trades_timestamp", "timestamp"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("journal_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("timestamp_ns", BigInteger, nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("session", String(64)),
    Column("firm", String(64)),
    Column("kind", String(8), nullable=False),  # logon, logout, reject
    Column("direction", String(8)),  # inbound / outbound: who sent the message
    Column("reason_code", Integer),  # rejects: SessionRejectReason (373)
    Column("text", Text),  # Text (58)
    Index("ix_sessions_session_timestamp", "session", "timestamp"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)



def _upgrade_to_2(connection: Connection) -> None:
    """fix_messages.msg_type, filled from raw; orders, trades and sessions (just created, empty) from audit_events."""
    connection.exec_driver_sql("ALTER TABLE fix_messages ADD COLUMN msg_type TEXT")
    from reporting.loader import backfill_derived  # the loader owns how these rows follow from audit_events

    backfill_derived(connection)


# version -> the step taking the schema from version - 1 to version, in ensure_schema's transaction.
_UPGRADES: dict[int, Callable[[Connection], None]] = {2: _upgrade_to_2}


def ensure_schema(engine: Engine) -> int:
    """Create missing tables and indexes, apply upgrades, record the version; harmless to repeat.

    All in one transaction: an upgrade cut short leaves the database as it was.
    Refuses a database whose schema is newer than this code knows.
    """
    with engine.begin() as connection:
        # Tables a version added come into being here (empty); the upgrade step then fills them.
        metadata.create_all(connection, checkfirst=True)
        found = connection.execute(select(func.max(schema_version.c.version))).scalar()
        now = datetime.now(timezone.utc)
        if found is None:
            connection.execute(insert(schema_version).values(version=SCHEMA_VERSION, applied_at=now))
            return SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise RuntimeError(f"database schema version {found} is newer than this code's {SCHEMA_VERSION}")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            _UPGRADES[version](connection)
        if found < SCHEMA_VERSION:
            connection.execute(update(schema_version).values(version=SCHEMA_VERSION, applied_at=now))
        return SCHEMA_VERSION
