# Declarations for the compiled matching core (Cython, pure-Python mode; see setup.py and
# matching/compiled.py). book.py stays the one source and runs as it is; compiled, its orders,
# levels and books become extension types whose attributes are C struct members.
# Every attribute these classes keep must be declared here: an extension type has no __dict__.
cimport cython

cdef class Order:
    cdef public object order_id, session, firm, client_order_id, symbol, side, order_type, time_in_force
    cdef public object quantity, price, stop_price, expire_time_ns, stp, stp_key
    cdef public object cum_quantity, leaves_quantity, cum_notional, status, priority, protection_price
    cdef public PriceLevel level
    cdef public Order prev
    cdef public Order next
    cdef public Order prev_in_session
    cdef public Order next_in_session

cdef class PriceLevel:
    cdef public object price, side, quantity, count, quantity_before, count_before
    cdef public bint touched
    cdef public Order head
    cdef public Order tail
    cpdef append(self, Order order)
    cpdef unlink(self, Order order)

cdef class OpenOrders:
    cdef public Order head
    cdef public Order tail
    cdef public Py_ssize_t count
    cpdef append(self, Order order)
    @cython.locals(prev=Order, nxt=Order)
    cpdef remove(self, Order order)

cdef class LevelKeys:
    cdef public object levels, sorted_keys
    cdef public list lists, maxes, positions
    cdef public Py_ssize_t load

cdef class OrderBook:
    cdef public list bid_prices, ask_prices
    cdef public LevelKeys bid_keys, ask_keys
    cdef public object instrument, symbol, lot_size, tick_size, bids, asks, bid_at, ask_at, buy_stops, sell_stops, last_trade_price, phase
    cdef public object phase_reason, breaker
    @cython.locals(level=PriceLevel)
    cpdef PriceLevel open_level(self, object side, object price)
    @cython.locals(level=PriceLevel)
    cpdef take_out(self, Order order)

@cython.locals(maxes=list, sublist=list, position=Py_ssize_t)
cpdef add_level(LevelKeys side, PriceLevel level)
@cython.locals(maxes=list, lists=list, sublist=list, position=Py_ssize_t, remaining=Py_ssize_t)
cpdef drop_level(LevelKeys side, object price)
cpdef lowest_key(object levels)
cpdef highest_key(object levels)
@cython.locals(low=Py_ssize_t, high=Py_ssize_t, middle=Py_ssize_t)
cdef Py_ssize_t _bisect_left(list values, object value)
@cython.locals(low=Py_ssize_t, high=Py_ssize_t, middle=Py_ssize_t)
cdef Py_ssize_t _bisect_right(list values, object value)
