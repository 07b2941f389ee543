"""Throttle and collar settings: defaults, per-firm overrides and what is refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config import ConfigError, load_settings

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "exchange.yaml"


def load_with(tmp_path, old: str, new: str):
    path = tmp_path / "exchange.yaml"
    path.write_text(SHIPPED.read_text().replace(old, new))
    return load_settings(path)


def test_the_shipped_config_throttles_only_past_20000_and_logs_out_past_50000_messages_a_second_with_no_collar():
    limits = load_settings(SHIPPED).limits_for("FIRM_A")
    assert (limits.max_messages_per_second, limits.logout_messages_per_second) == (20_000, 50_000)
    assert limits.price_collar_percent is None


def test_a_firm_override_sets_its_own_collar_and_throttle(tmp_path):
    settings = load_with(tmp_path, "  firms: {}", '  firms:\n    FIRM_B: {price_collar_percent: "7.5", '
                                               'max_messages_per_second: 50}')
    assert settings.limits_for("FIRM_B").price_collar_percent == Decimal("7.5")
    assert settings.limits_for("FIRM_B").max_messages_per_second == 50
    assert settings.limits_for("FIRM_A").price_collar_percent is None


@pytest.mark.parametrize("old, new, words", [
    ("    max_messages_per_second: 20000", '    max_messages_per_second: 20000\n    price_collar_percent: "150"',
     "risk.defaults.price_collar_percent: '150' must be at most 100"),
    ("    logout_messages_per_second: 50000", "    logout_messages_per_second: 100",
     "risk.defaults.logout_messages_per_second: 100 is below max_messages_per_second (20000)"),
])
def test_a_collar_over_100_percent_or_a_logout_rate_below_the_refuse_rate_stops_start_up(tmp_path, old, new, words):
    with pytest.raises(ConfigError) as error:
        load_with(tmp_path, old, new)
    assert words in str(error.value)
