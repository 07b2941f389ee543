"""Converting between Decimal prices (FIX and database edges) and integer price units (the core)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import InstrumentSettings


def _instrument(tick_size: str = "0.01", price_decimals: int = 4, reference_price: str = "190.00") -> InstrumentSettings:
    return InstrumentSettings(
        symbol="AAPL",
        tick_size=Decimal(tick_size),
        lot_size=1,
        currency="USD",
        reference_price=Decimal(reference_price),
        price_band_tier=1,
        price_decimals=price_decimals,
    )


def test_price_with_4_decimals_converts_to_whole_units() -> None:
    assert _instrument().to_units(Decimal("190.01")) == 1900100


def test_trailing_zeros_do_not_change_the_units() -> None:
    aapl = _instrument()
    assert aapl.to_units(Decimal("190.010000")) == aapl.to_units(Decimal("190.01")) == 1900100


def test_price_with_more_decimals_than_price_decimals_has_no_units() -> None:
    assert _instrument().to_units(Decimal("190.00001")) is None


@pytest.mark.parametrize("price", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1e999999999")])
def test_non_finite_or_absurd_price_has_no_units(price: Decimal) -> None:
    assert _instrument().to_units(price) is None


def test_tiny_price_far_below_one_unit_has_no_units_without_building_a_huge_number() -> None:
    assert _instrument().to_units(Decimal("1e-999999999")) is None


def test_zero_and_negative_prices_convert() -> None:
    aapl = _instrument()
    assert aapl.to_units(Decimal("0")) == 0
    assert aapl.to_units(Decimal("-1.25")) == -12500


def test_integer_price_converts() -> None:
    assert _instrument().to_units(190) == 1900000


def test_float_price_is_refused_loudly() -> None:
    with pytest.raises(TypeError):
        _instrument().to_units(190.01)  # type: ignore[arg-type]


def test_from_units_has_exactly_price_decimals_places() -> None:
    price = _instrument().from_units(1900100)
    assert price == Decimal("190.01")
    assert str(price) == "190.0100"
    assert str(_instrument(tick_size="1", price_decimals=0, reference_price="5").from_units(5)) == "5"


def test_from_units_refuses_a_bool() -> None:
    with pytest.raises(TypeError):
        _instrument().from_units(True)


def test_price_unit_tick_units_and_reference_price_units() -> None:
    aapl = _instrument()
    assert aapl.price_unit == Decimal("0.0001")
    assert aapl.tick_units == 100
    assert aapl.reference_price_units == 1900000


def test_units_follow_price_decimals() -> None:
    two_places = _instrument(price_decimals=2)
    assert two_places.tick_units == 1
    assert two_places.to_units(Decimal("190.01")) == 19001
    assert two_places.to_units(Decimal("190.015")) is None


def test_tick_units_of_a_tick_off_the_grid_fails_loudly() -> None:
    with pytest.raises(ValueError):
        _ = _instrument(tick_size="0.00001").tick_units


@settings(deadline=None)  # pure arithmetic: a deadline would only measure how busy the host is
@given(units=st.integers(min_value=-(10**20), max_value=10**20), decimals=st.integers(min_value=0, max_value=9))
def test_from_units_then_to_units_round_trips(units: int, decimals: int) -> None:
    instrument = _instrument(tick_size="1", price_decimals=decimals, reference_price="1")
    assert instrument.to_units(instrument.from_units(units)) == units


@settings(deadline=None)
@given(price=st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9))
def test_to_units_is_exact_or_none(price: Decimal) -> None:
    aapl = _instrument()
    units = aapl.to_units(price)
    if units is None:
        assert price * 10**4 != (price * 10**4).to_integral_value()
    else:
        assert aapl.from_units(units) == price
