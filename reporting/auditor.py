"""The auditor: turns what the venue journaled into the audit trail, in its own process.

The venue's hot path writes one short input line per command (reporting.command_journal)
and QuickFIX writes every raw message to its message log. The auditor reads both,
replays the commands through its own matching engine (the core is deterministic, so it
sees exactly the events the venue saw) and appends one AuditRecord per fact to the audit
journal (reporting.journal): what was received, every event, fees, operator actions,
session events and the raw messages. The loader copies that journal into the database.

Running apart from the venue keeps this work off the venue's interpreter lock.

Restart: the audit journal says how far it got. Each record carries the input entry that
caused it (`command_seq`) and each raw message its log file position, so the auditor
replays inputs silently up to there, skips the records of the last input it had already
written, and goes on.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import Settings
from fix_gateway.venue import replay_engine_at
from matching import (
    BookLevelChanged, CancelOrder, EndTradingDay, Event, MassCancel, MatchingEngine, OrderFilled,
    HaltTrading, QueryOrder, RejectCancel, RejectOrder, ReplaceOrder, ResumeTrading, SubmitOrder,
)
from reporting.command_journal import (
    INPUT_CODEC, CommandApplied, OperatorActed, VenueStarted, commands_file_in,
)
from reporting.journal import JournalTail, JournalWriter, journal_file_in, last_journal_seq, read_journal
from reporting.records import AuditRecord, audit_record, fields_record, message_record

__all__ = ["Auditor", "FixLogReader", "received_record"]

log = logging.getLogger(__name__)

# QuickFIX's FileLog: "<YYYYMMDD-HH:MM:SS.fffffffff> : <message>" per line.
_LOG_LINE = re.compile(rb"^(\d{8})-(\d\d):(\d\d):(\d\d)\.(\d{1,9}) : ")
_COMPLETE = re.compile(rb"\x0110=\d{3}\x01$")
# Market data itself (snapshots, incrementals) is public and voluminous; requests, rejects,
# security lists and statuses are kept.
_NOT_AUDITED_MESSAGE_TYPES = frozenset({"W", "X", "0", "1", "2", "4"})  # and heartbeats, test requests, resends
_SESSION_MESSAGE_KINDS = {"A": "session_logon", "5": "session_logout", "3": "session_reject"}
_RECEIVED_KIND = {
    SubmitOrder: "order_received", RejectOrder: "order_received", CancelOrder: "cancel_received",
    ReplaceOrder: "replace_received", QueryOrder: "status_received", MassCancel: "mass_cancel_received",
}


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    timestamp_ns: int
    raw: str
    end_offset: int  # byte offset just after this message's line in its log file


class FixLogReader:
    """Follows one QuickFIX message log file from an offset, across QuickFIX's renames on a reset.

    The file stays open: when QuickFIX backs the log up (renames it) and starts a new one,
    the open handle still reads the old file to its end before moving to the new one.
    """

    def __init__(self, path: Path, offset: int = 0, inode: int | None = None) -> None:
        self.path = path
        self.name = path.name
        self.offset = offset
        self._partial = b""
        self._stream = None
        self.inode = inode
        if inode is not None:  # resume: the file we were reading may have been renamed since
            old = _find_inode(path.parent, inode)
            if old is not None:
                self._stream = open(old, "rb")
                self._stream.seek(offset)
            else:
                self.offset = 0

    def read_new(self, limit: int | None = None) -> list[LoggedMessage]:
        """The messages logged since the last call (at most `limit`; the rest wait for the next)."""
        messages: list[LoggedMessage] = []
        while True:
            if self._stream is None:
                try:
                    self._stream = open(self.path, "rb")
                except FileNotFoundError:
                    return messages
                self.inode = os.fstat(self._stream.fileno()).st_ino
                self._stream.seek(self.offset)
            for line in self._stream:
                if not line.endswith(b"\n"):  # QuickFIX is still writing it
                    self._stream.seek(self.offset + len(self._partial))
                    break
                self._partial += line
                text = self._partial.rstrip(b"\n")
                if not _COMPLETE.search(text):
                    continue  # a field value with a newline in it: the message goes on
                self.offset += len(self._partial)
                self._partial = b""
                match = _LOG_LINE.match(text)
                if match is None:
                    log.warning("%s: not a QuickFIX message log line at offset %d; skipped", self.path, self.offset)
                    continue
                messages.append(LoggedMessage(_timestamp_ns(match), text[match.end():].decode("utf-8", "replace"),
                                              self.offset))
                if limit is not None and len(messages) >= limit:
                    return messages  # the stream stands right after this message: the next call goes on from it
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                return messages
            if current == self.inode:
                return messages
            # Rotated: the old file is read to its end above; continue with the new one.
            self._stream.close()
            self._stream, self.offset, self._partial = None, 0, b""

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def _find_inode(directory: Path, inode: int) -> Path | None:
    for candidate in directory.iterdir():
        try:
            if candidate.stat().st_ino == inode:
                return candidate
        except FileNotFoundError:
            continue
    return None


def _timestamp_ns(match: re.Match[bytes]) -> int:
    day, hour, minute, second, fraction = match.groups()
    return _second_ns(day, hour, minute, second) + int(fraction.ljust(9, b"0"))


@functools.lru_cache(maxsize=256)
def _second_ns(day: bytes, hour: bytes, minute: bytes, second: bytes) -> int:
    """The UTC second in nanoseconds (cached: the log's lines come in time order, many to a second)."""
    start = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(hour), int(minute), int(second),
                     tzinfo=timezone.utc)
    return int(start.timestamp()) * 1_000_000_000


def _field(raw: str, tag: str) -> str | None:
    start = raw.find(f"\x01{tag}=")
    if start < 0:
        return None
    start += len(tag) + 2
    return raw[start:raw.index("\x01", start)]


def received_record(entry: CommandApplied, command_seq: int) -> AuditRecord | None:
    """The record that a request arrived (before anything it caused); None for the venue's clock ticks."""
    command = entry.command
    if isinstance(command, (HaltTrading, ResumeTrading)):
        action = "halt" if isinstance(command, HaltTrading) else "resume"
        target = command.symbol or "venue"
        return AuditRecord(timestamp_ns=entry.timestamp_ns, kind="operator_action", command_seq=command_seq,
                           symbol=command.symbol, text=action, detail={"action": action, "target": target})
    kind = _RECEIVED_KIND.get(type(command))
    if kind is None:
        return None
    if isinstance(command, MassCancel) and command.request_id is None:
        kind = "venue_mass_cancel"  # cancel on disconnect, kill switch: no request behind it
    if isinstance(command, RejectCancel):
        kind = f"{command.response_to.value}_received"
    detail: dict[str, Any] = {"command": type(command).__name__}
    if entry.msg_seq is not None:
        detail["msg_seq"] = entry.msg_seq
    return fields_record(kind, command, detail, timestamp_ns=entry.timestamp_ns, command_seq=command_seq,
                         session=entry.session or command.session)


class Auditor:
    """Derives the audit journal from the input journal and QuickFIX's message logs.

    `fees`: a reporting.fees.FeeSchedule (or anything with its `record_columns` method), or None for no fees.
    """

    def __init__(self, settings: Settings, journal_directory: str | os.PathLike[str],
                 message_log_directory: str | os.PathLike[str] | None, *, fees=None,
                 fsync_policy: str = "group", keep_recent: int = 0) -> None:
        self.settings = settings
        self.inputs_path = commands_file_in(journal_directory)
        self.audit_path = journal_file_in(journal_directory)
        self.log_directory = Path(message_log_directory) if message_log_directory is not None else None
        self.fees = fees
        self._venue_comp_id = settings.fix.sender_comp_id
        self._decimals = {i.symbol: i.price_decimals for i in settings.instruments}
        self._engine: MatchingEngine | None = None
        self._clock_reading = 0
        self._inputs = JournalTail(self.inputs_path, INPUT_CODEC)
        # How far the audit journal got (read before the writer opens it: it verifies the chain too).
        self._resume_seq, self._resume_skip, log_positions = _progress(self.audit_path)
        self.writer = JournalWriter(self.audit_path, fsync_policy, keep_recent=keep_recent)  # for its loader
        self._logs: dict[str, FixLogReader] = {
            name: FixLogReader(self.log_directory / name, offset, inode)
            for name, (offset, inode) in log_positions.items()} if self.log_directory is not None else {}
        self.derived_seq = 0  # the last input entry turned into records

    @property
    def input_backlog(self) -> int:
        """Input entries written by the venue and not yet audited (cheap: reads the file's end)."""
        return max(0, last_journal_seq(self.inputs_path) - self.derived_seq)

    def run_once(self, limit: int = 5000) -> int:
        """Audit what is new in the input journal and the message logs.

        At most `limit` inputs, and `limit` messages from each log. Returns how much was done (inputs
        and messages read plus records written): 0 means caught up.
        """
        entries = self._inputs.read_new(limit=limit)
        records: list[AuditRecord] = []
        derived_seq = self.derived_seq
        messages = 0
        try:
            for entry in entries:
                self._audit_input(entry.journal_seq, entry.record, records)
                derived_seq = entry.journal_seq
            messages = self._audit_messages(records, limit)
        finally:  # on an entry that cannot be audited, what came before it is still written
            self.writer.append_all(records)  # one write for the batch: the auditor is not on a reply's path
            self.derived_seq = derived_seq
        return len(entries) + messages + len(records)

    def close(self) -> None:
        self.writer.close()
        for reader in self._logs.values():
            reader.close()

    # ------------------------------------------------------------------ inputs

    def _audit_input(self, seq: int, item, records: list[AuditRecord]) -> None:
        """Add the input's records to `records`."""
        derived = list(self._records_for(seq, item))
        if seq < self._resume_seq:
            return  # audited before a restart: replayed for the engine's state only
        if seq == self._resume_seq:
            derived = derived[self._resume_skip:]  # the rest of an input cut short by a crash
        records.extend(derived)

    def _records_for(self, seq: int, item) -> Iterator[AuditRecord]:
        if isinstance(item, VenueStarted):
            self._engine = replay_engine_at(item, seq, self._engine, self.settings, lambda: self._clock_reading,
                                            self.inputs_path)
            yield AuditRecord(timestamp_ns=item.timestamp_ns, kind="venue_started", command_seq=seq,
                              detail={"next_sequence": item.next_sequence, "next_order_id": item.next_order_id})
            return
        if isinstance(item, OperatorActed):
            yield AuditRecord(timestamp_ns=item.timestamp_ns, kind="operator_action", command_seq=seq,
                              symbol=item.target if item.action in ("halt", "resume") else None,
                              firm=item.target if item.action.startswith("kill-switch") else None,
                              text=item.action, detail={"action": item.action, "target": item.target})
            return
        if not isinstance(item, CommandApplied):
            raise ValueError(f"{self.inputs_path}: journal_seq {seq}: unknown input {item!r}")
        if self._engine is None:
            raise ValueError(f"{self.inputs_path}: journal_seq {seq} is a command before venue_started")
        received = received_record(item, seq)
        if received is not None:
            yield received
        self._clock_reading = item.timestamp_ns
        events = self._engine.process(item.command)
        if isinstance(item.command, EndTradingDay):
            yield AuditRecord(timestamp_ns=item.timestamp_ns, kind="trading_day_ended", command_seq=seq)
        for event in events:
            if isinstance(event, BookLevelChanged):
                continue  # market data, not an order's life
            yield self._event_record(event, seq)

    def _event_record(self, event: Event, seq: int) -> AuditRecord:
        if not isinstance(event, OrderFilled):
            return audit_record(event, command_seq=seq)
        if self.fees is not None:  # fees.charge's columns, given while the record is built rather than after
            liquidity, fee = self.fees.record_columns(event.firm, event.aggressor, event.last_price,
                                                      event.last_quantity, self._decimals[event.symbol])
            return audit_record(event, command_seq=seq, liquidity=liquidity, fee=fee)
        return audit_record(event, command_seq=seq, liquidity="taker" if event.aggressor else "maker")

    # ------------------------------------------------------------------ raw messages

    def _audit_messages(self, records: list[AuditRecord], limit: int) -> int:
        """Add a record of each new message in QuickFIX's logs to `records`, at most `limit` messages a log;
        return how many messages were read."""
        if self.log_directory is None or not self.log_directory.is_dir():
            return 0
        for path in sorted(self.log_directory.glob("*.messages.current.log")):
            if path.name not in self._logs and "FIXEX-STOP-GUARD" not in path.name:
                self._logs[path.name] = FixLogReader(path)
        read = 0
        for name, reader in self._logs.items():
            messages = reader.read_new(limit)
            read += len(messages)
            for message in messages:
                record = self._message_record(name, reader.inode, message)
                if record is not None:
                    records.append(record)
        return read

    def _message_record(self, log_name: str, inode: int | None, message: LoggedMessage) -> AuditRecord | None:
        raw = message.raw
        msg_type = _field(raw, "35")
        sender, target = _field(raw, "49"), _field(raw, "56")
        if msg_type is None or msg_type in _NOT_AUDITED_MESSAGE_TYPES:
            return None
        outbound = sender == self._venue_comp_id
        session = (target if outbound else sender) or "?"
        position = {"log": log_name, "offset": message.end_offset, "inode": inode, "msg_seq": _field(raw, "34")}
        kind = _SESSION_MESSAGE_KINDS.get(msg_type)
        if kind is not None:
            firm = self._firm_of(session)
            return AuditRecord(timestamp_ns=message.timestamp_ns, kind=kind, session=session, firm=firm,
                               text=_field(raw, "58"), reason_code=_int(_field(raw, "373")),
                               detail={"direction": "outbound" if outbound else "inbound", "raw": raw, **position})
        return message_record("outbound" if outbound else "inbound", session, message.timestamp_ns, raw, **position)

    def _firm_of(self, comp_id: str) -> str | None:
        try:
            return self.settings.session(comp_id).firm_id
        except (KeyError, LookupError, ValueError):
            return None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def _progress(audit_path: Path) -> tuple[int, int, dict[str, tuple[int, int | None]]]:
    """From an existing audit journal: the last input audited, how many of its records are there,
    and per message log the position after the last message audited."""
    last_input, records_of_last, positions = 0, 0, {}
    for entry in read_journal(audit_path):
        record = entry.record
        if record.command_seq is not None:
            if record.command_seq != last_input:
                last_input, records_of_last = record.command_seq, 0
            records_of_last += 1
        elif "log" in record.detail:
            positions[record.detail["log"]] = (record.detail["offset"], record.detail.get("inode"))
    return last_input, records_of_last, positions
