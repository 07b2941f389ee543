"""The circuit_breakers section: defaults, overrides, and errors that name the file, key and allowed values."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from config import ConfigError, load_settings
from fix_gateway.venue import build_engine, circuit_breaker_rules

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "exchange.yaml"


def with_breakers(tmp_path: Path, section) -> Path:
    document = yaml.safe_load(SHIPPED.read_text())
    document["circuit_breakers"] = section
    path = tmp_path / "exchange.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_left_out_the_section_means_luld_defaults(tmp_path):
    breakers = load_settings(with_breakers(tmp_path, {})).circuit_breakers
    assert (breakers.tier_1_percent, breakers.tier_2_percent, breakers.low_price_percent) == (5, 10, 20)
    assert (breakers.limit_state_seconds, breakers.pause_seconds, breakers.during_pause) == (15, 300, "queue")


def test_the_engine_gets_the_configured_rules_and_each_instruments_band(tmp_path):
    settings = load_settings(with_breakers(tmp_path, {"tier_1_percent": "7.5", "limit_state_seconds": 2,
                                                      "pause_seconds": 60, "during_pause": "reject"}))
    rules = circuit_breaker_rules(settings)
    assert rules.bands.by_tier[1] == Fraction(15, 2) and rules.limit_state_ns == 2_000_000_000
    assert rules.pause_ns == 60_000_000_000 and not rules.queue_during_pause
    breaker = build_engine(settings, lambda: 0).book("AAPL").breaker
    assert (breaker.band_low, breaker.band_high) == (1_757_500, 2_042_500), "190.00 +/- 7.5% = 175.75 to 204.25"


def test_disabled_breakers_leave_the_books_without_bands(tmp_path):
    settings = load_settings(with_breakers(tmp_path, {"enabled": False}))
    assert circuit_breaker_rules(settings) is None
    assert build_engine(settings, lambda: 0).book("AAPL").breaker is None


@pytest.mark.parametrize("key, value, fragment", [
    ("during_pause", "maybe", "allowed values: queue, reject"),
    ("tier_1_percent", "0", "must be a positive decimal"),
    ("tier_2_percent", "100", "must be below 100"),
    ("limit_state_seconds", 0, "must be an integer from 1 to 3600"),
    ("pause_seconds", "300", "without quotes"),
    ("enabled", "yes", "true or false"),
    ("pause_secs", 3, "unknown key; allowed keys: during_pause, enabled, limit_state_seconds, low_price, "
                      "low_price_percent, pause_seconds, reference_review_seconds, reference_update_percent, "
                      "reference_window_seconds, tier_1_percent, tier_2_percent"),
])
def test_a_bad_circuit_breaker_setting_names_the_file_key_and_what_is_allowed(tmp_path, key, value, fragment):
    path = with_breakers(tmp_path, {key: value})
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.file == str(path) and caught.value.key == f"circuit_breakers.{key}"
    assert fragment in caught.value.message


def test_the_shipped_config_documents_every_circuit_breaker_key():
    shipped = load_settings(SHIPPED).circuit_breakers
    section = yaml.safe_load(SHIPPED.read_text())["circuit_breakers"]
    assert set(section) == set(type(shipped).__dataclass_fields__)
    assert shipped.low_price == Decimal("3.00")
