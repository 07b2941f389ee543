from matching import (
    BookLevelChanged, OrderAccepted, OrderCancelled, OrderFilled, OrderReplaced, OrderTriggered, OrderType,
    Side, TradeExecuted,
)
from venue_harness import of, one, px


def trade_at(venue, price, quantity=1):
    """Print a trade between two other firms at `price`."""
    venue.sell(quantity, price, session="S8", firm="FIRM_X")
    return venue.buy(quantity, price, session="S9", firm="FIRM_Y")


def test_a_buy_stop_waits_unseen_until_a_trade_prints_at_or_above_its_stop(venue):
    events = venue.buy(10, None, stop=10.50, client_order_id="stop")
    assert one(events, OrderAccepted).order_type is OrderType.STOP
    assert not of(events, BookLevelChanged), "stops are not in the visible book"
    venue.sell(10, 10.60, session="S2", firm="FIRM_B", client_order_id="offer")
    assert not of(trade_at(venue, 10.49), OrderTriggered)
    events = trade_at(venue, 10.50)
    triggered = one(events, OrderTriggered)
    assert triggered.client_order_id == "stop" and triggered.order_type is OrderType.MARKET
    assert triggered.trigger_price == px(10.50)
    fill = [f for f in of(events, OrderFilled) if f.client_order_id == "stop"][0]
    assert fill.last_price == px(10.60) and fill.leaves_quantity == 0


def test_a_sell_stop_limit_triggers_at_or_below_its_stop_and_rests_behind_earlier_orders(venue):
    venue.sell(5, 9.90, stop=9.95, client_order_id="stop-limit")
    venue.sell(5, 9.90, session="S2", firm="FIRM_B", client_order_id="earlier")
    events = trade_at(venue, 9.95)
    assert one(events, OrderTriggered).order_type is OrderType.LIMIT
    assert venue.queue(Side.SELL, 9.90) == ["earlier", "stop-limit"]


def test_triggered_stops_cascade_in_order(venue):
    venue.sell(10, 10.10, session="S2", firm="FIRM_B")
    venue.sell(10, 10.20, session="S2", firm="FIRM_B")
    venue.buy(10, None, stop=10.10, client_order_id="second")  # lifts 10.20 once 10.10 prints
    venue.buy(10, None, stop=10.00, client_order_id="first")  # lifts 10.10 once 10.00 prints
    venue.buy(10, None, stop=10.20, client_order_id="third")  # nothing left for it
    events = trade_at(venue, 10.00)
    triggered = [e.client_order_id for e in of(events, OrderTriggered)]
    assert triggered == ["first", "second", "third"]
    assert [t.price for t in of(events, TradeExecuted)] == [px(10.00), px(10.10), px(10.20)]
    assert one(events, OrderCancelled).client_order_id == "third"


def test_stops_reached_by_one_sweep_trigger_lowest_stop_price_first(venue):
    venue.sell(10, 10.00, session="S2", firm="FIRM_B")
    venue.sell(10, 10.05, session="S2", firm="FIRM_B")
    venue.buy(1, 11.00, stop=10.05, client_order_id="high")
    venue.buy(1, 11.00, stop=10.01, client_order_id="low")
    events = venue.buy(20, 10.05, session="S9", firm="FIRM_Y")
    assert [e.client_order_id for e in of(events, OrderTriggered)] == ["low", "high"]


def test_a_stop_entered_through_the_last_price_triggers_at_once(venue):
    trade_at(venue, 10.00)
    venue.sell(10, 10.05, session="S2", firm="FIRM_B")
    events = venue.buy(10, None, stop=9.90)
    assert one(events, OrderTriggered).trigger_price == px(10.00)
    assert one(events, TradeExecuted).price == px(10.05)


def test_a_waiting_stop_can_be_cancelled_and_never_triggers(venue):
    venue.buy(10, None, stop=10.50, client_order_id="stop")
    assert one(venue.cancel("stop"), OrderCancelled).cancelled_quantity == 10
    assert not of(trade_at(venue, 11.00), OrderTriggered)


def test_a_waiting_stop_can_move_its_stop_price(venue):
    venue.buy(10, None, stop=10.50, client_order_id="stop")
    replaced = one(venue.replace("stop", 10, stop=10.20, client_order_id="moved"), OrderReplaced)
    assert replaced.stop_price == px(10.20)
    venue.sell(10, 10.60, session="S2", firm="FIRM_B")
    assert one(trade_at(venue, 10.20), OrderTriggered).client_order_id == "moved"


def test_sell_stops_reached_by_one_falling_sweep_trigger_highest_stop_price_first(venue):
    venue.buy(10, 10.05, session="S2", firm="FIRM_B")
    venue.buy(10, 10.00, session="S2", firm="FIRM_B")
    venue.sell(1, 9.00, stop=10.00, client_order_id="low")
    venue.sell(1, 9.00, stop=10.04, client_order_id="high")
    events = venue.sell(20, 10.00, session="S9", firm="FIRM_Y")
    assert [e.client_order_id for e in of(events, OrderTriggered)] == ["high", "low"]
