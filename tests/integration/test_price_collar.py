"""Price collars over FIX: an order priced too far through the market is rejected with each version's code."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def config_with_collar(percent: str) -> str:
    return (REPO / "config" / "exchange.yaml").read_text().replace(
        "    max_messages_per_second: 20000", f"    max_messages_per_second: 20000\n    price_collar_percent: \"{percent}\"")


@pytest.mark.parametrize("comp_id, version, code", [
    ("BROKER3", "FIX.4.2", "0"), ("BROKER1", "FIX.4.4", "99"), ("BROKER4", "FIX.5.0SP2", "16")])
def test_a_sell_priced_far_below_the_reference_of_an_empty_book_is_rejected_with_the_collar_in_text(
        make_venue, comp_id, version, code):
    venue = make_venue(config_with_collar("10"))
    broker = venue.client(comp_id, version)
    broker.new_order("FAT", "2", 100, "19.00")  # AAPL's reference is 190.00: a finger slipped
    report = broker.next("8")
    assert report["150"] == "8" and report["103"] == code
    assert "more than 10% below the reference price 190.00 (collar 171.00" in report["58"]
    broker.new_order("OK", "2", 100, "185.00")
    assert broker.next("8")["150"] == "0"


def test_once_the_book_has_a_bid_a_buy_is_collared_against_the_best_offer(make_venue):
    venue = make_venue(config_with_collar("5"))
    maker = venue.client("BROKER1", "FIX.4.4")
    taker = venue.client("BROKER2", "FIX.4.4")
    maker.new_order("ASK", "2", 100, "195.00")
    maker.next("8")
    taker.new_order("SWEEP", "1", 100, "204.80")
    rejected = taker.next("8")
    assert rejected["150"] == "8" and "above the best offer 195.00 (collar 204.75" in rejected["58"]
    taker.new_order("LIFT", "1", 100, "204.75")
    assert taker.next("8")["150"] == "0"
    with venue.gateway.lock:
        assert venue.gateway.engine.book("AAPL").best_ask() is None  # the allowed order traded
