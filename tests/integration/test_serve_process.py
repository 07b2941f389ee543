"""`fixex serve` as an operator runs it: a real process, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fix_client import free_port

REPO = Path(__file__).resolve().parents[2]
FIXEX = [sys.executable, "-c", "from fix_gateway.cli import main; raise SystemExit(main())"]


def start(*args: str, cwd=REPO) -> subprocess.Popen:
    return subprocess.Popen([*FIXEX, "serve", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def config_on_port(tmp_path, port: int, market_data_port: int | None = None) -> str:
    """The shipped config listening on `port` (and market data on another free port), with var/ under tmp_path."""
    path = tmp_path / "exchange.yaml"
    path.write_text((REPO / "config" / "exchange.yaml").read_text().replace("port: 9876", f"port: {port}")
                    .replace("port: 9877", f"port: {free_port()}")
                    .replace("port: 9878", f"port: {market_data_port or free_port()}")
                    .replace("sessions_file: sessions.cfg", f"sessions_file: {REPO / 'sessions.cfg'}"))
    return str(path)


def wait_for(process: subprocess.Popen, words: str, timeout: float = 30.0) -> list[str]:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if words in line:
            return lines
    process.kill()
    pytest.fail(f"never saw {words!r}; output: {''.join(lines)}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_starts_on_the_shipped_defaults_and_stops_cleanly_on_a_signal(signum, tmp_path):
    process = start("--config", config_on_port(tmp_path, free_port()), cwd=tmp_path)
    lines = wait_for(process, "ready")
    text = "".join(lines)
    assert "AAPL, MSFT, IBM, GOOG, TSLA" in text and "BROKER4 (FIX.5.0SP2)" in text
    # At once: the auditor and the feed may still be importing, and must still hear the stop and finish.
    process.send_signal(signum)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert f"{signal.Signals(signum).name} received" in rest and "stopped cleanly" in rest
    assert "audit database up to date" in rest and "market data: stopped" in rest, rest
    assert "behind the journal" not in rest and "before it could finish" not in rest, rest


def test_serve_with_a_bad_config_exits_2_with_one_line_naming_file_and_key(tmp_path):
    bad = tmp_path / "exchange.yaml"
    bad.write_text((REPO / "config" / "exchange.yaml").read_text().replace("port: 9876", "port: 99999"))
    process = start("--config", str(bad))
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert output.strip().count("\n") == 0, f"expected one line, got {output!r}"
    assert str(bad) in output and "fix.port" in output


def test_serve_on_a_port_already_in_use_exits_1_with_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start("--config", config_on_port(tmp_path, taken.getsockname()[1]), cwd=tmp_path)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    error = [line for line in output.splitlines() if line.startswith("fixex:")]
    assert len(error) == 1 and "Address already in use" in error[0] and "Traceback" not in output


def test_a_broker_can_connect_to_a_running_fixex_serve_and_trade(tmp_path):
    from fix_client import FixClient
    port = free_port()
    process = start("--config", config_on_port(tmp_path, port), cwd=tmp_path)
    wait_for(process, "ready")
    client = FixClient("BROKER1", "FIX.4.4", port, tmp_path).start()
    try:
        client.new_order("A1", "1", 100, "190.00")
        assert client.next("8")["150"] == "0"
    finally:
        client.stop()
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=15)
    assert process.returncode == 0 and "stopped cleanly" in rest


def test_fixex_admin_talks_to_a_running_serve_through_its_socket(tmp_path):
    process = start("--config", config_on_port(tmp_path, free_port()), cwd=tmp_path)
    try:
        wait_for(process, "ready")
        admin = [*FIXEX, "admin"]
        status = subprocess.run([*admin, "status"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert status.returncode == 0, status.stderr
        assert '"AAPL"' in status.stdout and '"kill_switches": []' in status.stdout
        killed = subprocess.run([*admin, "kill-switch", "set", "venue"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=30)
        assert killed.returncode == 0 and '"venue"' in killed.stdout
        bad = subprocess.run([*admin, "halt", "NOPE"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert bad.returncode == 1 and bad.stderr.strip().startswith("fixex: unknown symbol 'NOPE'")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0 and not (tmp_path / "var" / "admin.sock").exists()


def start_with_market_data(tmp_path) -> tuple[subprocess.Popen, int, int, int]:
    """serve with market data on a port of its own, once the market-data process listens: the process,
    the two ports and the market-data process's pid (from serve's log)."""
    port, market_data_port = free_port(), free_port()
    process = start("--config", config_on_port(tmp_path, port, market_data_port), cwd=tmp_path)
    lines = wait_for(process, "market data: listening")
    started = next(line for line in lines if "market-data feed started (pid" in line)
    return process, port, market_data_port, int(started.split("(pid ")[1].split(")")[0])


def stop_serve(process: subprocess.Popen, *sessions) -> str:
    """Close the raw sessions that were opened, stop serve with SIGTERM; the rest of its output."""
    for session in sessions:
        if session is not None:
            session.close()
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=60)[0]


def new_order(session, cl_ord_id: str, side: str, quantity: int, price: str) -> None:
    session.send(session.message("D", (11, cl_ord_id), (21, "1"), (55, "AAPL"), (54, side),
                                 (60, "20261124-12:00:00.000"), (38, quantity), (40, "2"), (44, price),
                                 (59, "0")).encode())


def test_market_data_sessions_are_served_by_a_process_of_their_own_on_the_market_data_port(tmp_path):
    from raw_fix_session import RawSession

    process, port, market_data_port, feed_pid = start_with_market_data(tmp_path)
    subscriber = broker = None
    try:
        assert feed_pid != process.pid
        subscriber = RawSession(market_data_port, sender="MDCLIENT1")
        subscriber.logon()
        subscriber.send(subscriber.message("V", (262, "book"), (263, "1"), (264, 0), (265, "1"), (267, 2),
                                           (269, "0"), (269, "1"), (146, 1), (55, "AAPL")).encode())
        snapshot = subscriber.receive(timeout=10)
        assert snapshot is not None and snapshot.get(35) == b"W" and snapshot.get(268) == b"0"
        broker = RawSession(port, sender="BROKER1")
        broker.logon()
        new_order(broker, "A1", "1", 100, "190.00")
        assert broker.receive(timeout=10).get(150) == b"0"
        update = subscriber.receive(timeout=10)
        assert update is not None and update.get(35) == b"X"
        assert (update.get(279), update.get(269), update.get(270), update.get(271)) == (b"0", b"0", b"190.00", b"100")
        status = subprocess.run([*FIXEX, "admin", "status"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert status.returncode == 0 and f'"pid": {feed_pid}' in status.stdout
    finally:
        rest = stop_serve(process, subscriber, broker)
    assert process.returncode == 0 and "market data: stopped" in rest and "stopped cleanly" in rest


def test_the_drop_copy_session_is_served_on_the_market_data_port_with_the_owners_reports(tmp_path):
    from raw_fix_session import RawSession

    process, port, market_data_port, _ = start_with_market_data(tmp_path)
    drop = broker = None
    try:
        drop = RawSession(market_data_port, sender="DROPCOPY1")
        drop.logon()
        broker = RawSession(port, sender="BROKER1")
        broker.logon()
        new_order(broker, "D1", "1", 100, "190.00")
        ack = broker.receive(timeout=10)
        copy = drop.receive(timeout=10)
        assert copy is not None and copy.get(35) == b"8"
        assert (copy.get(11), copy.get(17), copy.get(37), copy.get(150)) == (b"D1", ack.get(17), ack.get(37), b"0")
    finally:
        rest = stop_serve(process, drop, broker)
    assert process.returncode == 0 and "stopped cleanly" in rest


def test_serve_with_the_market_data_port_taken_exits_1_naming_the_setting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start("--config", config_on_port(tmp_path, free_port(), taken.getsockname()[1]), cwd=tmp_path)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    error = [line for line in output.splitlines() if line.startswith("fixex:")]
    assert len(error) == 1 and "market_data.port" in error[0] and "Address already in use" in error[0]


def test_serve_without_market_data_starts_no_feed_and_says_which_sessions_cannot_log_on(tmp_path):
    market_data_port = free_port()
    process = start("--config", config_on_port(tmp_path, free_port(), market_data_port), "--no-market-data",
                    cwd=tmp_path)
    lines = wait_for(process, "ready")
    text = "".join(lines)
    try:
        assert "market-data feed started" not in text
        assert "--no-market-data: the market-data process is not started, so MDCLIENT1, MDCLIENT2, DROPCOPY1 " \
               "cannot log on" in text
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", market_data_port)) != 0
    finally:
        rest = stop_serve(process)
    assert process.returncode == 0 and "stopped cleanly" in rest


def test_a_killed_market_data_process_is_restarted_and_its_first_snapshot_has_what_traded_meanwhile(tmp_path):
    from raw_fix_session import RawSession

    process, port, market_data_port, feed_pid = start_with_market_data(tmp_path)
    broker = subscriber = None
    try:
        os.kill(feed_pid, signal.SIGKILL)
        broker = RawSession(port, sender="BROKER1")  # order entry goes on while market data is down
        broker.logon()
        new_order(broker, "A1", "2", 70, "191.50")
        assert broker.receive(timeout=10).get(150) == b"0"
        lines = wait_for(process, "market data: listening")
        assert any("market-data feed exited with status -9; restarting" in line for line in lines)
        subscriber = RawSession(market_data_port, sender="MDCLIENT1")
        subscriber.logon()
        subscriber.send(subscriber.message("V", (262, "book"), (263, "0"), (264, 1), (267, 2), (269, "0"),
                                           (269, "1"), (146, 1), (55, "AAPL")).encode())
        snapshot = subscriber.receive(timeout=10)
        assert snapshot is not None and snapshot.get(35) == b"W"
        assert (snapshot.get(269), snapshot.get(270), snapshot.get(271)) == (b"1", b"191.50", b"70")
    finally:
        for session in (subscriber, broker):
            if session is not None:
                session.close()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0


def test_a_second_serve_in_the_same_directory_exits_1_with_one_clear_line(tmp_path):
    first = start("--config", config_on_port(tmp_path, free_port()), cwd=tmp_path)
    try:
        wait_for(first, "ready")
        other = tmp_path / "other"
        other.mkdir()
        # Other ports, the same working directory (and so the same journal).
        second = start("--config", config_on_port(other, free_port()), cwd=tmp_path)
        output, _ = second.communicate(timeout=60)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert second.returncode == 1 and "Traceback" not in output, output
    error = [line for line in output.splitlines() if line.startswith("fixex:")]
    assert len(error) == 1 and "var/journal/commands.jsonl" in error[0] and "another fixex serve" in error[0]
    assert first.returncode == 0


def test_serve_on_a_damaged_input_journal_exits_1_naming_the_line_and_what_to_do(tmp_path):
    config = config_on_port(tmp_path, free_port())
    first = start("--config", config, cwd=tmp_path)
    wait_for(first, "ready")
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    journal = tmp_path / "var" / "journal" / "commands.jsonl"
    journal.write_bytes(journal.read_bytes().replace(b'"venue_started"', b'"venue_startet"', 1))  # an edit
    second = start("--config", config, cwd=tmp_path)
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 1 and "Traceback" not in output, output
    error = [line for line in output.splitlines() if line.startswith("fixex:")]
    assert len(error) == 1 and "var/journal/commands.jsonl: line 1" in error[0] and "move var/journal aside" in error[0]
