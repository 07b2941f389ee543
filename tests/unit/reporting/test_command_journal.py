"""The input journal: commands survive the round trip exactly, and the chain catches edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matching import (
    CancelOrder, CancelReason, CancelRejectReason, EndTradingDay, AdvanceClock, MassCancel, OrderRejectReason,
    OrderType, QueryOrder, RejectCancel, RejectOrder, ReplaceOrder, ReplyTo, SelfTradePrevention, Side,
    SubmitOrder, TimeInForce,
)
from reporting.command_journal import (
    INPUT_CODEC, CommandApplied, CommandJournal, OperatorActed, VenueStarted, decode_command, encode_command,
    read_inputs,
)
from reporting.journal import JournalCorruptError, check_journal
from reporting.records import canonical_json

EVERY_COMMAND = [
    SubmitOrder("S1", "F1", "c1", "AAPL", Side.BUY, OrderType.LIMIT, 100, 19000),
    SubmitOrder("S1", "F1", "c2", "AAPL", Side.SELL, OrderType.STOP_LIMIT, 5, price=18000, stop_price=18100,
                time_in_force=TimeInForce.GTD, expire_time_ns=1_800_000_000_000_000_000,
                self_trade_prevention=SelfTradePrevention.CANCEL_BOTH, self_match_id="desk-7", possible_resend=True),
    SubmitOrder("S1", "F1", "c8", "AAPL", Side.BUY, OrderType.MARKET, 10, protection_price=19900),
    CancelOrder("S1", "F1", "c3", orig_client_order_id="c1"),
    CancelOrder("S1", "F1", "c4", order_id=77, possible_resend=True),
    ReplaceOrder("S1", "F1", "c5", 50, orig_client_order_id="c1", price=19100, symbol="AAPL", side=Side.BUY,
                 order_type=OrderType.LIMIT),
    QueryOrder("S1", "F1", client_order_id="c1"),
    MassCancel("S1", "F1", "m1", symbol="AAPL", side=Side.SELL, time_in_force=TimeInForce.DAY),
    MassCancel("S1", "F1", None, only_session="S1", reason=CancelReason.KILL_SWITCH),
    RejectOrder("S1", "F1", "c6", "ZZZ", None, None, 1, None, OrderRejectReason.UNKNOWN_SYMBOL, "unknown ZZZ"),
    RejectCancel("S1", "F1", "c7", "c1", None, ReplyTo.REPLACE, CancelRejectReason.OTHER, "bad price"),
    AdvanceClock(),
    EndTradingDay(),
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
def test_every_command_decodes_to_an_equal_command(command) -> None:
    encoded = encode_command(command)
    assert decode_command(json.loads(json.dumps(encoded))) == command


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("session, msg_seq", [("S1", 12), (None, None)])
def test_the_hot_path_writes_the_same_canonical_bytes_as_the_general_encoder(command, session, msg_seq) -> None:
    entry = CommandApplied(1_763_950_000_123_456_789, command, session, msg_seq)
    general = INPUT_CODEC.to_body(entry)
    general["journal_seq"] = 42
    assert INPUT_CODEC.canonical_body(entry, 42) == canonical_json(general)


def test_the_hot_path_escapes_text_as_canonical_json_does() -> None:
    awkward = 'quote " backslash \\ tab \t newline \n control \x01 accent é euro €'
    entry = CommandApplied(7, RejectOrder(awkward, "F1", awkward, "ZZZ", None, None, 1, None,
                                          OrderRejectReason.OTHER, awkward), awkward, 3)
    general = INPUT_CODEC.to_body(entry)
    general["journal_seq"] = 1
    assert INPUT_CODEC.canonical_body(entry, 1) == canonical_json(general)
    assert decode_command(json.loads(INPUT_CODEC.canonical_body(entry, 1))["command"]).text == awkward


@pytest.mark.parametrize("entry", [VenueStarted(1, 100, 200), OperatorActed(2, "halt", "AAPL")],
                         ids=lambda e: type(e).__name__)
def test_other_entries_take_the_general_encoder(entry) -> None:
    general = INPUT_CODEC.to_body(entry)
    general["journal_seq"] = 9
    assert INPUT_CODEC.canonical_body(entry, 9) == canonical_json(general)


def test_defaults_are_left_out_of_the_line() -> None:
    encoded = encode_command(SubmitOrder("S1", "F1", "c1", "AAPL", Side.BUY, OrderType.MARKET, 10))
    assert encoded == {"type": "SubmitOrder", "session": "S1", "firm": "F1", "client_order_id": "c1",
                       "symbol": "AAPL", "side": "buy", "order_type": "market", "quantity": 10}


def test_an_unknown_command_type_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown command type 'LaunchRocket'"):
        decode_command({"type": "LaunchRocket"})


def test_a_command_journaled_on_the_hot_path_is_the_line_the_general_writer_gives(tmp_path: Path) -> None:
    hot, general = CommandJournal(tmp_path / "hot", "os"), CommandJournal(tmp_path / "general", "os")
    for journal in (hot, general):
        journal.record(VenueStarted(1, 100, 200))
    for n, command in enumerate(EVERY_COMMAND, start=2):
        session, msg_seq = ("S1", n * 10) if n % 2 else (None, None)
        hot.command(n, command, session, msg_seq)
        general.record(CommandApplied(n, command, session, msg_seq))
    hot.close()
    general.close()
    assert hot.path.read_bytes() == general.path.read_bytes()
    assert [e.record.command for e in list(read_inputs(hot.path))[1:]] == EVERY_COMMAND


def test_entries_are_read_back_in_order_with_their_sequence(tmp_path: Path) -> None:
    journal = CommandJournal(tmp_path, "os")
    journal.record(VenueStarted(1, 100, 200))
    for n, command in enumerate(EVERY_COMMAND, start=2):
        journal.command(n, command, "S1" if n % 2 else None, n * 10 if n % 2 else None)
    journal.record(OperatorActed(99, "halt", "AAPL"))
    journal.close()
    entries = list(read_inputs(journal.path))
    assert [e.journal_seq for e in entries] == list(range(1, len(EVERY_COMMAND) + 3))
    assert entries[0].record == VenueStarted(1, 100, 200)
    assert [e.record.command for e in entries[1:-1]] == EVERY_COMMAND
    assert entries[2].record == CommandApplied(3, EVERY_COMMAND[1], "S1", 30)
    assert entries[1].record.session is None and entries[1].record.msg_seq is None
    assert entries[-1].record == OperatorActed(99, "halt", "AAPL")


def test_an_edited_quantity_breaks_the_chain_at_that_line(tmp_path: Path) -> None:
    journal = CommandJournal(tmp_path, "os")
    journal.record(VenueStarted(1, 1, 1))
    journal.command(2, EVERY_COMMAND[0], "S1", 5)
    journal.command(3, EVERY_COMMAND[2], "S1", 6)
    journal.close()
    lines = journal.path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"quantity":100', b'"quantity":900')
    journal.path.write_bytes(b"\n".join(lines))
    check = check_journal(journal.path, journal._writer.codec)
    assert (check.ok, check.first_bad_line, check.entries) == (False, 2, 1)
    with pytest.raises(JournalCorruptError):
        list(read_inputs(journal.path))


def test_commands_written_but_not_yet_fsynced_are_counted_until_a_sync(tmp_path: Path) -> None:
    journal = CommandJournal(tmp_path, "os")  # "os": nothing is fsynced until asked
    journal.record(VenueStarted(1, 100, 200))
    for n, command in enumerate(EVERY_COMMAND[:3], start=2):
        journal.command(n, command, "S1", n)
    assert journal.unsynced == 4
    journal.sync()
    assert journal.unsynced == 0
    journal.close()


@pytest.mark.parametrize("body, problem", [
    ({"type": "SubmitOrder", "session": "S1", "firm": "F1", "client_order_id": "c1", "symbol": "AAPL",
      "side": "sideways", "order_type": "limit", "quantity": 1}, "'sideways' is not a valid Side"),
    ({"type": "LaunchRocket"}, "unknown command type 'LaunchRocket'"),
    ("SubmitOrder", "a command is a JSON object"),
])
def test_a_command_that_does_not_decode_is_refused_with_the_reason(body, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_command(body)


def test_a_journal_entry_without_its_command_is_not_an_entry() -> None:
    with pytest.raises(KeyError):
        INPUT_CODEC.from_body({"kind": "command", "timestamp_ns": 1})
    assert INPUT_CODEC.from_body({"kind": "command", "timestamp_ns": 1, "command": {"type": "AdvanceClock"}}) == \
        CommandApplied(1, AdvanceClock())
