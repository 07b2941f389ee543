"""Credit and position limits over FIX: an order that could breach one is rejected with 103=3 and a Text."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_credit_and_position_limits_reject_the_order_that_would_breach_them(make_venue):
    config = (REPO / "config" / "exchange.yaml").read_text().replace(
        "  firms: {}", '  firms:\n    FIRM_A: {credit_limit: "10000"}\n    FIRM_B: {max_position: 100}')
    venue = make_venue(config)
    a = venue.client("BROKER1", "FIX.4.4")
    a.new_order("A1", "1", 50, "190.00")
    assert a.next("8")["150"] == "0"
    a.new_order("A2", "1", 10, "190.00")
    rejected = a.next("8")
    assert (rejected["150"], rejected["103"]) == ("8", "3")
    assert "credit" in rejected["58"] and "10,000.00" in rejected["58"]
    b = venue.client("BROKER2", "FIX.4.4")
    b.new_order("B1", "2", 60, "190.00")  # sells to A's resting 50 and rests 10: short 60 if all fills
    b.reports(2)
    b.new_order("B2", "2", 41, "195.00")
    rejected = b.next("8")
    assert rejected["103"] == "3" and "short 101" in rejected["58"] and "max_position" in rejected["58"]
