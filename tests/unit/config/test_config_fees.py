"""The `fees` section and a firm's `fee_tier`: defaults, shipped tiers, errors naming file, key and what is allowed."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ConfigError, FeeSettings, FeeTier, FirmSettings, SessionSettings, Settings, load_settings

MINIMAL: dict[str, Any] = {
    "instruments": [{"symbol": "AAPL", "tick_size": "0.01", "lot_size": 1, "currency": "USD",
                     "reference_price": "190.00", "price_band_tier": 1}],
    "firms": {"FIRM_A": {"sessions": {"BROKER1": {}}}, "FIRM_B": {"sessions": {"BROKER2": {}}}},
}
TWO_TIERS = {"tiers": {"standard": {"maker_bps": "-0.20", "taker_bps": "0.30"},
                       "market_maker": {"maker_bps": "-0.30", "taker_bps": "0.25"}}}


def _path(tmp_path: Path, fees: Any = None, *, include: bool = True, firm_a: dict | None = None) -> Path:
    document = copy.deepcopy(MINIMAL)
    if include:
        document["fees"] = fees
    if firm_a is not None:
        document["firms"]["FIRM_A"].update(firm_a)
    path = tmp_path / "exchange.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.file == str(path)
    assert "\n" not in str(caught.value)
    return caught.value


def test_the_shipped_file_has_a_standard_and_a_market_maker_tier_and_every_firm_pays_standard() -> None:
    settings = load_settings()
    assert settings.fees == FeeSettings(tiers=(FeeTier("standard", Decimal("-0.20"), Decimal("0.30")),
                                               FeeTier("market_maker", Decimal("-0.30"), Decimal("0.25"))),
                                        default_tier="standard")
    assert {settings.fee_tier_for(firm.firm_id).name for firm in settings.firms} == {"standard"}


def test_a_missing_fees_section_means_one_standard_tier_with_a_maker_rebate(tmp_path: Path) -> None:
    settings = load_settings(_path(tmp_path, include=False))
    assert settings.fees.tiers == (FeeTier("standard", Decimal("-0.20"), Decimal("0.30")),)
    assert settings.fee_tier_for("FIRM_A").name == "standard"
    assert Settings().fees == settings.fees


def test_a_firm_naming_a_tier_pays_it_and_the_others_pay_the_default(tmp_path: Path) -> None:
    settings = load_settings(_path(tmp_path, TWO_TIERS, firm_a={"fee_tier": "market_maker"}))
    assert settings.firm("FIRM_A").fee_tier == "market_maker"
    assert settings.fee_tier_for("FIRM_A") == FeeTier("market_maker", Decimal("-0.30"), Decimal("0.25"))
    assert settings.fee_tier_for("FIRM_B").name == "standard"
    assert settings.fee_tier_for("NOT_CONFIGURED").name == "standard"


def test_default_tier_may_name_any_tier(tmp_path: Path) -> None:
    settings = load_settings(_path(tmp_path, {**TWO_TIERS, "default_tier": "market_maker"}))
    assert settings.fee_tier_for("FIRM_B").name == "market_maker"


def test_rates_may_be_unquoted_numbers_and_are_read_as_exact_decimals(tmp_path: Path) -> None:
    settings = load_settings(_path(tmp_path, {"tiers": {"standard": {"maker_bps": -0.2, "taker_bps": 1}}}))
    assert settings.fees.tier("standard") == FeeTier("standard", Decimal("-0.2"), Decimal("1"))


def test_a_firm_naming_an_unknown_tier_names_file_key_and_the_allowed_tiers(tmp_path: Path) -> None:
    path = _path(tmp_path, TWO_TIERS, firm_a={"fee_tier": "gold"})
    assert str(_error(path)) == (f"{path}: firms.FIRM_A.fee_tier: unknown fee tier 'gold'; "
                                 "allowed tiers (defined under fees.tiers): market_maker, standard")


def test_a_firm_naming_a_tier_when_only_the_default_exists_is_told_the_one_allowed(tmp_path: Path) -> None:
    path = _path(tmp_path, include=False, firm_a={"fee_tier": "market_maker"})
    assert str(_error(path)).endswith("firms.FIRM_A.fee_tier: unknown fee tier 'market_maker'; "
                                      "allowed tiers (defined under fees.tiers): standard")


BAD_FEES = [
    ({"tiers": {"standard": {"maker_bps": "-0.20", "taker_bps": "150"}}}, "fees.tiers.standard.taker_bps",
     "'150' must be a decimal number of basis points from -100 to 100"),
    ({"tiers": {"standard": {"maker_bps": "-100.01", "taker_bps": "0.30"}}}, "fees.tiers.standard.maker_bps",
     "from -100 to 100"),
    ({"tiers": {"standard": {"maker_bps": "cheap", "taker_bps": "0.30"}}}, "fees.tiers.standard.maker_bps",
     "'cheap' must be a decimal number of basis points"),
    ({"tiers": {"standard": {"maker_bps": "NaN", "taker_bps": "0.30"}}}, "fees.tiers.standard.maker_bps",
     "must be a decimal number of basis points"),
    ({"tiers": {"standard": {"maker_bps": True, "taker_bps": "0.30"}}}, "fees.tiers.standard.maker_bps",
     "true must be a decimal number of basis points"),
    ({"tiers": {"standard": {"maker_bps": "0.12345", "taker_bps": "0.30"}}}, "fees.tiers.standard.maker_bps",
     "'0.12345' has too many decimal places; at most 4 are allowed"),
    ({"tiers": {"standard": {"maker_bps": "-0.20"}}}, "fees.tiers.standard.taker_bps", "required key is missing"),
    ({"tiers": {"standard": {"maker_bps": "0", "taker_bps": "0", "colour": "red"}}}, "fees.tiers.standard.colour",
     "unknown key; allowed keys: maker_bps, taker_bps"),
    ({"tiers": {}}, "fees.tiers", "must be a mapping of tier name to rates with at least one tier"),
    ({"tiers": ["standard"]}, "fees.tiers", "must be a mapping of tier name to rates"),
    ({"tiers": {"gold star": {"maker_bps": "0", "taker_bps": "0"}}}, "fees.tiers.gold star",
     "'gold star' is not allowed; allowed: 1 to 32 characters"),
    ({"tiers": {"gold": {"maker_bps": "0", "taker_bps": "0"}}}, "fees.default_tier",
     "required when fees.tiers has no tier named 'standard'; allowed tiers: gold"),
    ({**TWO_TIERS, "default_tier": "platinum"}, "fees.default_tier",
     "unknown fee tier 'platinum'; allowed tiers: market_maker, standard"),
    ({"tier": {}}, "fees.tier", "unknown key; allowed keys: default_tier, tiers"),
    (["standard"], "fees", "must be a mapping; allowed keys: default_tier, tiers"),
]


@pytest.mark.parametrize(("fees", "key", "fragment"), BAD_FEES, ids=[f"{k}:{f[:30]}" for _, k, f in BAD_FEES])
def test_a_bad_fees_section_names_file_key_and_what_is_allowed(tmp_path: Path, fees: Any, key: str,
                                                                fragment: str) -> None:
    path = _path(tmp_path, fees)
    error = _error(path)
    assert (error.key, fragment in error.message) == (key, True), error.message


def test_settings_built_in_code_refuse_a_firm_naming_an_unknown_tier() -> None:
    firm = FirmSettings("FIRM_X", sessions=(SessionSettings("X1", "FIRM_X"),), fee_tier="gold")
    with pytest.raises(ValueError, match="firm 'FIRM_X' names fee tier 'gold', which is not one of the fee tiers"):
        Settings(firms=(firm,))


def test_fee_settings_refuse_a_default_tier_that_is_not_a_tier() -> None:
    with pytest.raises(ValueError, match="default fee tier 'gold' is not one of the tiers"):
        FeeSettings(default_tier="gold")
