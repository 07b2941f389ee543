import dataclasses
from decimal import Decimal
from pathlib import Path

from config import RiskOverride, load_settings
from fix_gateway.venue import build_order_limits
from matching import OrderRejectReason, OrderType, Side, SubmitOrder

SETTINGS = load_settings(Path(__file__).resolve().parents[3] / "config" / "exchange.yaml")


def order(quantity, price=None, order_type=OrderType.LIMIT, symbol="AAPL", firm="FIRM_A"):
    return SubmitOrder("BROKER1", firm, "c", symbol, Side.BUY, order_type, quantity, price)


def test_an_order_within_the_firms_limits_passes():
    assert build_order_limits(SETTINGS).check(order(100, 1_900_000)) is None


def test_an_order_above_the_maximum_quantity_is_refused_naming_the_limit():
    breach = build_order_limits(SETTINGS).check(order(1_000_001, 1_900_000))
    assert breach.reason is OrderRejectReason.EXCEEDS_LIMIT
    assert "1000001" in breach.text and "1000000" in breach.text and "max_order_quantity" in breach.text


def test_an_order_above_the_maximum_notional_is_refused_with_both_amounts_in_currency():
    breach = build_order_limits(SETTINGS).check(order(1_000_000, 10_010_000))  # 1,000,000 x 1001.00
    assert breach.reason is OrderRejectReason.EXCEEDS_LIMIT
    assert "1001000000" in breach.text and "1000000000" in breach.text and "max_order_notional" in breach.text


def test_a_market_order_is_valued_at_the_reference_price():
    tight = (RiskOverride("FIRM_A", max_order_notional=Decimal("1000")),)
    settings = dataclasses.replace(SETTINGS, risk=dataclasses.replace(SETTINGS.risk, firm_overrides=tight))
    limits = build_order_limits(settings)  # AAPL's reference price is 190.00
    assert limits.check(order(5, None, OrderType.MARKET)) is None  # 5 x 190 = 950
    assert limits.check(order(6, None, OrderType.MARKET)).reason is OrderRejectReason.EXCEEDS_LIMIT


def with_override(**kw):
    override = (RiskOverride("FIRM_A", **kw),)
    return dataclasses.replace(SETTINGS, risk=dataclasses.replace(SETTINGS.risk, firm_overrides=override))


def test_an_order_in_a_symbol_on_the_firms_restricted_list_is_refused_and_other_firms_are_not():
    limits = build_order_limits(with_override(restricted_symbols=("TSLA",)))
    breach = limits.check(order(1, 2_500_000, symbol="TSLA"))
    assert breach.reason is OrderRejectReason.OTHER and "restricted list" in breach.text
    assert limits.check(order(1, 2_500_000, symbol="TSLA", firm="FIRM_B")) is None
    assert limits.check(order(1, 1_900_000)) is None


def test_a_firm_without_market_orders_may_send_limits_but_not_market_or_stop_orders():
    limits = build_order_limits(with_override(market_orders=False))
    assert limits.check(order(1, None, OrderType.MARKET)).reason is OrderRejectReason.UNSUPPORTED_ORDER_CHARACTERISTIC
    assert limits.check(order(1, None, OrderType.STOP)) is not None
    assert limits.check(order(1, 1_900_000)) is None
