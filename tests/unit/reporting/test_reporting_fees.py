"""The fee schedule: maker / taker by aggressor, basis points of the notional, exact half-even rounding, tiers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config import FeeTier, load_settings
from matching.events import OrderAccepted, OrderFilled
from matching.types import OrderType, Side, TimeInForce
from reporting.fees import FeeSchedule
from reporting.records import audit_record

STANDARD = FeeTier("standard", Decimal("-0.20"), Decimal("0.30"))
MARKET_MAKER = FeeTier("market_maker", Decimal("-0.30"), Decimal("0.25"))
SCHEDULE = FeeSchedule(tiers=(STANDARD, MARKET_MAKER), default_tier="standard",
                       firm_tiers=(("FIRM_MM", "market_maker"),))
TENTH_BP = FeeSchedule(tiers=(FeeTier("tenth", Decimal("0.1"), Decimal("0.1")),), default_tier="tenth")


def test_the_aggressor_is_the_taker_and_pays_its_tiers_taker_rate_on_the_notional() -> None:
    # 190.00 x 100 = 19,000 at 0.30 bp = 0.57
    assert SCHEDULE.fee("FIRM_A", True, 1_900_000, 100, 4) == ("taker", Decimal("0.570000"))


def test_the_resting_side_is_the_maker_and_a_negative_rate_is_a_rebate() -> None:
    assert SCHEDULE.fee("FIRM_A", False, 1_900_000, 100, 4) == ("maker", Decimal("-0.380000"))


def test_a_firm_in_another_tier_pays_that_tiers_rates() -> None:
    assert SCHEDULE.fee("FIRM_MM", True, 1_900_000, 100, 4) == ("taker", Decimal("0.475000"))
    assert SCHEDULE.fee("FIRM_MM", False, 1_900_000, 100, 4) == ("maker", Decimal("-0.570000"))


def test_a_firm_the_schedule_does_not_name_pays_the_default_tier() -> None:
    assert SCHEDULE.tier_name_for("FIRM_NEW") == "standard"
    assert SCHEDULE.fee("FIRM_NEW", True, 1_900_000, 100, 4) == SCHEDULE.fee("FIRM_A", True, 1_900_000, 100, 4)


def test_the_fee_always_has_exactly_six_decimal_places() -> None:
    _, fee = SCHEDULE.fee("FIRM_A", True, 1_000_000, 10_000, 4)  # 100.00 x 10,000 x 0.30 bp = 30
    assert (format(fee, "f"), fee.as_tuple().exponent) == ("30.000000", -6)
    assert format(SCHEDULE.fee("FIRM_A", True, 1, 1, 4)[1], "f") == "0.000000"  # 0.0001 x 0.30 bp rounds to 0


@pytest.mark.parametrize(("price_units", "expected"), [
    (12_500, "0.000012"),  # 1.25 x 0.1 bp = 0.0000125: a tie, to the even 2
    (13_500, "0.000014"),  # 0.0000135: a tie, to the even 4
    (12_501, "0.000013"),  # 0.000012501: above the tie
    (12_499, "0.000012"),  # 0.000012499: below the tie
])
def test_the_fee_is_rounded_half_even_to_a_millionth(price_units: int, expected: str) -> None:
    assert format(TENTH_BP.fee("FIRM_A", True, price_units, 1, 4)[1], "f") == expected


def test_a_rebate_tie_rounds_half_even_too() -> None:
    rebate = FeeSchedule(tiers=(FeeTier("r", Decimal("-0.1"), Decimal("0")),), default_tier="r")
    assert format(rebate.fee("F", False, 12_500, 1, 4)[1], "f") == "-0.000012"
    assert format(rebate.fee("F", False, 13_500, 1, 4)[1], "f") == "-0.000014"


def test_the_price_scale_only_changes_how_many_units_make_a_price() -> None:
    at_4 = SCHEDULE.fee("FIRM_A", True, 1_900_000, 100, 4)
    assert SCHEDULE.fee("FIRM_A", True, 190, 100, 0) == at_4
    assert SCHEDULE.fee("FIRM_A", True, 190_000_000_000, 100, 9) == at_4


def test_huge_executions_stay_exact() -> None:
    # 10^12 x 10^9 = 10^21 in notional at 0.30 bp = 3 x 10^16, exactly
    assert SCHEDULE.fee("FIRM_A", True, 10**12, 10**9, 0) == ("taker", Decimal("30000000000000000.000000"))


@pytest.mark.parametrize(("args", "error", "words"), [
    (("F", 1, 100, 1, 4), TypeError, "aggressor must be True or False"),
    (("F", True, -1, 1, 4), ValueError, "last_price_units -1 must be at least 0"),
    (("F", True, 100, 0, 4), ValueError, "last_quantity 0 must be at least 1"),
    (("F", True, 100, 1, -1), ValueError, "price_decimals -1 must be at least 0"),
    (("F", True, Decimal("1.5"), 1, 4), TypeError, "last_price_units must be an int"),
])
def test_impossible_arguments_are_bugs_and_fail_loudly(args: tuple, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        SCHEDULE.fee(*args)


def test_a_schedule_refuses_rates_finer_than_four_decimal_places_and_unknown_tiers() -> None:
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        FeeSchedule(tiers=(FeeTier("x", Decimal("0.00001"), Decimal("0")),), default_tier="x")
    with pytest.raises(ValueError, match="default fee tier 'gold' is not one of the tiers"):
        FeeSchedule(tiers=(STANDARD,), default_tier="gold")
    with pytest.raises(ValueError, match="firm 'F' names fee tier 'gold'"):
        FeeSchedule(tiers=(STANDARD,), default_tier="standard", firm_tiers=(("F", "gold"),))


def test_the_schedule_built_from_settings_uses_the_firms_tiers(tmp_path: Path) -> None:
    path = tmp_path / "exchange.yaml"
    path.write_text(
        "instruments: [{symbol: AAPL, tick_size: '0.01', lot_size: 1, currency: USD, reference_price: '190.00', "
        "price_band_tier: 1}]\n"
        "firms: {FIRM_A: {sessions: {B1: {}}}, FIRM_B: {fee_tier: market_maker, sessions: {B2: {}}}}\n"
        "fees: {tiers: {standard: {maker_bps: '-0.20', taker_bps: '0.30'}, "
        "market_maker: {maker_bps: '-0.30', taker_bps: '0.25'}}}\n")
    schedule = FeeSchedule.from_settings(load_settings(path))
    assert (schedule.tier_name_for("FIRM_A"), schedule.tier_name_for("FIRM_B")) == ("standard", "market_maker")
    assert schedule.fee("FIRM_B", False, 1_900_000, 100, 4) == ("maker", Decimal("-0.570000"))


def _filled(aggressor: bool) -> OrderFilled:
    return OrderFilled(
        sequence=11, timestamp_ns=1, order_id=500, session="S", firm="FIRM_MM", client_order_id="c1", symbol="AAPL",
        side=Side.BUY, quantity=100, price=1_900_100, trade_id=7, last_price=1_900_000, last_quantity=40,
        cum_quantity=40, leaves_quantity=60, cum_notional=76_000_000, aggressor=aggressor)


def test_charge_sets_liquidity_and_fee_text_on_an_order_filled_record() -> None:
    charged = SCHEDULE.charge(audit_record(_filled(aggressor=False)), price_decimals=4)
    # 190.00 x 40 = 7,600 at -0.30 bp
    assert (charged.liquidity, charged.fee) == ("maker", "-0.228000")
    assert SCHEDULE.charge(audit_record(_filled(aggressor=True)), 4).liquidity == "taker"


def test_charge_leaves_every_other_record_as_it_was() -> None:
    accepted = audit_record(OrderAccepted(
        sequence=10, timestamp_ns=1, order_id=500, session="S", firm="FIRM_A", client_order_id="c1", symbol="AAPL",
        side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, quantity=100, price=1_900_100,
        stop_price=None, expire_time_ns=None))
    assert SCHEDULE.charge(accepted, 4) is accepted
