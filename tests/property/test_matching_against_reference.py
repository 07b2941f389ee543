"""Random command streams give the same results from the engine and from a naive reference model."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from matching import (
    BookLevelChanged, CancelOrder, Instrument, MatchingEngine, OrderType, ReplaceOrder, SelfTradePrevention,
    Side, SubmitOrder, TimeInForce,
)
from reference_venue import ReferenceVenue, project

TICK, LOT = 10, 1
SESSIONS = [("S1", "FIRM_A"), ("S1b", "FIRM_A"), ("S2", "FIRM_B")]

prices = st.integers(97, 103).map(lambda k: k * TICK) | st.integers(960, 1040)  # mostly on the tick
new_orders = st.tuples(
    st.just("new"),
    st.sampled_from(range(len(SESSIONS))),
    st.sampled_from(Side),
    st.sampled_from([OrderType.LIMIT] * 5 + [OrderType.MARKET, OrderType.STOP, OrderType.STOP_LIMIT] * 2),
    st.sampled_from([TimeInForce.DAY] * 3 + [TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.FOK]),
    st.integers(0, 30),
    prices,
    prices,
    st.sampled_from([None] * 3 + list(SelfTradePrevention)),
    st.sampled_from([None, None, "desk"]),
)
cancels = st.tuples(st.just("cancel"), st.integers(0, 10_000), st.booleans())
replaces = st.tuples(st.just("replace"), st.integers(0, 10_000), st.integers(0, 30), st.none() | prices)
streams = st.lists(st.one_of(new_orders, new_orders, cancels, replaces), min_size=1, max_size=80)


def level_view(engine: MatchingEngine) -> dict:
    book = engine.book("X")
    return {(side, p): (q, n) for side in Side for p, q, n in book.depth(side)}


def engine_book(engine: MatchingEngine) -> list[tuple]:
    return [(o.side, o.price, o.order_id, o.leaves_quantity) for o in engine.book("X").resting_orders()]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams)
def test_engine_and_reference_model_agree_on_every_event_and_the_final_book(stream):
    engine = MatchingEngine([Instrument("X", tick_size=TICK, lot_size=LOT)], clock=itertools.count(1).__next__)
    model = ReferenceVenue(TICK, LOT)
    placed: list[tuple[str, str, str]] = []  # (session, firm, latest ClOrdID) of every order sent
    levels: dict = {}
    ids = itertools.count(1)
    for step in stream:
        if step[0] == "new":
            _, who, side, order_type, tif, quantity, price, stop, stp, smi = step
            session, firm = SESSIONS[who]
            cid = f"C{next(ids)}" if quantity != 13 else "C1"  # now and then a duplicate ClOrdID
            limit = price if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
            stop_price = stop if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None
            events = engine.process(SubmitOrder(
                session, firm, cid, "X", side, order_type, quantity, limit, stop_price, time_in_force=tif,
                self_trade_prevention=stp, self_match_id=smi))
            expected = model.submit(session, firm, cid, side, order_type, quantity, limit, stop_price, tif, stp, smi)
            placed.append((session, firm, cid))
        elif not placed:
            continue
        elif step[0] == "cancel":
            _, pick, foreign = step
            session, firm, orig = placed[pick % len(placed)]
            if foreign:
                firm = "FIRM_Z"
            cid = f"C{next(ids)}"
            events = engine.process(CancelOrder(session, firm, cid, orig))
            expected = model.cancel(session, firm, cid, orig)
        else:
            _, pick, quantity, price = step
            index = pick % len(placed)
            session, firm, orig = placed[index]
            cid = f"C{next(ids)}"
            events = engine.process(ReplaceOrder(session, firm, cid, quantity, orig, price=price))
            expected = model.replace(session, firm, cid, orig, quantity, price)
            if model.by_client_id.get((session, cid)) is not None:
                placed[index] = (session, firm, cid)
        engine.check_invariants()
        assert project(events) == expected, f"step {step}"
        for e in events:
            if isinstance(e, BookLevelChanged):
                if e.quantity:
                    levels[(e.side, e.price)] = (e.quantity, e.order_count)
                else:
                    levels.pop((e.side, e.price), None)
        assert levels == level_view(engine), "the book rebuilt from level events differs"
    assert engine_book(engine) == model.book()
    assert {o.order_id for o in engine.book("X").stop_orders()} == model.waiting_stops()
