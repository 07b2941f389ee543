"""The metrics collector: plain counters and fixed buckets become Prometheus families at scrape time."""

import threading

from prometheus_client import CollectorRegistry, generate_latest

from fix_gateway.metrics import LatencyHistogram, VenueCollector, VenueCounters


def gauges() -> dict:
    return {"sessions_logged_on": 2,
            "books": {"AAPL": {"best_bid": 189.5, "best_ask": 190.0, "spread": 0.5, "bid_levels": 3,
                               "ask_levels": 1, "halted": False},
                      "IBM": {"best_bid": None, "best_ask": None, "spread": None, "bid_levels": 0,
                              "ask_levels": 0, "halted": True}},
            "queues": {"journal": 0, "audit_backlog": 12, "market_data": 3},
            "market_data_unread": {"MDCLIENT1": 40},
            "market_data_lag_us": {"0.5": 3100, "0.99": None}, "credit": {"FIRM_A": (0.85, True)}}


def scrape(counters: VenueCounters) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VenueCollector(counters, gauges, threading.Lock()))
    return generate_latest(registry).decode()


def test_a_latency_lands_in_the_first_bucket_at_or_above_it_and_the_buckets_are_cumulative():
    histogram = LatencyHistogram()
    for elapsed_us in (40, 50, 120, 2_000_000):
        histogram.observe_ns(elapsed_us * 1000)
    buckets = dict(histogram.cumulative())
    assert buckets["5e-05"] == 2 and buckets["0.00025"] == 3 and buckets["1.0"] == 3 and buckets["+Inf"] == 4


def test_counters_and_gauges_are_exposed_under_the_documented_names():
    counters = VenueCounters()
    counters.received["D"] += 3
    counters.accepted += 2
    counters.rejected["exchange_closed"] += 1
    counters.executions["AAPL"] += 1
    counters.volume["AAPL"] += 100
    counters.latency["D"].observe_ns(200_000)
    counters.halts[("IBM", "operator_halt")] += 1
    counters.throttle_hits["BROKER1"] += 4
    text = scrape(counters)
    for line in ('fixex_orders_received_total{msg_type="D"} 3.0', "fixex_orders_accepted_total 2.0",
                 'fixex_orders_rejected_total{reason="exchange_closed"} 1.0',
                 'fixex_executions_total{symbol="AAPL"} 1.0', 'fixex_traded_volume_total{symbol="AAPL"} 100.0',
                 'fixex_message_latency_seconds_bucket{le="0.00025",msg_type="D"} 1.0',
                 'fixex_message_latency_seconds_count{msg_type="D"} 1.0',
                 'fixex_halts_total{reason="operator_halt",symbol="IBM"} 1.0',
                 'fixex_throttle_hits_total{session="BROKER1"} 4.0', "fixex_sessions_logged_on 2.0",
                 'fixex_book_spread{symbol="AAPL"} 0.5', 'fixex_book_depth{side="bid",symbol="AAPL"} 3.0',
                 'fixex_instrument_halted{symbol="IBM"} 1.0', 'fixex_queue_depth{queue="audit_backlog"} 12.0',
                 'fixex_market_data_unread{session="MDCLIENT1"} 40.0',
                 'fixex_market_data_publish_lag_microseconds{quantile="0.5"} 3100.0',
                 'fixex_credit_used_ratio{firm="FIRM_A"} 0.85',
                 'fixex_credit_alert{firm="FIRM_A"} 1.0'):
        assert line in text, line
    assert 'fixex_book_best_bid{symbol="IBM"}' not in text, "an empty side has no price"
    assert 'quantile="0.99"' not in text, "no lag is shown before the market-data process measured one"
