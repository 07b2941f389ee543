from pathlib import Path

from config import load_settings
from fix_gateway.venue import build_engine, self_trade_prevention_of
from matching import OrderAccepted, OrderType, SelfTradePrevention, Side, SubmitOrder

REPO = Path(__file__).resolve().parents[3]


def test_the_engine_gets_every_configured_instrument_in_integer_price_units():
    settings = load_settings(REPO / "config" / "exchange.yaml")
    engine = build_engine(settings, clock=lambda: 1)
    assert engine.symbols == ["AAPL", "MSFT", "IBM", "GOOG", "TSLA"]
    aapl = settings.instrument("AAPL")
    assert engine.book("AAPL").instrument.tick_size == aapl.tick_units == 100
    price = aapl.to_units(aapl.reference_price)
    events = engine.process(SubmitOrder("BROKER1", "FIRM_A", "1", "AAPL", Side.BUY, OrderType.LIMIT, 10, price))
    assert isinstance(events[0], OrderAccepted)


def test_a_firms_configured_self_trade_prevention_maps_to_the_core_mode():
    settings = load_settings(REPO / "config" / "exchange.yaml")
    assert self_trade_prevention_of(settings, "FIRM_A") is SelfTradePrevention.CANCEL_RESTING
