"""Market-data benchmark: `fixex bench --market-data`.

Starts `fixex serve` (its own process, state in a temporary directory) with N extra
FIX 4.4 market-data sessions, logs them on from a lean raw-socket client, subscribes
each to AAPL at depth 10 (bids, offers, trades), and sends orders from one broker at
a fixed rate: passive orders in a 20-tick band around 190.00 (AAPL's reference), one in four crossing,
so the top ten levels keep changing and trades print. It runs the same flow with no
subscribers and with N, and prints order-entry latency (order written to its first
ExecutionReport read) for both, and the publish lag the exchange measured (event to
the update handed to QuickFIX), which it logs when it stops.

The subscribers are read by a process of their own (at nice 10: they stand for remote
machines, and must not take a core from the order client or the venue), so the order
client's timings are the venue's, not the reader's. Both client processes run with the
venue's garbage-collector policy (fix_gateway.heap): a full pass in the client would be
counted as the venue's latency.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import re
import selectors
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fix_gateway import heap
from fix_gateway.bench import SOH, Session, free_port, start_exchange

REPO = Path(__file__).resolve().parents[1]
LAG_LINE = re.compile(r"publish lag \(event to send\) p50 (\d+) us, p99 (\d+) us over (\d+) updates")


class Subscriber(Session):
    """A raw FIX 4.4 market-data session that reads everything and answers TestRequests."""

    def subscribe(self) -> None:
        self.send(b"V", b"262=bench\x01263=1\x01264=10\x01265=1\x01267=3\x01269=0\x01269=1\x01269=2\x01"
                        b"146=1\x0155=AAPL\x01")
        self.updates = 0

    def pump(self) -> None:
        for message in self.read():
            kind = message.get(b"35")
            if kind == b"1":
                self.send(b"0", b"112=" + message[b"112"] + SOH)
            elif kind in (b"W", b"X"):
                self.updates += 1


def write_config(work: Path, subscribers: int, batch_ms: int | None = None) -> Path:
    """The shipped config and sessions, plus FIRM_BENCH with `subscribers` market-data sessions (and the
    publisher's batch interval, when given)."""
    names = [f"MDBENCH{i:03d}" for i in range(1, subscribers + 1)]
    sessions = (REPO / "sessions.cfg").read_text()
    sessions += "".join(f"\n[SESSION]\nBeginString=FIX.4.4\nTargetCompID={name}\nDataDictionary=FIX44.xml\n"
                        "PersistMessages=N\n" for name in names)  # as the shipped market-data sessions
    (work / "sessions.cfg").write_text(sessions)
    config = (REPO / "config" / "exchange.yaml").read_text()
    config = config.replace("sessions_file: sessions.cfg", f"sessions_file: {work / 'sessions.cfg'}")
    if names:
        firm = "  FIRM_BENCH:\n    sessions:\n" + "".join(f"      {n}: {{role: market_data}}\n" for n in names)
        config = config.replace("firms:\n", "firms:\n" + firm, 1)
    if batch_ms is not None:
        shipped = "  batch_milliseconds: 1 "
        if shipped not in config:
            raise RuntimeError(f"config/exchange.yaml has no '{shipped.strip()}' line to change")
        config = config.replace(shipped, f"  batch_milliseconds: {batch_ms} ")
    path = work / "source.yaml"
    path.write_text(config)
    return path


def read_market_data(port: int, subscribers: int, ready, stop, updates) -> None:
    """The subscribers' process: log on, subscribe, report ready once every snapshot is in, read everything
    until `stop` is set, then drain for a second and report the updates read."""
    os.nice(10)
    heap.tune_for_trading()
    heap.settle()
    readers = []
    for i in range(1, subscribers + 1):
        reader = Subscriber(f"MDBENCH{i:03d}", port)
        reader.logon()
        reader.subscribe()
        readers.append(reader)
    selector = selectors.DefaultSelector()
    for reader in readers:
        selector.register(reader.sock, selectors.EVENT_READ, reader)
    deadline = time.monotonic() + 30  # every snapshot in before the flow starts: lag is then updates only
    while any(r.updates == 0 for r in readers):
        if time.monotonic() > deadline:
            updates.send(-1)
            return
        for key, _ in selector.select(timeout=0.05):
            key.data.pump()
    ready.set()
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.05):
            key.data.pump()
    drain_until = time.monotonic() + 1.0
    while time.monotonic() < drain_until:
        for key, _ in selector.select(timeout=0.05):
            key.data.pump()
    updates.send(sum(r.updates for r in readers))
    for reader in readers:
        reader.close()


def wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on the market-data port {port} within {timeout_s:.0f} s")


def run(port: int, market_data_port: int, subscribers: int, rate: int, seconds: float, seed: int) -> dict[str, float]:
    heap.tune_for_trading()
    heap.settle()
    context = multiprocessing.get_context("fork")
    ready, stop = context.Event(), context.Event()
    receive_updates, send_updates = context.Pipe(duplex=False)
    reader_process = context.Process(target=read_market_data, name="md-bench-subscribers",
                                     args=(market_data_port, subscribers, ready, stop, send_updates), daemon=True)
    if subscribers:
        wait_for_port(market_data_port)  # the market-data feed starts after the venue's port opens
        reader_process.start()
        deadline = time.monotonic() + 60
        while not ready.wait(0.1):
            if time.monotonic() > deadline or receive_updates.poll():
                reader_process.kill()
                raise RuntimeError("the subscribers' process got no snapshot within 30 s, or stopped")
    broker = Session("BROKER1", port)  # after the fork: the subscribers' process holds no copy of its socket
    broker.logon()
    selector = selectors.DefaultSelector()
    selector.register(broker.sock, selectors.EVENT_READ, broker)
    rng = random.Random(seed)
    latencies: list[int] = []
    total = int(rate * seconds)
    interval = 1e9 / rate
    cpu_before = time.process_time_ns()
    start = time.perf_counter_ns()
    sent = 0
    while sent < total or broker.sent_at:
        now = time.perf_counter_ns()
        while sent < total and now - start >= sent * interval:
            side = rng.choice((b"1", b"2"))
            offset = rng.randint(0, 10) if rng.random() < 0.75 else -rng.randint(0, 3)  # 1 in 4 crosses
            cents = 19_000 - offset if side == b"1" else 19_000 + offset
            broker.order(b"o%d" % sent, side, b"%d.%02d" % divmod(cents, 100))
            sent += 1
        if time.perf_counter_ns() - start > (seconds + 30) * 1e9:
            raise RuntimeError(f"{len(broker.sent_at)} orders never acknowledged")
        if selector.select(timeout=0.0002):
            for msg_type, cl_ord_id, fields in broker.read_reports():  # reports not split into fields: cheap
                if msg_type == b"8":
                    sent_at = broker.sent_at.pop(cl_ord_id, None)
                    if sent_at is not None:
                        latencies.append(time.perf_counter_ns() - sent_at)
                elif msg_type == b"1":
                    broker.send(b"0", b"112=" + fields[b"112"] + SOH)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    client_cpu_us = (time.process_time_ns() - cpu_before) / 1000 / max(1, total)
    updates = 0
    if subscribers:
        stop.set()
        if not receive_updates.poll(30):
            reader_process.kill()
            raise RuntimeError("the subscribers' process did not report")
        updates = receive_updates.recv()
        reader_process.join(10)
    broker.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000

    return {"orders": total, "orders_per_s": total / elapsed, "p50_us": pct(0.5), "p99_us": pct(0.99),
            "updates": updates, "client_cpu_us": client_cpu_us}


def measure(subscribers: int, rate: int, seconds: float, seed: int, batch_ms: int | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fixex-md-bench-") as work:
        port, market_data_port = free_port(), free_port()
        exchange = start_exchange(Path(work), port, write_config(Path(work), subscribers, batch_ms),
                                  log_level="INFO", market_data_port=market_data_port)
        try:
            result = run(port, market_data_port, subscribers, rate, seconds, seed)
        finally:
            exchange.terminate()
            output, _ = exchange.communicate(timeout=60)
        match = LAG_LINE.search(output.decode(errors="replace"))
        result["lag_p50_us"], result["lag_p99_us"] = (int(match[1]), int(match[2])) if match else (0, 0)
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fixex bench --market-data", description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=50)
    # 5,000/s is at or past what the venue sustains for this flow on 2 cores (a quarter of the orders
    # trading, auditor and market-data process beside it): queueing would swamp what is measured, so the
    # default is a rate it keeps up with.
    parser.add_argument("--rate", type=int, default=1000, help="orders per second (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--batch-ms", type=int, help="the publisher's market_data.batch_milliseconds "
                                                     "(default: the shipped config's)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="pairs of runs (without, with subscribers), interleaved; the medians are compared, "
                             "since one run's p99 on a shared machine is at the mercy of its neighbours")
    args = parser.parse_args(argv)
    print(f"market-data benchmark: python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cpus; {args.rate:,} orders/s for {args.seconds:g} s, depth 10"
          + (f", publisher batch {args.batch_ms} ms" if args.batch_ms is not None else ""))
    print(f"{'subscribers':>11} {'orders/s':>9} {'order p50 µs':>13} {'order p99 µs':>13} {'updates read':>13} "
          f"{'lag p50 µs':>11} {'lag p99 µs':>11} {'client µs':>9}")
    results: dict[int, list[dict[str, float]]] = {0: [], args.subscribers: []}
    for _ in range(max(1, args.repeat)):
        for count in (0, args.subscribers):
            result = measure(count, args.rate, args.seconds, args.seed, args.batch_ms)
            results[count].append(result)
            print(f"{count:>11} {result['orders_per_s']:>9,.0f} {result['p50_us']:>13.0f} "
                  f"{result['p99_us']:>13.0f} {result['updates']:>13,} {result['lag_p50_us'] or '-':>11} "
                  f"{result['lag_p99_us'] or '-':>11} {result['client_cpu_us']:>9.1f}")
            sys.stdout.flush()
    base, loaded = (statistics.median(r["p99_us"] for r in results[n]) for n in (0, args.subscribers))
    base_p50, loaded_p50 = (statistics.median(r["p50_us"] for r in results[n]) for n in (0, args.subscribers))
    runs = f"median of {len(results[0])} runs each" if len(results[0]) > 1 else "one run each"
    print(f"order-entry p50 with {args.subscribers} subscribers: {loaded_p50 / base_p50:.2f}x the p50 without; "
          f"p99: {loaded / base:.2f}x the p99 without (target: at most 1.10x); {runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
