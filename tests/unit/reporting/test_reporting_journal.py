"""The append-only journal: numbering, hash chain, recovery from torn writes, fsync policies."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reporting.journal import (
    GENESIS_HASH,
    JournalCorruptError,
    JournalWriter,
    check_journal,
    entry_hash,
    journal_file_in,
    last_journal_seq,
    read_journal,
)
from reporting.records import AuditRecord, canonical_json, message_record, session_record

REPO = Path(__file__).resolve().parents[3]


def _record(n: int) -> AuditRecord:
    return session_record("logon", f"BROKER{n}", "FIRM_A", 1_000 + n, f"logon {n}")


def _write(path: Path, count: int, policy: str = "os") -> None:
    with JournalWriter(path, policy) as writer:
        for n in range(1, count + 1):
            writer.append(_record(n))


def test_records_appended_together_are_the_lines_appended_one_by_one(tmp_path: Path) -> None:
    one_by_one, together = tmp_path / "one.jsonl", tmp_path / "together.jsonl"
    _write(one_by_one, 5)
    with JournalWriter(together, "always") as writer:
        assert writer.append_all([]) == 0
        assert writer.append_all([_record(n) for n in range(1, 4)]) == 3
        assert writer.append_all([_record(4), _record(5)]) == 5
        assert writer.synced_seq == 5  # "always": on disk when append_all returns
        assert writer.append_all([]) == 5
    assert together.read_bytes() == one_by_one.read_bytes()


def test_appended_records_read_back_in_order_with_gap_free_journal_seqs(tmp_path: Path) -> None:
    path = journal_file_in(tmp_path / "journal")
    records = [_record(1), message_record("outbound", "BROKER1", 5, "8=FIX.4.4\x0135=8\x01"), _record(3)]
    with JournalWriter(path, "os") as writer:
        assert [writer.append(record) for record in records] == [1, 2, 3]
    entries = list(read_journal(path))
    assert [entry.journal_seq for entry in entries] == [1, 2, 3]
    assert [entry.record for entry in entries] == records
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(entries, entries[1:]))
    assert all(entry.hash == entry_hash(entry.prev_hash, entry.body.encode()) for entry in entries)


def test_a_writer_keeping_recent_entries_hands_them_over_as_read_back_from_the_file(tmp_path: Path) -> None:
    path = journal_file_in(tmp_path / "journal")
    with JournalWriter(path, "os", keep_recent=3) as writer:
        writer.append_all([_record(n) for n in range(1, 6)])
        assert writer.recent(0, 10) == writer.recent(1, 10) == []  # 1 and 2 no longer held
        held = writer.recent(2, 10)
        assert writer.recent(4, 1) == held[2:] and writer.recent(5, 10) == []
    lines = path.read_bytes().splitlines(keepends=True)
    assert [line for _, line in held] == lines[2:]
    assert [entry for entry, _ in held] == list(read_journal(path, after_seq=2))


def test_reading_after_a_seq_skips_earlier_entries(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 5)
    assert [entry.journal_seq for entry in read_journal(path, after_seq=3)] == [4, 5]
    assert last_journal_seq(path) == 5


def test_each_line_is_canonical_json_with_the_hashes(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 1)
    line = path.read_bytes()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    data = json.loads(line)
    assert (data["journal_seq"], data["kind"], data["prev_hash"]) == (1, "session_logon", GENESIS_HASH)
    assert len(data["hash"]) == 64


def test_reopening_continues_numbering_and_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 3)
    with JournalWriter(path, "os") as writer:
        assert writer.last_seq == 3
        assert writer.append(_record(4)) == 4
    entries = list(read_journal(path))
    assert [entry.journal_seq for entry in entries] == [1, 2, 3, 4]
    assert entries[3].prev_hash == entries[2].hash
    assert check_journal(path).ok


def test_a_torn_last_line_is_cut_off_logged_and_the_writer_continues(tmp_path: Path, caplog) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 3)
    good = path.read_bytes()
    path.write_bytes(good + b'{"journal_seq":4,"kind":"sess')  # a crash in the middle of write()
    with caplog.at_level(logging.WARNING, logger="reporting.journal"):
        with JournalWriter(path, "os") as writer:
            assert writer.truncated_bytes == len(b'{"journal_seq":4,"kind":"sess')
            assert writer.append(_record(4)) == 4
    assert "torn write after journal_seq 3" in caplog.text
    assert [entry.journal_seq for entry in read_journal(path)] == [1, 2, 3, 4]
    assert check_journal(path).ok


def test_a_complete_last_line_that_fails_its_hash_is_treated_as_torn(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 2)
    path.write_bytes(path.read_bytes() + b"\x00" * 40 + b"\n")  # e.g. zeroed blocks after a power loss
    with JournalWriter(path, "os") as writer:
        assert writer.last_seq == 2
        assert writer.truncated_bytes == 41


def test_a_reader_leaves_a_line_still_being_written_for_later(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 2)
    path.write_bytes(path.read_bytes() + b'{"journal_seq":3')
    assert [entry.journal_seq for entry in read_journal(path)] == [1, 2]


def test_a_record_edited_in_the_middle_is_detected_by_the_chain_check(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 5)
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"logon 3", b"logon 9")
    path.write_bytes(b"\n".join(lines))
    check = check_journal(path)
    assert not check.ok
    assert (check.entries, check.first_bad_line) == (2, 3)
    assert "hash does not match" in check.problem
    with pytest.raises(JournalCorruptError, match="line 3"):
        list(read_journal(path))
    with pytest.raises(JournalCorruptError, match="not a torn write"):
        JournalWriter(path, "os")


def test_an_edit_that_rehashes_its_own_line_still_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _write(path, 3)
    lines = path.read_bytes().split(b"\n")
    data = json.loads(lines[1])
    data["text"] = "forged"
    body = canonical_json({key: value for key, value in data.items() if key not in ("hash", "prev_hash")})
    digest = entry_hash(data["prev_hash"], body)  # the forger rewrites the line just as the writer would
    lines[1] = body[:-1] + f',"prev_hash":"{data["prev_hash"]}","hash":"{digest}"}}'.encode()
    path.write_bytes(b"\n".join(lines))
    check = check_journal(path)
    assert (check.ok, check.first_bad_seq) == (False, 3)
    assert "prev_hash is not the previous entry's hash" in check.problem


def test_a_second_writer_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with JournalWriter(path, "os"):
        with pytest.raises(RuntimeError, match="another JournalWriter"):
            JournalWriter(path, "os")


@pytest.mark.parametrize("policy", ["always", "group", "os"])
def test_every_fsync_policy_leaves_all_records_readable_after_close(tmp_path: Path, policy: str) -> None:
    path = tmp_path / "j.jsonl"
    with JournalWriter(path, policy, group_commit_ms=2) as writer:
        for n in range(1, 51):
            writer.append(_record(n))
    assert [entry.journal_seq for entry in read_journal(path)] == list(range(1, 51))


def test_group_policy_syncs_in_the_background_without_flush(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "j.jsonl", "group", group_commit_ms=2) as writer:
        seq = writer.append(_record(1))
        assert writer.wait_synced(seq, timeout=5)
        assert writer.synced_seq >= seq


def test_always_policy_is_synced_when_append_returns(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "j.jsonl", "always") as writer:
        seq = writer.append(_record(1))
        assert writer.synced_seq == seq


def test_unknown_fsync_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allowed: always, group, os"):
        JournalWriter(tmp_path / "j.jsonl", "sometimes")


def test_appending_after_close_is_an_error(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "j.jsonl", "os")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.append(_record(1))


CHILD = textwrap.dedent("""
    import sys, time
    from reporting.journal import JournalWriter
    from reporting.records import session_record
    writer = JournalWriter(sys.argv[1], "always")
    for n in range(1, int(sys.argv[2]) + 1):
        writer.append(session_record("logon", "BROKER1", "FIRM_A", n, f"logon {n}"))
    print("appended", flush=True)
    time.sleep(60)
""")


def test_a_process_killed_right_after_appending_with_always_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), "200"], cwd=REPO, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"appended\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert [entry.journal_seq for entry in read_journal(path)] == list(range(1, 201))
    with JournalWriter(path, "always") as writer:  # the lock died with the child
        assert writer.append(_record(201)) == 201


def test_last_journal_seq_skips_a_torn_tail_and_is_zero_for_no_file(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    assert last_journal_seq(path) == 0
    _write(path, 4)
    path.write_bytes(path.read_bytes() + b"\x00" * 10 + b"\n" + b'{"journal_seq":5')
    assert last_journal_seq(path) == 4
