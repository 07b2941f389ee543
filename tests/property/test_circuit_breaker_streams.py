"""Random order flow through an engine with circuit breakers: the book stays sound, no continuous trade
prints outside the band in force, every pause ends in an auction, and a replay gives the same events."""

from __future__ import annotations

import random

from matching import (
    AdvanceClock, CancelOrder, CircuitBreakerRules, HaltTrading, Instrument, MatchingEngine, OrderType,
    ResumeTrading, Side, SubmitOrder, TimeInForce, TradeExecuted, TradingPhase, TradingStatusChanged,
    TradingStatusReason,
)

SECOND = 1_000_000_000
TICK = 100
INSTRUMENT = Instrument("LULD", tick_size=TICK, price_decimals=4, reference_price=1_000_000)  # 100.00 at four decimals


def random_flow(seed: int, count: int) -> list[tuple[int, object]]:
    """(nanoseconds to wait, command): orders around a drifting price, with jumps that hit the bands."""
    rng = random.Random(seed)
    mid = 1_000_000
    flow = []
    for i in range(count):
        roll = rng.random()
        wait = rng.choice((1_000, 50_000, SECOND, 5 * SECOND, 20 * SECOND))
        if roll < 0.03:
            flow.append((wait, AdvanceClock()))
            flow.append((rng.choice((16, 31, 301)) * SECOND, AdvanceClock()))
            continue
        if roll < 0.035:
            flow.append((wait, HaltTrading("LULD") if rng.random() < 0.5 else ResumeTrading("LULD")))
            continue
        if roll < 0.15:
            flow.append((wait, CancelOrder("S1", "F1", f"C{i}", f"O{rng.randrange(max(i, 1))}")))
            continue
        if rng.random() < 0.02:
            mid = max(20_000, mid + rng.choice((-1, 1)) * rng.randint(20, 80) * 1_000)  # a jump of 2-8 dollars
        side = rng.choice((Side.BUY, Side.SELL))
        offset = rng.randint(-30, 30) * TICK
        price = max(TICK, (mid + offset) // TICK * TICK)
        kind = rng.random()
        if kind < 0.1:
            command = SubmitOrder("S1", "F1", f"O{i}", "LULD", side, OrderType.MARKET, rng.randint(1, 50))
        else:
            tif = TimeInForce.IOC if kind < 0.2 else TimeInForce.DAY
            command = SubmitOrder(f"S{1 + i % 3}", f"F{1 + i % 3}", f"O{i}", "LULD", side, OrderType.LIMIT,
                                  rng.randint(1, 50), price, time_in_force=tif)
        flow.append((wait, command))
    return flow


def run(flow, clock_readings=None):
    now = [1_700_000_000 * SECOND]
    readings = []

    def clock():
        if clock_readings is not None:
            return next(clock_readings)
        readings.append(now[0])
        return now[0]

    engine = MatchingEngine([INSTRUMENT], clock=clock, circuit_breakers=CircuitBreakerRules())
    book = engine.book("LULD")
    history = []
    for wait, command in flow:
        now[0] += wait
        low, high, phase = book.breaker.band_low, book.breaker.band_high, book.phase
        events = engine.process(command)
        engine.check_invariants()
        for event in events:
            if isinstance(event, TradeExecuted) and event.aggressor_side is not None:
                assert phase is TradingPhase.OPEN, f"a continuous trade while {phase}"
                assert low <= event.price <= high, f"trade at {event.price} outside the band {low}-{high}"
        history.extend(events)
    return history, engine.digest(), readings


def test_random_flow_keeps_every_continuous_trade_inside_the_band_and_the_book_sound():
    history, _, _ = run(random_flow(seed=11, count=2_500))
    reasons = [e.reason for e in history if isinstance(e, TradingStatusChanged)]
    assert TradingStatusReason.LIMIT_STATE_ENTERED in reasons, "the flow should reach the bands"
    assert TradingStatusReason.LIMIT_STATE_TIMEOUT in reasons, "and pause at least once"
    assert TradingStatusReason.PAUSE_ENDED in reasons
    assert sum(isinstance(e, TradeExecuted) and e.aggressor_side is None for e in history) > 0, "auction trades"


def test_replaying_a_flow_with_circuit_breakers_gives_identical_events_and_digest():
    flow = random_flow(seed=23, count=1_500)
    first, digest, readings = run(flow)
    second, replayed_digest, _ = run(flow, iter(readings))
    assert second == first and replayed_digest == digest
