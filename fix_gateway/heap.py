"""The venue process's garbage-collector policy: no long pauses while trading.

CPython frees almost everything by reference counting; its cyclic collector only finds
cycles. Left at its defaults it also runs a full (oldest-generation) pass now and then,
which walks every object the process holds: the loaded dictionaries, the books, the
market-data state. Measured in `fixex serve` at 1,000 orders/s: 50-70 ms per full pass,
a stall every order in flight waits out, and the whole of the order-entry p99 (7-46 ms;
2.2-2.8 ms with this policy).

So, as latency-sensitive CPython services do:
  - the young generations are collected as usual (short passes over new objects);
  - the full pass never runs on its own while trading;
  - once started, and again when a trading day ends (the venue is quiet), one full
    collection runs and whatever survives it is frozen: moved out of the collector's
    view, so later passes never walk it again. Frozen objects are still freed by
    reference counting; only a cycle among them would wait for the next settle.
"""

from __future__ import annotations

import gc
import logging
import time

__all__ = ["FULL_PASS_NEVER", "settle", "tune_for_trading"]

log = logging.getLogger(__name__)

# Full passes start after this many young-generation passes: never, at one young pass per
# 7,000 allocations or so.
FULL_PASS_NEVER = 1_000_000_000


def tune_for_trading() -> None:
    """Default young-generation thresholds; no automatic full pass."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_NEVER)


def settle() -> float:
    """One full collection, then freeze the survivors; returns the seconds it took."""
    started = time.perf_counter()
    gc.unfreeze()  # what was frozen before is looked at again: the day's garbage cycles go
    collected = gc.collect()
    gc.freeze()
    elapsed = time.perf_counter() - started
    log.info("heap settled: %d unreachable objects collected, %d frozen, in %.0f ms", collected,
             gc.get_freeze_count(), elapsed * 1000)
    return elapsed
