"""One instrument's order book: price levels per side, FIFO within a level, and its stop orders.

Each level is an intrusive doubly linked list of orders, so appending at the back,
taking from the front and removing an order found through the engine's order-id
index are all O(1). Levels sit in a `SortedDict` keyed by integer price.
"""

from __future__ import annotations

import hashlib
from typing import Iterator

from sortedcontainers import SortedDict

from matching.breakers import InstrumentBreaker, TradingPhase, TradingStatusReason
from matching.frozen import dict_del_item, dict_set_item
from matching.types import Instrument, OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce

# Module constants, not Side.BUY: on CPython 3.11 every attribute read on an Enum class goes through
# EnumType.__getattr__'s hook, about three times the cost of a global.
BUY = Side.BUY
NEW = OrderStatus.NEW


def lowest_key(levels: SortedDict) -> int:
    """The smallest key of a non-empty SortedDict.

    sortedcontainers keeps keys in a list of sorted sublists; reading its ends
    directly costs about 10 ns against 270 ns for keys()[0], on the hottest line
    of matching. A test pins these two helpers to the public API's answer.
    """
    return levels._list._lists[0][0]


class LevelKeys:
    """One side's price levels (a SortedDict, price -> PriceLevel) and the parts of its sorted key list that
    add_level and drop_level change, read once.

    sortedcontainers changes those lists in place and never binds new ones (only its __init__ and _reset,
    which nothing here calls, do), so they can be kept: compiled, each is a struct member where reading it
    through the SortedList was an instance-dictionary lookup, five of them for every level that opened or
    closed. check_invariants checks they are still the SortedList's own.
    """

    __slots__ = ("levels", "sorted_keys", "lists", "maxes", "positions", "load")

    def __init__(self, levels: SortedDict) -> None:
        self.levels = levels
        self.sorted_keys = levels._list
        self.lists: list[list[int]] = self.sorted_keys._lists
        self.maxes: list[int] = self.sorted_keys._maxes
        self.positions: list[int] = self.sorted_keys._index  # its positional index, built on a positional read
        self.load: int = self.sorted_keys._load

    def are_the_sorted_dicts_own(self) -> bool:
        keys = self.levels._list
        return (keys is self.sorted_keys and keys._lists is self.lists and keys._maxes is self.maxes
                and keys._index is self.positions and keys._load == self.load)


def add_level(side: LevelKeys, level: PriceLevel) -> None:
    """side.levels[level.price] = level, for a price it does not hold yet.

    SortedDict.__setitem__ without its membership test, and its sorted key list's `add` without a
    Python frame: compiled, the core otherwise ran two Python frames (some 6,000 instructions) for every
    price level that appears. Only the common case is done here: no sublist to split and no positional
    index to update; anything else goes to sortedcontainers' own `add`. A test pins these helpers to the
    public API's answer.
    """
    price = level.price
    dict_set_item(side.levels, price, level)
    maxes = side.maxes
    if maxes and not side.positions:
        position = _bisect_right(maxes, price)
        if position == len(maxes):
            sublist = side.lists[position - 1]
            if len(sublist) < side.load << 1:
                sublist.append(price)
                maxes[position - 1] = price
                side.sorted_keys._len += 1
                return
        else:
            sublist = side.lists[position]
            if len(sublist) < side.load << 1:
                sublist.insert(_bisect_right(sublist, price), price)
                side.sorted_keys._len += 1
                return
    side.sorted_keys.add(price)


def drop_level(side: LevelKeys, price: int) -> None:
    """del side.levels[price], for a price it holds (see add_level: the common case of the key list's
    `remove` without a Python frame, everything else through it)."""
    dict_del_item(side.levels, price)
    if not side.positions:
        maxes = side.maxes
        lists = side.lists
        position = _bisect_left(maxes, price)
        sublist = lists[position]
        remaining = len(sublist) - 1
        # sortedcontainers merges a sublist left at half its load or less into a neighbour, and drops an
        # emptied one; neither happens here
        if remaining > side.load >> 1 or (remaining and len(lists) == 1):
            del sublist[_bisect_left(sublist, price)]
            maxes[position] = sublist[-1]
            side.sorted_keys._len -= 1
            return
    side.sorted_keys.remove(price)


def _bisect_left(values: list, value: int) -> int:
    """bisect.bisect_left, which compiled is a C loop where bisect's is a Python call."""
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) >> 1
        if values[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


def _bisect_right(values: list, value: int) -> int:
    """bisect.bisect_right (see _bisect_left)."""
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) >> 1
        if value < values[middle]:
            high = middle
        else:
            low = middle + 1
    return low


def highest_key(levels: SortedDict) -> int:
    """The largest key of a non-empty SortedDict (see lowest_key)."""
    return levels._list._lists[-1][-1]


class Order:
    """An order's mutable state inside the core. Never leaves it: events carry copies."""

    __slots__ = (
        "order_id", "session", "firm", "client_order_id", "symbol", "side", "order_type",
        "time_in_force", "quantity", "price", "stop_price", "expire_time_ns",
        "stp", "stp_key", "cum_quantity", "leaves_quantity", "cum_notional", "status",
        "priority", "level", "prev", "next", "protection_price", "prev_in_session", "next_in_session",
    )

    def __init__(
        self, order_id: int, session: str, firm: str, client_order_id: str, symbol: str,
        side: Side, order_type: OrderType, time_in_force: TimeInForce, quantity: int,
        price: int | None, stop_price: int | None, expire_time_ns: int | None,
        stp: SelfTradePrevention | None, self_match_id: str | None,
    ) -> None:
        self.order_id = order_id
        self.session = session
        self.firm = firm
        self.client_order_id = client_order_id
        self.symbol = symbol
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.quantity = quantity
        self.price = price
        self.stop_price = stop_price
        self.expire_time_ns = expire_time_ns
        self.stp = stp
        # The self-trade key is the firm, narrowed by an explicit self-match id when given.
        self.stp_key = firm if self_match_id is None else f"{firm}\x00{self_match_id}"
        self.cum_quantity = 0
        self.leaves_quantity = quantity
        self.cum_notional = 0
        self.status = NEW
        self.priority = 0  # set when it rests: lower is earlier; renewed when a replace loses priority
        self.level: PriceLevel | None = None
        self.prev: Order | None = None
        self.next: Order | None = None
        self.protection_price: int | None = None  # MARKET orders: the worst price they may trade at
        # Its neighbours among its session's open orders (OpenOrders), while it is open.
        self.prev_in_session: Order | None = None
        self.next_in_session: Order | None = None

    def __repr__(self) -> str:
        return (
            f"Order(id={self.order_id}, {self.side.value} {self.leaves_quantity}/{self.quantity} "
            f"{self.symbol} @ {self.price} {self.order_type.value} {self.status.value})"
        )


class PriceLevel:
    """The orders resting at one price on one side, oldest first.

    `touched`, `quantity_before` and `count_before` belong to the engine: the level's state before the
    first change in the command being processed, for the BookLevelChanged it reports at the end.
    """

    __slots__ = ("price", "side", "head", "tail", "quantity", "count", "touched", "quantity_before", "count_before")

    def __init__(self, price: int, side: Side) -> None:
        self.price = price
        self.side = side
        self.head: Order | None = None
        self.tail: Order | None = None
        self.quantity = 0
        self.count = 0
        self.touched = False
        self.quantity_before = 0
        self.count_before = 0

    def append(self, order: Order) -> None:
        tail = self.tail
        order.level = self
        order.prev = tail
        order.next = None
        if tail is None:
            self.head = order
        else:
            tail.next = order
        self.tail = order
        self.quantity += order.leaves_quantity
        self.count += 1

    def unlink(self, order: Order) -> None:
        """Take `order` out; the caller has already subtracted or zeroed its leaves."""
        prev, nxt = order.prev, order.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        order.level = order.prev = order.next = None
        self.count -= 1

    def __iter__(self) -> Iterator[Order]:
        order = self.head
        while order is not None:
            yield order
            order = order.next


class OpenOrders:
    """A session's open orders in entry order, linked through the orders themselves.

    Adding and removing one touches the order and its two neighbours, which entered just before and
    after it and so lie near it in memory; a dict keyed by order id touched its hash table at a random
    place, a cache miss or two per order with a million open.
    """

    __slots__ = ("head", "tail", "count")

    def __init__(self) -> None:
        self.head: Order | None = None
        self.tail: Order | None = None
        self.count = 0

    def append(self, order: Order) -> None:
        tail = self.tail
        order.prev_in_session = tail
        order.next_in_session = None
        if tail is None:
            self.head = order
        else:
            tail.next_in_session = order
        self.tail = order
        self.count += 1

    def remove(self, order: Order) -> None:
        prev, nxt = order.prev_in_session, order.next_in_session
        if prev is None:
            self.head = nxt
        else:
            prev.next_in_session = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev_in_session = prev
        order.prev_in_session = order.next_in_session = None
        self.count -= 1

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Order]:
        order = self.head
        while order is not None:
            yield order
            order = order.next_in_session


class OrderBook:
    """Bids and asks by price, plus untriggered stops; the engine does all the mutating."""

    __slots__ = ("instrument", "symbol", "lot_size", "tick_size", "bids", "asks", "bid_at", "ask_at",
                 "bid_prices", "ask_prices", "bid_keys", "ask_keys", "buy_stops", "sell_stops", "last_trade_price",
                 "phase", "phase_reason", "breaker")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.lot_size = instrument.lot_size  # the instrument's, kept here: read for every new order
        self.tick_size = instrument.tick_size
        self.bids: SortedDict = SortedDict()  # price -> PriceLevel; best bid is the last key
        self.asks: SortedDict = SortedDict()  # price -> PriceLevel; best ask is the first key
        # bids.get and asks.get, bound once: compiled, looking the method up on the SortedDict instance at
        # each call cost more than the lookup itself. The two are never replaced (check_invariants checks).
        self.bid_at = self.bids.get
        self.ask_at = self.asks.get
        # Their prices in order, as sortedcontainers keeps them: a list of sorted sublists, changed in place
        # and never replaced. The best bid is bid_prices[-1][-1], the best ask ask_prices[0][0], one C
        # index each where lowest_key is two attribute reads more (check_invariants checks both lists).
        self.bid_prices: list[list[int]] = self.bids._list._lists
        self.ask_prices: list[list[int]] = self.asks._list._lists
        self.bid_keys = LevelKeys(self.bids)  # what add_level and drop_level change, for each side
        self.ask_keys = LevelKeys(self.asks)
        # stop price -> {order_id: Order} in arrival order
        self.buy_stops: SortedDict = SortedDict()
        self.sell_stops: SortedDict = SortedDict()
        self.last_trade_price: int | None = None
        self.phase = TradingPhase.OPEN  # outside OPEN nothing matches and the book may cross
        self.phase_reason: TradingStatusReason | None = None  # why it is not OPEN
        self.breaker: InstrumentBreaker | None = None  # price bands and their timers; None: no bands

    def side(self, side: Side) -> SortedDict:
        return self.bids if side is BUY else self.asks

    def best_bid(self) -> int | None:
        return self.bid_prices[-1][-1] if self.bid_prices else None

    def best_ask(self) -> int | None:
        return self.ask_prices[0][0] if self.ask_prices else None

    def open_level(self, side: Side, price: int) -> PriceLevel:
        """A new, empty level at a price where `side` has none (the engine queues orders in it, and marks it
        as changed by the command that opened it)."""
        level = PriceLevel(price, side)
        add_level(self.bid_keys if side is BUY else self.ask_keys, level)
        return level

    def take_out(self, order: Order) -> None:
        """Remove a resting order with all its leaves; drops the level when it empties."""
        level = order.level
        level.quantity -= order.leaves_quantity
        level.unlink(order)
        if level.count == 0:
            drop_level(self.bid_keys if order.side is BUY else self.ask_keys, level.price)

    def add_stop(self, order: Order) -> None:
        stops = self.buy_stops if order.side is BUY else self.sell_stops
        waiting = stops.get(order.stop_price)
        if waiting is None:
            waiting = stops[order.stop_price] = {}
        waiting[order.order_id] = order

    def remove_stop(self, order: Order) -> None:
        stops = self.buy_stops if order.side is BUY else self.sell_stops
        waiting = stops[order.stop_price]
        del waiting[order.order_id]
        if not waiting:
            del stops[order.stop_price]

    def depth(self, side: Side, max_levels: int | None = None) -> list[tuple[int, int, int]]:
        """(price, quantity, order count) from the best price outwards."""
        levels = self.bids if side is BUY else self.asks
        prices = reversed(levels.keys()) if side is BUY else iter(levels.keys())
        out = []
        for price in prices:
            if max_levels is not None and len(out) >= max_levels:
                break
            level = levels[price]
            out.append((price, level.quantity, level.count))
        return out

    def resting_orders(self) -> Iterator[Order]:
        """Every resting order, bids best-first then asks best-first, FIFO within a level."""
        for price in reversed(self.bids.keys()):
            yield from self.bids[price]
        for price in self.asks.keys():
            yield from self.asks[price]

    def stop_orders(self) -> Iterator[Order]:
        for stops in (self.buy_stops, self.sell_stops):
            for price in stops.keys():
                yield from stops[price].values()

    def digest(self) -> str:
        """A hash of everything that decides future matching: levels, queue order, stops, last price."""
        h = hashlib.sha256(f"{self.symbol}|{self.last_trade_price}|{self.phase.value}".encode())
        breaker = self.breaker
        if breaker is not None:
            h.update(f"|B{breaker.reference},{breaker.band_low},{breaker.band_high},{breaker.limit_state_since},"
                     f"{breaker.pause_until},{list(breaker.trades)}".encode())
        for order in self.resting_orders():
            h.update(
                f"|R{order.order_id},{order.side.value},{order.price},{order.leaves_quantity},"
                f"{order.cum_quantity},{order.cum_notional},{order.priority}".encode()
            )
        for order in self.stop_orders():
            h.update(
                f"|S{order.order_id},{order.side.value},{order.stop_price},{order.price},"
                f"{order.leaves_quantity},{order.priority}".encode()
            )
        return h.hexdigest()

    def check_invariants(self) -> None:
        """Raise AssertionError if the book is inconsistent. Tests call this after every step."""
        assert self.bid_at.__self__ is self.bids and self.ask_at.__self__ is self.asks, (
            f"{self.symbol}: bid_at / ask_at read other dicts than bids / asks")
        assert self.bid_prices is self.bids._list._lists and self.ask_prices is self.asks._list._lists, (
            f"{self.symbol}: bid_prices / ask_prices are not the books' own key lists")
        assert self.bid_keys.levels is self.bids and self.ask_keys.levels is self.asks, (
            f"{self.symbol}: bid_keys / ask_keys hold other dicts than bids / asks")
        assert self.bid_keys.are_the_sorted_dicts_own() and self.ask_keys.are_the_sorted_dicts_own(), (
            f"{self.symbol}: bid_keys / ask_keys kept key lists sortedcontainers no longer uses")
        assert [p for sublist in self.bid_prices for p in sublist] == list(self.bids.keys()), (
            f"{self.symbol}: bid prices out of step with the bids")
        assert [p for sublist in self.ask_prices for p in sublist] == list(self.asks.keys()), (
            f"{self.symbol}: ask prices out of step with the asks")
        for side, levels in ((Side.BUY, self.bids), (Side.SELL, self.asks)):
            for price, level in levels.items():
                assert level.price == price, f"{self.symbol}: level keyed {price} says {level.price}"
                assert level.count > 0, f"{self.symbol}: empty {side.value} level {price} kept"
                assert level.side is side, f"{self.symbol}: {side.value} level {price} says {level.side}"
                assert not level.touched, f"{self.symbol}: level {price} still marked as changed by a command"
                total = count = 0
                last_priority = None
                prev = None
                for order in level:
                    assert order.prev is prev, f"{self.symbol}: broken back link at {order!r}"
                    assert order.level is level, f"{self.symbol}: {order!r} points at another level"
                    assert order.side is side and order.price == price, f"{self.symbol}: {order!r} misplaced"
                    assert order.status.is_open, f"{self.symbol}: closed {order!r} still resting"
                    assert order.leaves_quantity > 0, f"{self.symbol}: {order!r} rests with no leaves"
                    assert order.cum_quantity + order.leaves_quantity == order.quantity, (
                        f"{self.symbol}: {order!r} quantities do not add up"
                    )
                    assert order.order_type.has_limit_price, f"{self.symbol}: {order!r} rests without a limit"
                    assert order.time_in_force not in (TimeInForce.IOC, TimeInForce.FOK), (
                        f"{self.symbol}: {order!r} is IOC/FOK yet rests"
                    )
                    if last_priority is not None:
                        assert order.priority > last_priority, f"{self.symbol}: FIFO broken at {order!r}"
                    last_priority = order.priority
                    total += order.leaves_quantity
                    count += 1
                    prev = order
                assert level.tail is prev, f"{self.symbol}: level {price} tail is wrong"
                assert total == level.quantity, f"{self.symbol}: level {price} says {level.quantity}, orders sum {total}"
                assert count == level.count, f"{self.symbol}: level {price} says {level.count} orders, has {count}"
        bid, ask = self.best_bid(), self.best_ask()
        if self.phase is TradingPhase.OPEN:  # orders queued for an auction may cross
            assert bid is None or ask is None or bid < ask, f"{self.symbol}: book crossed, bid {bid} >= ask {ask}"
            if self.breaker is not None:
                assert bid is None or bid <= self.breaker.band_high, f"{self.symbol}: bid {bid} above the band"
                assert ask is None or ask >= self.breaker.band_low, f"{self.symbol}: ask {ask} below the band"
        for side, stops in ((Side.BUY, self.buy_stops), (Side.SELL, self.sell_stops)):
            for stop_price, waiting in stops.items():
                assert waiting, f"{self.symbol}: empty stop bucket {stop_price} kept"
                for order in waiting.values():
                    assert order.side is side and order.stop_price == stop_price and order.order_type.is_stop
                    assert order.status is OrderStatus.NEW and order.level is None
