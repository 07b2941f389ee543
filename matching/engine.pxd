# Declarations for the compiled matching core (Cython, pure-Python mode; see setup.py and
# matching/compiled.py). engine.py stays the one source and runs as it is; compiled, the engine is an
# extension type and the methods below are C calls with typed books, orders and levels.
# Every attribute the engine keeps must be declared here: an extension type has no __dict__.
cimport cython
from matching.book cimport OpenOrders, Order, PriceLevel, OrderBook, drop_level, highest_key, lowest_key

cdef class MatchingEngine:
    cdef public dict _books, _by_client_id, _deadlines, _handlers, _orders, _open_by_session
    cdef public list _events, _expiries, _touched
    cdef public object _clock, _next_order_id, _next_priority, _next_review_ns, _next_sequence, _next_trade_id
    cdef public object _now, _queue_when_halted, _rules, _trade_high, _trade_low
    cdef object __weakref__

    @cython.locals(events=list)
    cpdef list process(self, command)
    cpdef _sequence(self)
    @cython.locals(touched=list)
    cpdef _touch(self, OrderBook book, PriceLevel level)
    @cython.locals(level=PriceLevel, current=PriceLevel, book=OrderBook, events=list, touched=list, index=Py_ssize_t)
    cpdef _emit_level_changes(self)
    @cython.locals(orders=OpenOrders)
    @cython.locals(orders=OpenOrders)
    cpdef _close(self, Order order, object status)
    cpdef _unbook(self, OrderBook book, Order order)
    cpdef _cancel_open(self, Order order, object reason, object client_order_id=*, object orig_client_order_id=*)
    @cython.locals(ids=dict)
    cpdef _order_by_client_id(self, session, client_order_id)
    @cython.locals(ids=dict)
    cpdef dict _client_order_ids(self, session)
    @cython.locals(order=Order)
    cpdef _locate(self, session, firm, order_id, client_order_id)
    @cython.locals(instrument=object)
    cpdef _validate_new(self, cmd, OrderBook book, object client_order_id, dict used_ids, object order_type,
                        object quantity, object price, object stop_price, object protection_price,
                        object time_in_force, object expire_time_ns)
    @cython.locals(book=OrderBook, order=Order, session_orders=OpenOrders, used_ids=dict)
    cpdef _submit(self, cmd)
    cpdef _execute(self, OrderBook book, Order order)
    @cython.locals(level=PriceLevel)
    cpdef _rest(self, OrderBook book, Order order)
    @cython.locals(level=PriceLevel, resting=Order, following=Order, prices=list)
    cpdef _match(self, OrderBook book, Order order)
    @cython.locals(events=list)
    cpdef _fill(self, OrderBook book, Order aggressor, Order resting, object price)
    cpdef _fill_side(self, Order order, object trade_id, object price, object quantity, object notional,
                     bint is_aggressor, object sequence)
    @cython.locals(order=Order)
    cpdef _check_amendable(self, cmd, response_to, session, firm, client_order_id, order_id, orig_client_order_id)
    @cython.locals(order=Order, book=OrderBook)
    cpdef _cancel(self, cmd)
    @cython.locals(order=Order, book=OrderBook)
    cpdef _replace(self, cmd)

cpdef _check_price(name, value, bint required, order_type, instrument)
