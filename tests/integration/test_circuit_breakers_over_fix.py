"""Circuit breakers seen over FIX: repriced orders, limit state, pause, reopening auction, SecurityStatus.

The venue runs with a 1-second limit state and a 2-second pause so the whole cycle fits
in a test; AAPL's reference is 190.00 in tier 1, so its band is 180.50 to 199.50.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_venue(make_venue):
    shipped = (REPO / "config" / "exchange.yaml").read_text()
    fast = shipped.replace("limit_state_seconds: 15", "limit_state_seconds: 1").replace(
        "pause_seconds: 300", "pause_seconds: 2")
    assert "limit_state_seconds: 1 " in fast and "pause_seconds: 2 " in fast, "the shipped config names both"
    return make_venue(fast)


def status_request(client, request_id: str, symbol: str, subscription: str = "1") -> None:
    client.send("e", [(324, request_id), (55, symbol), (263, subscription)])


@pytest.mark.parametrize("comp_id, version", [("MDCLIENT1", "FIX.4.4"), ("MDCLIENT2", "FIX.5.0SP2")])
def test_a_security_status_request_is_answered_with_the_status_and_band_now(fast_venue, comp_id, version):
    subscriber = fast_venue.client(comp_id, version)
    status_request(subscriber, "ST1", "AAPL", "0")
    status = subscriber.next("f")
    assert (status["324"], status["55"], status["326"]) == ("ST1", "AAPL", "17")
    assert (status["333"], status["332"]) == ("180.50", "199.50") and "continuous trading" in status["58"]


def test_a_security_status_request_for_an_unknown_symbol_gets_a_business_reject(fast_venue):
    subscriber = fast_venue.client("MDCLIENT1", "FIX.4.4")
    status_request(subscriber, "ST1", "NOPE")
    reject = subscriber.next("j")
    assert (reject["380"], reject["372"]) == ("2", "e") and "unknown symbol 'NOPE'" in reject["58"]


def test_an_order_entry_session_without_market_data_may_not_ask_for_trading_status(fast_venue):
    broker = fast_venue.client("BROKER1", "FIX.4.4")
    status_request(broker, "ST1", "AAPL")
    assert broker.next("j")["380"] == "6"


def test_the_whole_limit_state_pause_and_auction_cycle_reaches_owners_and_subscribers(fast_venue):
    subscriber = fast_venue.client("MDCLIENT1", "FIX.4.4")
    status_request(subscriber, "ST1", "AAPL")
    assert subscriber.next("f")["326"] == "17"
    buyer = fast_venue.client("BROKER4", "FIX.5.0SP2")
    seller = fast_venue.client("BROKER2", "FIX.4.4")
    old_seller = fast_venue.client("BROKER3", "FIX.4.2")
    seller.new_order("S1", "2", 10, "195.00")
    seller.new_order("S2", "2", 10, "201.00")
    seller.reports(2)

    buyer.new_order("B1", "1", 30, "205.00")
    accepted, filled, repriced = buyer.reports(3)
    assert (filled["150"], filled["31"], filled["32"]) == ("F", "195.00", "10")
    assert (repriced["150"], repriced["378"], repriced["44"], repriced["151"]) == ("D", "3", "199.50", "20")
    assert "price band" in repriced["58"]
    limit_state = subscriber.next("f")
    assert limit_state["326"] == "6" and "limit state" in limit_state["58"]

    paused = subscriber.next("f", timeout=5)  # not cleared within 1 second
    assert paused["326"] == "21" and "paused by the circuit breaker" in paused["58"]
    old_seller.new_order("M1", "2", 5, ord_type="1")
    refused = old_seller.next("8")
    assert (refused["150"], refused["103"]) == ("8", "2") and "paused" in refused["58"]
    old_seller.new_order("L1", "2", 15, "198.00")
    assert old_seller.next("8")["150"] == "0", "a limit order queues for the auction"

    reopened = subscriber.next("f", timeout=5)
    assert reopened["326"] == "3" and "reopening auction" in reopened["58"]
    fill = old_seller.next("8")
    # bids: 20 at 199.50; asks: 15 at 198.00, 10 at 201.00. 15 trade at 198.00-199.50; the reference
    # 190.00 is below, so the lowest of them
    assert (fill["150"], fill["31"], fill["32"]) == ("2", "198.00", "15")
    assert buyer.next("8")["31"] == "198.00"


def test_a_5_0_sp2_subscriber_also_gets_trading_session_status_for_the_instrument(fast_venue):
    subscriber = fast_venue.client("MDCLIENT2", "FIX.5.0SP2")
    status_request(subscriber, "ST1", "AAPL")
    assert subscriber.next("f")["326"] == "17"
    assert fast_venue.gateway.admin("halt", ["AAPL"])["ok"]
    assert subscriber.next("f")["326"] == "21"
    halted = subscriber.next("h")
    assert (halted["55"], halted["340"], halted["336"]) == ("AAPL", "4", "1")
    fast_venue.gateway.admin("resume", ["AAPL"])
    assert subscriber.next("f")["326"] == "3"
    assert subscriber.next("h")["340"] == "2"
