"""The audit trail's database schema (SQLAlchemy Core), for PostgreSQL and SQLite.

Rows are loaded from the journal, so each keeps the entry's `body` (the canonical
JSON the hash covers), `prev_hash` and `hash`: `reporting.verify` rechecks the chain
in the database without the journal file. The chain runs through both tables in
journal_seq order.

Prices are Numeric in currency (Decimal at this edge, rule 3), scaled with the
instrument's `price_decimals`, which the row keeps; a row whose instrument was
unknown at load time keeps integer price units and `price_decimals` NULL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Column,
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
    "SCHEMA_VERSION",
    "audit_events",
    "ensure_schema",
    "fix_messages",
    "metadata",
    "schema_version",
]

SCHEMA_VERSION = 1


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
    Index("ix_fix_messages_session_timestamp", "session", "timestamp"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# version -> statements taking the schema from version - 1 to version (none yet: 1 is the first).
_UPGRADES: dict[int, tuple[str, ...]] = {}


def ensure_schema(engine: Engine) -> int:
    """Create missing tables and indexes, apply upgrades, record the version; harmless to repeat.

    Refuses a database whose schema is newer than this code knows.
    """
    with engine.begin() as connection:
        metadata.create_all(connection, checkfirst=True)
        found = connection.execute(select(func.max(schema_version.c.version))).scalar()
        now = datetime.now(timezone.utc)
        if found is None:
            connection.execute(insert(schema_version).values(version=SCHEMA_VERSION, applied_at=now))
            return SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise RuntimeError(f"database schema version {found} is newer than this code's {SCHEMA_VERSION}")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in _UPGRADES[version]:
                connection.exec_driver_sql(statement)
        if found < SCHEMA_VERSION:
            connection.execute(update(schema_version).values(version=SCHEMA_VERSION, applied_at=now))
        return SCHEMA_VERSION
