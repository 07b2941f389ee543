"""Pre-trade risk benchmark: `python -m risk.bench` (and `make bench`).

Runs one recorded order stream (matching.bench's: new orders, cancels, replaces and
marketable IOCs, on AAPL at 190.00) through the core three ways, each in its own
fresh venue, and reports the throughput of each:

  off       the matching engine alone
  checks    every pre-trade check the gateway makes, in its order (order limits, price
            collar, credit / position / loss exposure), plus exposure tracking of every
            event, then the engine
  breakers  the same with the circuit breakers (price bands and limit states) on

Every firm gets every limit (with values the stream never reaches, so every check runs
in full and none refuses), which is the most work risk can do per order. The gateway's
own cost per order (FIX parsing, the journal, the reply) is not here: these are the
core's numbers, where a relative overhead shows most.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path

from config import RiskLimits, Settings, load_settings
from fix_gateway.venue import build_engine, build_firm_exposure, build_order_limits, build_price_collars
from matching import ReplaceOrder, SubmitOrder
from matching.bench import MID, StreamRecorder

REPO = Path(__file__).resolve().parents[1]
SYMBOL = "AAPL"
FIRMS = {"S1": ("BROKER1", "FIRM_A"), "S2": ("BROKER2", "FIRM_B"), "S3": ("BROKER3", "FIRM_C"),
         "S4": ("BROKER4", "FIRM_D")}
PRICE_UNITS_AT_190 = 1_900_000  # 190.00 at four decimals
TICK_UNITS = 100


def bench_settings(breakers: bool) -> Settings:
    """The shipped config with every risk limit set, all out of the stream's reach."""
    settings = load_settings(REPO / "config" / "exchange.yaml")
    limits = RiskLimits(max_order_quantity=1_000_000, max_order_notional=Decimal("1e9"),
                        price_collar_percent=Decimal("10"), credit_limit=Decimal("1e13"),
                        max_position=10**12, max_daily_loss=Decimal("1e13"))
    risk = dataclasses.replace(settings.risk, defaults=limits)
    return dataclasses.replace(settings, risk=risk, circuit_breakers=dataclasses.replace(
        settings.circuit_breakers, enabled=breakers))


class OnAapl:
    """matching.bench commands moved to AAPL around 190.00, sent by the BROKERn sessions of FIRM_A..D;
    replaces carry the symbol and side, as a FIX OrderCancelReplaceRequest does."""

    def __init__(self) -> None:
        self.sides: dict[tuple[str, str], object] = {}

    def __call__(self, command):
        session, firm = FIRMS[command.session]
        changes = {"session": session, "firm": firm}
        if isinstance(command, SubmitOrder):
            changes["symbol"] = SYMBOL
            self.sides[(session, command.client_order_id)] = command.side
        elif isinstance(command, ReplaceOrder):
            side = self.sides[(session, command.orig_client_order_id)]
            self.sides[(session, command.client_order_id)] = side
            changes.update(symbol=SYMBOL, side=side)
        if getattr(command, "price", None) is not None:
            changes["price"] = PRICE_UNITS_AT_190 + (command.price - MID) * TICK_UNITS
        return dataclasses.replace(command, **changes)


def measure(resting: int, operations: int, seed: int, mode: str) -> dict[str, float]:
    recorder = StreamRecorder(resting, seed)
    on_aapl = OnAapl()
    prefill = [on_aapl(c) for c in recorder.prefill(resting)]
    stream = [on_aapl(c) for c in recorder.stream(operations)]
    del recorder
    settings = bench_settings(breakers=mode == "breakers")
    clock = iter(range(1, 10**12)).__next__
    engine = build_engine(settings, clock)
    limits = build_order_limits(settings)
    collars = build_price_collars(settings, lambda symbol, units: str(units))
    exposure = build_firm_exposure(settings)
    book = engine.book(SYMBOL)
    process = engine.process
    refused = 0

    def with_risk(command) -> None:
        nonlocal refused
        if type(command) is SubmitOrder:  # the gateway's order of checks (fix_gateway.gateway._apply)
            breach = limits.check(command)
            if breach is None:
                breach = collars.check(command, book.best_bid(), book.best_ask())
            if breach is None:
                breach = exposure.check(command)
            if breach is not None:
                refused += 1
        elif type(command) is ReplaceOrder and command.price is not None:
            if collars.check_price(command.firm, SYMBOL, command.side, command.price, book.best_bid(),
                                   book.best_ask()):
                refused += 1
        exposure.apply(process(command))

    step = process if mode == "off" else with_risk
    for command in prefill:
        step(command)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for command in stream:
            step(command)
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    return {"ops_per_s": len(stream) / (elapsed / 1e9), "mean_us": elapsed / len(stream) / 1000,
            "refused": refused}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m risk.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--resting", default="1000,100000", help="comma-separated book sizes")
    parser.add_argument("--operations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode, interleaved; the best counts")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    print(f"pre-trade risk benchmark: python {platform.python_version()}, {platform.machine()}, "
          f"{args.operations:,} ops per run, best of {args.rounds}")
    print(f"{'resting':>10} {'risk':>9} {'ops/s':>10} {'mean µs':>8}  vs off")
    for size in (int(s) for s in args.resting.split(",")):
        best: dict[str, dict] = {}
        for _ in range(args.rounds):  # interleaved, so a noisy neighbour hurts every mode alike
            for mode in ("off", "checks", "breakers"):
                result = measure(size, args.operations, args.seed, mode)
                if mode not in best or result["ops_per_s"] > best[mode]["ops_per_s"]:
                    best[mode] = result
        for mode in ("off", "checks", "breakers"):
            result = best[mode]
            overhead = best["off"]["ops_per_s"] / result["ops_per_s"] - 1
            print(f"{size:>10,} {mode:>9} {result['ops_per_s']:>10,.0f} {result['mean_us']:>8.2f}  "
                  f"{overhead:+.1%}" + (f"   ({result['refused']} refused)" if result["refused"] else ""))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
