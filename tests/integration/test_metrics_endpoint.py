"""A running venue serves Prometheus metrics that follow what its sessions do."""

from __future__ import annotations

import urllib.request
from pathlib import Path


def scrape(venue) -> str:
    port = venue.gateway._metrics_server.server_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in the scrape")


def test_orders_trades_rejects_latency_and_books_show_in_the_metrics(venue):
    buyer = venue.client("BROKER1", "FIX.4.4")
    seller = venue.client("BROKER2", "FIX.4.4")
    buyer.new_order("B1", "1", 10, "189.50")
    buyer.next("8")
    seller.new_order("S1", "2", 4, "189.50")
    seller.next("8")
    assert buyer.next("8")["150"] == "F"
    buyer.new_order("B2", "1", 10, "189.50", symbol="NOPE")
    assert buyer.next("8")["150"] == "8"
    text = scrape(venue)
    assert value(text, 'fixex_orders_received_total{msg_type="D"}') == 3
    assert value(text, "fixex_orders_accepted_total") == 2
    assert value(text, 'fixex_orders_rejected_total{reason="unknown_symbol"}') == 1
    assert value(text, 'fixex_executions_total{symbol="AAPL"}') == 1
    assert value(text, 'fixex_traded_volume_total{symbol="AAPL"}') == 4
    assert value(text, 'fixex_message_latency_seconds_count{msg_type="D"}') == 3
    assert value(text, "fixex_sessions_logged_on") == 2
    assert value(text, 'fixex_book_best_bid{symbol="AAPL"}') == 189.5
    assert value(text, 'fixex_book_depth{side="bid",symbol="AAPL"}') == 1
    assert value(text, 'fixex_instrument_halted{symbol="AAPL"}') == 0
    assert value(text, 'fixex_queue_depth{queue="market_data"}') >= 0


def test_a_firm_past_80_percent_of_its_credit_shows_as_an_alert_in_the_metrics(make_venue):
    shipped = (Path(__file__).resolve().parents[2] / "config" / "exchange.yaml").read_text()
    venue = make_venue(shipped.replace('# credit_limit: "50000000"', 'credit_limit: "10000"'))
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("B1", "1", 45, "189.00")  # 8,505.00 of 10,000.00
    assert broker.next("8")["150"] == "0"
    text = scrape(venue)
    assert value(text, 'fixex_credit_used_ratio{firm="FIRM_A"}') == 0.8505
    assert value(text, 'fixex_credit_alert{firm="FIRM_A"}') == 1
    assert value(text, 'fixex_credit_alert{firm="FIRM_B"}') == 0
