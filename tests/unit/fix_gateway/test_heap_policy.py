"""The venue's collector policy: no automatic full pass, and a settle that clears cycles and freezes the rest."""

from __future__ import annotations

import gc
import weakref

import pytest

from fix_gateway import heap


@pytest.fixture
def restored_collector():
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_trading_keeps_young_passes_and_turns_off_automatic_full_passes(restored_collector) -> None:
    young, middle, _ = gc.get_threshold()
    heap.tune_for_trading()
    assert gc.get_threshold() == (young, middle, heap.FULL_PASS_NEVER)


def test_settle_collects_an_unreachable_cycle_and_freezes_what_survives(restored_collector) -> None:
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    kept = [_Node()]
    del first, second
    heap.settle()
    assert gone() is None
    assert gc.get_freeze_count() > 0
    assert not any(item is kept for item in gc.get_objects())  # frozen: out of the collector's view


def test_a_cycle_frozen_at_one_settle_is_collected_at_the_next(restored_collector) -> None:
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    heap.settle()  # alive now: frozen with everything else
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is not None  # a frozen cycle is invisible to ordinary passes
    heap.settle()
    assert gone() is None
