"""Prometheus metrics for the venue, cheap on the hot path.

The writer only bumps plain Python integers and drops latencies into fixed buckets
(no locks, no prometheus-client objects on the order path: a Counter.inc() takes a
lock and costs about a microsecond). A custom collector turns them into metric
families when Prometheus scrapes, and reads gauges (sessions, books, halts, queue
depths) from the gateway at that moment, under the writer's lock.

Names (the Grafana dashboard in deploy/grafana uses exactly these):
  fixex_orders_received_total{msg_type}       D, F, G, H, q messages received
  fixex_orders_accepted_total                  new orders accepted
  fixex_orders_rejected_total{reason}          orders rejected, by OrdRejReason name
  fixex_executions_total{symbol}               trades
  fixex_traded_volume_total{symbol}            shares traded
  fixex_message_latency_seconds{msg_type}      inbound message to its replies sent (histogram)
  fixex_sessions_logged_on                     FIX sessions logged on now
  fixex_book_best_bid{symbol}, fixex_book_best_ask{symbol}, fixex_book_spread{symbol}   prices
  fixex_book_depth{symbol,side}                price levels on each side
  fixex_instrument_halted{symbol}              1 while halted or paused, else 0
  fixex_halts_total{symbol,reason}             halts and pauses begun
  fixex_throttle_hits_total{session}           messages refused by the throttle
  fixex_queue_depth{queue}                     journal, audit_backlog, market_data (events waiting
                                               for the publisher), market_data_journal (input entries
                                               the market-data feed has yet to replay)
  fixex_market_data_unread{session}            messages a subscriber has not confirmed reading
  fixex_market_data_publish_lag_microseconds{quantile}   0.5 and 0.99: event to update sent
  fixex_credit_used_ratio{firm}, fixex_credit_alert{firm}   credit in use / limit; 1 once past 80% today
"""

from __future__ import annotations

import bisect
import collections
import logging
import socket
import socketserver
import threading
from typing import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger("fixex.metrics")

SHUTDOWN_POLL_S = 0.1  # how often the metrics server looks for a stop: 10 wake-ups a second, next to nothing

# Seconds: from 50 µs (the best a Python gateway does) to 1 s (something is badly wrong).
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_BUCKET_BOUNDS_NS = tuple(int(bound * 1e9) for bound in LATENCY_BUCKETS)


class LatencyHistogram:
    """Counts per bucket and a running sum, in nanoseconds; read at scrape time."""

    __slots__ = ("counts", "sum_ns")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKET_BOUNDS_NS) + 1)  # the last is +Inf
        self.sum_ns = 0

    def observe_ns(self, elapsed_ns: int) -> None:
        self.counts[bisect.bisect_left(_BUCKET_BOUNDS_NS, elapsed_ns)] += 1
        self.sum_ns += elapsed_ns

    def cumulative(self) -> list[tuple[str, int]]:
        buckets, running = [], 0
        for bound, count in zip([*(repr(b) for b in LATENCY_BUCKETS), "+Inf"], self.counts):
            running += count
            buckets.append((bound, running))
        return buckets


class VenueCounters:
    """What the writer counts as it goes (under its own lock: no locking here)."""

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.accepted = 0
        self.rejected: collections.Counter[str] = collections.Counter()
        self.executions: collections.Counter[str] = collections.Counter()
        self.volume: collections.Counter[str] = collections.Counter()
        self.latency: dict[str, LatencyHistogram] = collections.defaultdict(LatencyHistogram)
        self.halts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.throttle_hits: collections.Counter[str] = collections.Counter()


class VenueCollector:
    """Metric families for one scrape: the counters, plus gauges read through `gauges` (under the lock)."""

    def __init__(self, counters: VenueCounters, gauges: Callable[[], dict], lock: threading.Lock) -> None:
        self._counters = counters
        self._gauges = gauges
        self._lock = lock

    def collect(self) -> Iterable:
        with self._lock:  # a consistent copy; the writer waits at most this long
            c = self._counters
            received, rejected = dict(c.received), dict(c.rejected)
            executions, volume, accepted = dict(c.executions), dict(c.volume), c.accepted
            latency = {msg_type: (h.cumulative(), h.sum_ns) for msg_type, h in c.latency.items()}
            halts, throttle_hits = dict(c.halts), dict(c.throttle_hits)
            gauges = self._gauges()
        yield _counter("fixex_orders_received", "Order-entry messages received, by MsgType", ["msg_type"],
                       received)
        family = CounterMetricFamily("fixex_orders_accepted", "New orders accepted")
        family.add_metric([], accepted)
        yield family
        yield _counter("fixex_orders_rejected", "Orders rejected, by OrdRejReason", ["reason"], rejected)
        yield _counter("fixex_executions", "Trades, by symbol", ["symbol"], executions)
        yield _counter("fixex_traded_volume", "Quantity traded, by symbol", ["symbol"], volume)
        histogram = HistogramMetricFamily("fixex_message_latency_seconds",
                                          "From an inbound message to its replies sent, by MsgType",
                                          labels=["msg_type"])
        for msg_type, (buckets, sum_ns) in sorted(latency.items()):
            histogram.add_metric([msg_type], buckets, sum_ns / 1e9)
        yield histogram
        yield _counter("fixex_halts", "Halts and pauses begun, by symbol and reason", ["symbol", "reason"], halts)
        yield _counter("fixex_throttle_hits", "Messages refused by the throttle, by session", ["session"],
                       throttle_hits)
        family = GaugeMetricFamily("fixex_sessions_logged_on", "FIX sessions logged on")
        family.add_metric([], gauges["sessions_logged_on"])
        yield family
        for name, help_text in (("best_bid", "Best bid price"), ("best_ask", "Best offer price"),
                                ("spread", "Best offer minus best bid")):
            family = GaugeMetricFamily(f"fixex_book_{name}", help_text, labels=["symbol"])
            for symbol, book in gauges["books"].items():
                if book[name] is not None:
                    family.add_metric([symbol], book[name])
            yield family
        family = GaugeMetricFamily("fixex_book_depth", "Price levels on each side", labels=["symbol", "side"])
        for symbol, book in gauges["books"].items():
            family.add_metric([symbol, "bid"], book["bid_levels"])
            family.add_metric([symbol, "ask"], book["ask_levels"])
        yield family
        family = GaugeMetricFamily("fixex_instrument_halted", "1 while halted or paused", labels=["symbol"])
        for symbol, book in gauges["books"].items():
            family.add_metric([symbol], 1 if book["halted"] else 0)
        yield family
        family = GaugeMetricFamily("fixex_queue_depth", "Work waiting, by queue", labels=["queue"])
        for queue, depth in gauges["queues"].items():
            family.add_metric([queue], depth)
        yield family
        used = GaugeMetricFamily("fixex_credit_used_ratio", "Credit in use over the firm's credit limit",
                                 labels=["firm"])
        alert = GaugeMetricFamily("fixex_credit_alert", "1 once the firm has used 80% of its credit today",
                                  labels=["firm"])
        for firm, (ratio, alerted) in sorted(gauges.get("credit", {}).items()):
            used.add_metric([firm], ratio)
            alert.add_metric([firm], 1 if alerted else 0)
        yield used
        yield alert
        family = GaugeMetricFamily("fixex_market_data_unread", "Messages a subscriber has not confirmed reading",
                                   labels=["session"])
        for session, unread in gauges["market_data_unread"].items():
            family.add_metric([session], unread)
        yield family
        family = GaugeMetricFamily("fixex_market_data_publish_lag_microseconds",
                                   "Event to update sent by the market-data process, over its last updates",
                                   labels=["quantile"])
        for quantile, lag in sorted(gauges.get("market_data_lag_us", {}).items()):
            if lag is not None:
                family.add_metric([quantile], lag)
        yield family


def _counter(name: str, help_text: str, labels: list[str], values: dict) -> CounterMetricFamily:
    family = CounterMetricFamily(name, help_text, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
    return family


def serve_metrics(collector: VenueCollector, host: str, port: int):
    """Expose `collector` at http://host:port/metrics on a daemon thread; returns the server (shutdown())."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server_class = _MetricsServer6 if ":" in host else _MetricsServer
    server = make_server(host, port, make_wsgi_app(registry), server_class, handler_class=_QuietHandler)
    # prometheus_client's start_http_server polls for shutdown every 0.5 s, which every stop then waits out.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                     name="fixex-metrics", daemon=True).start()
    log.info("metrics: http://%s:%d/metrics", host, server.server_port)
    return server


class _MetricsServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds up a stop


class _MetricsServer6(_MetricsServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # a line per scrape is noise
        pass
