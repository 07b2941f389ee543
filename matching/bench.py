"""Matching-core benchmark: `python -m matching.bench`.

A seeded mixed stream (about 60% new passive limit, 25% cancel, 10% replace, 5%
marketable) runs against one book pre-filled with N resting orders. The stream is
first recorded by running it once (so every cancel and replace names a live order),
then replayed against a fresh copy of the pre-filled book: untimed per operation for
throughput (the best of several passes, each pass over every book size in turn), then
once with a timer around every operation for latency.
Marketable orders are sized so that the book stays near N orders.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import platform
import random
import statistics
import sys
import time

from matching import COMPILED
from matching.breakers import CircuitBreakerRules
from matching.commands import CancelOrder, Command, ReplaceOrder, SubmitOrder
from matching.engine import MatchingEngine
from matching.events import OrderAccepted, OrderCancelled, OrderExpired, OrderFilled
from matching.frozen import NATIVE as NATIVE_INIT
from matching.types import Instrument, OrderType, Side, TimeInForce

SYMBOL = "BENCH"
MID = 100_000
SESSIONS = ("S1", "S2", "S3", "S4")


def new_engine(breakers: bool = False) -> MatchingEngine:
    """The bench's engine; with `breakers`, LULD bands (5% around MID) watch every command."""
    if breakers:
        return MatchingEngine([Instrument(SYMBOL, tick_size=1, lot_size=1, reference_price=MID)],
                              clock=itertools.count(1).__next__, circuit_breakers=CircuitBreakerRules())
    return MatchingEngine([Instrument(SYMBOL, tick_size=1, lot_size=1)], clock=itertools.count(1).__next__)


class StreamRecorder:
    """Runs a seeded stream once, keeping the commands and which orders are live."""

    def __init__(self, resting: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.engine = new_engine()
        self.levels = max(50, resting // 250)  # price levels per side
        self.live: list[tuple[str, str]] = []  # (session, ClOrdID) of live orders
        self.where: dict[tuple[str, str], int] = {}  # key -> index in live
        self.by_order_id: dict[int, tuple[str, str]] = {}
        self.current_id: dict[tuple[str, str], str] = {}  # original key -> latest ClOrdID
        self.quantity: dict[tuple[str, str], int] = {}
        self.price: dict[tuple[str, str], int] = {}
        self.side: dict[tuple[str, str], Side] = {}
        self.counter = 0
        self.average_quantity = 50
        self.target = resting

    def _id(self) -> str:
        self.counter += 1
        return f"C{self.counter}"

    def run(self, command: Command) -> None:
        for event in self.engine.process(command):
            if isinstance(event, OrderAccepted):
                key = (event.session, event.client_order_id)
                self.by_order_id[event.order_id] = key
                self.where[key] = len(self.live)
                self.live.append(key)
            elif isinstance(event, (OrderCancelled, OrderExpired)) or (
                isinstance(event, OrderFilled) and event.leaves_quantity == 0
            ):
                self._forget(self.by_order_id[event.order_id])

    def _forget(self, key: tuple[str, str]) -> None:
        index = self.where.pop(key, None)
        if index is None:
            return
        last = self.live.pop()
        if index < len(self.live):
            self.live[index] = last
            self.where[last] = index

    def passive_price(self, side: Side) -> int:
        book = self.engine.book(SYMBOL)
        if side is Side.BUY:
            ceiling = (book.best_ask() or MID + 1) - 1
            return min(ceiling, MID - self.rng.randint(0, self.levels - 1))
        floor = (book.best_bid() or MID - 1) + 1
        return max(floor, MID + 1 + self.rng.randint(0, self.levels - 1))

    def new_passive(self) -> SubmitOrder:
        side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
        session = self.rng.choice(SESSIONS)
        client_id = self._id()
        quantity = self.rng.randint(1, 99)
        price = self.passive_price(side)
        key = (session, client_id)
        self.current_id[key], self.quantity[key], self.price[key], self.side[key] = client_id, quantity, price, side
        return SubmitOrder(session, session, client_id, SYMBOL, side, OrderType.LIMIT, quantity, price)

    def cancel(self) -> CancelOrder | None:
        if not self.live:
            return None
        key = self.rng.choice(self.live)
        return CancelOrder(key[0], key[0], self._id(), orig_client_order_id=self.current_id[key])

    def replace(self) -> ReplaceOrder | None:
        if not self.live:
            return None
        key = self.rng.choice(self.live)
        new_id = self._id()
        orig = self.current_id[key]
        self.current_id[key] = new_id
        if self.rng.random() < 0.5 and self.quantity[key] > 1:  # smaller: keeps priority
            self.quantity[key] = quantity = self.rng.randint(1, self.quantity[key] - 1)
            return ReplaceOrder(key[0], key[0], new_id, quantity, orig_client_order_id=orig)
        self.price[key] = price = self.passive_price(self.side[key])  # new price: loses priority
        return ReplaceOrder(key[0], key[0], new_id, self.quantity[key], orig_client_order_id=orig, price=price)

    def marketable(self) -> SubmitOrder:
        side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
        session = self.rng.choice(SESSIONS)
        # Takes about seven resting orders on average, more while the book is above its target
        # size, so adds and removals balance and the book stays near the size being measured.
        pressure = max(0.5, len(self.live) / self.target)
        quantity = self.rng.randint(1, int(14 * self.average_quantity * pressure))
        book = self.engine.book(SYMBOL)
        best = book.best_ask() if side is Side.BUY else book.best_bid()
        reference = best if best is not None else MID
        price = reference + 50 if side is Side.BUY else reference - 50
        return SubmitOrder(session, session, self._id(), SYMBOL, side, OrderType.LIMIT, quantity, price,
                           time_in_force=TimeInForce.IOC)

    def prefill(self, resting: int) -> list[Command]:
        commands: list[Command] = []
        while len(self.live) < resting:
            command = self.new_passive()
            commands.append(command)
            self.run(command)
        return commands

    def stream(self, operations: int) -> list[Command]:
        commands: list[Command] = []
        rng = self.rng
        while len(commands) < operations:
            draw = rng.random()
            if draw < 0.60:
                command = self.new_passive()
            elif draw < 0.85:
                command = self.cancel()
            elif draw < 0.95:
                command = self.replace()
            else:
                command = self.marketable()
            if command is not None:
                commands.append(command)
                self.run(command)
        return commands


def kind_of(command: Command) -> str:
    if isinstance(command, SubmitOrder):
        return "marketable" if command.time_in_force is TimeInForce.IOC else "new"
    return "cancel" if isinstance(command, CancelOrder) else "replace"


def core_build() -> str:
    """Which core runs, for the figures' reader: compiled (matching.compiled) or the Python source."""
    native_events = "C event __init__" if NATIVE_INIT else "Python event __init__"
    return f"{'compiled core (Cython)' if COMPILED else 'core from Python source'}, {native_events}"


def percentile(sorted_values: list[int], fraction: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def measure_all(sizes: list[int], modes: list[bool], operations: int, seed: int, passes: int = 3,
                ) -> dict[tuple[int, bool], dict[str, float]]:
    """Every book size (and breakers mode) measured, keyed by (size, breakers).

    Throughput: the fastest of `passes` untimed passes over the stream, each on a fresh engine. Each
    pass runs every size in turn, so a slow minute on this shared host (single passes run up to 40%
    slow for seconds at a time) falls on the sizes alike and the ratios between them compare like with
    like. Latency: one more, timed pass per size."""
    recorded = {}
    for size in sizes:
        recorder = StreamRecorder(size, seed)
        prefill = recorder.prefill(size)
        stream = recorder.stream(operations)
        recorded[size] = (prefill, stream, len(recorder.live))
        del recorder
    cases = [(size, breakers) for size in sizes for breakers in modes]

    def fresh(size: int, breakers: bool) -> MatchingEngine:
        engine = new_engine(breakers)
        for command in recorded[size][0]:
            engine.process(command)
        return engine

    gc.collect()
    gc.disable()  # the collector's pauses would be noise here; the venue tunes its thresholds instead
    fastest: dict[tuple[int, bool], int] = {}
    latencies_by_case: dict[tuple[int, bool], list[int]] = {}
    try:
        for _ in range(passes):
            for case in cases:
                engine = fresh(*case)
                process = engine.process
                stream = recorded[case[0]][1]
                start = time.perf_counter_ns()
                for command in stream:
                    process(command)
                took = time.perf_counter_ns() - start
                fastest[case] = min(took, fastest.get(case, took))
                del engine, process
                gc.collect()  # the previous engine's books, before the next is filled
        for case in cases:
            engine = fresh(*case)
            process = engine.process
            clock = time.perf_counter_ns
            latencies = latencies_by_case[case] = []
            record = latencies.append
            for command in recorded[case[0]][1]:
                begin = clock()
                process(command)
                record(clock() - begin)
            del engine, process
            gc.collect()
    finally:
        gc.enable()
    results = {}
    for case in cases:
        size = case[0]
        stream, latencies = recorded[size][1], latencies_by_case[case]
        by_kind: dict[str, list[int]] = {}
        for command, latency in zip(stream, latencies):
            by_kind.setdefault(kind_of(command), []).append(latency)
        latencies.sort()
        results[case] = {
            "by_kind": {kind: (len(values), statistics.median(values) / 1000, statistics.fmean(values) / 1000)
                        for kind, values in sorted(by_kind.items())},
            "resting": size,
            "final_resting": recorded[size][2],
            "operations": operations,
            "ops_per_s": operations / (fastest[case] / 1e9),
            "p50_us": percentile(latencies, 0.50) / 1000,
            "p99_us": percentile(latencies, 0.99) / 1000,
            "p999_us": percentile(latencies, 0.999) / 1000,
            "mean_us": statistics.fmean(latencies) / 1000,
        }
    return results


def measure(resting: int, operations: int, seed: int, breakers: bool = False, passes: int = 3) -> dict[str, float]:
    """One book size's figures (see measure_all)."""
    return measure_all([resting], [breakers], operations, seed, passes)[(resting, breakers)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matching.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--resting", default="1000,100000,1000000",
                        help="comma-separated book sizes (resting orders) to measure at")
    parser.add_argument("--operations", type=int, default=300_000, help="operations in the timed stream")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--passes", type=int, default=3,
                        help="untimed passes per book size; ops/s is the fastest (default 3)")
    parser.add_argument("--breakers", default="off", choices=["on", "off", "both"],
                        help="circuit breakers (price bands, limit state) off, on, or both in turn (default off)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.resting.split(",")]
    print(f"matching core benchmark: python {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.machine()}, {operations_text(args.operations)} ops, seed {args.seed}, ops/s the best of "
          f"{args.passes} passes; {core_build()}")
    print(f"{'resting':>10} {'breakers':>8} {'ops/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9} "
          f"{'mean µs':>8}  ratio")
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.breakers]
    results = measure_all(sizes, modes, args.operations, args.seed, args.passes)
    first = None
    for size in sizes:
        for breakers in modes:
            result = results[(size, breakers)]
            first = first or result["ops_per_s"]
            print(f"{size:>10,} {'on' if breakers else 'off':>8} {result['ops_per_s']:>10,.0f} "
                  f"{result['p50_us']:>8.2f} {result['p99_us']:>8.2f} {result['p999_us']:>9.2f} "
                  f"{result['mean_us']:>8.2f}  {result['ops_per_s'] / first:.2f}"
                  f"   (book ended at {result['final_resting']:,})")
        print("           by kind (count, p50 µs, mean µs): " + "; ".join(
            f"{kind} {count:,} {p50:.1f} {mean:.1f}" for kind, (count, p50, mean) in result["by_kind"].items()))
        sys.stdout.flush()
    return 0


def operations_text(count: int) -> str:
    return f"{count:,}"


if __name__ == "__main__":
    raise SystemExit(main())
