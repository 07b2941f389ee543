"""The append-only audit journal: one local file, one JSON line per record, hash-chained.

Each line is the canonical JSON of the entry body (the record plus `journal_seq`)
with two more keys appended at its end: `prev_hash` (the previous entry's hash; 64 zeros for the first)
and `hash` = SHA-256 hex of prev_hash (ASCII) + the body's canonical JSON bytes.
The hash both chains the entries (an edit anywhere breaks every later link) and
lets a reader tell a complete line from one torn by a crash mid-write.

The journal is the source of truth (rule 7): Postgres is loaded from it later.
"""

from __future__ import annotations

import collections
import errno
import fcntl
import hashlib
import itertools
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import JOURNAL_FSYNC_POLICIES
from matching.frozen import fast_init
from reporting.records import canonical_json, record_body, record_from_json, record_to_json

__all__ = [
    "AUDIT_CODEC",
    "FSYNC_POLICIES",
    "GENESIS_HASH",
    "JOURNAL_FILE_NAME",
    "JournalCheck",
    "JournalCodec",
    "JournalCorruptError",
    "JournalEntry",
    "JournalInUseError",
    "JournalTail",
    "JournalWriter",
    "check_journal",
    "entry_hash",
    "journal_file_in",
    "last_journal_seq",
    "read_journal",
    "trusted_canonical_json",
]

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
FSYNC_POLICIES: tuple[str, ...] = JOURNAL_FSYNC_POLICIES  # one list, validated by config on load
JOURNAL_FILE_NAME = "audit.jsonl"


class JournalInUseError(RuntimeError):
    """Another process (or writer) holds the journal's lock: one writer per journal."""


class JournalCorruptError(Exception):
    """A complete journal line that does not verify: the file was damaged or edited."""

    def __init__(self, path: str, line_number: int, journal_seq: int | None, problem: str) -> None:
        super().__init__(path, line_number, journal_seq, problem)
        self.path = path
        self.line_number = line_number
        self.journal_seq = journal_seq
        self.problem = problem

    def __str__(self) -> str:
        seq = f" (journal_seq {self.journal_seq})" if self.journal_seq is not None else ""
        return f"{self.path}: line {self.line_number}{seq}: {self.problem}"


@dataclass(frozen=True, slots=True)
class JournalCodec:
    """How a journal's payloads become entry bodies (JSON-native dicts) and back.

    `trusted`: the payloads are known to hold no floats (built by our own code), so the
    float check of canonical_json is skipped on the hot path.
    `canonical_body`: when given, builds the body's canonical JSON bytes (journal_seq included)
    directly, the same bytes canonical_json would give, for a journal written on a hot path.
    """

    to_body: Callable[[Any], dict[str, Any]]
    from_body: Callable[[dict[str, Any]], Any]
    trusted: bool = False
    canonical_body: Callable[[Any, int], bytes] | None = None


AUDIT_CODEC = JournalCodec(record_to_json, record_from_json, canonical_body=record_body)


@fast_init
@dataclass(frozen=True, slots=True)
class JournalEntry:
    journal_seq: int
    record: Any  # the payload: an AuditRecord in the audit journal (AUDIT_CODEC)
    prev_hash: str
    hash: str
    body: str  # the canonical JSON the hash covers; stored in the database so the chain can be rechecked there


def journal_file_in(directory: str | os.PathLike[str]) -> Path:
    """The journal file inside a journal directory (config `journal.path`)."""
    return Path(directory) / JOURNAL_FILE_NAME


def entry_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


# canonical_json without the float check, built once (json.dumps builds an encoder per call).
_TRUSTED_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode


def trusted_canonical_json(value: Any) -> bytes:
    """canonical_json without the float check, for values our own code built from ints, strings and enums."""
    return _TRUSTED_CANONICAL(value).encode("ascii")


def _encode_line(journal_seq: int, payload: Any, prev_hash: str, codec: JournalCodec) -> tuple[bytes, str, bytes]:
    if codec.canonical_body is not None:
        body = codec.canonical_body(payload, journal_seq)
    else:
        fields = codec.to_body(payload)
        fields["journal_seq"] = journal_seq
        body = _TRUSTED_CANONICAL(fields).encode("ascii") if codec.trusted else canonical_json(fields)
    digest = entry_hash(prev_hash, body)
    # The hashes go after the body's keys rather than sorted in: serializing once halves the cost,
    # and readers rebuild the body's canonical bytes from the parsed object anyway.
    line = b"%s,\"prev_hash\":\"%s\",\"hash\":\"%s\"}\n" % (body[:-1], prev_hash.encode(), digest.encode())
    return line, digest, body


def _chained_line(body: str, prev_hash: str) -> tuple[bytes, str]:
    """_encode_line's result for a body already built as text (canonical JSON, ASCII)."""
    digest = hashlib.sha256((prev_hash + body).encode("ascii")).hexdigest()
    return (body[:-1] + ',"prev_hash":"' + prev_hash + '","hash":"' + digest + '"}\n').encode("ascii"), digest


_json_object = json.JSONDecoder().decode  # json.loads without its per-call checks (the text is a str here)
_CHAIN_SUFFIX = re.compile(rb',"prev_hash":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"}$')


def _decode_line(line: bytes, codec: JournalCodec = AUDIT_CODEC) -> tuple[JournalEntry | None, str]:
    """The entry on a complete line (without its newline), or None and why it does not verify.

    The hash is checked over the body's bytes as written (the line up to the chain keys),
    so reading does not serialize the entry again.
    """
    chain = _CHAIN_SUFFIX.search(line)
    if chain is None:
        return None, "missing prev_hash or hash at the end of the line"
    body = line[:chain.start()] + b"}"
    prev_hash, digest = chain.group(1).decode("ascii"), chain.group(2).decode("ascii")
    if entry_hash(prev_hash, body) != digest:
        return None, "hash does not match the entry's content"
    try:
        text = body.decode("ascii")  # canonical JSON escapes everything else
        data = _json_object(text)
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError included
        return None, f"not valid JSON ({err})"
    if not isinstance(data, dict) or type(data.get("journal_seq")) is not int:
        return None, "not a JSON object with a journal_seq"
    try:
        record = codec.from_body(data)
    except (TypeError, ValueError, KeyError) as err:
        return None, f"not a journal entry of this kind ({err})"
    return JournalEntry(data["journal_seq"], record, prev_hash, digest, text), ""


class JournalTail:
    """Reads a journal incrementally, verifying the chain, and remembers where it stopped.

    A last line without its newline is left for the next call: a writer may be in the
    middle of it. A complete line that does not verify raises JournalCorruptError.
    """

    def __init__(self, path: str | os.PathLike[str], codec: JournalCodec = AUDIT_CODEC) -> None:
        self.path = os.fspath(path)
        self.codec = codec
        self.offset = 0  # bytes consumed: everything before is verified
        self.line_number = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH

    def read_new(self, limit: int | None = None) -> list[JournalEntry]:
        """Verified entries appended since the last call (at most `limit`)."""
        entries: list[JournalEntry] = []
        try:
            stream = open(self.path, "rb")
        except FileNotFoundError:
            return entries
        with stream:
            stream.seek(self.offset)
            while limit is None or len(entries) < limit:
                line = stream.readline()
                if not line.endswith(b"\n"):
                    break  # nothing more, or a line still being written
                try:
                    entry = self._verify(line[:-1], self.line_number + 1)
                except JournalCorruptError:
                    if entries:
                        return entries  # hand over the good ones; the next call raises at this line
                    raise
                self.offset += len(line)
                self.line_number += 1
                self.last_seq, self.last_hash = entry.journal_seq, entry.hash
                entries.append(entry)
        return entries

    def take(self, recent: list[tuple[JournalEntry, bytes]]) -> list[JournalEntry]:
        """Move past entries a writer in this process has just appended (JournalWriter.recent), as if
        read_new had read them; none when they do not continue where this tail stands."""
        first, last = recent[0][0], recent[-1][0]
        if first.journal_seq != self.last_seq + 1 or first.prev_hash != self.last_hash:
            return []
        self.offset += sum(len(line) for _, line in recent)
        self.line_number += len(recent)
        self.last_seq, self.last_hash = last.journal_seq, last.hash
        return [entry for entry, _ in recent]

    def _verify(self, line: bytes, line_number: int) -> JournalEntry:
        entry, problem = _decode_line(line, self.codec)
        if entry is None:
            raise JournalCorruptError(self.path, line_number, None, problem)
        if entry.journal_seq != self.last_seq + 1:
            raise JournalCorruptError(self.path, line_number, entry.journal_seq,
                                      f"journal_seq follows {self.last_seq}; expected {self.last_seq + 1}")
        if entry.prev_hash != self.last_hash:
            raise JournalCorruptError(self.path, line_number, entry.journal_seq,
                                      "prev_hash is not the previous entry's hash")
        return entry


def read_journal(path: str | os.PathLike[str], after_seq: int = 0,
                 codec: JournalCodec = AUDIT_CODEC) -> Iterator[JournalEntry]:
    """Every complete, verified entry with journal_seq > after_seq, in order.

    The whole chain is verified from the first entry, so a damaged file raises
    JournalCorruptError even when the damage is before `after_seq`.
    """
    tail = JournalTail(path, codec)
    while True:
        batch = tail.read_new(limit=1000)
        if not batch:
            return
        for entry in batch:
            if entry.journal_seq > after_seq:
                yield entry


@dataclass(frozen=True, slots=True)
class JournalCheck:
    ok: bool
    entries: int  # verified entries before the first problem (all of them when ok)
    first_bad_line: int | None = None
    first_bad_seq: int | None = None
    problem: str = ""


def check_journal(path: str | os.PathLike[str], codec: JournalCodec = AUDIT_CODEC) -> JournalCheck:
    """Verify the whole chain; say where it first breaks instead of raising."""
    tail = JournalTail(path, codec)
    try:
        while tail.read_new(limit=1000):
            pass
    except JournalCorruptError as err:
        return JournalCheck(False, tail.line_number, err.line_number, err.journal_seq, err.problem)
    return JournalCheck(True, tail.line_number)


def last_journal_seq(path: str | os.PathLike[str]) -> int:
    """The journal_seq of the last complete line, read from the file's end (cheap; not verified)."""
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        return 0
    with stream:
        end = stream.seek(0, os.SEEK_END)
        start = end
        while start > 0:
            start = max(0, start - 65536)
            stream.seek(start)
            chunk = stream.read(end - start)
            complete = chunk[: chunk.rfind(b"\n") + 1]
            # Two newlines (or the file's start) guarantee the last complete line is whole.
            if complete.count(b"\n") >= 2 or (start == 0 and complete):
                lines = complete[:-1].split(b"\n")
                whole = lines if start == 0 else lines[1:]  # the chunk's first line may be cut
                for line in reversed(whole):  # skip a torn tail the writer has not cut yet
                    try:
                        return int(json.loads(line)["journal_seq"])
                    except (ValueError, KeyError, TypeError):
                        continue
                if start == 0:
                    return 0
        return 0


class JournalWriter:
    """Appends records to one journal file, numbering them and extending the hash chain.

    fsync_policy:
      "always"  fsync after every append: a record is on disk when append returns.
      "group"   append returns after write() to the OS; a background thread fsyncs every
                `group_commit_ms`, so one fsync covers many records. `wait_synced(seq)`
                blocks until a given record is on disk.
      "os"      never fsync; the OS writes back when it likes (a crash of the process
                loses nothing, a crash of the machine may).

    On open an existing file is verified. A torn tail (a crash during the last write)
    is cut off and logged; numbering and chain continue from the last good entry. A
    bad entry followed by good ones is not a torn write: JournalCorruptError.
    One writer per file, enforced with an exclusive flock.
    """

    def __init__(self, path: str | os.PathLike[str], fsync_policy: str = "group", *,
                 group_commit_ms: int = 5, codec: JournalCodec = AUDIT_CODEC, keep_recent: int = 0) -> None:
        if fsync_policy not in FSYNC_POLICIES:
            raise ValueError(f"fsync_policy {fsync_policy!r}; allowed: {', '.join(FSYNC_POLICIES)}")
        if not 1 <= group_commit_ms <= 1000:
            raise ValueError(f"group_commit_ms {group_commit_ms}; allowed: 1 to 1000")
        self.path = Path(path)
        self.fsync_policy = fsync_policy
        self.group_commit_ms = group_commit_ms
        self.codec = codec
        # The last `keep_recent` entries appended, each with its line, for a reader in this process
        # (recent()): it need not read back and verify what was just written here.
        self._recent: collections.deque[tuple[JournalEntry, bytes]] | None = (
            collections.deque(maxlen=keep_recent) if keep_recent > 0 else None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(self._fd)
            if err.errno in (errno.EAGAIN, errno.EACCES):
                raise JournalInUseError(f"{self.path}: another JournalWriter has this journal open") from None
            raise
        if created:
            _fsync_directory(self.path.parent)  # so the new file itself survives a power loss
        self.truncated_bytes = 0
        self.last_seq, self.last_hash = self._recover()
        self._lock = threading.Lock()
        self._synced = threading.Condition()
        self.synced_seq = self.last_seq  # everything that was there on open is as durable as it gets
        self._closed = False
        self.error: str | None = None  # a failed fsync: set once, appends refused from then on
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None
        if fsync_policy == "group":
            self._syncer = threading.Thread(target=self._group_commit, name=f"journal-fsync {self.path.name}",
                                            daemon=True)
            self._syncer.start()

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> tuple[int, str]:
        with open(self.path, "rb") as stream:
            data = stream.read()
        seq, digest, good_end, line_number = 0, GENESIS_HASH, 0, 0
        position = 0
        while position < len(data):
            newline = data.find(b"\n", position)
            line_end = len(data) if newline < 0 else newline
            line_number += 1
            entry, problem = (_decode_line(data[position:line_end], self.codec) if newline >= 0
                              else (None, "no newline"))
            if entry is not None and (entry.journal_seq != seq + 1 or entry.prev_hash != digest):
                entry, problem = None, "does not continue the chain"
            if entry is None:
                if _has_good_entry_after(data, line_end + 1, self.codec):
                    raise JournalCorruptError(os.fspath(self.path), line_number, None,
                                              f"{problem}, but later entries verify: not a torn write")
                break
            seq, digest, good_end = entry.journal_seq, entry.hash, newline + 1
            position = newline + 1
        if good_end < len(data):
            self.truncated_bytes = len(data) - good_end
            log.warning("%s: cut %d bytes of a torn write after journal_seq %d (line %d); continuing from there",
                        self.path, self.truncated_bytes, seq, line_number)
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)
        return seq, digest

    # ------------------------------------------------------------------ appending

    def append(self, record: Any) -> int:
        """Write one payload (an AuditRecord in the audit journal); return its journal_seq.

        Durability on return depends on the fsync policy.
        """
        return self.append_all([record])

    def append_all(self, records: list[Any]) -> int:
        """Append several payloads with one write (the auditor writes a batch at a time); return the
        journal_seq of the last, or of the journal's end when `records` is empty.

        One system call for the lot, as a rule. A process killed during it leaves whole lines and at most
        one torn last line, which the next open cuts off, as after a crash during a single append.
        """
        with self._lock:
            self._check_writable()
            seq, digest = self.last_seq, self.last_hash
            lines, recent = [], []
            for record in records:
                seq += 1
                prev_hash = digest
                line, digest, body = _encode_line(seq, record, prev_hash, self.codec)
                lines.append(line)
                if self._recent is not None:
                    recent.append((JournalEntry(seq, record, prev_hash, digest, body.decode("ascii")), line))
            if lines:
                self._write(b"".join(lines), seq, digest)
                if self._recent is not None:
                    self._recent.extend(recent)
        return seq

    def recent(self, after_seq: int, limit: int) -> list[tuple[JournalEntry, bytes]]:
        """Up to `limit` entries from `after_seq` + 1 on, with their lines as written, when this writer
        still holds that one in memory (see `keep_recent`); otherwise none. Any thread."""
        with self._lock:
            recent = self._recent
            if not recent or not recent[0][0].journal_seq <= after_seq + 1 <= recent[-1][0].journal_seq:
                return []
            start = after_seq + 1 - recent[0][0].journal_seq
            return list(itertools.islice(recent, start, start + limit))

    def append_body(self, head: str, tail: str) -> int:
        """Append the entry whose canonical JSON body is `head` + its journal_seq + `tail`; return the journal_seq.

        For a hot path that builds its body's text itself (CommandJournal.command): only the number,
        the hash and the write happen under the lock. The caller guarantees the text is canonical ASCII.
        """
        with self._lock:
            self._check_writable()
            seq = self.last_seq + 1
            line, digest = _chained_line(head + str(seq) + tail, self.last_hash)
            self._write(line, seq, digest)
        return seq

    def _check_writable(self) -> None:
        """Lock held: refuse to append to a closed journal, or after a failed fsync (nothing written since
        would be known to be on disk)."""
        if self._closed:
            raise ValueError(f"{self.path}: journal is closed")
        if self.error is not None:
            raise OSError(f"{self.path}: an earlier fsync failed ({self.error}); not appending")

    def _write(self, data: bytes, last_seq: int, last_hash: str) -> None:
        """Lock held: write lines ending with entry `last_seq`, then move the chain's end there."""
        _write_all(self._fd, data)
        self.last_seq, self.last_hash = last_seq, last_hash
        if self.fsync_policy == "always":
            os.fsync(self._fd)
            self._mark_synced(last_seq)

    def flush(self) -> None:
        """Force everything appended so far to disk, whatever the policy."""
        with self._lock:
            if self._closed:
                return
            seq = self.last_seq
            os.fsync(self._fd)
        self._mark_synced(seq)

    def wait_synced(self, journal_seq: int, timeout: float | None = None) -> bool:
        """Block until `journal_seq` is on disk (for "os" that never happens short of flush())."""
        with self._synced:
            return self._synced.wait_for(lambda: self.synced_seq >= journal_seq, timeout)

    def close(self) -> None:
        """Stop the fsync thread; fsync unless the policy is "os"; close the file."""
        if self._syncer is not None:
            self._stop.set()
            self._syncer.join()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self.fsync_policy != "os" and self.error is None:
                    os.fsync(self._fd)
                    self._mark_synced(self.last_seq)
            except OSError as err:
                log.error("%s: fsync on close failed: %s", self.path, err)
                self.error = f"{type(err).__name__}: {err}"
            finally:
                os.close(self._fd)  # also releases the flock

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _mark_synced(self, seq: int) -> None:
        with self._synced:
            if seq > self.synced_seq:
                self.synced_seq = seq
                self._synced.notify_all()

    def _group_commit(self) -> None:
        interval = self.group_commit_ms / 1000
        while not self._stop.wait(interval):
            seq = self.last_seq  # read before fsync: what is written by now is covered
            if seq > self.synced_seq:
                try:
                    os.fsync(self._fd)  # outside the lock: appends go on while the disk works
                except OSError as err:
                    self.error = f"{type(err).__name__}: {err}"
                    log.critical("%s: fsync failed (%s); the journal refuses further appends", self.path, err)
                    return
                self._mark_synced(seq)


def _has_good_entry_after(data: bytes, position: int, codec: JournalCodec) -> bool:
    while position < len(data):
        newline = data.find(b"\n", position)
        if newline < 0:
            return False
        if _decode_line(data[position:newline], codec)[0] is not None:
            return True
        position = newline + 1
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
