"""The pre-trade keys price_collar_ticks, market_order_protection_percent and kill_switch_on_credit_breach."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config import ConfigError, load_settings

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "exchange.yaml"


def load_with(tmp_path, defaults: str = "", firms: str = "{}"):
    text = SHIPPED.read_text().replace("    max_messages_per_second: 20000",
                                       "    max_messages_per_second: 20000" + defaults)
    path = tmp_path / "exchange.yaml"
    path.write_text(text.replace("  firms: {}", f"  firms: {firms}"))
    return load_settings(path)


def test_by_default_no_tick_collar_a_five_percent_market_order_protection_and_no_automatic_kill_switch(tmp_path):
    limits = load_settings(SHIPPED).limits_for("FIRM_B")
    assert limits.price_collar_ticks is None
    assert limits.market_order_protection_percent == Decimal("5")
    assert limits.kill_switch_on_credit_breach is False


def test_defaults_and_firm_overrides_set_the_new_keys(tmp_path):
    settings = load_with(tmp_path, "\n    price_collar_ticks: 20",
                         '{FIRM_A: {price_collar_ticks: 5, market_order_protection_percent: "2.5", '
                         'kill_switch_on_credit_breach: true}}')
    a, b = settings.limits_for("FIRM_A"), settings.limits_for("FIRM_B")
    assert (a.price_collar_ticks, a.market_order_protection_percent, a.kill_switch_on_credit_breach) == (
        5, Decimal("2.5"), True)
    assert (b.price_collar_ticks, b.market_order_protection_percent, b.kill_switch_on_credit_breach) == (
        20, Decimal("5"), False)


@pytest.mark.parametrize("defaults, firms, words", [
    ("\n    price_collar_ticks: 0", "{}", "risk.defaults.price_collar_ticks: 0 must be a positive integer, e.g. 1"),
    ('\n    price_collar_ticks: "5"', "{}",
     "risk.defaults.price_collar_ticks: '5' must be a positive integer, e.g. 1 (without quotes)"),
    ("", "{FIRM_A: {price_collar_ticks: 2.5}}",
     "risk.firms.FIRM_A.price_collar_ticks: 2.5 must be a positive integer, e.g. 1"),
    ('\n    market_order_protection_percent: "0"', "{}",
     "risk.defaults.market_order_protection_percent: '0' must be a positive decimal, e.g. \"5\""),
    ("", '{FIRM_B: {market_order_protection_percent: "150"}}',
     "risk.firms.FIRM_B.market_order_protection_percent: '150' must be at most 100 (a percentage)"),
    ("\n    kill_switch_on_credit_breach: yes please", "{}",
     "risk.defaults.kill_switch_on_credit_breach: 'yes please' must be true or false (without quotes)"),
    ("", '{FIRM_C: {kill_switch_on_credit_breach: "true"}}',
     "risk.firms.FIRM_C.kill_switch_on_credit_breach: 'true' must be true or false (without quotes)"),
])
def test_a_bad_value_for_a_new_key_stops_start_up_naming_file_key_and_what_is_allowed(tmp_path, defaults, firms,
                                                                                       words):
    with pytest.raises(ConfigError) as error:
        load_with(tmp_path, defaults, firms)
    assert str(error.value).startswith(f"{tmp_path / 'exchange.yaml'}: ")
    assert words in str(error.value)
