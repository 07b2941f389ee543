"""`fixex demo`'s market maker and brokers, and `fixex watch --once`, against a real venue over loopback."""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from fix_client import SOH, free_port
from fix_gateway import watch
from fix_gateway.demo import DemoTraffic
from fix_gateway.initiator import session_versions

REPO = Path(__file__).resolve().parents[2]
SESSIONS = REPO / "sessions.cfg"


def traffic_on(venue, tmp_path, **kw) -> DemoTraffic:
    versions = session_versions(SESSIONS, venue.settings)
    return DemoTraffic(venue.settings, versions, "127.0.0.1", venue.port, tmp_path / "demo", **kw)


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def trade_entries(client, timeout: float) -> int:
    """Trade entries (269=2) in the X messages a market-data client received within `timeout`."""
    count = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = client.received.get(timeout=0.1)
        except Exception:
            continue
        if message.get("35") == "X":
            count += message["raw"].count(f"{SOH}269=2{SOH}")
    return count


def test_market_maker_and_broker_flows_trade_within_seconds_without_rejects_of_any_kind(venue, tmp_path):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("TRADES", venue.gateway.engine.symbols, "2")
    subscriber.next("W")
    traffic = traffic_on(venue, tmp_path, seed=42, rate=4.0)
    traffic.start()
    try:
        wait_for(lambda: len(venue.gateway.engine.open_orders("BROKER1")) >= 20, 5,
                 "the market maker never had its quotes resting")
        trades = trade_entries(subscriber, 3.0)
    finally:
        traffic.stop()
    stats = traffic.stats
    assert trades > 0, "no trade reached market data"
    assert stats.fills > 0 and stats.volume > 0 and stats.orders > 30
    assert set(stats.last_price) <= set(traffic.pricing) and len(stats.last_price) >= 3
    for symbol, price in stats.last_price.items():  # within a few percent of the reference
        reference = venue.settings.instrument(symbol).reference_price
        assert abs(float(price) / float(reference) - 1) < 0.03
    assert traffic.problems() == []
    assert stats.rejects == 0, stats.last_reject
    with venue.gateway.lock:
        venue.gateway.engine.check_invariants()
    # Logged out: cancel on disconnect leaves none of the demo's orders resting.
    wait_for(lambda: not any(venue.gateway.engine.open_orders(s) for s in ("BROKER1", "BROKER2", "BROKER3",
                                                                           "BROKER4")), 5,
             "the demo's orders outlived its sessions")


def test_watch_once_prints_a_frame_with_bids_asks_and_the_trading_status(venue, tmp_path):
    traffic = traffic_on(venue, tmp_path, seed=7, rate=0.0, symbols=("AAPL",))  # the market maker alone
    traffic.start()
    try:
        wait_for(lambda: len(venue.gateway.engine.open_orders("BROKER1")) == 6, 5, "no quotes resting")
        venue.market_data()
        args = argparse.Namespace(symbol="AAPL", session="MDCLIENT1", config=str(REPO / "config" / "exchange.yaml"),
                                  sessions=str(SESSIONS), host="127.0.0.1", port=venue.market_data_port, depth=10,
                                  trades=5,
                                  once=True, timeout=10.0)
        out = io.StringIO()
        assert watch.run(args, out=out) == 0
    finally:
        traffic.stop()
    frame = out.getvalue()
    assert "\x1b" not in frame
    assert frame.startswith("AAPL")
    assert "READY TO TRADE" in frame
    ladder = [line for line in frame.splitlines() if " | " in line and "bid" not in line]
    assert len(ladder) == 3  # the market maker's three levels a side
    for line in ladder:
        bid, ask = line.split(" | ")
        assert bid.split()[-1].startswith(("189.", "190.")) and ask.split()[0].startswith(("189.", "190."))
    assert traffic.problems() == []


def test_fixex_demo_starts_its_own_venue_trades_and_stops_both_cleanly_on_sigint(tmp_path):
    config = tmp_path / "exchange.yaml"
    config.write_text((REPO / "config" / "exchange.yaml").read_text()
                      .replace("port: 9876", f"port: {free_port()}").replace("port: 9877", f"port: {free_port()}")
                      .replace("port: 9878", f"port: {free_port()}")
                      .replace("sessions_file: sessions.cfg", f"sessions_file: {SESSIONS}"))
    process = subprocess.Popen(
        [sys.executable, "-c", "from fix_gateway.cli import main; raise SystemExit(main())", "demo", "--config",
         str(config), "--seed", "1", "--rate", "4"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            match = re.search(r"fills (\d+)", line)
            if match and int(match.group(1)) > 0 or not line:
                break
        assert any(re.search(r"fills [1-9]", line) for line in lines), "".join(lines)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "starting the venue" in output and "SIGINT received" in output and "demo stopped" in output
    assert "Traceback" not in output and "fixex:" not in output
    assert "stopped cleanly" in (tmp_path / "var" / "demo" / "venue.log").read_text()
