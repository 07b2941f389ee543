"""The shipped config lets a benchmark send 20,000 resting orders from one session at full speed."""

from pathlib import Path

from config import load_settings
from fix_gateway.venue import build_firm_exposure, build_order_limits, build_price_collars
from matching import OrderType, Side, SubmitOrder
from risk.throttle import SessionThrottle, ThrottleLimits, ThrottleVerdict

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "exchange.yaml"


def test_twenty_thousand_orders_in_one_second_from_one_session_are_neither_throttled_nor_limited():
    settings = load_settings(SHIPPED)
    configured = settings.limits_for("FIRM_A")
    throttle = SessionThrottle(ThrottleLimits(configured.max_messages_per_second,
                                              configured.logout_messages_per_second))
    start = 1_700_000_000_000_000_000
    verdicts = {throttle.admit(start + i * 50_000) for i in range(20_000)}  # 20,000 within 1 s
    assert verdicts == {ThrottleVerdict.ADMIT}
    limits, exposure = build_order_limits(settings), build_firm_exposure(settings)
    collars = build_price_collars(settings, lambda symbol, units: str(units))
    for n in range(20_000):  # the gateway bench's resting flow: 100 shares, 181.00 to 189.99
        order = SubmitOrder("BROKER1", "FIRM_A", f"B{n}", "AAPL", Side.BUY, OrderType.LIMIT, 100,
                            (189 - n % 9) * 10_000 + (n % 100) * 100)
        assert limits.check(order) is None and collars.check(order, None, None) is None
        assert exposure.check(order) is None
