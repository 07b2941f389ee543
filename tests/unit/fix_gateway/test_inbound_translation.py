"""NewOrderSingle fields become a SubmitOrder in integer units, or a RejectOrder that says why."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

from config import load_settings
from fix_gateway.inbound import Inbound, SessionContext
from fix_gateway.versions import VERSIONS
from matching import OrderRejectReason, RejectOrder, SubmitOrder

SETTINGS = load_settings(Path(__file__).resolve().parents[3] / "config" / "exchange.yaml")
BROKER1 = SessionContext("BROKER1", "FIRM_A", VERSIONS["FIX.4.4"], None)


def inbound() -> Inbound:
    return Inbound({i.symbol: i for i in SETTINGS.instruments}, SETTINGS.venue.trading_day_end)


def order(price: str, symbol: str = "AAPL", **extra: str) -> dict[str, str]:
    return {"11": f"c-{price}", "55": symbol, "54": "1", "40": "2", "38": "100", "44": price, **extra}


def test_a_price_in_dollars_becomes_integer_price_units_every_time_it_is_seen():
    translator = inbound()
    first, again = translator.new_order(order("190.05"), BROKER1), translator.new_order(order("190.05"), BROKER1)
    assert isinstance(first, SubmitOrder) and isinstance(again, SubmitOrder)
    unit = next(i for i in SETTINGS.instruments if i.symbol == "AAPL").price_unit
    assert first.price == again.price and first.price * unit == Decimal("190.05") and isinstance(first.price, int)


def test_the_same_price_text_on_another_instrument_is_that_instruments_units():
    instruments = {i.symbol: i for i in SETTINGS.instruments}
    instruments["MSFT"] = dataclasses.replace(instruments["MSFT"], price_decimals=2)  # units of 0.01, not 0.0001
    translator = Inbound(instruments, SETTINGS.venue.trading_day_end)
    aapl, msft = (translator.new_order(order("12.5", symbol), BROKER1) for symbol in ("AAPL", "MSFT"))
    assert isinstance(aapl, SubmitOrder) and isinstance(msft, SubmitOrder)
    assert aapl.price * instruments["AAPL"].price_unit == Decimal("12.5") == msft.price * Decimal("0.01")
    assert aapl.price != msft.price  # one cached text, two instruments: each in its own units


def test_a_price_finer_than_the_price_unit_is_refused_each_time_it_is_sent():
    translator = inbound()
    for _ in range(2):
        refused = translator.new_order(order("190.0000001"), BROKER1)
        assert isinstance(refused, RejectOrder)
        assert refused.reason is OrderRejectReason.INVALID_PRICE_INCREMENT and "190.0000001" in refused.text


def test_a_price_that_is_not_a_number_is_refused_saying_so():
    refused = inbound().new_order(order("12,50"), BROKER1)
    assert isinstance(refused, RejectOrder) and refused.reason is OrderRejectReason.OTHER
    assert "Price '12,50' is not a number" in refused.text
