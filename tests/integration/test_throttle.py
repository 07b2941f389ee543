"""Message throttles over FIX: the excess is refused with a Text, a flood logs the session out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def config_with_limits(refuse: int, logout: int) -> str:
    return (REPO / "config" / "exchange.yaml").read_text().replace(
        "    max_messages_per_second: 20000", f"    max_messages_per_second: {refuse}").replace(
        "    logout_messages_per_second: 50000", f"    logout_messages_per_second: {logout}")


@pytest.mark.parametrize("comp_id, version, code", [("BROKER1", "FIX.4.4", "0"), ("BROKER4", "FIX.5.0SP2", "8")])
def test_orders_above_the_rate_are_refused_with_a_business_reject_naming_the_limit(make_venue, comp_id, version,
                                                                                 code):
    venue = make_venue(config_with_limits(5, 50))
    broker = venue.client(comp_id, version)
    for i in range(7):
        broker.new_order(f"O{i}", "1", 10, f"{100 + i}.00")
    acks = [broker.next("8") for _ in range(5)]
    assert [a["11"] for a in acks] == [f"O{i}" for i in range(5)]
    rejects = [broker.next("j") for _ in range(2)]
    assert [r["380"] for r in rejects] == [code, code]
    assert [r["379"] for r in rejects] == ["O5", "O6"] and all(r["372"] == "D" for r in rejects)
    assert "throttled" in rejects[0]["58"] and "max_messages_per_second" in rejects[0]["58"]
    with venue.gateway.lock:
        assert len(venue.gateway.engine.open_orders(comp_id)) == 5
    time.sleep(1.05)  # a second later the window has room again
    broker.new_order("LATER", "1", 10, "90.00")
    assert broker.next("8")["11"] == "LATER"


def test_a_flood_above_the_logout_rate_logs_the_session_out_and_cancels_its_day_orders(make_venue):
    venue = make_venue(config_with_limits(3, 6))
    broker = venue.client("BROKER2", "FIX.4.4")
    for i in range(10):
        broker.new_order(f"F{i}", "1", 10, f"{100 + i}.00")
    broker.wait_until(lambda: not broker.logged_on, 10, "the flooding session was never logged out")
    logouts = [m for m in broker.admin if m.get("35") == "5"]
    assert logouts and "logout_messages_per_second" in logouts[-1].get("58", "")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with venue.gateway.lock:
            if not venue.gateway.engine.open_orders("BROKER2"):
                break
        time.sleep(0.05)
    with venue.gateway.lock:
        assert venue.gateway.engine.open_orders("BROKER2") == []  # cancel on disconnect applied
