from matching import (
    BookLevelChanged, OrderAccepted, OrderFilled, OrderStatus, Side, TradeExecuted,
)
from venue_harness import of, one, px


def test_a_passive_limit_order_is_accepted_and_rests_on_its_side(venue):
    events = venue.buy(100, 10.00)
    accepted = one(events, OrderAccepted)
    assert (accepted.order_id, accepted.quantity, accepted.price) == (1, 100, px(10.00))
    assert venue.depth(Side.BUY) == [(10.00, 100)]
    assert venue.depth(Side.SELL) == []


def test_a_crossing_order_trades_at_the_resting_price(venue):
    venue.sell(100, 10.00, session="S2", firm="FIRM_B")
    events = venue.buy(100, 10.05)
    trade = one(events, TradeExecuted)
    assert trade.price == px(10.00) and trade.quantity == 100
    assert trade.aggressor_side is Side.BUY
    fills = of(events, OrderFilled)
    assert [f.aggressor for f in fills] == [True, False]
    assert all(f.last_price == px(10.00) and f.leaves_quantity == 0 for f in fills)
    assert venue.depth(Side.BUY) == [] and venue.depth(Side.SELL) == []


def test_better_priced_orders_fill_before_earlier_worse_priced_ones(venue):
    venue.sell(10, 10.02, client_order_id="worse")
    venue.sell(10, 10.01, client_order_id="better")
    events = venue.buy(10, 10.05, session="S2", firm="FIRM_B")
    assert [f.client_order_id for f in of(events, OrderFilled) if not f.aggressor] == ["better"]


def test_orders_at_one_price_fill_first_in_first_out(venue):
    for name in ("first", "second", "third"):
        venue.sell(10, 10.00, client_order_id=name)
    events = venue.buy(15, 10.00, session="S2", firm="FIRM_B")
    resting = [(f.client_order_id, f.last_quantity) for f in of(events, OrderFilled) if not f.aggressor]
    assert resting == [("first", 10), ("second", 5)]
    assert venue.queue(Side.SELL, 10.00) == ["second", "third"]


def test_a_partial_fill_reports_cumulative_and_leaves_quantities(venue):
    venue.sell(30, 10.00, client_order_id="maker")
    venue.buy(10, 10.00, session="S2", firm="FIRM_B")
    events = venue.buy(5, 10.00, session="S2", firm="FIRM_B")
    maker = [f for f in of(events, OrderFilled) if f.client_order_id == "maker"][0]
    assert (maker.cum_quantity, maker.leaves_quantity, maker.cum_notional) == (15, 15, 15 * px(10.00))
    assert venue.depth(Side.SELL) == [(10.00, 15)]


def test_an_aggressor_sweeps_levels_at_each_resting_price_and_rests_its_remainder(venue):
    venue.sell(10, 10.00)
    venue.sell(10, 10.01)
    venue.sell(10, 10.03)
    events = venue.buy(25, 10.02, session="S2", firm="FIRM_B", client_order_id="taker")
    taker = [f for f in of(events, OrderFilled) if f.aggressor]
    assert [(f.last_price, f.last_quantity) for f in taker] == [(px(10.00), 10), (px(10.01), 10)]
    assert taker[-1].cum_notional == 10 * px(10.00) + 10 * px(10.01)
    assert venue.depth(Side.BUY) == [(10.02, 5)]
    assert venue.depth(Side.SELL) == [(10.03, 10)]


def test_each_touched_level_reports_its_final_state_once_per_command(venue):
    venue.sell(10, 10.00)
    venue.sell(10, 10.00)
    venue.sell(10, 10.01)
    events = venue.buy(25, 10.01, session="S2", firm="FIRM_B")
    changes = [(e.side, e.price, e.quantity, e.order_count) for e in of(events, BookLevelChanged)]
    assert changes == [(Side.SELL, px(10.00), 0, 0), (Side.SELL, px(10.01), 5, 1)]
    assert events[-1] == of(events, BookLevelChanged)[-1], "level changes come after the trades they follow"


def test_sequence_numbers_are_gap_free_and_timestamps_come_from_the_clock(venue):
    venue.now = 5_000
    first = venue.sell(10, 10.00)
    venue.now = 7_000
    second = venue.buy(10, 10.00, session="S2", firm="FIRM_B")
    sequences = [e.sequence for e in first + second]
    assert sequences == list(range(1, len(sequences) + 1))
    assert {e.timestamp_ns for e in first} == {5_000}
    assert {e.timestamp_ns for e in second} == {7_000}


def test_the_engine_can_start_counting_where_a_previous_run_stopped():
    from matching import Instrument, MatchingEngine, OrderType, SubmitOrder
    engine = MatchingEngine([Instrument("AAPL", 100, 1)], clock=lambda: 1, first_sequence=500, first_order_id=90)
    events = engine.process(SubmitOrder("S1", "F", "a", "AAPL", Side.BUY, OrderType.LIMIT, 1, 100))
    assert events[0].sequence == 500 and events[0].order_id == 90


def test_a_filled_order_is_reported_filled_by_status(venue):
    venue.sell(10, 10.00, client_order_id="maker")
    venue.buy(10, 10.00, session="S2", firm="FIRM_B")
    status = venue.query("maker")[0]
    assert status.status is OrderStatus.FILLED and status.cum_quantity == 10 and status.leaves_quantity == 0
