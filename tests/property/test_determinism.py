"""Replaying a recorded command stream against the recorded clock gives the same events and book."""

from __future__ import annotations

import random

from matching import AdvanceClock, Instrument, MatchingEngine, OrderType, Side, SubmitOrder, TimeInForce
from matching.bench import StreamRecorder


class RecordingClock:
    """A clock that jumps forward by random amounts, remembering every reading."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 1_700_000_000_000_000_000
        self.readings: list[int] = []

    def __call__(self) -> int:
        self.now += self.rng.randint(1, 50_000)
        self.readings.append(self.now)
        return self.now


def recorded_stream() -> list:
    recorder = StreamRecorder(resting=500, seed=99)
    commands = recorder.prefill(500) + recorder.stream(5_000)
    rng = random.Random(5)
    extra = []
    for i in range(300):  # stops, GTD orders and clock ticks, which the bench stream lacks
        side = rng.choice(list(Side))
        extra.append(SubmitOrder("S9", "S9", f"X{i}", "BENCH", side, OrderType.STOP, rng.randint(1, 50),
                                 stop_price=100_000 + rng.randint(-40, 40)))
        extra.append(SubmitOrder("S9", "S9", f"G{i}", "BENCH", side, OrderType.LIMIT, 5,
                                 price=100_000 + (-60 if side is Side.BUY else 60),
                                 time_in_force=TimeInForce.GTD, expire_time_ns=1_700_000_000_050_000_000 + i))
        extra.append(AdvanceClock())
    mixed = commands[:]
    for i, command in enumerate(extra):
        mixed.insert(rng.randint(500, len(mixed)), command)
    return mixed


def run(commands, clock) -> tuple[list, str]:
    engine = MatchingEngine([Instrument("BENCH")], clock=clock)
    events = [event for command in commands for event in engine.process(command)]
    engine.check_invariants()
    assert len(engine.open_orders()) > 100, "the digest should cover a full book"
    return events, engine.digest()


def test_replaying_a_recorded_stream_gives_identical_events_and_book_digest():
    commands = recorded_stream()
    clock = RecordingClock(seed=1)
    first_events, first_digest = run(commands, clock)
    replayed = iter(clock.readings)
    second_events, second_digest = run(commands, lambda: next(replayed))
    assert len(first_events) > 20_000
    assert second_events == first_events
    assert second_digest == first_digest


def test_a_different_stream_gives_a_different_digest():
    commands = recorded_stream()
    first = run(commands, RecordingClock(seed=1))[1]
    second = run(commands[100:], RecordingClock(seed=1))[1]  # without a hundred of the first orders
    assert first != second
