import pytest

from matching import (
    Instrument, OrderAccepted, OrderRejected, OrderRejectReason, OrderType, Side,
)
from venue_harness import one

R = OrderRejectReason


@pytest.mark.parametrize("quantity", [0, -5])
def test_a_zero_or_negative_quantity_is_rejected_as_incorrect_quantity(venue, quantity):
    assert one(venue.buy(quantity, 10.00), OrderRejected).reason is R.INCORRECT_QUANTITY


def test_a_quantity_off_the_lot_size_is_rejected_as_incorrect_quantity(venue):
    rejected = one(venue.buy(150, 10.00, symbol="RLOT"), OrderRejected)
    assert rejected.reason is R.INCORRECT_QUANTITY and "lot size 100" in rejected.text
    assert one(venue.buy(200, 10.00, symbol="RLOT"), OrderAccepted)


def test_an_unknown_symbol_is_rejected_as_unknown_symbol(venue):
    rejected = one(venue.buy(10, 10.00, symbol="NOPE"), OrderRejected)
    assert rejected.reason is R.UNKNOWN_SYMBOL and "NOPE" in rejected.text


def test_a_price_off_the_tick_is_rejected_as_invalid_price_increment(venue):
    assert one(venue.buy(10, 10.005), OrderRejected).reason is R.INVALID_PRICE_INCREMENT
    assert one(venue.buy(10, None, stop=10.001), OrderRejected).reason is R.INVALID_PRICE_INCREMENT


@pytest.mark.parametrize("order_type, price, stop, words", [
    (OrderType.LIMIT, None, None, "needs a price"),
    (OrderType.MARKET, 10.00, None, "takes no price"),
    (OrderType.STOP, None, None, "needs a stop price"),
    (OrderType.STOP_LIMIT, None, 10.00, "needs a price"),
    (OrderType.LIMIT, 10.00, 9.00, "takes no stop price"),
    (OrderType.LIMIT, -1.00, None, "must be positive"),
])
def test_prices_that_do_not_fit_the_order_type_are_rejected_with_a_reason(venue, order_type, price, stop, words):
    rejected = one(venue.buy(10, price, stop=stop, order_type=order_type), OrderRejected)
    assert rejected.reason is R.OTHER and words in rejected.text


def test_a_clordid_reused_by_the_same_session_is_rejected_as_duplicate(venue):
    venue.buy(10, 10.00, client_order_id="A")
    assert one(venue.buy(10, 10.00, client_order_id="A"), OrderRejected).reason is R.DUPLICATE_ORDER
    assert one(venue.buy(10, 10.00, client_order_id="A", session="S2", firm="FIRM_B"), OrderAccepted)


def test_reject_reasons_carry_their_fix_codes():
    assert [int(r) for r in (R.UNKNOWN_SYMBOL, R.EXCHANGE_CLOSED, R.EXCEEDS_LIMIT, R.TOO_LATE_TO_ENTER,
                             R.UNKNOWN_ORDER, R.DUPLICATE_ORDER, R.INCORRECT_QUANTITY,
                             R.INVALID_PRICE_INCREMENT, R.OTHER)] == [1, 2, 3, 4, 5, 6, 13, 18, 99]


def test_an_instrument_needs_a_positive_tick_and_lot():
    with pytest.raises(ValueError):
        Instrument("BAD", tick_size=0)


def test_a_rejected_order_leaves_no_trace_in_the_book(venue):
    venue.buy(10, 10.005)
    assert venue.depth(Side.BUY) == [] and venue.engine.open_orders() == []


def test_price_texts_are_written_as_people_write_prices():
    instrument = Instrument("X", tick_size=100, price_decimals=4)
    assert [instrument.format_price(u) for u in (1900010, 1900000, 1905000, 100, -25000)] == [
        "190.001", "190.00", "190.50", "0.01", "-2.50"]
    assert Instrument("Y").format_price(1234) == "1234"


def test_an_off_tick_reject_names_price_and_tick_in_currency():
    from matching import MatchingEngine, SubmitOrder
    engine = MatchingEngine([Instrument("X", tick_size=100, price_decimals=4)], clock=lambda: 1)
    rejected = engine.process(SubmitOrder("S", "F", "c", "X", Side.BUY, OrderType.LIMIT, 1, 1900010))[0]
    assert rejected.text == "price 190.001 is not a multiple of the tick 0.01"
