"""A venue for the matching tests: an engine on a hand-driven clock that checks its
invariants after every command, plus terse helpers to place and amend orders."""

from __future__ import annotations

import dataclasses
import itertools

from matching import (
    CancelOrder, EndTradingDay, Event, AdvanceClock, Instrument, MassCancel, MatchingEngine, OrderType,
    QueryOrder, ReplaceOrder, SelfTradePrevention, Side, SubmitOrder, TimeInForce,
)

TICK = 100  # 0.01 at four decimals
AAPL = Instrument("AAPL", tick_size=TICK, lot_size=1, price_decimals=4)
MSFT = Instrument("MSFT", tick_size=TICK, lot_size=1, price_decimals=4)
ROUND_LOTS = Instrument("RLOT", tick_size=TICK, lot_size=100, price_decimals=4)


def px(dollars: float) -> int:
    """Dollars to price units (four decimals), for readable tests."""
    return round(dollars * 10_000)


class Venue:
    def __init__(self, circuit_breakers=None, *, queue_when_halted=True, reference=100.00) -> None:
        self.now = 1_000_000_000
        instruments = [AAPL, MSFT, ROUND_LOTS]
        if circuit_breakers is not None:
            instruments = [dataclasses.replace(i, reference_price=px(reference)) for i in instruments]
        self.engine = MatchingEngine(instruments, clock=lambda: self.now, circuit_breakers=circuit_breakers,
                                     queue_when_halted=queue_when_halted)
        self._ids = itertools.count(1)
        self.history: list[Event] = []

    def do(self, command) -> list[Event]:
        events = self.engine.process(command)
        self.engine.check_invariants()
        self.history.extend(events)
        return events

    def order(self, side: Side, quantity: int, price: float | None, *, symbol="AAPL", session="S1",
              firm="FIRM_A", client_order_id=None, order_type=None, stop=None, tif=TimeInForce.DAY,
              expire=None, stp=None, self_match_id=None) -> list[Event]:
        if order_type is None:
            order_type = OrderType.LIMIT if price is not None else OrderType.MARKET
            if stop is not None:
                order_type = OrderType.STOP_LIMIT if price is not None else OrderType.STOP
        return self.do(SubmitOrder(
            session, firm, client_order_id or f"O{next(self._ids)}", symbol, side, order_type, quantity,
            px(price) if price is not None else None, px(stop) if stop is not None else None, tif, expire,
            stp, self_match_id))

    def buy(self, quantity, price, **kw) -> list[Event]:
        return self.order(Side.BUY, quantity, price, **kw)

    def sell(self, quantity, price, **kw) -> list[Event]:
        return self.order(Side.SELL, quantity, price, **kw)

    def cancel(self, orig=None, *, order_id=None, session="S1", firm="FIRM_A", client_order_id=None):
        return self.do(CancelOrder(session, firm, client_order_id or f"X{next(self._ids)}", orig, order_id))

    def replace(self, orig, quantity, price=None, *, stop=None, session="S1", firm="FIRM_A",
                client_order_id=None, order_id=None):
        return self.do(ReplaceOrder(
            session, firm, client_order_id or f"R{next(self._ids)}", quantity, orig, order_id,
            px(price) if price is not None else None, px(stop) if stop is not None else None))

    def query(self, client_order_id=None, *, order_id=None, session="S1", firm="FIRM_A"):
        return self.do(QueryOrder(session, firm, client_order_id, order_id))

    def mass_cancel(self, *, session="S1", firm="FIRM_A", only_session=None, symbol=None, side=None, **kw):
        request_id = kw.pop("request_id", f"M{next(self._ids)}")
        return self.do(MassCancel(session, firm, request_id, only_session, symbol, side, **kw))

    def tick(self, now: int) -> list[Event]:
        self.now = now
        return self.do(AdvanceClock())

    def end_of_day(self) -> list[Event]:
        return self.do(EndTradingDay())

    def depth(self, side: Side, symbol="AAPL") -> list[tuple[float, int]]:
        """(price in dollars, quantity) per level from the best."""
        return [(p / 10_000, q) for p, q, _ in self.engine.book(symbol).depth(side)]

    def queue(self, side: Side, price: float, symbol="AAPL") -> list[str]:
        """ClOrdIDs at one level, front first."""
        levels = self.engine.book(symbol).side(side)
        level = levels.get(px(price))
        return [o.client_order_id for o in level] if level else []


def seconds(n: float) -> int:
    return round(n * 1_000_000_000)


def of(events, kind):
    """The events of one type, in order."""
    return [e for e in events if isinstance(e, kind)]


def one(events, kind):
    found = of(events, kind)
    assert len(found) == 1, f"expected one {kind.__name__}, got {found}"
    return found[0]
