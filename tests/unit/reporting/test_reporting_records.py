"""Audit records: every engine event, session and message records, and their journal form."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import Enum, IntEnum

import pytest

import matching.events as events_module
from matching.events import Event, OrderCancelled, OrderFilled, OrderRejected, TradeExecuted
from matching.rejects import OrderRejectReason
from matching.types import CancelReason, Side
from reporting.records import (
    AuditRecord,
    audit_record,
    canonical_json,
    message_record,
    record_body,
    record_from_json,
    record_to_json,
    session_record,
)


def _all_event_classes() -> list[type[Event]]:
    found, pending = [], list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        # dataclass(slots=True) replaces each class; the discarded original may linger as a subclass.
        if "__slots__" in cls.__dict__:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


def _sample_value(annotation: typing.Any, counter: list[int]) -> typing.Any:
    """A non-None value of the annotated type, distinct per field where it can be."""
    counter[0] += 1
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _sample_value(inner[0], counter)
    if typing.get_origin(annotation) is tuple:
        return (counter[0], counter[0] + 1)
    if annotation is bool:
        return True
    if annotation is int:
        return 1000 + counter[0]
    if annotation is str:
        return f"text-{counter[0]}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        return members[counter[0] % len(members)]
    raise AssertionError(f"no sample for {annotation!r}")


def _sample_event(cls: type[Event]) -> Event:
    hints = typing.get_type_hints(cls, vars(events_module))
    counter = [0]
    return cls(**{f.name: _sample_value(hints[f.name], counter) for f in dataclasses.fields(cls)})


def _expected_json(value: typing.Any) -> typing.Any:
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


EVENT_CLASSES = _all_event_classes()


def test_event_discovery_finds_the_engine_events_once_each() -> None:
    assert {OrderFilled, OrderRejected, TradeExecuted, OrderCancelled} <= set(EVENT_CLASSES)
    assert len(EVENT_CLASSES) == len(set(EVENT_CLASSES)) >= 15


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_event_class_maps_every_field_into_the_record(cls: type[Event]) -> None:
    event = _sample_event(cls)
    record = audit_record(event)
    values = record_to_json(record)
    for field in dataclasses.fields(cls):
        value = getattr(event, field.name)
        if field.name == "reason":
            if isinstance(value, IntEnum):
                assert record.reason_code == int(value)
                assert record.detail["reason"] == value.name.lower()
            else:
                assert record.detail["reason"] == value.value
        elif field.name in values and field.name != "detail":
            assert values[field.name] == _expected_json(value), field.name
        else:
            assert record.detail[field.name] == _expected_json(value), field.name
    assert record.kind != "" and record.kind == record.kind.lower()


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_event_record_survives_canonical_json_unchanged(cls: type[Event]) -> None:
    record = audit_record(_sample_event(cls))
    assert record_from_json(json.loads(canonical_json(record_to_json(record)))) == record


def test_kinds_are_unique_per_event_class() -> None:
    kinds = [audit_record(_sample_event(cls)).kind for cls in EVENT_CLASSES]
    assert len(set(kinds)) == len(kinds)


def test_an_event_class_without_a_mapping_is_refused_loudly() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class SomethingNew(Event):
        pass

    with pytest.raises(TypeError, match="no audit mapping for event class SomethingNew"):
        audit_record(SomethingNew(sequence=1, timestamp_ns=2))


def test_a_fill_keeps_integer_prices_trade_id_and_the_gateway_exec_id() -> None:
    fill = OrderFilled(
        sequence=77, timestamp_ns=5, order_id=9, session="BROKER1", firm="FIRM_A", client_order_id="c1",
        symbol="AAPL", side=Side.BUY, quantity=100, price=1_900_100, trade_id=3, last_price=1_900_000,
        last_quantity=40, cum_quantity=40, leaves_quantity=60, cum_notional=76_000_000, aggressor=True,
    )
    record = audit_record(fill)
    assert (record.kind, record.exec_id, record.trade_id) == ("order_filled", "77", 3)
    assert (record.price, record.last_price, record.last_quantity) == (1_900_100, 1_900_000, 40)
    assert (record.side, record.cum_quantity, record.leaves_quantity) == ("buy", 40, 60)
    assert record.detail == {"cum_notional": 76_000_000, "aggressor": True}


def test_a_reject_carries_its_fix_reason_code_and_text() -> None:
    reject = OrderRejected(
        sequence=1, timestamp_ns=2, session="BROKER1", firm="FIRM_A", client_order_id="c1", symbol="ZZZ",
        side=None, order_type=None, quantity=5, price=None, reason=OrderRejectReason.UNKNOWN_SYMBOL,
        text="unknown symbol",
    )
    record = audit_record(reject)
    assert (record.reason_code, record.text, record.side) == (1, "unknown symbol", None)
    assert record.detail == {"reason": "unknown_symbol"}


def test_a_cancel_reason_without_a_fix_code_goes_to_detail_only() -> None:
    cancel = OrderCancelled(
        sequence=1, timestamp_ns=2, order_id=3, session="S", firm="F", client_order_id="c2",
        orig_client_order_id="c1", symbol="AAPL", side=Side.SELL, quantity=10, price=100, cum_quantity=0,
        cum_notional=0, cancelled_quantity=10, reason=CancelReason.REQUESTED,
    )
    record = audit_record(cancel)
    assert record.reason_code is None
    assert record.detail["reason"] == "requested"
    assert record.orig_client_order_id == "c1"


def test_a_public_trade_has_no_exec_id_and_keeps_both_firms_in_detail() -> None:
    trade = TradeExecuted(sequence=1, timestamp_ns=2, trade_id=8, symbol="AAPL", price=100, quantity=5,
                          aggressor_side=Side.SELL, buy_order_id=1, sell_order_id=2, buy_firm="A", sell_firm="B")
    record = audit_record(trade)
    assert record.exec_id is None and record.trade_id == 8
    assert record.detail["buy_firm"] == "A" and record.detail["aggressor_side"] == "sell"


def test_session_records_name_their_kind_and_refuse_unknown_kinds() -> None:
    record = session_record("logon", "BROKER1", "FIRM_A", 123, "logon accepted")
    assert (record.kind, record.session, record.firm, record.sequence) == ("session_logon", "BROKER1", "FIRM_A", None)
    assert session_record("reject", "BROKER1", None, 1, "bad tag").kind == "session_reject"
    with pytest.raises(ValueError, match="allowed: logon, logout, reject"):
        session_record("dance", "BROKER1", "FIRM_A", 1)


def test_message_records_keep_the_raw_fix_text_exactly() -> None:
    raw = "8=FIX.4.4\x019=5\x0135=D\x0110=000\x01"
    record = message_record("inbound", "BROKER1", 42, raw)
    assert (record.kind, record.text, record.detail) == ("fix_message", raw, {"direction": "inbound"})
    assert record_from_json(json.loads(canonical_json(record_to_json(record)))) == record
    with pytest.raises(ValueError, match="allowed: inbound, outbound"):
        message_record("sideways", "BROKER1", 42, raw)


def test_canonical_json_is_sorted_compact_ascii_and_refuses_floats() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'
    with pytest.raises(TypeError, match="float"):
        canonical_json({"price": 1.5})


def _body_the_general_way(record: AuditRecord, journal_seq: int) -> bytes:
    return canonical_json({**record_to_json(record), "journal_seq": journal_seq})


ODD_RECORDS = [
    session_record("logon", "BROKER1", "FIRM_A", 1, 'quote " backslash \\ control \x01 \x00 é \u2028 😀'),
    message_record("outbound", "BROKER1", 2, "8=FIX.4.4\x019=5\x0135=8\x0158=né\x0110=000\x01"),
    AuditRecord(timestamp_ns=3, kind="x", order_id=-7, detail={"é\"": "\x7f", "a": -5, "Z": None, "": ""}),
    AuditRecord(timestamp_ns=4, kind="x", detail={"nested": {"b": [1, "two", None, True], "a": False}}),
    AuditRecord(timestamp_ns=5, kind="x", order_id=True, detail={1: "a key that is not text"}),
    AuditRecord(timestamp_ns=6, kind="x", detail={"yes": True, "no": False, "count": 0}),
]


@pytest.mark.parametrize("record", [audit_record(_sample_event(cls)) for cls in EVENT_CLASSES] + ODD_RECORDS)
def test_a_record_body_built_field_by_field_is_canonical_json_byte_for_byte(record: AuditRecord) -> None:
    assert record_body(record, 123) == _body_the_general_way(record, 123)


@pytest.mark.parametrize("record", [AuditRecord(timestamp_ns=1, kind="x", price=1.5),  # type: ignore[arg-type]
                                    AuditRecord(timestamp_ns=1, kind="x", detail={"px": 1.5}),
                                    AuditRecord(timestamp_ns=1, kind="x", detail={"px": [1, 1.5]})])
def test_a_record_body_refuses_a_float_wherever_it_is(record: AuditRecord) -> None:
    with pytest.raises(TypeError, match="float"):
        record_body(record, 1)


def test_decoding_without_kind_or_timestamp_is_an_error() -> None:
    with pytest.raises(ValueError, match="missing kind"):
        record_from_json({"timestamp_ns": 1})
    assert record_from_json({"kind": "x", "timestamp_ns": 1, "journal_seq": 4}) == AuditRecord(kind="x", timestamp_ns=1)
