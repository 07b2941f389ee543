"""Audit records: one flat, JSON-able shape for everything the audit trail keeps.

Engine events, session events (logon, logout, session reject) and raw FIX
application messages all become an `AuditRecord`, so the journal, the database
loader and the exports handle one type. Prices stay integer price units here;
they become Decimal only when loaded into the database (rule 3).
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from matching.events import (
    BookLevelChanged,
    CancelRejected,
    Event,
    MassCancelCompleted,
    MassCancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderRestated,
    OrderStatusReported,
    OrderTriggered,
    StatusQueryRejected,
    TradeExecuted,
)
from matching.events import AuctionCompleted, OrderRepriced, PriceBandChanged, TradingStatusChanged
from matching.frozen import fast_init

__all__ = [
    "FIX_MESSAGE_KIND",
    "MESSAGE_DIRECTIONS",
    "PRICE_FIELDS",
    "SESSION_RECORD_KINDS",
    "AuditRecord",
    "audit_record",
    "canonical_json",
    "fields_record",
    "flat_object_json",
    "message_record",
    "record_body",
    "record_from_json",
    "record_to_json",
    "session_record",
]

FIX_MESSAGE_KIND = "fix_message"
MESSAGE_DIRECTIONS: tuple[str, ...] = ("inbound", "outbound")
SESSION_RECORD_KINDS: tuple[str, ...] = ("session_logon", "session_logout", "session_reject")
# Columns holding integer price units; the loader scales these by the instrument's price_decimals.
PRICE_FIELDS: tuple[str, ...] = ("price", "stop_price", "last_price")


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One audit trail entry. Fields an entry does not have are None; `detail` holds the rest.

    `sequence` is the engine's sequence (None for session and message records);
    the journal numbers every record separately (`journal_seq`).
    """

    sequence: int | None = None
    timestamp_ns: int
    kind: str
    session: str | None = None
    firm: str | None = None
    client_order_id: str | None = None
    orig_client_order_id: str | None = None
    order_id: int | None = None
    exec_id: str | None = None
    trade_id: int | None = None
    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    time_in_force: str | None = None
    price: int | None = None
    stop_price: int | None = None
    quantity: int | None = None
    leaves_quantity: int | None = None
    cum_quantity: int | None = None
    last_price: int | None = None
    last_quantity: int | None = None
    reason_code: int | None = None
    text: str | None = None
    # Executions only: "maker" (the resting side) or "taker", and the fee charged for it in the
    # instrument's currency as decimal text (negative: a rebate), from the firm's fee tier.
    liquidity: str | None = None
    fee: str | None = None
    # The input journal entry (reporting.command_journal) whose command caused this record.
    command_seq: int | None = None
    # JSON-native values only (no floats, no tuples) so a record survives the journal unchanged.
    detail: dict[str, Any] = field(default_factory=dict, hash=False)


_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AuditRecord))
# Event fields that have a column of the same name; everything else goes to `detail`.
_COLUMNS_FROM_EVENTS = frozenset(_RECORD_FIELDS) - {"kind", "exec_id", "reason_code", "detail", "liquidity", "fee",
                                                    "command_seq"}

# Every event class must be listed: an unlisted (new) class is refused loudly rather
# than audited under a guessed name.
_KIND_OF_EVENT: dict[type[Event], str] = {
    OrderAccepted: "order_accepted",
    OrderRejected: "order_rejected",
    OrderFilled: "order_filled",
    TradeExecuted: "trade_executed",
    OrderCancelled: "order_cancelled",
    OrderReplaced: "order_replaced",
    OrderRestated: "order_restated",
    OrderExpired: "order_expired",
    OrderTriggered: "order_triggered",
    CancelRejected: "cancel_rejected",
    OrderStatusReported: "order_status_reported",
    StatusQueryRejected: "status_query_rejected",
    MassCancelCompleted: "mass_cancel_completed",
    MassCancelRejected: "mass_cancel_rejected",
    BookLevelChanged: "book_level_changed",
    OrderRepriced: "order_repriced",
    TradingStatusChanged: "trading_status_changed",
    PriceBandChanged: "price_band_changed",
    AuctionCompleted: "auction_completed",
}
# Events the gateway answers with an ExecutionReport whose ExecID (17) is the engine
# sequence (fix_gateway/outbound.py); the audit keeps the same id so the two join.
_EXECUTION_REPORT_EVENTS = frozenset({
    OrderAccepted, OrderRejected, OrderFilled, OrderCancelled, OrderReplaced, OrderRestated,
    OrderExpired, OrderTriggered, OrderStatusReported, StatusQueryRejected, OrderRepriced,
})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def audit_record(event: Event, **columns: Any) -> AuditRecord:
    """The audit record for one matching engine event (TypeError for an event class without a mapping).

    `columns` set record columns the event does not have (command_seq, liquidity, fee): given here
    rather than replaced afterwards, so the record is built once.
    """
    kind = _KIND_OF_EVENT.get(type(event))
    if kind is None:
        raise TypeError(f"no audit mapping for event class {type(event).__name__}; add it to _KIND_OF_EVENT")
    if type(event) in _EXECUTION_REPORT_EVENTS:
        columns["exec_id"] = str(event.sequence)
    return fields_record(kind, event, **columns)


def fields_record(kind: str, source: Any, detail: Mapping[str, Any] | None = None, **columns: Any) -> AuditRecord:
    """A record of any dataclass (an event, a command): fields named like a record column fill it, the
    rest go to `detail`. An IntEnum `reason` is its FIX code (`reason_code`). `detail` and `columns`
    add to (and override) what the fields give."""
    names = _FIELD_NAMES.get(type(source))
    if names is None:
        names = _FIELD_NAMES[type(source)] = tuple(f.name for f in dataclasses.fields(source))
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name in names:
        value = getattr(source, name)
        if name in _COLUMNS_FROM_EVENTS:
            values[name] = _jsonable(value)
        elif name == "reason":
            # IntEnum reasons carry their FIX code; CancelReason has none and lives in detail only.
            if isinstance(value, IntEnum):
                values["reason_code"] = int(value)
                extra["reason"] = value.name.lower()
            else:
                extra["reason"] = _jsonable(value)
        else:
            extra[name] = _jsonable(value)
    if detail:
        extra.update(detail)
    values.update(columns)
    return AuditRecord(kind=kind, detail=extra, **values)


def session_record(kind: str, session: str, firm: str | None, timestamp_ns: int, text: str | None = None) -> AuditRecord:
    """A session-level record; `kind` is "logon", "logout" or "reject" (stored as "session_<kind>")."""
    full_kind = f"session_{kind}"
    if full_kind not in SESSION_RECORD_KINDS:
        raise ValueError(f"session record kind {kind!r}; allowed: logon, logout, reject")
    return AuditRecord(kind=full_kind, session=session, firm=firm, timestamp_ns=timestamp_ns, text=text)


def message_record(direction: str, session: str, timestamp_ns: int, raw_fix_text: str,
                   **detail: Any) -> AuditRecord:
    """A raw FIX application message, exactly as sent or received (SOH separators kept); `detail` adds
    to the record's detail (where the message was read from, say)."""
    if direction not in MESSAGE_DIRECTIONS:
        raise ValueError(f"message direction {direction!r}; allowed: {', '.join(MESSAGE_DIRECTIONS)}")
    return AuditRecord(kind=FIX_MESSAGE_KIND, session=session, timestamp_ns=timestamp_ns, text=raw_fix_text,
                       detail={"direction": direction, **detail})


def record_to_json(record: AuditRecord) -> dict[str, Any]:
    """The record as a JSON-able dict (every field, None included, so the form is fixed)."""
    return {name: getattr(record, name) for name in _RECORD_FIELDS}


def record_from_json(data: Mapping[str, Any]) -> AuditRecord:
    """The record back from `record_to_json`'s form; extra keys (e.g. journal_seq, hashes) are ignored."""
    missing = [name for name in ("kind", "timestamp_ns") if name not in data]
    if missing:
        raise ValueError(f"not an audit record: missing {', '.join(missing)}")
    values = {name: data[name] for name in _RECORD_FIELDS if name in data}
    values["detail"] = dict(values.get("detail") or {})
    return AuditRecord(**values)


def record_body(record: AuditRecord, journal_seq: int) -> bytes:
    """canonical_json of record_to_json(record) with its journal_seq, built field by field.

    The same bytes (a test compares them over every kind of record) in about half the time; the
    auditor writes one per record. A value other than None, a str or an int in a column, or than
    those and a bool in `detail`, goes the general way, which refuses floats.
    """
    parts = []
    for key, value in zip(_BODY_KEYS, _record_values(record)):
        kind = type(value)
        if kind is _NONE:
            parts.append(key + "null")
        elif kind is str:
            parts.append(key + _json_string(value))
        elif kind is int:
            parts.append(key + int.__repr__(value))
        elif kind is dict:  # detail: flat in nearly every record
            parts.append(key + (flat_object_json(value) or canonical_json(value).decode("ascii")))
        else:
            return canonical_json({**record_to_json(record), "journal_seq": journal_seq})
    parts.insert(_JOURNAL_SEQ_AT, '"journal_seq":' + int.__repr__(journal_seq))
    return ("{" + ",".join(parts) + "}").encode("ascii")


def flat_object_json(value: Mapping[Any, Any]) -> str | None:
    """canonical_json's text of a dict whose keys are str and values None, str, int or bool; None for any
    other (the caller's general encoder decides about it)."""
    items = []
    for name in sorted(value):
        if type(name) is not str:
            return None
        item = value[name]
        kind = type(item)
        if kind is _NONE:
            items.append(_json_string(name) + ":null")
        elif kind is str:
            items.append(_json_string(name) + ":" + _json_string(item))
        elif kind is int:
            items.append(_json_string(name) + ":" + int.__repr__(item))
        elif kind is bool:
            items.append(_json_string(name) + (":true" if item else ":false"))
        else:
            return None
    return "{" + ",".join(items) + "}"


_NONE = type(None)
_json_string = json.encoder.encode_basestring_ascii  # what json.dumps(ensure_ascii=True) writes for a str
_SORTED_FIELDS = tuple(sorted(_RECORD_FIELDS))
_record_values = operator.attrgetter(*_SORTED_FIELDS)
_BODY_KEYS = tuple(f'"{name}":' for name in _SORTED_FIELDS)
_JOURNAL_SEQ_AT = sorted((*_RECORD_FIELDS, "journal_seq")).index("journal_seq")


def canonical_json(value: Any) -> bytes:
    """One fixed byte form for a JSON value: sorted keys, no spaces, ASCII only.

    Hashes are computed over these bytes, so floats are refused: their text form is
    not a reliable identity and no price may be a float anyway.
    """
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


_PLAIN_JSON_TYPES = frozenset({str, int, bool, type(None)})


def _refuse_floats(value: Any) -> None:
    # Iterative and keyed on exact types: called on every audit record, where nearly every value
    # is a str, an int or None (a recursive isinstance walk cost more than the encoding itself).
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _PLAIN_JSON_TYPES:
            continue
        if isinstance(item, float):
            raise TypeError(f"float {item!r} in an audit record; use integer units")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN_JSON_TYPES:  # nearly every value: exact types first, the isinstance walk after
        return value
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, int):
        return value
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    raise TypeError(f"cannot put {type(value).__name__} {value!r} into an audit record")
