"""A restart after `kill -9` of serve waits for the market-data process the killed venue left running."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from fix_gateway.cli import _wait_for_leftover_feed
from fix_gateway.market_data_feed import STATUS_FILE_NAME


def _status_naming(directory: Path, pid: int) -> None:
    (directory / STATUS_FILE_NAME).write_text(json.dumps({"pid": pid}))


def _process(*argv: str) -> subprocess.Popen:
    """A process living one second with `argv` in its command line (once exec has put it there)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)", *argv])
    while argv and process.poll() is None and argv[0].encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes():
        time.sleep(0.01)
    return process


def test_a_start_waits_until_the_leftover_market_data_process_has_gone(tmp_path: Path) -> None:
    leftover = _process("market-data", "--journal", str(tmp_path))
    try:
        _status_naming(tmp_path, leftover.pid)
        started = time.monotonic()
        _wait_for_leftover_feed(tmp_path, wait_s=30)
        assert leftover.poll() is not None  # it returned only once the process was gone
        assert time.monotonic() - started >= 0.5
    finally:
        leftover.kill()
        leftover.wait()


def test_a_pid_now_used_by_another_program_is_not_waited_for(tmp_path: Path) -> None:
    other = _process("something-else")
    try:
        _status_naming(tmp_path, other.pid)
        started = time.monotonic()
        _wait_for_leftover_feed(tmp_path, wait_s=30)
        assert time.monotonic() - started < 0.5 and other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_no_status_file_or_a_gone_process_means_no_wait(tmp_path: Path) -> None:
    started = time.monotonic()
    _wait_for_leftover_feed(tmp_path, wait_s=30)
    assert time.monotonic() - started < 0.5
    gone = _process("market-data")
    gone.wait()
    _status_naming(tmp_path, gone.pid)
    started = time.monotonic()
    _wait_for_leftover_feed(tmp_path, wait_s=30)
    assert time.monotonic() - started < 0.5
