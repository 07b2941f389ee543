"""config/production.yaml, the stricter example: it loads, a venue builds from it, and its limits bite."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_settings
from fix_gateway.sessions import load_sessions
from fix_gateway.venue import build_engine, build_firm_exposure, build_order_limits, build_price_collars
from matching import OrderAccepted, OrderRejectReason, OrderType, Side, SubmitOrder

REPO = Path(__file__).resolve().parents[3]
PRODUCTION = REPO / "config" / "production.yaml"
CLIENT_ORDER_IDS = itertools.count(1)


@pytest.fixture(scope="module")
def settings():
    return load_settings(PRODUCTION)


def price(text: str) -> int:  # these instruments keep 4 decimals
    return int(Decimal(text) * 10_000)


def order(firm: str, quantity: int, limit: str, side=Side.BUY, symbol="AAPL") -> SubmitOrder:
    return SubmitOrder(f"S-{firm}", firm, f"C{next(CLIENT_ORDER_IDS)}", symbol, side, OrderType.LIMIT, quantity,
                       price(limit))


def test_it_has_cme_like_throttles_and_per_firm_credit_limits_collars_and_an_automatic_kill_switch(settings):
    defaults = settings.limits_for("FIRM_C")
    assert (defaults.max_messages_per_second, defaults.logout_messages_per_second) == (100, 500)
    assert (defaults.max_order_quantity, defaults.max_order_notional) == (25_000, Decimal("2500000"))
    assert (defaults.price_collar_percent, defaults.credit_limit) == (Decimal("3"), Decimal("5000000"))
    a = settings.limits_for("FIRM_A")
    assert (a.price_collar_ticks, a.price_collar_percent, a.kill_switch_on_credit_breach) == (50, Decimal("5"), True)
    b = settings.limits_for("FIRM_B")
    assert (b.market_orders, b.restricted_symbols, b.kill_switch_on_credit_breach) == (False, ("TSLA",), False)
    assert settings.limits_for("FIRM_D").max_messages_per_second == 250
    assert settings.journal.fsync == "always"


def test_it_has_the_shipped_instruments_and_sessions_so_a_venue_builds_from_it_with_sessions_cfg(settings):
    shipped = load_settings(REPO / "config" / "exchange.yaml")
    assert [i.symbol for i in settings.instruments] == [i.symbol for i in shipped.instruments]
    assert [(s.comp_id, s.role) for f in settings.firms for s in f.sessions] == [
        (s.comp_id, s.role) for f in shipped.firms for s in f.sessions]
    sessions = load_sessions(REPO / "sessions.cfg", settings)
    assert {d.target_comp_id for d in sessions.sessions} >= {"BROKER1", "BROKER2", "BROKER3", "BROKER4"}
    engine = build_engine(settings, lambda: 1)
    assert sorted(engine.symbols) == ["AAPL", "GOOG", "IBM", "MSFT", "TSLA"]
    assert build_order_limits(settings) is not None and build_firm_exposure(settings) is not None


def test_a_realistic_order_is_accepted_and_orders_over_its_limits_are_refused(settings):
    limits = build_order_limits(settings)
    exposure = build_firm_exposure(settings)
    collars = build_price_collars(settings, lambda symbol, units: f"{units / 10_000:.2f}")
    realistic = order("FIRM_A", 1_000, "190.00")
    assert limits.check(realistic) is None and exposure.check(realistic) is None
    assert collars.check(realistic, best_bid=price("189.99"), best_offer=price("190.01")) is None

    too_big = limits.check(order("FIRM_B", 6_000, "190.00"))
    assert too_big.reason is OrderRejectReason.EXCEEDS_LIMIT and too_big.limit == "max_order_quantity"
    assert limits.check(order("FIRM_B", 100, "250.00", symbol="TSLA")).limit == "restricted_symbols"
    fat_finger = collars.check(order("FIRM_A", 100, "190.52"), best_bid=price("189.99"), best_offer=price("190.01"))
    assert fat_finger.limit == "price_collar_ticks" and "(collar 190.51" in fat_finger.text

    # 10,000,000 of credit: 12,000 shares at 190.00 (2,280,000, within the order notional limit) rest four
    # times; the fifth order would pass the credit limit.
    for n in range(4):
        resting = order("FIRM_A", 12_000, "190.00")
        assert limits.check(resting) is None and exposure.check(resting) is None
        exposure.apply([OrderAccepted(n + 1, 1, n + 1, resting.session, resting.firm, resting.client_order_id,
                                      "AAPL", Side.BUY, OrderType.LIMIT, resting.time_in_force, 12_000,
                                      resting.price, None, None)])
    breach = exposure.check(order("FIRM_A", 12_000, "190.00"))
    assert breach.limit == "credit_limit" and "limit of 10,000,000.00 (risk credit_limit)" in breach.text
