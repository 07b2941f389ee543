"""An obviously correct, slow model of the matching rules, for property tests.

Orders live in plain lists; the best opposite order is found by scanning them all
with `min()`. It reports what happened as plain tuples, in the same order as the
engine's events (see `project`), so a test can compare the two step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching import (
    CancelRejected, CancelReason, CancelRejectReason, OrderAccepted, OrderCancelled, OrderFilled,
    OrderRejected, OrderRejectReason, OrderReplaced, OrderRestated, OrderTriggered, SelfTradePrevention,
    Side, TimeInForce, TradeExecuted,
)
from matching.types import OrderType

STP = SelfTradePrevention


def project(events) -> list[tuple]:
    """The engine's events as the reference model's tuples (level changes are checked elsewhere)."""
    out = []
    for e in events:
        if isinstance(e, OrderAccepted):
            out.append(("accepted", e.order_id))
        elif isinstance(e, OrderRejected):
            out.append(("rejected", e.reason))
        elif isinstance(e, OrderFilled):
            out.append(("fill", e.order_id, e.last_price, e.last_quantity, e.cum_quantity, e.leaves_quantity))
        elif isinstance(e, TradeExecuted):
            out.append(("trade", e.price, e.quantity, e.buy_order_id, e.sell_order_id))
        elif isinstance(e, OrderCancelled):
            out.append(("cancelled", e.order_id, e.cancelled_quantity, e.reason))
        elif isinstance(e, OrderReplaced):
            out.append(("replaced", e.order_id, e.quantity, e.price, e.leaves_quantity, e.priority_kept))
        elif isinstance(e, OrderRestated):
            out.append(("restated", e.order_id, e.leaves_quantity))
        elif isinstance(e, OrderTriggered):
            out.append(("triggered", e.order_id))
        elif isinstance(e, CancelRejected):
            out.append(("cancel_rejected", e.reason))
    return out


@dataclass
class RefOrder:
    order_id: int
    session: str
    firm: str
    client_order_id: str
    side: Side
    order_type: OrderType
    tif: TimeInForce
    quantity: int
    price: int | None
    stop_price: int | None
    stp: STP | None
    stp_key: str
    cum: int = 0
    leaves: int = 0
    open: bool = True
    time: int = 0  # when it rested (or re-rested)
    stop_time: int = 0  # when it joined the waiting stops


class ReferenceVenue:
    def __init__(self, tick: int, lot: int) -> None:
        self.tick, self.lot = tick, lot
        self.resting: list[RefOrder] = []
        self.stops: list[RefOrder] = []
        self.by_client_id: dict[tuple[str, str], RefOrder] = {}
        self.last: int | None = None
        self.high: int | None = None
        self.low: int | None = None
        self.clock = 0
        self.next_id = 1
        self.out: list[tuple] = []

    # -- commands ---------------------------------------------------------------

    def submit(self, session, firm, cid, side, order_type, quantity, price, stop_price, tif, stp, smi):
        self.out, self.high, self.low = [], None, None
        reason = self._new_order_problem(session, cid, order_type, quantity, price, stop_price)
        if reason is not None:
            self.out.append(("rejected", reason))
            return self.out
        order = RefOrder(self.next_id, session, firm, cid, side, order_type, tif, quantity, price, stop_price,
                         stp, firm if smi is None else f"{firm}/{smi}", leaves=quantity)
        self.next_id += 1
        self.by_client_id[(session, cid)] = order
        self.out.append(("accepted", order.order_id))
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            if self.last is not None and self._reached(order, self.last, self.last):
                self._trigger(order)
            else:
                self._wait(order)
                return self.out
        else:
            self._execute(order)
        self._run_triggers()
        return self.out

    def cancel(self, session, firm, cid, orig):
        self.out, self.high, self.low = [], None, None
        order = self._amendable(session, firm, cid, orig)
        if order is None:
            return self.out
        self.by_client_id[(session, cid)] = order
        order.client_order_id = cid
        self._unbook(order)
        self._cancel(order, CancelReason.REQUESTED)
        return self.out

    def replace(self, session, firm, cid, orig, quantity, price):
        self.out, self.high, self.low = [], None, None
        order = self._amendable(session, firm, cid, orig)
        if order is None:
            return self.out
        if quantity <= 0 or quantity % self.lot:
            self.out.append(("cancel_rejected", CancelRejectReason.OTHER))
            return self.out
        if price is not None:
            has_limit = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
            if not has_limit or price <= 0:
                self.out.append(("cancel_rejected", CancelRejectReason.OTHER))
                return self.out
            if price % self.tick:
                self.out.append(("cancel_rejected", CancelRejectReason.INVALID_PRICE_INCREMENT))
                return self.out
        self.by_client_id[(session, cid)] = order
        order.client_order_id = cid
        if quantity <= order.cum:
            self._unbook(order)
            self._cancel(order, CancelReason.REPLACED_BELOW_EXECUTED)
            return self.out
        waiting = order in self.stops
        new_price = order.price if price is None else price
        keeps = new_price == order.price and quantity <= order.quantity
        if not keeps:
            self._unbook(order)
        order.leaves = quantity - order.cum
        order.quantity = quantity
        order.price = new_price
        self.out.append(("replaced", order.order_id, quantity, new_price, order.leaves, keeps))
        if keeps:
            return self.out
        if waiting:
            if self.last is not None and self._reached(order, self.last, self.last):
                self._trigger(order)
                self._run_triggers()
            else:
                self._wait(order)
        else:
            self._execute(order)
            self._run_triggers()
        return self.out

    # -- rules ------------------------------------------------------------------

    def _new_order_problem(self, session, cid, order_type, quantity, price, stop_price):
        if quantity <= 0 or quantity % self.lot:
            return OrderRejectReason.INCORRECT_QUANTITY
        needs_price = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        for value, needed in ((price, needs_price), (stop_price, needs_stop)):
            if needed != (value is not None) or (value is not None and value <= 0):
                return OrderRejectReason.OTHER
            if value is not None and value % self.tick:
                return OrderRejectReason.INVALID_PRICE_INCREMENT
        if (session, cid) in self.by_client_id:
            return OrderRejectReason.DUPLICATE_ORDER
        return None

    def _amendable(self, session, firm, cid, orig):
        order = self.by_client_id.get((session, orig))
        if order is None or order.firm != firm:
            self.out.append(("cancel_rejected", CancelRejectReason.UNKNOWN_ORDER))
            return None
        if not order.open:
            self.out.append(("cancel_rejected", CancelRejectReason.TOO_LATE_TO_CANCEL))
            return None
        if (session, cid) in self.by_client_id:
            self.out.append(("cancel_rejected", CancelRejectReason.DUPLICATE_CLORDID))
            return None
        return order

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def _wait(self, order):
        order.stop_time = self._tick()
        self.stops.append(order)

    def _unbook(self, order):
        if order in self.resting:
            self.resting.remove(order)
        if order in self.stops:
            self.stops.remove(order)

    def _cancel(self, order, reason):
        self.out.append(("cancelled", order.order_id, order.leaves, reason))
        order.leaves, order.open = 0, False

    @staticmethod
    def _crosses(order, price) -> bool:
        if order.price is None:
            return True
        return price <= order.price if order.side is Side.BUY else price >= order.price

    def _queue(self, order) -> list[RefOrder]:
        """Opposite resting orders this order may trade with, best first."""
        opposite = [r for r in self.resting if r.side is not order.side and self._crosses(order, r.price)]
        sign = 1 if order.side is Side.BUY else -1
        return sorted(opposite, key=lambda r: (sign * r.price, r.time))

    def _execute(self, order):
        if order.tif is TimeInForce.FOK and not self._fok_possible(order):
            self._cancel(order, CancelReason.FILL_OR_KILL)
            return
        self._match(order)
        if not order.open:
            return
        if order.price is None:
            self._cancel(order, CancelReason.NO_LIQUIDITY)
        elif order.tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._cancel(order, CancelReason.IMMEDIATE_OR_CANCEL)
        else:
            order.time = self._tick()
            self.resting.append(order)

    def _fok_possible(self, order) -> bool:
        needed = order.leaves
        for resting in self._queue(order):
            if order.stp is not None and resting.stp_key == order.stp_key:
                return False
            needed -= resting.leaves
            if needed <= 0:
                return True
        return False

    def _match(self, order):
        while order.open:
            queue = self._queue(order)
            if not queue:
                return
            resting = queue[0]
            if order.stp is not None and resting.stp_key == order.stp_key:
                self._prevent_self_trade(order, resting)
                continue
            quantity = min(order.leaves, resting.leaves)
            price = resting.price
            for o in (order, resting):
                o.cum += quantity
                o.leaves -= quantity
                self.out.append(("fill", o.order_id, price, quantity, o.cum, o.leaves))
            buyer, seller = (order, resting) if order.side is Side.BUY else (resting, order)
            self.out.append(("trade", price, quantity, buyer.order_id, seller.order_id))
            for o in (order, resting):
                if o.leaves == 0:
                    o.open = False
                    self._unbook(o)
            self.last = price
            self.high = price if self.high is None else max(self.high, price)
            self.low = price if self.low is None else min(self.low, price)

    def _prevent_self_trade(self, incoming, resting):
        mode = incoming.stp
        reason = CancelReason.SELF_TRADE_PREVENTION
        if mode is STP.DECREMENT_AND_CANCEL:
            decrement = min(incoming.leaves, resting.leaves)
            for o in (resting, incoming):
                if o.leaves == decrement:
                    self._unbook(o)
                    self._cancel(o, reason)
                else:
                    o.leaves -= decrement
                    o.quantity -= decrement
                    self.out.append(("restated", o.order_id, o.leaves))
            return
        if mode in (STP.CANCEL_RESTING, STP.CANCEL_BOTH):
            self._unbook(resting)
            self._cancel(resting, reason)
        if mode in (STP.CANCEL_INCOMING, STP.CANCEL_BOTH):
            self._cancel(incoming, reason)

    @staticmethod
    def _reached(order, high, low) -> bool:
        return high >= order.stop_price if order.side is Side.BUY else low <= order.stop_price

    def _trigger(self, order):
        self.out.append(("triggered", order.order_id))
        self._execute(order)

    def _run_triggers(self):
        pending = self._take_triggered()
        while pending:
            order = pending.pop(0)
            self._trigger(order)
            pending.extend(self._take_triggered())

    def _take_triggered(self) -> list[RefOrder]:
        if self.high is None:
            return []
        high, low = self.high, self.low
        self.high = self.low = None
        buys = sorted((o for o in self.stops if o.side is Side.BUY and o.stop_price <= high),
                      key=lambda o: (o.stop_price, o.stop_time))
        sells = sorted((o for o in self.stops if o.side is Side.SELL and o.stop_price >= low),
                       key=lambda o: (-o.stop_price, o.stop_time))
        for o in buys + sells:
            self.stops.remove(o)
        return buys + sells

    # -- views ------------------------------------------------------------------

    def book(self) -> list[tuple]:
        """(side, price, order id, leaves) for every resting order, best first, FIFO within a price."""
        bids = sorted((o for o in self.resting if o.side is Side.BUY), key=lambda o: (-o.price, o.time))
        asks = sorted((o for o in self.resting if o.side is Side.SELL), key=lambda o: (o.price, o.time))
        return [(o.side, o.price, o.order_id, o.leaves) for o in bids + asks]

    def waiting_stops(self) -> set[int]:
        return {o.order_id for o in self.stops}
